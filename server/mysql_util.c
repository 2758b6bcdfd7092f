/* Pure helpers of the MySQL/MariaDB backend: DSN parsing, result metadata
 * and cell conversion, the session-environment variable table, and the
 * reading of DDL targets for crash recovery.  See mysql_util.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mysql_util.h"
#include "recall.h"

/* ---- DSN ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode p[0..n) into a new string; NULL with *bad set on a
 * malformed escape or an encoded NUL, NULL without it on ENOMEM. */
static char *pct_decode(const char *p, size_t n, bool *bad)
{
    char *out = malloc(n + 1), *o = out;
    *bad = false;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '%') {
            *o++ = p[i];
            continue;
        }
        int hi = i + 2 < n ? hexval(p[i + 1]) : -1;
        int lo = i + 2 < n ? hexval(p[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            *bad = true;
            return NULL;
        }
        *o++ = (char)(hi << 4 | lo);
        i += 2;
    }
    *o = '\0';
    return out;
}

static int set_part(char **dst, const char *p, size_t n, const char *what, struct err *e)
{
    bool bad;
    free(*dst);
    *dst = pct_decode(p, n, &bad);
    if (*dst)
        return 0;
    if (bad)
        return err_set(e, ERR_CONFIG, "mysql DSN: bad percent-encoding in the %s", what);
    return err_set(e, ERR_NOMEM, "out of memory");
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    unsigned long v;
    if (!*s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int dsn_option(struct mysqlu_dsn *d, const char *p, size_t n, struct err *e)
{
    static const struct {
        const char *name;
        size_t off;
        unsigned lo, hi;
    } nums[] = {
        {"connect_timeout", offsetof(struct mysqlu_dsn, connect_timeout), 1, 3600},
        {"read_timeout", offsetof(struct mysqlu_dsn, read_timeout), 1, 31536000},
        {"write_timeout", offsetof(struct mysqlu_dsn, write_timeout), 1, 31536000},
        {"read_lock_wait_timeout", offsetof(struct mysqlu_dsn, read_lock_wait), 1, 31536000},
        {"client_expiry", offsetof(struct mysqlu_dsn, client_expiry), 60, 315360000},
    };
    const char *eq = memchr(p, '=', n);
    char *val = NULL;
    size_t klen;
    unsigned u;
    int rc = -1;

    if (n == 0)
        return 0;
    if (!eq)
        return err_set(e, ERR_CONFIG, "mysql DSN: option '%.*s' needs a value", (int)n, p);
    klen = (size_t)(eq - p);
    if (set_part(&val, eq + 1, n - klen - 1, "option value", e) < 0)
        return -1;
    if (klen == 6 && memcmp(p, "socket", 6) == 0) {
        free(d->socket);
        d->socket = val;
        return 0;
    }
    if (klen == 13 && memcmp(p, "public_grants", 13) == 0) {
        if (parse_uint(val, 0, 1, &u) < 0)
            err_set(e, ERR_CONFIG, "mysql DSN: public_grants must be 0 or 1");
        else {
            d->public_grants = u;
            rc = 0;
        }
        free(val);
        return rc;
    }
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strlen(nums[i].name) != klen || memcmp(nums[i].name, p, klen) != 0)
            continue;
        if (parse_uint(val, nums[i].lo, nums[i].hi, &u) < 0)
            err_set(e, ERR_CONFIG, "mysql DSN: %s must be a number from %u to %u", nums[i].name,
                    nums[i].lo, nums[i].hi);
        else {
            *(unsigned *)(void *)((char *)d + nums[i].off) = u;
            rc = 0;
        }
        free(val);
        return rc;
    }
    free(val);
    return err_set(e, ERR_CONFIG,
                   "mysql DSN: unknown option '%.*s' (socket, connect_timeout, read_timeout, "
                   "write_timeout, read_lock_wait_timeout, client_expiry, public_grants)",
                   (int)klen, p);
}

int mysqlu_dsn_parse(const char *dsn, struct mysqlu_dsn *d, struct err *e)
{
    const char *p, *end, *q, *slash, *at = NULL, *auth_end, *hp, *colon;
    memset(d, 0, sizeof *d);
    d->port = 3306;
    d->connect_timeout = 10;
    d->read_timeout = 3600;
    d->write_timeout = 60;
    d->read_lock_wait = 2;
    d->client_expiry = 86400;
    d->public_grants = true;

    if (!dsn || strncmp(dsn, "mysql://", 8) != 0)
        return err_set(e, ERR_CONFIG, "not a mysql DSN (mysql://user:password@host:port/database)");
    p = dsn + 8;
    q = strchr(p, '?');
    end = q ? q : p + strlen(p);
    slash = memchr(p, '/', (size_t)(end - p));
    auth_end = slash ? slash : end;
    for (const char *c = p; c < auth_end; c++)
        if (*c == '@')
            at = c;
    if (!at || at == p)
        return err_set(e, ERR_CONFIG,
                       "mysql DSN needs the replication account: mysql://user:password@host:port/database");
    colon = memchr(p, ':', (size_t)(at - p));
    if (set_part(&d->user, p, (size_t)((colon ? colon : at) - p), "user name", e) < 0)
        goto fail;
    if (!*d->user) {
        err_set(e, ERR_CONFIG, "mysql DSN: empty user name");
        goto fail;
    }
    if (colon && set_part(&d->password, colon + 1, (size_t)(at - colon - 1), "password", e) < 0)
        goto fail;

    hp = at + 1;
    if (hp < auth_end && *hp == '[') {
        const char *rb = memchr(hp, ']', (size_t)(auth_end - hp));
        if (!rb) {
            err_set(e, ERR_CONFIG, "mysql DSN: unterminated [address]");
            goto fail;
        }
        if (set_part(&d->host, hp + 1, (size_t)(rb - hp - 1), "host", e) < 0)
            goto fail;
        colon = rb + 1 < auth_end && rb[1] == ':' ? rb + 1 : NULL;
        if (rb + 1 < auth_end && !colon) {
            err_set(e, ERR_CONFIG, "mysql DSN: junk after [address]");
            goto fail;
        }
    } else {
        colon = memchr(hp, ':', (size_t)(auth_end - hp));
        if (set_part(&d->host, hp, (size_t)((colon ? colon : auth_end) - hp), "host", e) < 0)
            goto fail;
    }
    if (colon) {
        char portbuf[8];
        size_t n = (size_t)(auth_end - colon - 1);
        if (n == 0 || n >= sizeof portbuf) {
            err_set(e, ERR_CONFIG, "mysql DSN: bad port");
            goto fail;
        }
        memcpy(portbuf, colon + 1, n);
        portbuf[n] = '\0';
        if (parse_uint(portbuf, 1, 65535, &d->port) < 0) {
            err_set(e, ERR_CONFIG, "mysql DSN: bad port '%s'", portbuf);
            goto fail;
        }
    }
    if (!*d->host) {
        free(d->host);
        d->host = NULL;
    }
    if (slash && slash + 1 < end) {
        if (set_part(&d->database, slash + 1, (size_t)(end - slash - 1), "database", e) < 0)
            goto fail;
        if (strlen(d->database) > MYSQLU_NAME_MAX) {
            err_set(e, ERR_CONFIG, "mysql DSN: database name longer than 64 characters");
            goto fail;
        }
    }
    while (q) {
        const char *o = q + 1, *amp = strchr(o, '&');
        size_t n = amp ? (size_t)(amp - o) : strlen(o);
        if (dsn_option(d, o, n, e) < 0)
            goto fail;
        q = amp;
    }
    if (!d->host && !d->socket) {
        d->host = strdup("localhost");
        if (!d->host) {
            err_set(e, ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    return 0;
fail:
    mysqlu_dsn_free(d);
    return -1;
}

void mysqlu_dsn_free(struct mysqlu_dsn *d)
{
    free(d->user);
    free(d->password);
    free(d->host);
    free(d->socket);
    free(d->database);
    memset(d, 0, sizeof *d);
}

/* ---- result sets ---- */

#define CHARSET_BINARY 63
#define NOT_FIXED_DECIMALS 31

static bool is_string_type(enum enum_field_types t)
{
    switch (t) {
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
        return true;
    default:
        return false;
    }
}

static unsigned mbmaxlen(unsigned charsetnr)
{
    if (charsetnr == CHARSET_BINARY)
        return 1;
#ifdef MARIADB_PACKAGE_VERSION_ID
    {
        MARIADB_CHARSET_INFO *cs = mariadb_get_charset_by_nr(charsetnr);
        if (cs && cs->char_maxlen > 0)
            return cs->char_maxlen;
    }
#endif
    return 1;
}

/* MariaDB's extended type names ("json", "inet6", "uuid"), when the server
 * sends them. */
#ifdef MARIADB_PACKAGE_VERSION_ID
static bool ext_type(const MYSQL_FIELD *f, enum mariadb_field_attr_t which, char *out, size_t n)
{
    MARIADB_CONST_STRING attr;
    if (mariadb_field_attr(&attr, f, which) == 0 && attr.length > 0 && attr.length < n) {
        for (size_t i = 0; i < attr.length; i++)
            out[i] = (char)tolower((unsigned char)attr.str[i]);
        out[attr.length] = '\0';
        return true;
    }
    return false;
}
#endif

static enum recall_type type_of(const MYSQL_FIELD *f, bool json)
{
    bool bin = f->charsetnr == CHARSET_BINARY;
    switch (f->type) {
    case MYSQL_TYPE_TINY: return RECALL_TYPE_TINYINT;
    case MYSQL_TYPE_SHORT: return RECALL_TYPE_SMALLINT;
    case MYSQL_TYPE_INT24: return RECALL_TYPE_MEDIUMINT;
    case MYSQL_TYPE_LONG: return RECALL_TYPE_INT;
    case MYSQL_TYPE_LONGLONG: return RECALL_TYPE_BIGINT;
    case MYSQL_TYPE_FLOAT: return RECALL_TYPE_FLOAT;
    case MYSQL_TYPE_DOUBLE: return RECALL_TYPE_DOUBLE;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: return RECALL_TYPE_DECIMAL;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE: return RECALL_TYPE_DATE;
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_TIME2: return RECALL_TYPE_TIME;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2: return RECALL_TYPE_DATETIME;
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2: return RECALL_TYPE_TIMESTAMP;
    case MYSQL_TYPE_YEAR: return RECALL_TYPE_YEAR;
    case MYSQL_TYPE_BIT: return RECALL_TYPE_BIT;
    case MYSQL_TYPE_JSON: return RECALL_TYPE_JSON;
    case MYSQL_TYPE_ENUM: return RECALL_TYPE_ENUM;
    case MYSQL_TYPE_SET: return RECALL_TYPE_SET;
    case MYSQL_TYPE_NULL: return RECALL_TYPE_NULL;
    case MYSQL_TYPE_GEOMETRY: return RECALL_TYPE_BLOB;
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING: return bin ? RECALL_TYPE_VARBINARY : RECALL_TYPE_VARCHAR;
    case MYSQL_TYPE_STRING:
        if (f->flags & ENUM_FLAG)
            return RECALL_TYPE_ENUM;
        if (f->flags & SET_FLAG)
            return RECALL_TYPE_SET;
        return bin ? RECALL_TYPE_BINARY : RECALL_TYPE_CHAR;
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
        if (json)
            return RECALL_TYPE_JSON;
        return bin ? RECALL_TYPE_BLOB : RECALL_TYPE_TEXT;
    default:
        return RECALL_TYPE_VARCHAR;
    }
}

static void decl_of(const MYSQL_FIELD *f, const char *ext, char *out, size_t n)
{
    bool uns = f->flags & UNSIGNED_FLAG, bin = f->charsetnr == CHARSET_BINARY;
    unsigned long len = f->length;
    const char *base = NULL, *suffix = "";
    int w;

    if (ext) {
        snprintf(out, n, "%s", ext);
        return;
    }
    switch (f->type) {
    case MYSQL_TYPE_TINY: base = "tinyint"; break;
    case MYSQL_TYPE_SHORT: base = "smallint"; break;
    case MYSQL_TYPE_INT24: base = "mediumint"; break;
    case MYSQL_TYPE_LONG: base = "int"; break;
    case MYSQL_TYPE_LONGLONG: base = "bigint"; break;
    default: break;
    }
    if (base) {
        suffix = uns ? ((f->flags & ZEROFILL_FLAG) ? " unsigned zerofill" : " unsigned") : "";
        snprintf(out, n, "%s(%lu)%s", base, len, suffix);
        return;
    }
    switch (f->type) {
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        base = f->type == MYSQL_TYPE_FLOAT ? "float" : "double";
        if (f->decimals < NOT_FIXED_DECIMALS)
            snprintf(out, n, "%s(%lu,%u)%s", base, len, f->decimals, uns ? " unsigned" : "");
        else
            snprintf(out, n, "%s%s", base, uns ? " unsigned" : "");
        return;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: {
        unsigned long prec = len - (f->decimals ? 1 : 0) - (uns ? 0 : 1);
        if (prec > len)
            prec = len;
        snprintf(out, n, "decimal(%lu,%u)%s", prec, f->decimals, uns ? " unsigned" : "");
        return;
    }
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE: snprintf(out, n, "date"); return;
    case MYSQL_TYPE_YEAR: snprintf(out, n, "year"); return;
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_TIME2: base = "time"; break;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2: base = "datetime"; break;
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2: base = "timestamp"; break;
    default: break;
    }
    if (base) {
        if (f->decimals > 0 && f->decimals <= 6)
            snprintf(out, n, "%s(%u)", base, f->decimals);
        else
            snprintf(out, n, "%s", base);
        return;
    }
    switch (f->type) {
    case MYSQL_TYPE_BIT: snprintf(out, n, "bit(%lu)", len); return;
    case MYSQL_TYPE_JSON: snprintf(out, n, "json"); return;
    case MYSQL_TYPE_ENUM: snprintf(out, n, "enum"); return;
    case MYSQL_TYPE_SET: snprintf(out, n, "set"); return;
    case MYSQL_TYPE_NULL: snprintf(out, n, "null"); return;
    case MYSQL_TYPE_GEOMETRY: snprintf(out, n, "geometry"); return;
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
        snprintf(out, n, "%s(%lu)", bin ? "varbinary" : "varchar", len / mbmaxlen(f->charsetnr));
        return;
    case MYSQL_TYPE_STRING:
        if (f->flags & ENUM_FLAG)
            snprintf(out, n, "enum");
        else if (f->flags & SET_FLAG)
            snprintf(out, n, "set");
        else
            snprintf(out, n, "%s(%lu)", bin ? "binary" : "char", len / mbmaxlen(f->charsetnr));
        return;
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB: {
        unsigned long chars = len / mbmaxlen(f->charsetnr);
        const char *size = chars <= 255 ? "tiny" : chars <= 65535 ? "" : chars <= 16777215 ? "medium" : "long";
        w = snprintf(out, n, "%s%s", size, bin ? "blob" : "text");
        (void)w;
        return;
    }
    default:
        snprintf(out, n, "unknown");
        return;
    }
}

int mysqlu_column(const MYSQL_FIELD *f, struct proto_column *c)
{
    char decl[96], ext[64];
    bool json = false, has_ext = false;
    const char *table = f->org_table && f->org_table_length ? f->org_table : f->table;
    unsigned table_len = f->org_table && f->org_table_length ? f->org_table_length : f->table_length;

    memset(c, 0, sizeof *c);
#ifdef MARIADB_PACKAGE_VERSION_ID
    if (ext_type(f, MARIADB_FIELD_ATTR_DATA_TYPE_NAME, ext, sizeof ext))
        has_ext = true;
    else if (ext_type(f, MARIADB_FIELD_ATTR_FORMAT_NAME, ext, sizeof ext))
        has_ext = json = strcmp(ext, "json") == 0;
#endif
    decl_of(f, has_ext ? ext : NULL, decl, sizeof decl);
    if (proto_str_set(&c->name, f->name ? f->name : "", f->name ? f->name_length : 0) < 0 ||
        proto_str_set(&c->table, table ? table : "", table ? table_len : 0) < 0 ||
        proto_str_set(&c->db, f->db ? f->db : "", f->db ? f->db_length : 0) < 0 ||
        proto_str_setz(&c->decl, decl) < 0)
        return -1;
    c->type = (uint8_t)type_of(f, json);
    c->flags = 0;
    if (f->flags & NOT_NULL_FLAG)
        c->flags |= RECALL_COL_NOT_NULL;
    if (f->flags & UNSIGNED_FLAG)
        c->flags |= RECALL_COL_UNSIGNED;
    if (f->flags & PRI_KEY_FLAG)
        c->flags |= RECALL_COL_PRIMARY_KEY;
    if (f->flags & UNIQUE_KEY_FLAG)
        c->flags |= RECALL_COL_UNIQUE;
    if (f->flags & AUTO_INCREMENT_FLAG)
        c->flags |= RECALL_COL_AUTO_INCREMENT;
    if (f->charsetnr == CHARSET_BINARY && (is_string_type(f->type) || f->type == MYSQL_TYPE_BIT))
        c->flags |= RECALL_COL_BINARY;
    c->length = f->length;
    c->decimals = f->decimals >= NOT_FIXED_DECIMALS ? 0 : f->decimals;
    return 0;
}

int mysqlu_cell(const MYSQL_FIELD *f, const char *p, size_t len, struct proto_value *v)
{
    char num[40];
    char *end;

    memset(v, 0, sizeof *v);
    if (!p) {
        v->type = PV_NULL;
        return 0;
    }
    switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
        if (len == 0 || len >= sizeof num)
            break;
        memcpy(num, p, len);
        num[len] = '\0';
        errno = 0;
        if (num[0] != '-') {
            unsigned long long u = strtoull(num, &end, 10);
            if (errno || *end || !isdigit((unsigned char)num[0]))
                break;
            if (u > (unsigned long long)INT64_MAX) {
                v->type = PV_UINT;
                v->v.u = u;
            } else {
                v->type = PV_INT;
                v->v.i = (int64_t)u;
            }
        } else {
            long long i = strtoll(num, &end, 10);
            if (errno || *end)
                break;
            v->type = PV_INT;
            v->v.i = i;
        }
        return 0;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        if (len == 0 || len >= sizeof num)
            break;
        memcpy(num, p, len);
        num[len] = '\0';
        errno = 0;
        v->v.d = strtod(num, &end);
        if (*end || errno == EINVAL)
            break;
        v->type = PV_DOUBLE;
        return 0;
    case MYSQL_TYPE_BIT:
    case MYSQL_TYPE_GEOMETRY:
        return proto_value_set_blob(v, p, len);
    default:
        if (is_string_type(f->type) && f->charsetnr == CHARSET_BINARY)
            return proto_value_set_blob(v, p, len);
        break;
    }
    /* everything else, and anything the server sent that did not parse,
     * as text: never lose a value */
    memset(v, 0, sizeof *v);
    return proto_value_set_text(v, p, len);
}

/* ---- session environment ---- */

#define BOTH (MYSQLU_MARIADB | MYSQLU_MYSQL)
const struct mysqlu_env_var mysqlu_env_vars[] = {
    {"sql_mode", false, BOTH},
    {"time_zone", false, BOTH},
    {"character_set_client", false, BOTH},
    {"collation_connection", false, BOTH},
    {"collation_database", false, BOTH},
    {"collation_server", false, BOTH},
    {"foreign_key_checks", true, BOTH},
    {"unique_checks", true, BOTH},
    {"sql_auto_is_null", true, BOTH},
    {"auto_increment_increment", true, BOTH},
    {"auto_increment_offset", true, BOTH},
    {"lc_time_names", false, BOTH},
    {"explicit_defaults_for_timestamp", true, BOTH},
    {"div_precision_increment", true, BOTH},
    {"group_concat_max_len", true, BOTH},
    {"default_week_format", true, BOTH},
    {"pseudo_thread_id", true, BOTH},
    {"check_constraint_checks", true, MYSQLU_MARIADB},
    {"old_mode", false, MYSQLU_MARIADB},
};
const size_t mysqlu_env_nvars = sizeof mysqlu_env_vars / sizeof mysqlu_env_vars[0];

int mysqlu_env_find(const char *name, size_t len)
{
    for (size_t i = 0; i < mysqlu_env_nvars; i++)
        if (strlen(mysqlu_env_vars[i].name) == len && memcmp(mysqlu_env_vars[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

bool mysqlu_env_value_ok(const struct mysqlu_env_var *v, const char *value, size_t len)
{
    if (v->numeric) {
        if (len == 0 || len > 20)
            return false;
        for (size_t i = 0; i < len; i++)
            if (!isdigit((unsigned char)value[i]))
                return false;
        return true;
    }
    if (len > 1024)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (!isalnum(c) && !strchr("_,.:/+-", c))
            return false;
    }
    return true;
}

/* ---- SQL text ---- */

void mysqlu_quote_ident(struct buf *b, const char *name, size_t len)
{
    buf_append(b, "`", 1);
    for (size_t i = 0; i < len; i++) {
        buf_append(b, &name[i], 1);
        if (name[i] == '`')
            buf_append(b, "`", 1);
    }
    buf_append(b, "`", 1);
}

bool mysqlu_mentions(const char *sql, size_t len, const char *word)
{
    size_t w = strlen(word);
    if (w == 0 || len < w)
        return false;
    for (size_t i = 0; i + w <= len; i++)
        if (strncasecmp(sql + i, word, w) == 0)
            return true;
    return false;
}

/* ---- DDL recovery ---- */

enum tok_kind { T_END, T_WORD, T_QIDENT, T_STRING, T_PUNCT, T_OTHER };

struct tok {
    enum tok_kind k;
    const char *s; /* raw text, quotes included for QIDENT/STRING */
    size_t n;
};

struct lex {
    const char *p, *end;
    struct tok t; /* current token */
};

static bool word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static void lex_next(struct lex *lx)
{
    const char *p = lx->p, *end = lx->end;
    for (;;) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (p < end && *p == '#') {
            while (p < end && *p != '\n')
                p++;
            continue;
        }
        if (p + 2 < end && p[0] == '-' && p[1] == '-' && isspace((unsigned char)p[2])) {
            while (p < end && *p != '\n')
                p++;
            continue;
        }
        if (p + 1 < end && p[0] == '/' && p[1] == '*') {
            if (p + 2 < end && (p[2] == '!' || p[2] == 'M')) {
                /* executable comment: its content is code we do not follow */
                lx->t.k = T_OTHER;
                lx->t.s = p;
                lx->t.n = 2;
                lx->p = end;
                return;
            }
            const char *c = p + 2;
            while (c + 1 < end && !(c[0] == '*' && c[1] == '/'))
                c++;
            p = c + 1 < end ? c + 2 : end;
            continue;
        }
        break;
    }
    lx->t.s = p;
    if (p >= end || *p == ';') {
        /* a trailing ';' ends the statement */
        const char *c = p < end ? p + 1 : p;
        while (c < end && isspace((unsigned char)*c))
            c++;
        lx->t.k = c >= end ? T_END : T_OTHER;
        lx->t.n = 0;
        lx->p = end;
        return;
    }
    if (word_char((unsigned char)*p)) {
        const char *c = p;
        while (c < end && word_char((unsigned char)*c))
            c++;
        lx->t.k = T_WORD;
        lx->t.n = (size_t)(c - p);
        lx->p = c;
        return;
    }
    if (*p == '`' || *p == '"' || *p == '\'') {
        char q = *p;
        const char *c = p + 1;
        for (;;) {
            if (c >= end) {
                lx->t.k = T_OTHER;
                lx->t.n = (size_t)(end - p);
                lx->p = end;
                return;
            }
            if (*c == '\\' && q != '`' && c + 1 < end) {
                c += 2;
                continue;
            }
            if (*c == q) {
                if (c + 1 < end && c[1] == q) {
                    c += 2;
                    continue;
                }
                break;
            }
            c++;
        }
        lx->t.k = q == '\'' ? T_STRING : T_QIDENT;
        lx->t.n = (size_t)(c + 1 - p);
        lx->p = c + 1;
        return;
    }
    lx->t.k = T_PUNCT;
    lx->t.n = 1;
    lx->p = p + 1;
}

static bool kw(const struct lex *lx, const char *k)
{
    return lx->t.k == T_WORD && strlen(k) == lx->t.n && strncasecmp(lx->t.s, k, lx->t.n) == 0;
}

static bool punct(const struct lex *lx, char c)
{
    return lx->t.k == T_PUNCT && lx->t.s[0] == c;
}

/* Copy the current token as a name (unquoted, escapes undone). */
static bool take_name(struct lex *lx, char *out, size_t cap, bool strings_ok)
{
    const struct tok *t = &lx->t;
    size_t o = 0;
    if (t->k == T_WORD) {
        if (t->n >= cap)
            return false;
        memcpy(out, t->s, t->n);
        o = t->n;
    } else if (t->k == T_QIDENT || (strings_ok && t->k == T_STRING)) {
        char q = t->s[0];
        for (size_t i = 1; i + 1 < t->n; i++) {
            char c = t->s[i];
            if (c == q && i + 2 < t->n && t->s[i + 1] == q)
                i++;
            else if (c == '\\' && q != '`' && i + 2 < t->n) {
                c = t->s[++i];
                if (c == 'n')
                    c = '\n';
                else if (c == 't')
                    c = '\t';
                else if (c == '0')
                    c = '\0';
            }
            if (o + 1 >= cap || c == '\0')
                return false;
            out[o++] = c;
        }
    } else {
        return false;
    }
    out[o] = '\0';
    lex_next(lx);
    return o > 0;
}

/* [db.]name */
static bool take_qname(struct lex *lx, const char *cur_db, char *db, char *name)
{
    char first[MYSQLU_NAME_MAX + 1];
    if (!take_name(lx, first, sizeof first, false))
        return false;
    if (punct(lx, '.')) {
        lex_next(lx);
        strcpy(db, first);
        return take_name(lx, name, MYSQLU_NAME_MAX + 1, false);
    }
    if (!cur_db || !*cur_db || strlen(cur_db) > MYSQLU_NAME_MAX)
        return false;
    strcpy(db, cur_db);
    strcpy(name, first);
    return true;
}

/* 'user'@'host' (host defaults to '%') */
static bool take_user(struct lex *lx, char *user, char *host)
{
    if (kw(lx, "CURRENT_USER") || kw(lx, "PUBLIC") || kw(lx, "CURRENT_ROLE"))
        return false;
    if (!take_name(lx, user, MYSQLU_NAME_MAX + 1, true))
        return false;
    if (punct(lx, '@')) {
        lex_next(lx);
        return take_name(lx, host, 256, true);
    }
    strcpy(host, "%");
    return true;
}

static bool if_exists(struct lex *lx, bool want_not)
{
    if (!kw(lx, "IF"))
        return false;
    lex_next(lx);
    if (want_not) {
        if (!kw(lx, "NOT"))
            return false;
        lex_next(lx);
    }
    if (!kw(lx, "EXISTS"))
        return false;
    lex_next(lx);
    return true;
}

static struct mysqlu_probe *add_probe(struct mysqlu_ddl_plan *plan, enum mysqlu_probe_kind kind,
                                      bool exists_after)
{
    struct mysqlu_probe *pr;
    if (plan->n >= MYSQLU_MAX_PROBES)
        return NULL;
    pr = &plan->probes[plan->n++];
    memset(pr, 0, sizeof *pr);
    pr->kind = kind;
    pr->exists_after = exists_after;
    return pr;
}

static void plan_unknown(struct mysqlu_ddl_plan *plan, const char *why)
{
    plan->how = MYSQLU_DDL_UNKNOWN;
    plan->n = 0;
    plan->why = why;
}

/* Skip DEFINER=..., ALGORITHM=..., SQL SECURITY ..., AGGREGATE, OR REPLACE
 * handled by the caller. */
static bool skip_create_options(struct lex *lx)
{
    for (;;) {
        if (kw(lx, "DEFINER")) {
            char u[MYSQLU_NAME_MAX + 1], h[256];
            lex_next(lx);
            if (!punct(lx, '='))
                return false;
            lex_next(lx);
            if (kw(lx, "CURRENT_USER")) {
                lex_next(lx);
                if (punct(lx, '(')) {
                    lex_next(lx);
                    if (!punct(lx, ')'))
                        return false;
                    lex_next(lx);
                }
            } else if (!take_user(lx, u, h)) {
                return false;
            }
        } else if (kw(lx, "ALGORITHM")) {
            lex_next(lx);
            if (!punct(lx, '='))
                return false;
            lex_next(lx);
            lex_next(lx);
        } else if (kw(lx, "SQL")) {
            lex_next(lx);
            if (!kw(lx, "SECURITY"))
                return false;
            lex_next(lx);
            lex_next(lx);
        } else if (kw(lx, "AGGREGATE")) {
            lex_next(lx);
        } else {
            return true;
        }
    }
}

/* The rest of the statement is one clause: no top-level comma. */
static bool single_clause(struct lex *lx)
{
    int depth = 0;
    while (lx->t.k != T_END) {
        if (lx->t.k == T_OTHER)
            return false;
        if (punct(lx, '('))
            depth++;
        else if (punct(lx, ')'))
            depth--;
        else if (punct(lx, ',') && depth == 0)
            return false;
        lex_next(lx);
    }
    return depth == 0;
}

static void plan_create(struct lex *lx, const char *cur_db, struct mysqlu_ddl_plan *plan)
{
    struct mysqlu_probe *pr;
    enum mysqlu_probe_kind kind;

    if (kw(lx, "OR")) {
        lex_next(lx);
        if (kw(lx, "REPLACE")) {
            plan->how = MYSQLU_DDL_RERUN;
            return;
        }
        return plan_unknown(plan, "CREATE OR ... not understood");
    }
    if (!skip_create_options(lx))
        return plan_unknown(plan, "CREATE options not understood");
    if (kw(lx, "TEMPORARY"))
        return plan_unknown(plan, "temporary tables are not replicated");
    if (kw(lx, "DATABASE") || kw(lx, "SCHEMA")) {
        lex_next(lx);
        if (if_exists(lx, true)) {
            plan->how = MYSQLU_DDL_RERUN;
            return;
        }
        pr = add_probe(plan, MYSQLU_PROBE_DB, true);
        if (!take_name(lx, pr->db, sizeof pr->db, false))
            return plan_unknown(plan, "database name not understood");
        plan->how = MYSQLU_DDL_PROBE;
        return;
    }
    if (kw(lx, "UNIQUE") || kw(lx, "FULLTEXT") || kw(lx, "SPATIAL"))
        lex_next(lx);
    if (kw(lx, "INDEX")) {
        char iname[MYSQLU_NAME_MAX + 1];
        lex_next(lx);
        if (if_exists(lx, true)) {
            plan->how = MYSQLU_DDL_RERUN;
            return;
        }
        if (!take_name(lx, iname, sizeof iname, false))
            return plan_unknown(plan, "index name not understood");
        if (kw(lx, "USING")) {
            lex_next(lx);
            lex_next(lx);
        }
        if (!kw(lx, "ON"))
            return plan_unknown(plan, "CREATE INDEX without ON");
        lex_next(lx);
        pr = add_probe(plan, MYSQLU_PROBE_INDEX, true);
        if (!take_qname(lx, cur_db, pr->db, pr->name))
            return plan_unknown(plan, "table name not understood");
        strcpy(pr->sub, iname);
        plan->how = MYSQLU_DDL_PROBE;
        return;
    }
    if (kw(lx, "USER")) {
        lex_next(lx);
        if (if_exists(lx, true)) {
            plan->how = MYSQLU_DDL_RERUN;
            return;
        }
        for (;;) {
            pr = add_probe(plan, MYSQLU_PROBE_USER, true);
            if (!pr || !take_user(lx, pr->db, pr->name))
                return plan_unknown(plan, "user name not understood");
            /* skip this user's options up to the next top-level comma */
            int depth = 0;
            while (lx->t.k != T_END && !(depth == 0 && punct(lx, ','))) {
                if (lx->t.k == T_OTHER)
                    return plan_unknown(plan, "CREATE USER options not understood");
                if (punct(lx, '('))
                    depth++;
                else if (punct(lx, ')'))
                    depth--;
                lex_next(lx);
            }
            if (lx->t.k == T_END)
                break;
            lex_next(lx);
        }
        plan->how = MYSQLU_DDL_PROBE;
        return;
    }
    if (kw(lx, "TABLE") || kw(lx, "VIEW") || kw(lx, "SEQUENCE"))
        kind = MYSQLU_PROBE_TABLE;
    else if (kw(lx, "TRIGGER"))
        kind = MYSQLU_PROBE_TRIGGER;
    else if (kw(lx, "PROCEDURE") || kw(lx, "FUNCTION"))
        kind = MYSQLU_PROBE_ROUTINE;
    else if (kw(lx, "EVENT"))
        kind = MYSQLU_PROBE_EVENT;
    else
        return plan_unknown(plan, "CREATE of this kind of object is not checked");
    lex_next(lx);
    if (if_exists(lx, true)) {
        plan->how = MYSQLU_DDL_RERUN;
        return;
    }
    pr = add_probe(plan, kind, true);
    if (!take_qname(lx, cur_db, pr->db, pr->name))
        return plan_unknown(plan, "object name not understood");
    plan->how = MYSQLU_DDL_PROBE;
}

static void plan_drop(struct lex *lx, const char *cur_db, struct mysqlu_ddl_plan *plan)
{
    struct mysqlu_probe *pr;
    enum mysqlu_probe_kind kind;

    if (kw(lx, "TEMPORARY"))
        return plan_unknown(plan, "temporary tables are not replicated");
    if (kw(lx, "DATABASE") || kw(lx, "SCHEMA")) {
        lex_next(lx);
        if (if_exists(lx, false)) {
            plan->how = MYSQLU_DDL_RERUN;
            return;
        }
        pr = add_probe(plan, MYSQLU_PROBE_DB, false);
        if (!take_name(lx, pr->db, sizeof pr->db, false))
            return plan_unknown(plan, "database name not understood");
        plan->how = MYSQLU_DDL_PROBE;
        return;
    }
    if (kw(lx, "INDEX")) {
        char iname[MYSQLU_NAME_MAX + 1];
        lex_next(lx);
        if (if_exists(lx, false)) {
            plan->how = MYSQLU_DDL_RERUN;
            return;
        }
        if (kw(lx, "ONLINE") || kw(lx, "OFFLINE"))
            lex_next(lx);
        if (!take_name(lx, iname, sizeof iname, false) || !kw(lx, "ON"))
            return plan_unknown(plan, "DROP INDEX not understood");
        lex_next(lx);
        pr = add_probe(plan, MYSQLU_PROBE_INDEX, false);
        if (!take_qname(lx, cur_db, pr->db, pr->name))
            return plan_unknown(plan, "table name not understood");
        strcpy(pr->sub, iname);
        plan->how = MYSQLU_DDL_PROBE;
        return;
    }
    if (kw(lx, "USER")) {
        lex_next(lx);
        if (if_exists(lx, false)) {
            plan->how = MYSQLU_DDL_RERUN;
            return;
        }
        for (;;) {
            pr = add_probe(plan, MYSQLU_PROBE_USER, false);
            if (!pr || !take_user(lx, pr->db, pr->name))
                return plan_unknown(plan, "user name not understood");
            if (!punct(lx, ','))
                break;
            lex_next(lx);
        }
        if (lx->t.k != T_END)
            return plan_unknown(plan, "DROP USER not understood");
        plan->how = MYSQLU_DDL_PROBE;
        return;
    }
    if (kw(lx, "TABLE") || kw(lx, "TABLES") || kw(lx, "VIEW") || kw(lx, "SEQUENCE"))
        kind = MYSQLU_PROBE_TABLE;
    else if (kw(lx, "TRIGGER"))
        kind = MYSQLU_PROBE_TRIGGER;
    else if (kw(lx, "PROCEDURE") || kw(lx, "FUNCTION"))
        kind = MYSQLU_PROBE_ROUTINE;
    else if (kw(lx, "EVENT"))
        kind = MYSQLU_PROBE_EVENT;
    else
        return plan_unknown(plan, "DROP of this kind of object is not checked");
    lex_next(lx);
    if (if_exists(lx, false)) {
        plan->how = MYSQLU_DDL_RERUN;
        return;
    }
    for (;;) {
        pr = add_probe(plan, kind, false);
        if (!pr || !take_qname(lx, cur_db, pr->db, pr->name))
            return plan_unknown(plan, "object name not understood");
        if (kind != MYSQLU_PROBE_TABLE || !punct(lx, ','))
            break;
        lex_next(lx);
    }
    if (kw(lx, "RESTRICT") || kw(lx, "CASCADE"))
        lex_next(lx);
    if (lx->t.k != T_END)
        return plan_unknown(plan, "DROP not understood");
    plan->how = MYSQLU_DDL_PROBE;
}

static void plan_alter_table(struct lex *lx, const char *cur_db, struct mysqlu_ddl_plan *plan)
{
    char db[MYSQLU_NAME_MAX + 1], table[MYSQLU_NAME_MAX + 1];
    struct mysqlu_probe *pr;
    static const char *const not_column[] = {
        "CONSTRAINT", "PRIMARY", "UNIQUE", "FULLTEXT", "SPATIAL", "FOREIGN", "PARTITION",
        "CHECK", "PERIOD", "SYSTEM", "INDEX", "KEY"};
    bool add;

    if (!take_qname(lx, cur_db, db, table))
        return plan_unknown(plan, "table name not understood");
    if (kw(lx, "RENAME")) {
        lex_next(lx);
        if (kw(lx, "TO") || kw(lx, "AS"))
            lex_next(lx);
        if (kw(lx, "COLUMN") || kw(lx, "INDEX") || kw(lx, "KEY"))
            return plan_unknown(plan, "ALTER TABLE ... RENAME COLUMN/INDEX is not checked");
        pr = add_probe(plan, MYSQLU_PROBE_TABLE, false);
        strcpy(pr->db, db);
        strcpy(pr->name, table);
        pr = add_probe(plan, MYSQLU_PROBE_TABLE, true);
        if (!take_qname(lx, cur_db, pr->db, pr->name))
            return plan_unknown(plan, "new table name not understood");
        if (!single_clause(lx))
            return plan_unknown(plan, "several ALTER TABLE clauses");
        plan->how = MYSQLU_DDL_PROBE;
        return;
    }
    if (kw(lx, "ADD"))
        add = true;
    else if (kw(lx, "DROP"))
        add = false;
    else
        return plan_unknown(plan, "this ALTER TABLE clause is not checked");
    lex_next(lx);
    if (kw(lx, "INDEX") || kw(lx, "KEY")) {
        lex_next(lx);
        if (if_exists(lx, add)) {
            if (!single_clause(lx))
                return plan_unknown(plan, "several ALTER TABLE clauses");
            plan->how = MYSQLU_DDL_RERUN;
            return;
        }
        pr = add_probe(plan, MYSQLU_PROBE_INDEX, add);
        if (!take_name(lx, pr->sub, sizeof pr->sub, false))
            return plan_unknown(plan, "index name not understood");
    } else {
        if (kw(lx, "COLUMN"))
            lex_next(lx);
        else
            for (size_t i = 0; i < sizeof not_column / sizeof not_column[0]; i++)
                if (kw(lx, not_column[i]))
                    return plan_unknown(plan, "this ALTER TABLE clause is not checked");
        if (punct(lx, '('))
            return plan_unknown(plan, "ALTER TABLE ADD (several columns) is not checked");
        if (if_exists(lx, add)) {
            if (!single_clause(lx))
                return plan_unknown(plan, "several ALTER TABLE clauses");
            plan->how = MYSQLU_DDL_RERUN;
            return;
        }
        pr = add_probe(plan, MYSQLU_PROBE_COLUMN, add);
        if (!take_name(lx, pr->sub, sizeof pr->sub, false))
            return plan_unknown(plan, "column name not understood");
    }
    strcpy(pr->db, db);
    strcpy(pr->name, table);
    if (!single_clause(lx))
        return plan_unknown(plan, "several ALTER TABLE clauses");
    plan->how = MYSQLU_DDL_PROBE;
}

static void plan_rename_table(struct lex *lx, const char *cur_db, struct mysqlu_ddl_plan *plan)
{
    for (;;) {
        struct mysqlu_probe *from = add_probe(plan, MYSQLU_PROBE_TABLE, false);
        struct mysqlu_probe *to = add_probe(plan, MYSQLU_PROBE_TABLE, true);
        if (!from || !to)
            return plan_unknown(plan, "too many tables renamed");
        if (!take_qname(lx, cur_db, from->db, from->name) || !kw(lx, "TO"))
            return plan_unknown(plan, "RENAME TABLE not understood");
        lex_next(lx);
        if (!take_qname(lx, cur_db, to->db, to->name))
            return plan_unknown(plan, "RENAME TABLE not understood");
        if (!punct(lx, ','))
            break;
        lex_next(lx);
    }
    if (lx->t.k != T_END)
        return plan_unknown(plan, "RENAME TABLE not understood");
    /* a name used twice (a swap through a temporary name) looks the same
     * before and after */
    for (unsigned i = 0; i < plan->n; i++)
        for (unsigned j = i + 1; j < plan->n; j++)
            if (strcmp(plan->probes[i].db, plan->probes[j].db) == 0 &&
                strcmp(plan->probes[i].name, plan->probes[j].name) == 0)
                return plan_unknown(plan, "RENAME TABLE reuses a name");
    plan->how = MYSQLU_DDL_PROBE;
}

void mysqlu_ddl_plan(const char *sql, size_t len, const char *cur_db, struct mysqlu_ddl_plan *plan)
{
    struct lex lx = {sql, sql + len, {T_END, sql, 0}};

    memset(plan, 0, sizeof *plan);
    plan_unknown(plan, "statement not understood");
    lex_next(&lx);
    if (kw(&lx, "CREATE")) {
        lex_next(&lx);
        plan_create(&lx, cur_db, plan);
    } else if (kw(&lx, "DROP")) {
        lex_next(&lx);
        plan_drop(&lx, cur_db, plan);
    } else if (kw(&lx, "ALTER")) {
        lex_next(&lx);
        while (kw(&lx, "ONLINE") || kw(&lx, "IGNORE"))
            lex_next(&lx);
        if (kw(&lx, "TABLE")) {
            lex_next(&lx);
            plan_alter_table(&lx, cur_db, plan);
        } else if (kw(&lx, "USER") || kw(&lx, "DATABASE") || kw(&lx, "SCHEMA") || kw(&lx, "VIEW")) {
            plan->how = MYSQLU_DDL_RERUN;
        } else {
            plan_unknown(plan, "this ALTER is not checked");
        }
    } else if (kw(&lx, "RENAME")) {
        lex_next(&lx);
        if (kw(&lx, "TABLE") || kw(&lx, "TABLES")) {
            lex_next(&lx);
            plan_rename_table(&lx, cur_db, plan);
        } else {
            plan_unknown(plan, "RENAME USER is not checked");
        }
    } else if (kw(&lx, "TRUNCATE") || kw(&lx, "GRANT") || kw(&lx, "ANALYZE") ||
               kw(&lx, "OPTIMIZE") || kw(&lx, "REPAIR")) {
        plan->how = MYSQLU_DDL_RERUN;
    } else if (kw(&lx, "SET")) {
        lex_next(&lx);
        if (kw(&lx, "PASSWORD") || kw(&lx, "DEFAULT"))
            plan->how = MYSQLU_DDL_RERUN;
        else
            plan_unknown(plan, "statement not understood");
    }
    if (plan->how != MYSQLU_DDL_UNKNOWN)
        plan->why = NULL;
}
