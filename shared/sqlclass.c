/* Lexical SQL statement classification.  See sqlclass.h for the contract.
 *
 * A lexer turns the text into tokens (words, quoted identifiers, strings,
 * numbers, placeholders, variables, punctuation), skipping blanks and
 * comments and entering MySQL executable comments.  Each statement is then
 * scanned once: its first LEAD_MAX tokens are kept for the leading-keyword
 * decision, and flags are collected over the whole statement for the
 * constructs that are refused wherever they appear (INTO OUTFILE, GET_LOCK(),
 * user variables, NOWAIT, ...).  A few statement forms need a second look
 * at their own tokens (SET's assignment list, SET STATEMENT ... FOR's inner
 * statement): that re-lexes the statement's span, so the work stays linear.
 * Nothing is allocated and no byte at or beyond `len` is ever read.
 */
#include "config.h"

#include "sqlclass.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- keywords: sorted by strcmp (bsearch); checked by sqlclass_selfcheck ---- */

#define SQL_KEYWORDS(X) \
    X(ALTER) X(ANALYZE) X(AND) X(ATTACH) X(BEGIN) X(CALL) X(CASE) X(CHAIN) \
    X(CHARACTER) X(CHARSET) X(CHECK) X(CHECKSUM) X(COMMIT) X(COMMITTED) \
    X(CONSISTENT) X(CREATE) X(DATABASE) X(DEALLOCATE) X(DEFAULT) X(DEFERRED) \
    X(DEFINER) X(DELETE) X(DESC) X(DESCRIBE) X(DETACH) X(DO) X(DROP) X(DUMPFILE) \
    X(END) X(EVENT) X(EXCLUSIVE) X(EXECUTE) X(EXPLAIN) X(EXPORT) X(FLUSH) X(FOR) \
    X(FUNCTION) X(GET_LOCK) X(GLOBAL) X(GRANT) X(GRANTS) X(HANDLER) X(HELP) X(IF) \
    X(IMMEDIATE) X(IN) X(INDEX) X(INSERT) X(INSTALL) X(INTO) X(ISOLATION) \
    X(IS_FREE_LOCK) X(IS_USED_LOCK) X(LEVEL) X(LOAD) X(LOCAL) X(LOCK) X(LOCKED) \
    X(LOGFILE) X(LOOP) X(MODE) X(NAMES) X(NO) X(NOT) X(NOWAIT) \
    X(NO_WRITE_TO_BINLOG) X(ONLY) X(OPTIMIZE) X(OR) X(OUTFILE) X(PACKAGE) \
    X(PASSWORD) X(PERSIST) X(PERSIST_ONLY) X(PRAGMA) X(PREPARE) X(PROCEDURE) \
    X(READ) X(REINDEX) X(RELEASE) X(RELEASE_ALL_LOCKS) X(RELEASE_LOCK) X(RENAME) \
    X(REPAIR) X(REPEAT) X(REPEATABLE) X(REPLACE) X(REVOKE) X(ROLE) X(ROLLBACK) \
    X(SAVEPOINT) X(SCHEMA) X(SELECT) X(SEQUENCE) X(SERIALIZABLE) X(SERVER) \
    X(SESSION) X(SET) X(SHARE) X(SHOW) X(SKIP) X(SNAPSHOT) X(SONAME) X(START) \
    X(STATEMENT) X(TABLE) X(TABLESPACE) X(TEMP) X(TEMPORARY) X(TO) X(TRANSACTION) \
    X(TRIGGER) X(TRUNCATE) X(UNCOMMITTED) X(UNINSTALL) X(UNLOCK) X(UPDATE) X(USE) \
    X(USER) X(VACUUM) X(VALUES) X(VIEW) X(WHILE) X(WITH) X(WORK) X(WRITE) X(XA)

enum kw {
    KW_NONE = -1,
#define KW_ENUM_(k) KW_##k,
    SQL_KEYWORDS(KW_ENUM_)
#undef KW_ENUM_
    KW__COUNT
};

static const char *const kw_names[KW__COUNT] = {
#define KW_NAME_(k) #k,
    SQL_KEYWORDS(KW_NAME_)
#undef KW_NAME_
};

#define KW_MAXLEN 24

/* Keyword id of the word p[0..n), KW_NONE if it is none of ours. */
static int kw_lookup(const char *p, size_t n)
{
    char up[KW_MAXLEN + 1];
    int lo = 0, hi = KW__COUNT - 1;
    if (n == 0 || n > KW_MAXLEN)
        return KW_NONE;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        up[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    up[n] = '\0';
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(up, kw_names[mid]);
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return KW_NONE;
}

int sqlclass_selfcheck(void)
{
    for (int i = 1; i < KW__COUNT; i++)
        if (strcmp(kw_names[i - 1], kw_names[i]) >= 0)
            return -1;
    for (int i = 0; i < KW__COUNT; i++)
        if (strlen(kw_names[i]) > KW_MAXLEN || kw_lookup(kw_names[i], strlen(kw_names[i])) != i)
            return -1;
    return 0;
}

/* ---- refusals: why, and what to do instead ---- */

static const char R_NUL[] =
    "the statement contains a NUL byte outside a string literal; remove it, or pass "
    "binary data as a parameter";
static const char R_CALL[] =
    "CALL is not supported: a stored procedure's effects cannot be replicated as "
    "statements; run the procedure's statements from the client instead";
static const char R_LOAD[] =
    "LOAD DATA/LOAD XML is not supported: the file exists on one host only; insert "
    "the rows with INSERT statements and parameters instead";
static const char R_INTO_FILE[] =
    "SELECT ... INTO OUTFILE/DUMPFILE is not supported: it writes a file on one "
    "replica's host; fetch the rows through the client instead";
static const char R_INTO_VAR[] =
    "SELECT ... INTO @variable is not supported: user variables live in one replica's "
    "session; fetch the value and pass it as a parameter instead";
static const char R_LOCK_TABLES[] =
    "LOCK TABLES/UNLOCK TABLES are not supported: table locks taken on one replica do "
    "not replicate; use a transaction with SELECT ... FOR UPDATE instead";
static const char R_HANDLER[] =
    "HANDLER is not supported: it reads one replica's tables outside any transaction; "
    "use SELECT instead";
static const char R_LOCK_FUNC[] =
    "GET_LOCK()/RELEASE_LOCK()/IS_FREE_LOCK()/IS_USED_LOCK() are not supported: named "
    "locks exist on one server only; lock a row of a table in a transaction instead";
static const char R_TEMP[] =
    "temporary tables are not supported: they live in one backend session and cannot "
    "be replicated; use a regular table instead";
static const char R_USERVAR[] =
    "user variables (@name) in write and DDL statements are not supported: their "
    "values live in one replica's session; pass the value as a ? parameter instead";
static const char R_NOWAIT[] =
    "NOWAIT and SKIP LOCKED are not supported in write and DDL statements: what they "
    "do depends on concurrent locks that backups cannot reproduce; use them in reads only";
static const char R_DEFINER[] =
    "CREATE/ALTER of a view, procedure, function, trigger or event needs an explicit "
    "DEFINER: backups would record the replication account as definer; add "
    "DEFINER = user@host";
static const char R_MULTI[] =
    "multi-statement strings are supported only when every statement is a read; send "
    "each write, DDL, transaction or session statement separately";
static const char R_ISOLATION[] =
    "isolation levels below REPEATABLE READ are not supported: statement-based "
    "replication needs REPEATABLE READ or SERIALIZABLE";
static const char R_GLOBAL[] =
    "SET GLOBAL/PERSIST changes one replica's server only; configure every replica's "
    "backend instead";
static const char R_PREPARE[] =
    "SQL-level PREPARE/EXECUTE/DEALLOCATE are not supported: they hide the statement "
    "from Recall; use the client API's prepared statements with ? parameters instead";
static const char R_XA[] =
    "XA transactions are not supported: Recall commits through its own replication "
    "quorum; use ordinary transactions";
static const char R_COMPOUND[] =
    "compound statements (BEGIN NOT ATOMIC ... END) are not supported; send the "
    "statements one at a time";
static const char R_CHAIN[] =
    "COMMIT/ROLLBACK AND CHAIN and RELEASE are not supported; end the transaction, "
    "then BEGIN a new one or close the connection";
static const char R_AUTOCOMMIT_VALUE[] =
    "SET autocommit needs a literal value: 0, 1, ON or OFF";
static const char R_TXN_VALUE[] =
    "SET transaction_isolation/transaction_read_only needs a literal value, e.g. "
    "'REPEATABLE-READ' or ON";
static const char R_SET_MIX[] =
    "set autocommit, and transaction characteristics, each in a SET statement of "
    "their own";
static const char R_NAME[] =
    "the savepoint or database name is longer than 64 bytes or contains a NUL byte";
static const char R_ANALYZE_WRITE[] =
    "EXPLAIN ANALYZE/ANALYZE of a write statement executes it outside Recall's "
    "control; run the statement itself, or EXPLAIN it without ANALYZE";
static const char R_FLUSH_LOCK[] =
    "FLUSH TABLES ... WITH READ LOCK/FOR EXPORT is not supported: it locks one "
    "replica's server only";
static const char R_NESTED[] = "nested SET STATEMENT ... FOR is not supported";
static const char R_ATTACH[] =
    "ATTACH/DETACH are not supported: the attached file would exist on one replica "
    "only; Recall replicates one database";
static const char R_VACUUM[] =
    "VACUUM is not supported through Recall: it cannot run in a transaction and is "
    "not replicated; vacuum each replica's database file while that replica is stopped";
static const char R_PRAGMA[] =
    "a PRAGMA that changes a setting or the database is not supported: it would affect "
    "one replica's connection only (reads like PRAGMA table_info(t) are fine)";

/* ---- lexer ---- */

enum tk {
    TK_END, TK_WORD, TK_QIDENT, TK_STRING, TK_NUMBER, TK_PARAM, TK_NAMED,
    TK_USERVAR, TK_SYSVAR, TK_PUNCT
};

struct tok {
    enum tk type;
    int kw;        /* TK_WORD: keyword id or KW_NONE */
    char ch;       /* TK_PUNCT */
    size_t pos, len;
};

struct lexer {
    const char *s;
    size_t len, pos;
    enum sql_dialect d;
    bool in_exec;   /* inside a MySQL executable comment */
    bool nul;       /* a NUL byte outside literals was skipped */
    unsigned qmax;  /* highest placeholder number so far */
};

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_ident(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '$' || c >= 0x80;
}

static bool is_ident_start(const struct lexer *lx, unsigned char c)
{
    return is_alpha(c) || c == '_' || c >= 0x80 || (c == '$' && lx->d == SQL_DIALECT_MYSQL);
}

static bool lx_at(const struct lexer *lx, size_t off, char c)
{
    return lx->pos + off < lx->len && lx->s[lx->pos + off] == c;
}

/* Skip a quoted run starting at the opening quote q; `backslash` enables
 * MySQL's escapes.  A doubled quote stands for one.  Stops at len if the
 * quote is never closed. */
static void skip_quoted(struct lexer *lx, char q, bool backslash)
{
    const char *s = lx->s;
    size_t i = lx->pos + 1, n = lx->len;
    while (i < n) {
        if (backslash && s[i] == '\\') {
            i += 2;
            continue;
        }
        if (s[i] == q) {
            if (i + 1 < n && s[i + 1] == q) {
                i += 2;
                continue;
            }
            i++;
            break;
        }
        i++;
    }
    lx->pos = i < n ? i : n;
}

static void skip_line(struct lexer *lx)
{
    const char *nl = memchr(lx->s + lx->pos, '\n', lx->len - lx->pos);
    lx->pos = nl ? (size_t)(nl - lx->s) + 1 : lx->len;
}

/* Skip a / * ... * / comment starting at pos. */
static void skip_block_comment(struct lexer *lx)
{
    size_t i = lx->pos + 2;
    while (i + 1 < lx->len && !(lx->s[i] == '*' && lx->s[i + 1] == '/'))
        i++;
    lx->pos = i + 1 < lx->len ? i + 2 : lx->len;
}

static void skip_ident_chars(struct lexer *lx, bool dots)
{
    while (lx->pos < lx->len &&
           (is_ident((unsigned char)lx->s[lx->pos]) || (dots && lx->s[lx->pos] == '.')))
        lx->pos++;
}

static void lex_next(struct lexer *lx, struct tok *t)
{
    const char *s = lx->s;
    bool mysql = lx->d == SQL_DIALECT_MYSQL;
    unsigned char c;

    /* Blanks and comments. */
    for (;;) {
        if (lx->pos >= lx->len) {
            t->type = TK_END;
            t->kw = KW_NONE;
            t->ch = 0;
            t->pos = lx->len;
            t->len = 0;
            return;
        }
        c = (unsigned char)s[lx->pos];
        if (is_space(c)) {
            lx->pos++;
        } else if (c == 0) {
            lx->nul = true;
            lx->pos++;
        } else if (c == '#' && mysql) {
            skip_line(lx);
        } else if (c == '-' && lx_at(lx, 1, '-') &&
                   (!mysql || lx->pos + 2 >= lx->len ||
                    (unsigned char)s[lx->pos + 2] <= ' ')) {
            skip_line(lx);
        } else if (c == '/' && lx_at(lx, 1, '*')) {
            if (mysql && !lx->in_exec &&
                (lx_at(lx, 2, '!') || (lx_at(lx, 2, 'M') && lx_at(lx, 3, '!')))) {
                lx->pos += lx_at(lx, 2, '!') ? 3 : 4;
                for (int d = 0; d < 6 && lx->pos < lx->len &&
                                is_digit((unsigned char)s[lx->pos]); d++)
                    lx->pos++;
                lx->in_exec = true;
            } else {
                skip_block_comment(lx);
            }
        } else if (c == '*' && lx->in_exec && lx_at(lx, 1, '/')) {
            lx->in_exec = false;
            lx->pos += 2;
        } else {
            break;
        }
    }

    t->pos = lx->pos;
    t->kw = KW_NONE;
    t->ch = 0;
    if (is_ident_start(lx, c)) {
        t->type = TK_WORD;
        skip_ident_chars(lx, false);
        t->kw = kw_lookup(s + t->pos, lx->pos - t->pos);
    } else if (is_digit(c) || (c == '.' && lx->pos + 1 < lx->len &&
                               is_digit((unsigned char)s[lx->pos + 1]))) {
        t->type = TK_NUMBER;
        lx->pos++;
        skip_ident_chars(lx, true);
    } else if (c == '\'') {
        t->type = TK_STRING;
        skip_quoted(lx, '\'', mysql);
    } else if (c == '"') {
        t->type = mysql ? TK_STRING : TK_QIDENT;
        skip_quoted(lx, '"', mysql);
    } else if (c == '`') {
        t->type = TK_QIDENT;
        skip_quoted(lx, '`', false);
    } else if (c == '[' && !mysql) {
        const char *close = memchr(s + lx->pos, ']', lx->len - lx->pos);
        t->type = TK_QIDENT;
        lx->pos = close ? (size_t)(close - s) + 1 : lx->len;
    } else if (c == '?') {
        unsigned num = 0;
        bool numbered = false;
        t->type = TK_PARAM;
        lx->pos++;
        if (!mysql)
            while (lx->pos < lx->len && is_digit((unsigned char)s[lx->pos])) {
                if (num < 1000000)
                    num = num * 10 + (unsigned)(s[lx->pos] - '0');
                numbered = true;
                lx->pos++;
            }
        if (!numbered)
            num = lx->qmax + 1;
        if (num > lx->qmax && num <= 1000000)
            lx->qmax = num;
    } else if (c == '@' && mysql) {
        unsigned char n1 = lx->pos + 1 < lx->len ? (unsigned char)s[lx->pos + 1] : 0;
        if (n1 == '@') {
            t->type = TK_SYSVAR;
            lx->pos += 2;
            if (lx_at(lx, 0, '`'))
                skip_quoted(lx, '`', false);
            else
                skip_ident_chars(lx, true);
        } else if (n1 == '\'' || n1 == '"' || n1 == '`') {
            t->type = TK_USERVAR;
            lx->pos++;
            skip_quoted(lx, (char)n1, n1 != '`');
        } else if (is_ident(n1) || n1 == '.') {
            t->type = TK_USERVAR;
            lx->pos++;
            skip_ident_chars(lx, true);
        } else {
            t->type = TK_PUNCT;
            t->ch = '@';
            lx->pos++;
        }
    } else if (!mysql && (c == '@' || c == ':' || c == '$') && lx->pos + 1 < lx->len &&
               is_ident((unsigned char)s[lx->pos + 1])) {
        t->type = TK_NAMED;
        lx->pos++;
        skip_ident_chars(lx, false);
    } else {
        t->type = TK_PUNCT;
        t->ch = (char)c;
        lx->pos++;
    }
    t->len = lx->pos - t->pos;
}

/* Case-insensitive comparison of a token's text with an ASCII word. */
static bool tok_text_is(const struct lexer *lx, const struct tok *t, const char *w)
{
    size_t n = strlen(w);
    if (t->len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = lx->s[t->pos + i], b = w[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

/* The identifier a WORD, QIDENT or (MySQL, ANSI_QUOTES-style) STRING token
 * names, unquoted, into out[65].  Returns 0, or -1 if it is longer than 64
 * bytes or holds a NUL byte. */
static int tok_name(const struct lexer *lx, const struct tok *t, char out[65])
{
    const char *p = lx->s + t->pos;
    size_t n = t->len, o = 0;
    char q = 0;

    if (t->type == TK_QIDENT || t->type == TK_STRING) {
        q = p[0] == '[' ? ']' : p[0];
        p++;
        n--;
        if (n > 0 && p[n - 1] == q)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (q && c == q && i + 1 < n && p[i + 1] == q)
            i++;
        else if (t->type == TK_STRING && lx->d == SQL_DIALECT_MYSQL && c == '\\' && i + 1 < n)
            c = p[++i];
        if (c == '\0' || o == 64)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* ---- one statement ---- */

#define LEAD_MAX 32

struct scan {
    struct lexer start;      /* lexer state at the statement's first byte */
    size_t end;              /* offset of the ';' that ended it, or len */
    struct tok lead[LEAD_MAX];
    int nlead, ntok;
    int first;               /* index in lead of the first token that is not '(' */
    bool nul;
    /* constructs anywhere in the statement */
    bool locking, nowait, into_file, into_var, lock_func, soname;
    int definer_idx;         /* index in lead of the first "DEFINER =", or -1 */
    int uservars;            /* user-variable references outside account names */
    /* structure */
    int obj_kw;              /* CREATE/ALTER/DROP: object keyword, or KW_NONE */
    int obj_idx;             /* its index in lead */
    bool routine;            /* block body: ';' inside BEGIN ... END does not split */
    int with_main;           /* WITH ...: keyword of the main statement */
    bool have_for;           /* SET STATEMENT ... FOR found */
    struct lexer for_lx;     /* lexer state just after that FOR */
};

static bool kw_in(int kw, const int *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == kw)
            return true;
    return false;
}
#define KW_IN(kw, ...) \
    kw_in((kw), (const int[]){__VA_ARGS__}, sizeof((const int[]){__VA_ARGS__}) / sizeof(int))

static bool is_object_kw(int kw)
{
    return KW_IN(kw, KW_TABLE, KW_INDEX, KW_VIEW, KW_PROCEDURE, KW_FUNCTION, KW_TRIGGER,
                 KW_EVENT, KW_DATABASE, KW_SCHEMA, KW_USER, KW_ROLE, KW_SERVER,
                 KW_TABLESPACE, KW_SEQUENCE, KW_LOGFILE, KW_PACKAGE, KW_PREPARE);
}

static bool is_routine_kw(int kw)
{
    return KW_IN(kw, KW_PROCEDURE, KW_FUNCTION, KW_TRIGGER, KW_EVENT, KW_PACKAGE);
}

static bool is_write_kw(int kw)
{
    return KW_IN(kw, KW_INSERT, KW_UPDATE, KW_DELETE, KW_REPLACE);
}

/* Scan one statement from lx's position up to and including its ';' (or the
 * end of input), filling sc.  The lexer is left after the ';'. */
static void scan_stmt(struct lexer *lx, struct scan *sc)
{
    struct tok t;
    int paren = 0, block = 0, with_depth = -1;
    int p1 = KW_NONE, p2 = KW_NONE, p3 = KW_NONE; /* keywords of the previous tokens */
    char p1ch = 0;                              /* previous token if punctuation */
    bool pending_lockfn = false, skip_case = false, first_seen = false;
    int definer_state = 0;

    memset(sc, 0, sizeof *sc);
    sc->start = *lx;
    sc->obj_kw = KW_NONE;
    sc->with_main = KW_NONE;
    sc->definer_idx = -1;
    bool nul_before = lx->nul;
    lx->nul = false;

    for (;;) {
        lex_next(lx, &t);
        if (t.type == TK_END) {
            sc->end = lx->len;
            break;
        }
        if (t.type == TK_PUNCT && t.ch == ';' && block == 0) {
            sc->end = t.pos;
            break;
        }
        int idx = sc->ntok++;
        if (idx < LEAD_MAX)
            sc->lead[sc->nlead++] = t;
        if (!first_seen && !(t.type == TK_PUNCT && t.ch == '(')) {
            first_seen = true;
            sc->first = idx < LEAD_MAX ? idx : LEAD_MAX - 1;
            if (t.kw == KW_WITH)
                with_depth = paren;
        }

        /* Account names after DEFINER: user[@host], CURRENT_USER[()]. */
        bool in_account = false;
        switch (definer_state) {
        case 1:
            definer_state = (t.type == TK_PUNCT && t.ch == '=') ? 2 : 0;
            if (definer_state == 2 && sc->definer_idx < 0)
                sc->definer_idx = idx < LEAD_MAX ? idx : LEAD_MAX;
            break;
        case 2:
            definer_state = (t.type == TK_WORD || t.type == TK_STRING ||
                             t.type == TK_QIDENT) ? 3 : 0;
            in_account = definer_state == 3;
            break;
        case 3:
            definer_state = 0;
            if (t.type == TK_USERVAR)
                in_account = true;
            else if (t.type == TK_PUNCT && t.ch == '@')
                in_account = true, definer_state = 4;
            break;
        case 4:
            definer_state = 0;
            in_account = true;
            break;
        }

        if (pending_lockfn && t.type == TK_PUNCT && t.ch == '(')
            sc->lock_func = true;
        pending_lockfn = false;

        switch (t.type) {
        case TK_PUNCT:
            if (t.ch == '(') {
                if (with_depth >= 0 && paren == with_depth && p1ch == ')' &&
                    sc->with_main == KW_NONE)
                    sc->with_main = KW_SELECT; /* WITH a AS (...) (SELECT ...) */
                paren++;
            } else if (t.ch == ')') {
                if (paren > 0)
                    paren--;
            } else if (t.ch == '@' && !in_account) {
                sc->uservars++;
                if (p1 == KW_INTO)
                    sc->into_var = true;
            }
            break;
        case TK_USERVAR:
            if (!in_account) {
                sc->uservars++;
                if (p1 == KW_INTO)
                    sc->into_var = true;
            }
            break;
        case TK_WORD:
            if (in_account)
                break;
            switch (t.kw) {
            case KW_UPDATE:
            case KW_SHARE:
                if (p1 == KW_FOR)
                    sc->locking = true;
                break;
            case KW_MODE:
                if (p1 == KW_SHARE && p2 == KW_IN && p3 == KW_LOCK)
                    sc->locking = true;
                break;
            case KW_NOWAIT:
                sc->nowait = true;
                break;
            case KW_LOCKED:
                if (p1 == KW_SKIP)
                    sc->nowait = true;
                break;
            case KW_OUTFILE:
            case KW_DUMPFILE:
                if (p1 == KW_INTO)
                    sc->into_file = true;
                break;
            case KW_GET_LOCK:
            case KW_RELEASE_LOCK:
            case KW_RELEASE_ALL_LOCKS:
            case KW_IS_FREE_LOCK:
            case KW_IS_USED_LOCK:
                pending_lockfn = true;
                break;
            case KW_DEFINER:
                definer_state = 1;
                break;
            case KW_SONAME:
                sc->soname = true;
                break;
            case KW_FOR: {
                const struct tok *l = sc->lead + sc->first;
                if (!sc->have_for && paren == 0 && sc->nlead - sc->first >= 2 &&
                    l[0].kw == KW_SET && l[1].kw == KW_STATEMENT) {
                    sc->have_for = true;
                    sc->for_lx = *lx;
                }
                break;
            }
            default:
                break;
            }
            if (with_depth >= 0 && paren == with_depth && sc->with_main == KW_NONE &&
                (t.kw == KW_SELECT || t.kw == KW_TABLE || t.kw == KW_VALUES ||
                 is_write_kw(t.kw)))
                sc->with_main = t.kw;
            /* What a CREATE/ALTER/DROP is about, and whether it has a body. */
            if (idx < LEAD_MAX && sc->obj_kw == KW_NONE && idx > sc->first) {
                int l0 = sc->lead[sc->first].kw;
                if ((l0 == KW_CREATE || l0 == KW_ALTER || l0 == KW_DROP) &&
                    is_object_kw(t.kw)) {
                    sc->obj_kw = t.kw;
                    sc->obj_idx = idx;
                    if ((l0 == KW_CREATE && is_routine_kw(t.kw)) ||
                        (l0 == KW_ALTER && t.kw == KW_EVENT))
                        sc->routine = true;
                }
                if (l0 == KW_BEGIN && idx == sc->first + 1 && t.kw == KW_NOT) {
                    sc->routine = true; /* BEGIN NOT ATOMIC: refused, one statement */
                    block = 1;
                }
            }
            if (sc->routine) {
                if (t.kw == KW_BEGIN) {
                    block++;
                } else if (t.kw == KW_CASE) {
                    if (!skip_case)
                        block++;
                } else if (t.kw == KW_END) {
                    /* END IF/LOOP/WHILE/REPEAT/FOR close what we do not count;
                     * plain END closes BEGIN or a CASE expression; END CASE a
                     * CASE statement. */
                    struct lexer peek = *lx;
                    struct tok nt;
                    lex_next(&peek, &nt);
                    if (!KW_IN(nt.kw, KW_IF, KW_LOOP, KW_WHILE, KW_REPEAT, KW_FOR) &&
                        block > 0)
                        block--;
                    skip_case = nt.kw == KW_CASE;
                    p3 = p2, p2 = p1, p1 = t.kw, p1ch = 0;
                    continue;
                }
                skip_case = false;
            }
            break;
        default:
            break;
        }
        p3 = p2;
        p2 = p1;
        p1 = t.type == TK_WORD ? t.kw : KW_NONE;
        p1ch = t.type == TK_PUNCT ? t.ch : 0;
    }
    sc->nul = lx->nul;
    lx->nul = nul_before || lx->nul;
    if (sc->nlead == 0)
        sc->first = 0;
}

/* ---- decisions ---- */

static int kw_at(const struct scan *sc, int i)
{
    return (i >= 0 && i < sc->nlead && sc->lead[i].type == TK_WORD) ? sc->lead[i].kw : KW_NONE;
}

static bool punct_at(const struct scan *sc, int i, char c)
{
    return i >= 0 && i < sc->nlead && sc->lead[i].type == TK_PUNCT && sc->lead[i].ch == c;
}

static void set_name(const struct scan *sc, int i, struct sql_info *out)
{
    const struct tok *t;
    if (i >= sc->nlead)
        return;
    t = &sc->lead[i];
    if (t->type != TK_WORD && t->type != TK_QIDENT && t->type != TK_STRING)
        return;
    if (tok_name(&sc->start, t, out->name) < 0) {
        out->name[0] = '\0';
        out->refusal = R_NAME;
    }
}

/* COMMIT/ROLLBACK tail: AND [NO] CHAIN, [NO] RELEASE. */
static void check_chain(const struct scan *sc, int from, struct sql_info *out)
{
    for (int i = from; i < sc->nlead; i++) {
        int k = kw_at(sc, i);
        if ((k == KW_CHAIN && kw_at(sc, i - 1) == KW_AND) ||
            (k == KW_RELEASE && kw_at(sc, i - 1) != KW_NO))
            out->refusal = R_CHAIN;
    }
}

/* A level name: REPEATABLE READ etc. as words, or 'READ-COMMITTED' etc. as a
 * string or word, or 0..3.  SQL_ISO_NONE if not recognized. */
static enum sql_isolation iso_from_text(const char *p, size_t n)
{
    static const char *const names[] = {"READUNCOMMITTED", "READCOMMITTED",
                                        "REPEATABLEREAD", "SERIALIZABLE"};
    char up[24];
    size_t o = 0;
    if (n == 1 && p[0] >= '0' && p[0] <= '3')
        return (enum sql_isolation)(SQL_ISO_READ_UNCOMMITTED + (p[0] - '0'));
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '-' || c == ' ' || c == '_')
            continue;
        if (o == sizeof up - 1)
            return SQL_ISO_NONE;
        up[o++] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    up[o] = '\0';
    for (int i = 0; i < 4; i++)
        if (strcmp(up, names[i]) == 0)
            return (enum sql_isolation)(SQL_ISO_READ_UNCOMMITTED + i);
    return SQL_ISO_NONE;
}

/* Text of a literal value token without quotes (for 'ON', 'READ-COMMITTED'). */
static void literal_span(const struct lexer *lx, const struct tok *t, const char **p,
                         size_t *n)
{
    *p = lx->s + t->pos;
    *n = t->len;
    if (t->type == TK_STRING && *n >= 2) {
        (*p)++;
        *n -= 2;
    }
}

/* 1, 0, or -1 when the token is not a boolean literal. */
static int bool_literal(const struct lexer *lx, const struct tok *t)
{
    const char *p;
    size_t n;
    if (t->type != TK_WORD && t->type != TK_NUMBER && t->type != TK_STRING)
        return -1;
    if (t->type == TK_WORD && t->kw == KW_DEFAULT)
        return 0; /* callers map DEFAULT themselves where it differs */
    literal_span(lx, t, &p, &n);
    struct tok tmp = {TK_WORD, KW_NONE, 0, (size_t)(p - lx->s), n};
    if (tok_text_is(lx, &tmp, "1") || tok_text_is(lx, &tmp, "on") ||
        tok_text_is(lx, &tmp, "true"))
        return 1;
    if (tok_text_is(lx, &tmp, "0") || tok_text_is(lx, &tmp, "off") ||
        tok_text_is(lx, &tmp, "false"))
        return 0;
    return -1;
}

/* SET [GLOBAL|SESSION] TRANSACTION characteristic, ...; lx is after
 * TRANSACTION. */
static void decide_set_transaction(struct lexer *lx, bool global, bool session,
                                   struct sql_info *out)
{
    struct tok t;
    out->kind = SQL_SET_TRANSACTION;
    out->session_scope = session;
    if (global) {
        out->kind = SQL_REFUSED;
        out->refusal = R_GLOBAL;
        return;
    }
    lex_next(lx, &t);
    while (t.type != TK_END) {
        if (t.kw == KW_ISOLATION) {
            struct tok a, b;
            lex_next(lx, &a); /* LEVEL */
            lex_next(lx, &a);
            if (a.kw == KW_SERIALIZABLE) {
                out->isolation = SQL_ISO_SERIALIZABLE;
            } else {
                lex_next(lx, &b);
                if (a.kw == KW_REPEATABLE && b.kw == KW_READ)
                    out->isolation = SQL_ISO_REPEATABLE_READ;
                else if (a.kw == KW_READ && b.kw == KW_COMMITTED)
                    out->isolation = SQL_ISO_READ_COMMITTED;
                else if (a.kw == KW_READ && b.kw == KW_UNCOMMITTED)
                    out->isolation = SQL_ISO_READ_UNCOMMITTED;
            }
        } else if (t.kw == KW_READ) {
            struct tok a;
            lex_next(lx, &a);
            if (a.kw == KW_ONLY)
                out->read_only = true;
            else if (a.kw == KW_WRITE)
                out->read_write = true;
        }
        lex_next(lx, &t);
    }
}

enum set_var { SV_OTHER, SV_AUTOCOMMIT, SV_ISOLATION, SV_READ_ONLY };

static enum set_var set_var_of(const struct lexer *lx, const struct tok *name, size_t skip)
{
    struct tok t = *name;
    t.pos += skip;
    t.len -= skip;
    if (tok_text_is(lx, &t, "autocommit"))
        return SV_AUTOCOMMIT;
    if (tok_text_is(lx, &t, "transaction_isolation") || tok_text_is(lx, &t, "tx_isolation"))
        return SV_ISOLATION;
    if (tok_text_is(lx, &t, "transaction_read_only") || tok_text_is(lx, &t, "tx_read_only"))
        return SV_READ_ONLY;
    return SV_OTHER;
}

/* Length of a scope prefix "global." etc. at the start of a system
 * variable's name (after "@@"), and what it means. */
static size_t sysvar_scope(const struct lexer *lx, const struct tok *t, bool *global,
                           bool *session)
{
    static const struct { const char *p; bool global; } scopes[] = {
        {"global.", true}, {"persist.", true}, {"persist_only.", true},
        {"session.", false}, {"local.", false}};
    const char *p = lx->s + t->pos + 2;
    size_t n = t->len - 2;
    for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++) {
        size_t sl = strlen(scopes[i].p);
        if (n >= sl && strncasecmp(p, scopes[i].p, sl) == 0) {
            *global = scopes[i].global;
            *session = !scopes[i].global;
            return sl;
        }
    }
    *global = *session = false;
    return 0;
}

static void decide(struct scan *sc, struct sql_info *out, int depth);

/* SET ...: the whole assignment list, re-lexed. */
static void decide_set(struct scan *sc, struct sql_info *out, int depth)
{
    struct lexer lx = sc->start;
    struct tok t, a;
    int n_auto = 0, n_txn = 0, n_plain = 0;
    bool global = false, bad_auto = false, bad_txn = false, txn_session = false;
    bool first = true;

    lx.len = sc->end;
    lex_next(&lx, &t); /* SET */
    lex_next(&lx, &t);
    /* Forms that are not assignment lists. */
    if (t.kw == KW_TRANSACTION) {
        decide_set_transaction(&lx, false, false, out);
        return;
    }
    if (t.kw == KW_GLOBAL || t.kw == KW_SESSION || t.kw == KW_LOCAL ||
        t.kw == KW_PERSIST || t.kw == KW_PERSIST_ONLY) {
        struct lexer peek = lx;
        lex_next(&peek, &a);
        if (a.kw == KW_TRANSACTION) {
            decide_set_transaction(&peek, t.kw != KW_SESSION && t.kw != KW_LOCAL,
                                   t.kw == KW_SESSION || t.kw == KW_LOCAL, out);
            return;
        }
    }
    if (t.kw == KW_STATEMENT) {
        struct scan inner;
        if (depth > 0) {
            out->kind = SQL_REFUSED;
            out->refusal = R_NESTED;
            return;
        }
        if (!sc->have_for) {
            out->kind = SQL_OTHER;
            return;
        }
        struct lexer ilx = sc->for_lx;
        ilx.len = sc->end;
        scan_stmt(&ilx, &inner);
        /* The assignments before FOR belong to the statement too. */
        inner.locking |= sc->locking;
        inner.nowait |= sc->nowait;
        inner.into_file |= sc->into_file;
        inner.into_var |= sc->into_var;
        inner.lock_func |= sc->lock_func;
        inner.uservars += sc->uservars;
        inner.nul |= sc->nul;
        decide(&inner, out, depth + 1);
        return;
    }
    if (t.kw == KW_DEFAULT) {
        struct lexer peek = lx;
        lex_next(&peek, &a);
        if (a.kw == KW_ROLE) {
            out->kind = SQL_DDL; /* SET DEFAULT ROLE writes the grant tables */
            return;
        }
    }
    if (t.kw == KW_PASSWORD) {
        out->kind = SQL_DDL; /* SET PASSWORD writes the grant tables */
        return;
    }
    if (t.kw == KW_ROLE) {
        out->kind = SQL_SET;
        return;
    }

    /* var = value [, var = value ...] */
    while (t.type != TK_END) {
        enum set_var var = SV_OTHER;
        bool item_global = false, item_session = false, next_only = false;
        struct tok value = {TK_END, KW_NONE, 0, 0, 0};
        int nvalue = 0, paren = 0;

        if (!first) {
            if (!(t.type == TK_PUNCT && t.ch == ','))
                break;
            lex_next(&lx, &t);
        }
        first = false;
        if (t.kw == KW_GLOBAL || t.kw == KW_PERSIST || t.kw == KW_PERSIST_ONLY) {
            item_global = true;
            lex_next(&lx, &t);
        } else if (t.kw == KW_SESSION || t.kw == KW_LOCAL) {
            item_session = true;
            lex_next(&lx, &t);
        }
        if (t.type == TK_SYSVAR) {
            bool g, s;
            size_t skip = sysvar_scope(&lx, &t, &g, &s);
            item_global |= g;
            /* "@@transaction_isolation" without a scope sets the next
             * transaction only; "@@session.x" and "x" the session. */
            next_only = !g && !s && !item_session;
            var = set_var_of(&lx, &t, 2 + skip);
        } else if (t.type == TK_WORD || t.type == TK_QIDENT) {
            var = set_var_of(&lx, &t, 0);
        }
        global |= item_global;
        if ((var == SV_ISOLATION || var == SV_READ_ONLY) && !next_only)
            txn_session = true;
        /* Skip to '=' (NAMES, CHARACTER SET have none), then the value. */
        lex_next(&lx, &t);
        while (t.type != TK_END && !(t.type == TK_PUNCT && (t.ch == '=' || t.ch == ',')))
            lex_next(&lx, &t);
        if (t.type == TK_PUNCT && t.ch == '=') {
            lex_next(&lx, &t);
            while (t.type != TK_END && !(paren == 0 && t.type == TK_PUNCT && t.ch == ',')) {
                if (t.type == TK_PUNCT && t.ch == '(')
                    paren++;
                else if (t.type == TK_PUNCT && t.ch == ')' && paren > 0)
                    paren--;
                if (nvalue++ == 0)
                    value = t;
                lex_next(&lx, &t);
            }
        }
        switch (var) {
        case SV_AUTOCOMMIT: {
            int b = nvalue == 1 ? bool_literal(&lx, &value) : -1;
            if (value.kw == KW_DEFAULT)
                b = 1;
            n_auto++;
            if (b < 0)
                bad_auto = true;
            else
                out->autocommit = b;
            break;
        }
        case SV_ISOLATION: {
            const char *p;
            size_t n;
            enum sql_isolation iso = SQL_ISO_NONE;
            n_txn++;
            if (nvalue == 1 && value.kw == KW_DEFAULT) {
                iso = SQL_ISO_REPEATABLE_READ;
            } else if (nvalue == 1 && (value.type == TK_STRING || value.type == TK_WORD ||
                                       value.type == TK_NUMBER)) {
                literal_span(&lx, &value, &p, &n);
                iso = iso_from_text(p, n);
            }
            if (iso == SQL_ISO_NONE)
                bad_txn = true;
            else
                out->isolation = iso;
            break;
        }
        case SV_READ_ONLY: {
            int b = nvalue == 1 ? bool_literal(&lx, &value) : -1;
            n_txn++;
            if (b < 0)
                bad_txn = true;
            else if (b)
                out->read_only = true;
            else
                out->read_write = true;
            break;
        }
        case SV_OTHER:
            n_plain++;
            break;
        }
    }

    if (global) {
        out->kind = SQL_REFUSED;
        out->refusal = R_GLOBAL;
    } else if ((n_auto && (n_txn || n_plain)) || (n_txn && n_plain)) {
        out->kind = SQL_REFUSED;
        out->refusal = R_SET_MIX;
    } else if (n_auto) {
        out->kind = bad_auto ? SQL_REFUSED : SQL_SET_AUTOCOMMIT;
        if (bad_auto)
            out->refusal = R_AUTOCOMMIT_VALUE;
    } else if (n_txn) {
        out->kind = bad_txn ? SQL_REFUSED : SQL_SET_TRANSACTION;
        out->session_scope = txn_session;
        if (bad_txn)
            out->refusal = R_TXN_VALUE;
    } else {
        out->kind = SQL_SET;
    }
}

/* SQLite pragmas that only read, even with an argument. */
static bool pragma_reads(const struct lexer *lx, const struct tok *name)
{
    static const char *const readers[] = {
        "table_info", "table_xinfo", "table_list", "index_info", "index_xinfo",
        "index_list", "foreign_key_list", "foreign_key_check", "integrity_check",
        "quick_check", "function_list", "module_list", "pragma_list", "collation_list",
        "database_list", "compile_options"};
    for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++)
        if (tok_text_is(lx, name, readers[i]))
            return true;
    return false;
}

static void decide_pragma(const struct scan *sc, int k, struct sql_info *out)
{
    int i = k + 1;
    const struct tok *name;
    if (i >= sc->nlead) {
        out->kind = SQL_OTHER;
        return;
    }
    if (punct_at(sc, i + 1, '.'))
        i += 2; /* schema.name */
    if (i >= sc->nlead) {
        out->kind = SQL_OTHER;
        return;
    }
    name = &sc->lead[i];
    if (punct_at(sc, i + 1, '=') || (punct_at(sc, i + 1, '(') && !pragma_reads(&sc->start, name)) ||
        tok_text_is(&sc->start, name, "optimize") ||
        tok_text_is(&sc->start, name, "incremental_vacuum")) {
        out->kind = SQL_REFUSED;
        out->refusal = R_PRAGMA;
        return;
    }
    out->kind = SQL_READ;
}

static void decide_ddl(const struct scan *sc, int k, int w, struct sql_info *out)
{
    bool mysql = sc->start.d == SQL_DIALECT_MYSQL;
    int end = sc->obj_kw != KW_NONE ? sc->obj_idx : sc->nlead;

    out->kind = SQL_DDL;
    if (w == KW_DROP && kw_at(sc, k + 1) == KW_PREPARE) {
        out->kind = SQL_REFUSED;
        out->refusal = R_PREPARE;
        return;
    }
    if (w == KW_CREATE || w == KW_DROP)
        for (int i = k + 1; i < end; i++)
            if (kw_at(sc, i) == KW_TEMPORARY || (kw_at(sc, i) == KW_TEMP && !mysql))
                out->refusal = R_TEMP;
    bool definer = sc->definer_idx >= 0 && (sc->obj_kw == KW_NONE || sc->definer_idx < sc->obj_idx);
    if (mysql && !definer && !sc->soname &&
        ((w == KW_CREATE && KW_IN(sc->obj_kw, KW_VIEW, KW_PROCEDURE, KW_FUNCTION,
                                  KW_TRIGGER, KW_EVENT, KW_PACKAGE)) ||
         (w == KW_ALTER && (sc->obj_kw == KW_VIEW || sc->obj_kw == KW_EVENT))))
        out->refusal = R_DEFINER;
}

static void decide_explain(const struct scan *sc, int k, struct sql_info *out)
{
    bool analyze = false;
    out->kind = SQL_READ;
    for (int i = k + 1; i < sc->nlead; i++) {
        int kw = kw_at(sc, i);
        if (kw == KW_ANALYZE)
            analyze = true;
        if (kw == KW_SELECT || kw == KW_TABLE || kw == KW_WITH || kw == KW_VALUES ||
            punct_at(sc, i, '(')) {
            if (analyze && sc->locking)
                out->kind = SQL_LOCKING_READ;
            return;
        }
        if (is_write_kw(kw)) {
            if (analyze)
                out->refusal = R_ANALYZE_WRITE;
            return;
        }
    }
}

static void decide_read(const struct scan *sc, struct sql_info *out)
{
    out->kind = (sc->locking && sc->start.d == SQL_DIALECT_MYSQL) ? SQL_LOCKING_READ
                                                                   : SQL_READ;
}

/* Whether the statement manages accounts, where "user@host" is a name and
 * not a user variable. */
static bool is_account_stmt(const struct scan *sc, int w)
{
    return w == KW_GRANT || w == KW_REVOKE || sc->obj_kw == KW_USER ||
           sc->obj_kw == KW_ROLE || (w == KW_RENAME && kw_at(sc, sc->first + 1) == KW_USER) ||
           (w == KW_SET && KW_IN(kw_at(sc, sc->first + 1), KW_PASSWORD, KW_DEFAULT, KW_ROLE));
}

static void decide(struct scan *sc, struct sql_info *out, int depth)
{
    bool mysql = sc->start.d == SQL_DIALECT_MYSQL;
    int k = sc->first, w = kw_at(sc, k);

    if (sc->ntok == 0) {
        out->kind = SQL_EMPTY;
    } else if (k > 0 && !KW_IN(w, KW_SELECT, KW_WITH, KW_VALUES, KW_TABLE)) {
        out->kind = SQL_OTHER; /* "(" before something that is not a query */
    } else {
        switch (w) {
        case KW_SELECT:
        case KW_VALUES:
        case KW_TABLE:
            decide_read(sc, out);
            break;
        case KW_WITH:
            if (KW_IN(sc->with_main, KW_SELECT, KW_TABLE, KW_VALUES))
                decide_read(sc, out);
            else if (is_write_kw(sc->with_main))
                out->kind = SQL_WRITE;
            else
                out->kind = SQL_OTHER;
            break;
        case KW_SHOW:
        case KW_DESCRIBE:
        case KW_DESC:
        case KW_HELP:
        case KW_DO:
        case KW_CHECK:
        case KW_CHECKSUM:
            out->kind = SQL_READ;
            break;
        case KW_EXPLAIN:
            decide_explain(sc, k, out);
            break;
        case KW_ANALYZE:
            if (!mysql) {
                out->kind = SQL_DDL;
                break;
            }
            out->kind = SQL_DDL;
            for (int i = k + 1; i < sc->nlead; i++) {
                int kw = kw_at(sc, i);
                if (kw == KW_SELECT) {
                    decide_read(sc, out);
                    break;
                }
                if (is_write_kw(kw)) {
                    out->kind = SQL_REFUSED;
                    out->refusal = R_ANALYZE_WRITE;
                    break;
                }
                if (kw == KW_TABLE)
                    break;
            }
            break;
        case KW_INSERT:
        case KW_UPDATE:
        case KW_DELETE:
        case KW_REPLACE:
            out->kind = SQL_WRITE;
            break;
        case KW_CREATE:
        case KW_ALTER:
        case KW_DROP:
        case KW_RENAME:
        case KW_TRUNCATE:
        case KW_GRANT:
        case KW_REVOKE:
        case KW_OPTIMIZE:
        case KW_REPAIR:
        case KW_INSTALL:
        case KW_UNINSTALL:
            decide_ddl(sc, k, w, out);
            break;
        case KW_REINDEX:
            out->kind = mysql ? SQL_OTHER : SQL_DDL;
            break;
        case KW_BEGIN:
            out->kind = SQL_BEGIN;
            if (mysql && kw_at(sc, k + 1) == KW_NOT) {
                out->kind = SQL_REFUSED;
                out->refusal = R_COMPOUND;
            }
            break;
        case KW_START:
            if (kw_at(sc, k + 1) != KW_TRANSACTION) {
                out->kind = SQL_OTHER;
                break;
            }
            out->kind = SQL_BEGIN;
            for (int i = k + 2; i + 1 < sc->nlead; i++)
                if (kw_at(sc, i) == KW_READ && kw_at(sc, i + 1) == KW_ONLY)
                    out->read_only = true;
                else if (kw_at(sc, i) == KW_READ && kw_at(sc, i + 1) == KW_WRITE)
                    out->read_write = true;
            break;
        case KW_END:
            if (mysql) {
                out->kind = SQL_OTHER;
                break;
            }
            /* SQLite's END [TRANSACTION] is COMMIT */
            __attribute__((fallthrough));
        case KW_COMMIT:
            out->kind = SQL_COMMIT;
            check_chain(sc, k + 1, out);
            break;
        case KW_ROLLBACK: {
            int i = k + 1;
            if (KW_IN(kw_at(sc, i), KW_WORK, KW_TRANSACTION))
                i++;
            if (kw_at(sc, i) == KW_TO) {
                i++;
                if (kw_at(sc, i) == KW_SAVEPOINT)
                    i++;
                out->kind = SQL_ROLLBACK_TO;
                set_name(sc, i, out);
            } else {
                out->kind = SQL_ROLLBACK;
                check_chain(sc, i, out);
            }
            break;
        }
        case KW_SAVEPOINT:
            out->kind = SQL_SAVEPOINT;
            set_name(sc, k + 1, out);
            break;
        case KW_RELEASE: {
            int i = k + 1;
            if (kw_at(sc, i) == KW_SAVEPOINT)
                i++;
            out->kind = SQL_RELEASE;
            set_name(sc, i, out);
            break;
        }
        case KW_SET:
            decide_set(sc, out, depth);
            break;
        case KW_USE:
            if (!mysql) {
                out->kind = SQL_OTHER;
                break;
            }
            out->kind = SQL_USE;
            set_name(sc, k + 1, out);
            break;
        case KW_CALL:
            out->kind = SQL_REFUSED;
            out->refusal = R_CALL;
            break;
        case KW_LOAD:
            if (mysql && kw_at(sc, k + 1) == KW_INDEX) {
                out->kind = SQL_OTHER; /* LOAD INDEX INTO CACHE */
                break;
            }
            out->kind = SQL_REFUSED;
            out->refusal = R_LOAD;
            break;
        case KW_LOCK:
        case KW_UNLOCK:
            out->kind = SQL_REFUSED;
            out->refusal = R_LOCK_TABLES;
            break;
        case KW_HANDLER:
            out->kind = SQL_REFUSED;
            out->refusal = R_HANDLER;
            break;
        case KW_PREPARE:
        case KW_EXECUTE:
        case KW_DEALLOCATE:
            out->kind = SQL_REFUSED;
            out->refusal = R_PREPARE;
            break;
        case KW_XA:
            out->kind = SQL_REFUSED;
            out->refusal = R_XA;
            break;
        case KW_FLUSH:
            out->kind = SQL_OTHER;
            for (int i = k + 1; i + 1 < sc->nlead; i++)
                if ((kw_at(sc, i) == KW_READ && kw_at(sc, i + 1) == KW_LOCK) ||
                    (kw_at(sc, i) == KW_FOR && kw_at(sc, i + 1) == KW_EXPORT))
                    out->refusal = R_FLUSH_LOCK;
            break;
        case KW_PRAGMA:
            if (mysql)
                out->kind = SQL_OTHER;
            else
                decide_pragma(sc, k, out);
            break;
        case KW_ATTACH:
        case KW_DETACH:
            out->kind = SQL_OTHER;
            if (!mysql)
                out->refusal = R_ATTACH;
            break;
        case KW_VACUUM:
            out->kind = SQL_OTHER;
            if (!mysql)
                out->refusal = R_VACUUM;
            break;
        default:
            out->kind = SQL_OTHER;
            break;
        }
    }

    /* Constructs refused wherever they appear (first reason wins). */
    if (!out->refusal) {
        if (sc->nul)
            out->refusal = R_NUL;
        else if (sc->lock_func)
            out->refusal = R_LOCK_FUNC;
        else if (sc->into_file)
            out->refusal = R_INTO_FILE;
        else if (sc->into_var)
            out->refusal = R_INTO_VAR;
        else if ((out->kind == SQL_WRITE || out->kind == SQL_DDL) && sc->nowait)
            out->refusal = R_NOWAIT;
        else if ((out->kind == SQL_WRITE || out->kind == SQL_DDL) && sc->uservars > 0 &&
                 !is_account_stmt(sc, w))
            out->refusal = R_USERVAR;
    }
    if (out->refusal && out->kind != SQL_WRITE && out->kind != SQL_DDL &&
        out->kind != SQL_SET_TRANSACTION)
        out->kind = SQL_REFUSED;
    if (out->kind == SQL_SET_TRANSACTION && !out->refusal &&
        (out->isolation == SQL_ISO_READ_UNCOMMITTED ||
         out->isolation == SQL_ISO_READ_COMMITTED))
        out->refusal = R_ISOLATION;
}

enum sql_kind sqlclass(const char *sql, size_t len, enum sql_dialect dialect,
                       struct sql_info *out)
{
    struct lexer lx = {sql, sql ? len : 0, 0, dialect, false, false, 0};
    int statements = 0;
    bool all_reads = true, any_locking = false;
    const char *first_refusal = NULL;

    memset(out, 0, sizeof *out);
    out->kind = SQL_EMPTY;
    if (dialect != SQL_DIALECT_MYSQL && dialect != SQL_DIALECT_SQLITE)
        lx.d = SQL_DIALECT_MYSQL;
    while (lx.pos < lx.len) {
        struct scan sc;
        struct sql_info si;
        scan_stmt(&lx, &sc);
        if (sc.ntok == 0 && !sc.nul)
            continue;
        memset(&si, 0, sizeof si);
        decide(&sc, &si, 0);
        if (++statements == 1)
            *out = si;
        if (si.refusal && !first_refusal)
            first_refusal = si.refusal;
        if (si.kind == SQL_LOCKING_READ)
            any_locking = true;
        else if (si.kind != SQL_READ)
            all_reads = false;
    }
    out->nparams = lx.qmax > INT32_MAX ? INT32_MAX : (int)lx.qmax;
    if (statements > 1) {
        out->multi = true;
        if (first_refusal || !all_reads) {
            out->kind = SQL_REFUSED;
            out->refusal = first_refusal ? first_refusal : R_MULTI;
        } else {
            out->kind = any_locking ? SQL_LOCKING_READ : SQL_READ;
        }
    }
    return out->kind;
}

const char *sqlclass_kind_name(enum sql_kind kind)
{
    static const char *const names[] = {
        [SQL_EMPTY] = "EMPTY",
        [SQL_READ] = "READ",
        [SQL_LOCKING_READ] = "LOCKING_READ",
        [SQL_WRITE] = "WRITE",
        [SQL_DDL] = "DDL",
        [SQL_BEGIN] = "BEGIN",
        [SQL_COMMIT] = "COMMIT",
        [SQL_ROLLBACK] = "ROLLBACK",
        [SQL_SAVEPOINT] = "SAVEPOINT",
        [SQL_ROLLBACK_TO] = "ROLLBACK_TO",
        [SQL_RELEASE] = "RELEASE",
        [SQL_SET_AUTOCOMMIT] = "SET_AUTOCOMMIT",
        [SQL_SET_TRANSACTION] = "SET_TRANSACTION",
        [SQL_SET] = "SET",
        [SQL_USE] = "USE",
        [SQL_REFUSED] = "REFUSED",
        [SQL_OTHER] = "OTHER",
    };
    if ((unsigned)kind >= sizeof names / sizeof names[0] || !names[kind])
        return "UNKNOWN";
    return names[kind];
}
