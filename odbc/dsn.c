/* Connection-string and DSN handling of the Recall ODBC driver: parse with
 * shared/connstr, fold aliases, fill the gaps from the DSN's odbc.ini
 * section, and build librecall's connection string and the completed ODBC
 * string.  See dsn.h.
 */
#include "config.h"

#include "dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <odbcinst.h>

#include "connstr.h"
#include "err.h"

struct keydef {
    const char *name;        /* canonical, as in the completed string */
    const char *alias[3];
};

static const struct keydef keys[DK__COUNT] = {
    [DK_DSN] = {"DSN", {NULL}},
    [DK_DRIVER] = {"DRIVER", {NULL}},
    [DK_REPLICAS] = {"REPLICAS", {NULL}},
    [DK_SERVER] = {"SERVER", {NULL}},
    [DK_PORT] = {"PORT", {NULL}},
    [DK_UID] = {"UID", {"USER", NULL}},
    [DK_PWD] = {"PWD", {"PASSWORD", NULL}},
    [DK_DATABASE] = {"DATABASE", {"DB", NULL}},
    [DK_READ_CONSISTENCY] = {"READ_CONSISTENCY", {NULL}},
    [DK_CONNECT_TIMEOUT] = {"CONNECT_TIMEOUT", {NULL}},
    [DK_REQUEST_TIMEOUT] = {"REQUEST_TIMEOUT", {NULL}},
    [DK_FETCH_ROWS] = {"FETCH_ROWS", {NULL}},
};

const char *dsn_key_name(enum dsn_key k)
{
    return (unsigned)k < DK__COUNT ? keys[k].name : "";
}

static int key_of(const char *name)
{
    for (int k = 0; k < DK__COUNT; k++) {
        if (strcasecmp(name, keys[k].name) == 0)
            return k;
        for (int a = 0; a < 3 && keys[k].alias[a]; a++)
            if (strcasecmp(name, keys[k].alias[a]) == 0)
                return k;
    }
    return -1;
}

bool dsn_odbcinst_lookup(void *ud, const char *dsn, const char *key, char *out, size_t outlen)
{
    (void)ud;
    if (outlen == 0 || outlen > 32767)
        return false;
    out[0] = 0;
    int n = SQLGetPrivateProfileString(dsn, key, "", out, (int)outlen, "odbc.ini");
    return n > 0 && out[0];
}

void dsn_conf_free(struct dsn_conf *conf)
{
    for (int k = 0; k < DK__COUNT; k++) {
        free(conf->val[k]);
        conf->val[k] = NULL;
    }
}

int dsn_resolve(struct dsn_conf *conf, const char *connstr, size_t len, const char *dsn_name,
                dsn_lookup_fn lookup, void *ud, char *msg, size_t msglen)
{
    struct connstr cs;
    struct err e;
    memset(conf, 0, sizeof *conf);
    if (connstr_parse(&cs, connstr ? connstr : "", connstr ? len : 0, &e) < 0) {
        snprintf(msg, msglen, "%s", e.msg);
        connstr_free(&cs);
        return -1;
    }
    /* First occurrence wins, aliases included; unknown keys are ignored. */
    for (size_t i = 0; i < cs.n; i++) {
        int k = key_of(cs.pairs[i].key);
        if (k < 0 || conf->val[k])
            continue;
        if (!(conf->val[k] = strdup(cs.pairs[i].value)))
            goto oom;
    }
    connstr_free(&cs);
    if (dsn_name && !conf->val[DK_DSN] && !(conf->val[DK_DSN] = strdup(dsn_name)))
        goto oom;
    if (conf->val[DK_DSN] && *conf->val[DK_DSN] && lookup) {
        char buf[4096];
        for (int k = 0; k < DK__COUNT; k++) {
            if (k == DK_DSN || conf->val[k])
                continue;
            bool found = lookup(ud, conf->val[DK_DSN], keys[k].name, buf, sizeof buf);
            for (int a = 0; !found && a < 3 && keys[k].alias[a]; a++)
                found = lookup(ud, conf->val[DK_DSN], keys[k].alias[a], buf, sizeof buf);
            if (found && !(conf->val[k] = strdup(buf)))
                goto oom;
        }
    }
    return 0;
oom:
    connstr_free(&cs);
    dsn_conf_free(conf);
    snprintf(msg, msglen, "out of memory");
    return -1;
}

static bool given(const struct dsn_conf *conf, enum dsn_key k)
{
    return conf->val[k] && *conf->val[k];
}

/* REPLICAS, or SERVER (comma-separated hosts) with PORT (default 8500). */
static int replicas_text(const struct dsn_conf *conf, struct buf *out)
{
    const char *port = given(conf, DK_PORT) ? conf->val[DK_PORT] : "8500";
    const char *p;
    if (given(conf, DK_REPLICAS))
        return buf_append(out, conf->val[DK_REPLICAS], strlen(conf->val[DK_REPLICAS]));
    if (!given(conf, DK_SERVER))
        return -1;
    p = conf->val[DK_SERVER];
    bool first = true;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n) {
            bool has_port = memchr(p, ':', n) != NULL;
            if ((!first && buf_append(out, ",", 1) < 0) || buf_append(out, p, n) < 0 ||
                (!has_port && (buf_append(out, ":", 1) < 0 || buf_append(out, port, strlen(port)) < 0)))
                return -1;
            first = false;
        }
        p += n;
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
    }
    return first ? -1 : 0;
}

unsigned dsn_request_timeout_ms(const struct dsn_conf *conf)
{
    if (given(conf, DK_REQUEST_TIMEOUT)) {
        double v = strtod(conf->val[DK_REQUEST_TIMEOUT], NULL);
        if (v >= 0 && v < 4000000)
            return (unsigned)(v * 1000);
    }
    return DSN_DEFAULT_REQUEST_TIMEOUT * 1000u;
}

int dsn_librecall(const struct dsn_conf *conf, unsigned login_timeout, struct buf *out,
                  char *msg, size_t msglen)
{
    struct buf reps;
    char num[32];
    int rc = -1;
    buf_init(&reps);
    if (replicas_text(conf, &reps) < 0 || buf_append(&reps, "", 1) < 0) {
        if (reps.oom)
            snprintf(msg, msglen, "out of memory");
        else
            snprintf(msg, msglen,
                     "no replicas: set REPLICAS=host:port,... (or SERVER= and PORT=) in the DSN or the connection string");
        goto out;
    }
    if (connstr_append(out, "replicas", (const char *)reps.data) < 0)
        goto oom;
    if (given(conf, DK_UID) && connstr_append(out, "user", conf->val[DK_UID]) < 0)
        goto oom;
    if (given(conf, DK_PWD) && connstr_append(out, "password", conf->val[DK_PWD]) < 0)
        goto oom;
    if (given(conf, DK_DATABASE) && connstr_append(out, "database", conf->val[DK_DATABASE]) < 0)
        goto oom;
    if (given(conf, DK_READ_CONSISTENCY) &&
        connstr_append(out, "read_consistency", conf->val[DK_READ_CONSISTENCY]) < 0)
        goto oom;
    if (given(conf, DK_CONNECT_TIMEOUT)) {
        if (connstr_append(out, "connect_timeout", conf->val[DK_CONNECT_TIMEOUT]) < 0)
            goto oom;
    } else if (login_timeout > 0) {
        snprintf(num, sizeof num, "%u", login_timeout);
        if (connstr_append(out, "connect_timeout", num) < 0)
            goto oom;
    }
    if (given(conf, DK_REQUEST_TIMEOUT)) {
        if (connstr_append(out, "request_timeout", conf->val[DK_REQUEST_TIMEOUT]) < 0)
            goto oom;
    } else {
        snprintf(num, sizeof num, "%u", DSN_DEFAULT_REQUEST_TIMEOUT);
        if (connstr_append(out, "request_timeout", num) < 0)
            goto oom;
    }
    if (given(conf, DK_FETCH_ROWS) && connstr_append(out, "fetch_rows", conf->val[DK_FETCH_ROWS]) < 0)
        goto oom;
    rc = 0;
    goto out;
oom:
    snprintf(msg, msglen, "out of memory");
out:
    buf_close(&reps);
    return rc;
}

int dsn_completed(const struct dsn_conf *conf, struct buf *out)
{
    for (int k = 0; k < DK__COUNT; k++) {
        if (!conf->val[k] || (k == DK_DRIVER && given(conf, DK_DSN)))
            continue;
        if (k != DK_DSN && k != DK_DRIVER && !*conf->val[k])
            continue;
        if (connstr_append(out, keys[k].name, conf->val[k]) < 0)
            return -1;
    }
    if (buf_append(out, "", 1) < 0)
        return -1;
    out->len--;
    return 0;
}
