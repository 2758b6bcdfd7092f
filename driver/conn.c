/* librecall connections: the connection string, connecting to a majority of
 * the replicas, the connection-level API (transactions, settings, errors,
 * cancel) and conn_exit(), the one place where an API call publishes its
 * error and whether the connection is still usable.
 *
 * Happy path of recall_connect: parse the connection string, draw a random
 * 128-bit client id, start a non-blocking connect to every replica at once,
 * and return as soon as a majority has answered HELLO with WELCOME; the
 * others keep being retried in the background (with backoff) during later
 * calls.  Failure modes: a bad connection string (ERR_CONFIG, nothing is
 * contacted), too many replicas refusing, rejecting (cluster or version
 * mismatch), failing authentication or staying silent within
 * connect_timeout to leave a majority (the error names each replica's
 * reason; the connection is then unusable and must still be closed).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "connstr.h"
#include "frame.h"
#include "recall-internal.h"

/* recall.h mirrors err.h's codes; keep them in step. */
_Static_assert((int)RECALL_E_INTERNAL == (int)ERR_INTERNAL, "recall_code and err_code differ");
_Static_assert((int)RECALL_E_CANCELED == (int)ERR_CANCELED, "recall_code and err_code differ");
_Static_assert((int)RECALL_E_SQL == (int)ERR_SQL, "recall_code and err_code differ");
_Static_assert((int)RECALL_E_UNAVAILABLE == (int)ERR_UNAVAILABLE, "recall_code and err_code differ");
_Static_assert((int)RECALL_VALUE_BLOB == (int)PV_BLOB, "recall_value and proto_value_type differ");

/* Keys a connection string may hold. */
static const char *const known_keys[] = {
    "replicas", "user", "password", "database", "read_consistency",
    "connect_timeout", "request_timeout", "fetch_rows", NULL};

/* ---- the exit point ---- */

void conn_enter(struct recall_conn *c)
{
    uint64_t v;
    err_clear(&c->err);
    atomic_store(&c->cancel, 0);
    if (c->wake_fd >= 0)
        while (read(c->wake_fd, &v, sizeof v) > 0)
            ;
    net_flush_queue(c);
}

int conn_exit(struct recall_conn *c, struct recall_stmt *s, int rc, const struct err *e)
{
    if (rc < 0) {
        err_copy(&c->err, e);
        if (s)
            err_copy(&s->err, e);
        /* Replica-level trouble (a lost link, a lying replica) is handled
         * inside: the connection itself is only unusable when it never
         * opened, or on an internal error. */
        c->usable = !c->broken && e->code != ERR_INTERNAL;
    } else {
        err_clear(&c->err);
        if (s)
            err_clear(&s->err);
        c->usable = !c->broken;
    }
    return rc < 0 ? RECALL_ERROR : rc;
}

int conn_check(struct recall_conn *c, struct err *e)
{
    if (c->broken)
        return err_set(e, ERR_CONNECT, "the connection did not open; close it and connect again");
    return 0;
}

uint64_t conn_request_deadline(const struct recall_conn *c)
{
    return rc_deadline(c->request_timeout_ms);
}

/* ---- the connection string ---- */

/* "12", "1.5", "0.25": seconds with up to millisecond precision. */
static int parse_seconds(const char *key, const char *v, unsigned *ms, struct err *e)
{
    unsigned long long whole = 0, frac = 0;
    unsigned digits = 0, fdigits = 0;
    const char *p = v;

    while (isdigit((unsigned char)*p) && digits < 8) {
        whole = whole * 10 + (unsigned)(*p++ - '0');
        digits++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p) && fdigits < 3) {
            frac = frac * 10 + (unsigned)(*p++ - '0');
            fdigits++;
        }
        while (isdigit((unsigned char)*p))
            p++;
        while (fdigits < 3) {
            frac *= 10;
            fdigits++;
        }
    }
    if (!digits || *p || whole > 4000000)
        return err_set(e, ERR_CONFIG, "connection string: %s must be a number of seconds "
                       "(0 to 4000000, e.g. 10 or 2.5)", key);
    *ms = (unsigned)(whole * 1000 + frac);
    return 0;
}

static int parse_uint(const char *key, const char *v, unsigned max, unsigned *out, struct err *e)
{
    unsigned long long x = 0;
    const char *p = v;
    if (!isdigit((unsigned char)*p))
        goto bad;
    while (isdigit((unsigned char)*p)) {
        x = x * 10 + (unsigned)(*p++ - '0');
        if (x > max)
            goto bad;
    }
    if (*p)
        goto bad;
    *out = (unsigned)x;
    return 0;
bad:
    return err_set(e, ERR_CONFIG, "connection string: %s must be an integer from 0 to %u", key, max);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static int apply_conninfo(struct recall_conn *c, const char *conninfo, struct replica_addr *addrs,
                          size_t *naddr, struct err *e)
{
    struct connstr cs;
    const char *v;
    int rc = -1;

    memset(&cs, 0, sizeof cs);
    if (!conninfo)
        return err_set(e, ERR_INVALID, "no connection string");
    if (connstr_parse(&cs, conninfo, strlen(conninfo), e) < 0) {
        e->code = ERR_CONFIG;
        err_wrap(e, "connection string");
        goto out;
    }
    for (size_t i = 0; i < cs.n; i++) {
        size_t k = 0;
        while (known_keys[k] && strcasecmp(known_keys[k], cs.pairs[i].key) != 0)
            k++;
        if (!known_keys[k]) {
            err_set(e, ERR_CONFIG, "connection string: unknown key '%.64s' (known: replicas, "
                    "user, password, database, read_consistency, connect_timeout, "
                    "request_timeout, fetch_rows)", cs.pairs[i].key);
            goto out;
        }
    }
    if (!(v = connstr_get(&cs, "replicas")) || !*v) {
        err_set(e, ERR_CONFIG, "connection string: replicas=host:port,host:port,... is required");
        goto out;
    }
    if (addr_parse_list(v, addrs, naddr, e) < 0) {
        err_wrap(e, "connection string: replicas");
        goto out;
    }
    if (!(c->user = dup_or_empty(connstr_get(&cs, "user"))) ||
        !(c->password = dup_or_empty(connstr_get(&cs, "password"))) ||
        !(c->database = dup_or_empty(connstr_get(&cs, "database")))) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((v = connstr_get(&cs, "read_consistency"))) {
        if (!strcasecmp(v, "linearizable"))
            c->consistency = RECALL_LINEARIZABLE;
        else if (!strcasecmp(v, "session"))
            c->consistency = RECALL_SESSION;
        else if (!strcasecmp(v, "any"))
            c->consistency = RECALL_ANY;
        else {
            err_set(e, ERR_CONFIG, "connection string: read_consistency must be linearizable, "
                    "session or any");
            goto out;
        }
    }
    if ((v = connstr_get(&cs, "connect_timeout")) &&
        parse_seconds("connect_timeout", v, &c->connect_timeout_ms, e) < 0)
        goto out;
    if ((v = connstr_get(&cs, "request_timeout")) &&
        parse_seconds("request_timeout", v, &c->request_timeout_ms, e) < 0)
        goto out;
    if ((v = connstr_get(&cs, "fetch_rows")) &&
        parse_uint("fetch_rows", v, 1000000, &c->fetch_rows, e) < 0)
        goto out;
    rc = 0;
out:
    connstr_free(&cs);
    return rc;
}

/* ---- connecting ---- */

static int fill_random(void *p, size_t n, struct err *e)
{
    unsigned char *b = p;
    while (n > 0) {
        ssize_t k = getrandom(b, n, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return err_set_errno(e, errno, "getrandom");
        }
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

static int connect_failed(struct recall_conn *c, uint32_t up, struct err *e)
{
    enum err_code code = ERR_CONNECT;
    char why[ERR_MSG_MAX];
    size_t off = 0;

    why[0] = '\0';
    for (uint32_t i = 0; i < c->n; i++) {
        const struct link *l = &c->links[i];
        int k;
        if (l->state == LINK_READY)
            continue;
        if (l->err.code == ERR_AUTH)
            code = ERR_AUTH;
        else if (l->err.code == ERR_REJECTED && code != ERR_AUTH)
            code = ERR_REJECTED;
        k = l->err.code != ERR_OK
                ? snprintf(why + off, sizeof why - off, "%s%s", off ? "; " : "", l->err.msg)
                : snprintf(why + off, sizeof why - off, "%sreplica %u (%s): no answer yet",
                           off ? "; " : "", i, l->name);
        if (k < 0 || (size_t)k >= sizeof why - off)
            break;
        off += (size_t)k;
    }
    return err_set(e, code, "cannot connect to a majority of the %u replicas (%u of %u needed "
                   "answered): %s", c->n, up, c->n / 2 + 1, why);
}

static int connect_all(struct recall_conn *c, struct err *e)
{
    uint64_t deadline = rc_deadline(c->connect_timeout_ms);
    uint32_t need = c->n / 2 + 1;
    struct net_event ev;

    net_kick(c);
    for (;;) {
        uint32_t up = net_ready_count(c), failed = 0;
        for (uint32_t i = 0; i < c->n; i++)
            failed += c->links[i].state == LINK_DOWN && c->links[i].attempts > 0;
        if (up >= need)
            break;
        /* Fail fast once a majority can no longer be reached by this
         * round of attempts. */
        if (c->n - failed < need)
            return connect_failed(c, up, e);
        net_next(c, deadline, false, &ev);
        if (ev.kind == NET_TIMEOUT)
            return connect_failed(c, up, e);
        net_event_free(&ev);
    }
    for (uint32_t i = 0; i < c->n; i++)
        if (net_ready(c, i)) {
            snprintf(c->server_info, sizeof c->server_info, "%s", c->links[i].backend);
            break;
        }
    c->dialect = strncasecmp(c->server_info, "sqlite", 6) == 0 ? SQL_DIALECT_SQLITE
                                                               : SQL_DIALECT_MYSQL;
    route_primary_from_welcome(c);
    return 0;
}

RECALL_API int recall_connect(const char *conninfo, recall_conn **out)
{
    struct replica_addr addrs[ADDR_MAX_REPLICAS];
    size_t naddr = 0;
    struct recall_conn *c;
    struct err e;
    int rc = -1;

    if (!out)
        return RECALL_ERROR;
    *out = NULL;
    if (!(c = calloc(1, sizeof *c)))
        return RECALL_ERROR;
    *out = c;
    c->wake_fd = -1;
    c->primary = -1;
    c->autocommit = true;
    c->consistency = RECALL_LINEARIZABLE;
    c->max_frame = FRAME_DEFAULT_MAX;
    c->connect_timeout_ms = RC_DEFAULT_CONNECT_TIMEOUT_MS;
    c->request_timeout_ms = RC_DEFAULT_REQUEST_TIMEOUT_MS;
    c->next_req = 1;
    c->broken = true; /* until connected */
    c->trace = getenv("RECALL_TRACE") && *getenv("RECALL_TRACE");
    if (c->trace) {
        static atomic_uint next_id;
        c->trace_id = atomic_fetch_add(&next_id, 1) + 1;
    }
    atomic_init(&c->cancel, 0);
    err_clear(&e);
    conn_enter(c);

    if (!(c->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0))) {
        err_set(&e, ERR_NOMEM, "cannot create the C locale");
        goto out;
    }
    if ((c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        err_set_errno(&e, errno, "eventfd");
        goto out;
    }
    if (apply_conninfo(c, conninfo, addrs, &naddr, &e) < 0)
        goto out;
    c->cluster = addr_cluster_id(addrs, naddr);
    if (fill_random(c->client.b, sizeof c->client.b, &e) < 0)
        goto out;
    if (net_init(c, addrs, naddr, &e) < 0)
        goto out;
    if (connect_all(c, &e) < 0)
        goto out;
    c->broken = false;
    rc = 0;
out:
    return conn_exit(c, NULL, rc, &e);
}

RECALL_API void recall_close(recall_conn *c)
{
    if (!c)
        return;
    stmt_free_all(c);
    net_close(c);
    for (size_t i = 0; i < c->nsess; i++)
        route_sess_free(&c->sess[i]);
    free(c->sess);
    if (c->wake_fd >= 0)
        close(c->wake_fd);
    if (c->c_locale)
        freelocale(c->c_locale);
    if (c->password)
        explicit_bzero(c->password, strlen(c->password));
    free(c->user);
    free(c->password);
    free(c->database);
    free(c);
}

/* ---- transactions and settings ---- */

RECALL_API int recall_begin(recall_conn *c)
{
    struct err e;
    int rc;
    if (!c)
        return RECALL_ERROR;
    conn_enter(c);
    err_clear(&e);
    rc = conn_check(c, &e);
    if (rc == 0)
        rc = route_begin_api(c, &e);
    return conn_exit(c, NULL, rc, &e);
}

RECALL_API int recall_commit(recall_conn *c)
{
    struct err e;
    int rc;
    if (!c)
        return RECALL_ERROR;
    conn_enter(c);
    err_clear(&e);
    rc = conn_check(c, &e);
    if (rc == 0) {
        stmt_close_open_result(c);
        rc = route_commit(c, &e);
    }
    return conn_exit(c, NULL, rc, &e);
}

RECALL_API int recall_rollback(recall_conn *c)
{
    struct err e;
    int rc;
    if (!c)
        return RECALL_ERROR;
    conn_enter(c);
    err_clear(&e);
    rc = conn_check(c, &e);
    if (rc == 0) {
        stmt_close_open_result(c);
        rc = route_rollback(c, &e);
    }
    return conn_exit(c, NULL, rc, &e);
}

RECALL_API int recall_set_autocommit(recall_conn *c, int on)
{
    struct err e;
    int rc;
    if (!c)
        return RECALL_ERROR;
    conn_enter(c);
    err_clear(&e);
    rc = conn_check(c, &e);
    if (rc == 0) {
        if (on && !c->autocommit)
            stmt_close_open_result(c);
        rc = route_set_autocommit(c, on != 0, &e);
    }
    return conn_exit(c, NULL, rc, &e);
}

RECALL_API int recall_get_autocommit(recall_conn *c)
{
    return c ? c->autocommit : 0;
}

RECALL_API int recall_set_read_only(recall_conn *c, int on)
{
    struct err e;
    int rc = 0;
    if (!c)
        return RECALL_ERROR;
    conn_enter(c);
    err_clear(&e);
    if (c->txn.st == TXN_RW || c->txn.st == TXN_RO) {
        rc = err_set(&e, ERR_STATE, "cannot change read-only mode while a transaction is open");
    } else {
        c->sess_read_only = on != 0;
        c->next_read_only_set = false;
        if (c->txn.st == TXN_BEGUN)
            c->txn.read_only = on != 0;
    }
    return conn_exit(c, NULL, rc, &e);
}

RECALL_API int recall_set_isolation(recall_conn *c, enum recall_isolation iso)
{
    struct err e;
    int rc = 0;
    if (!c)
        return RECALL_ERROR;
    conn_enter(c);
    err_clear(&e);
    if (iso != RECALL_ISO_DEFAULT && iso != RECALL_ISO_REPEATABLE_READ &&
        iso != RECALL_ISO_SERIALIZABLE) {
        rc = err_set(&e, ERR_INVALID, "unknown isolation level %d", (int)iso);
    } else if (c->txn.st == TXN_RW || c->txn.st == TXN_RO) {
        rc = err_set(&e, ERR_STATE, "cannot change the isolation level while a transaction is open");
    } else {
        c->sess_iso = iso;
        c->next_iso_set = false;
        if (c->txn.st == TXN_BEGUN)
            c->txn.iso = iso;
    }
    return conn_exit(c, NULL, rc, &e);
}

RECALL_API int recall_set_consistency(recall_conn *c, enum recall_consistency cons)
{
    struct err e;
    int rc = 0;
    if (!c)
        return RECALL_ERROR;
    conn_enter(c);
    err_clear(&e);
    if (cons != RECALL_LINEARIZABLE && cons != RECALL_SESSION && cons != RECALL_ANY)
        rc = err_set(&e, ERR_INVALID, "unknown consistency level %d", (int)cons);
    else
        c->consistency = cons;
    return conn_exit(c, NULL, rc, &e);
}

RECALL_API int recall_set_request_timeout(recall_conn *c, unsigned ms)
{
    if (!c)
        return RECALL_ERROR;
    c->request_timeout_ms = ms;
    return RECALL_OK;
}

RECALL_API int recall_set_fetch_rows(recall_conn *c, unsigned rows)
{
    if (!c)
        return RECALL_ERROR;
    c->fetch_rows = rows;
    return RECALL_OK;
}

RECALL_API void recall_cancel(recall_conn *c)
{
    uint64_t one = 1;
    ssize_t k;
    if (!c)
        return;
    atomic_store(&c->cancel, 1);
    if (c->wake_fd >= 0)
        k = write(c->wake_fd, &one, sizeof one); /* EAGAIN: already signalled */
    (void)k;
}

RECALL_API int recall_in_transaction(recall_conn *c)
{
    return c && c->txn.st != TXN_NONE;
}

RECALL_API const char *recall_server_info(recall_conn *c)
{
    return c ? c->server_info : "";
}

RECALL_API int recall_replica_count(recall_conn *c)
{
    return c ? (int)c->n : 0;
}

RECALL_API int recall_primary(recall_conn *c)
{
    return c ? c->primary : -1;
}

/* ---- errors ---- */

RECALL_API enum recall_code recall_errcode(recall_conn *c)
{
    return c ? (enum recall_code)c->err.code : RECALL_E_NOMEM;
}

RECALL_API const char *recall_sqlstate(recall_conn *c)
{
    return c ? c->err.sqlstate : "HY001";
}

RECALL_API int recall_native_error(recall_conn *c)
{
    return c ? c->err.native : 0;
}

RECALL_API const char *recall_errmsg(recall_conn *c)
{
    if (!c)
        return "out of memory";
    return c->err.code == ERR_OK && !c->err.msg[0] ? "not an error" : c->err.msg;
}

RECALL_API int recall_usable(recall_conn *c)
{
    return c && c->usable;
}
