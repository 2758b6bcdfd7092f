/* recall: an interactive SQL shell on librecall.
 *
 * Reads statements terminated by ';' (quotes and comments respected) from
 * the terminal with line editing and history, from a file (-f) or from
 * standard input, runs each through librecall and prints rows as a table
 * with the elapsed time.  Backslash commands: \q quit, \timing, \c LEVEL
 * (read consistency), \status, \h help.
 */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

#include "recall.h"

#define TABLE_BUFFER_ROWS 1000   /* rows buffered to size the columns */
#define MAX_CELL_WIDTH 60

struct shell {
    recall_conn *conn;
    bool timing, interactive, stop_on_error;
    int errors;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_error(recall_conn *c, recall_stmt *st)
{
    int native = st ? recall_stmt_native_error(st) : recall_native_error(c);
    const char *state = st ? recall_stmt_sqlstate(st) : recall_sqlstate(c);
    const char *msg = st ? recall_stmt_errmsg(st) : recall_errmsg(c);
    if (native)
        fprintf(stderr, "ERROR %d (%s): %s\n", native, state, msg);
    else
        fprintf(stderr, "ERROR (%s): %s\n", state, msg);
    if (!recall_usable(c))
        fprintf(stderr, "(the connection is no longer usable)\n");
}

/* Display width of a UTF-8 string (code points; good enough for tables). */
static size_t width_of(const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            w++;
    return w;
}

struct cell {
    char *text; /* NULL = SQL NULL */
    size_t len;
};

static void print_sep(const size_t *w, int n)
{
    for (int i = 0; i < n; i++) {
        putchar('+');
        for (size_t k = 0; k < w[i] + 2; k++)
            putchar('-');
    }
    puts("+");
}

static void print_cell(const char *s, size_t len, size_t w, bool right)
{
    size_t sw;
    bool cut = false;
    if (!s) {
        s = "NULL";
        len = 4;
    }
    sw = width_of(s, len);
    if (sw > w) { /* truncate to w-1 code points and mark */
        size_t keep = 0, cps = 0;
        while (keep < len && cps < w - 1) {
            keep++;
            while (keep < len && ((unsigned char)s[keep] & 0xc0) == 0x80)
                keep++;
            cps++;
        }
        len = keep;
        sw = cps;
        cut = true;
    }
    printf("| ");
    if (right)
        for (size_t k = sw + cut; k < w; k++)
            putchar(' ');
    for (size_t i = 0; i < len; i++)
        putchar(s[i] == '\n' || s[i] == '\t' ? ' ' : s[i]);
    if (cut)
        fputs("~", stdout);
    if (!right)
        for (size_t k = sw + cut; k < w; k++)
            putchar(' ');
    putchar(' ');
}

static bool numeric(enum recall_type t)
{
    return t >= RECALL_TYPE_TINYINT && t <= RECALL_TYPE_DECIMAL;
}

static void flush_rows(struct cell *rows, size_t nrows, int ncols, const size_t *w,
                       const bool *right)
{
    for (size_t r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++)
            print_cell(rows[r * (size_t)ncols + (size_t)c].text, rows[r * (size_t)ncols + (size_t)c].len,
                       w[c], right[c]);
        puts("|");
        for (int c = 0; c < ncols; c++)
            free(rows[r * (size_t)ncols + (size_t)c].text);
    }
}

/* Run one statement and print its outcome. */
static void run(struct shell *sh, const char *sql, size_t len)
{
    double t0 = now_s();
    recall_stmt *st = recall_prepare(sh->conn, sql, len);
    int ncols, rc;
    size_t nrows = 0, total = 0;

    if (!st) {
        print_error(sh->conn, NULL);
        sh->errors++;
        return;
    }
    if (recall_execute(st) != RECALL_OK) {
        print_error(sh->conn, st);
        recall_stmt_free(st);
        sh->errors++;
        return;
    }
    ncols = recall_column_count(st);
    if (ncols == 0) {
        printf("Query OK, %llu row%s affected", (unsigned long long)recall_affected_rows(st),
               recall_affected_rows(st) == 1 ? "" : "s");
        if (sh->timing)
            printf(" (%.3f sec)", now_s() - t0);
        putchar('\n');
        if (recall_last_insert_id(st))
            printf("Last insert id: %llu\n", (unsigned long long)recall_last_insert_id(st));
        if (recall_warning_count(st))
            printf("Warnings: %u\n", recall_warning_count(st));
        recall_stmt_free(st);
        return;
    }
    size_t *w = calloc((size_t)ncols, sizeof *w);
    bool *right = calloc((size_t)ncols, sizeof *right);
    struct cell *rows = calloc((size_t)ncols * TABLE_BUFFER_ROWS, sizeof *rows);
    bool header_done = false;
    if (!w || !right || !rows) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    for (int c = 0; c < ncols; c++) {
        const char *name = recall_column_name(st, c);
        w[c] = width_of(name, strlen(name));
        right[c] = numeric(recall_column_type(st, c));
    }
    while ((rc = recall_fetch(st)) == RECALL_ROW) {
        if (nrows == TABLE_BUFFER_ROWS) {
            if (!header_done) {
                print_sep(w, ncols);
                for (int c = 0; c < ncols; c++) {
                    const char *name = recall_column_name(st, c);
                    print_cell(name, strlen(name), w[c], false);
                }
                puts("|");
                print_sep(w, ncols);
                header_done = true;
            }
            flush_rows(rows, nrows, ncols, w, right);
            nrows = 0;
        }
        for (int c = 0; c < ncols; c++) {
            size_t l = 0;
            const char *t = recall_value_text(st, c, &l);
            struct cell *cl = &rows[nrows * (size_t)ncols + (size_t)c];
            cl->text = t ? strndup(t, l) : NULL;
            cl->len = t ? l : 0;
            size_t cw = t ? width_of(t, l) : 4;
            if (!header_done && cw > w[c])
                w[c] = cw > MAX_CELL_WIDTH ? MAX_CELL_WIDTH : cw;
        }
        nrows++;
        total++;
    }
    if (!header_done && (total > 0 || rc == RECALL_DONE)) {
        print_sep(w, ncols);
        for (int c = 0; c < ncols; c++) {
            const char *name = recall_column_name(st, c);
            print_cell(name, strlen(name), w[c], false);
        }
        puts("|");
        print_sep(w, ncols);
    }
    flush_rows(rows, nrows, ncols, w, right);
    if (total > 0 || rc == RECALL_DONE)
        print_sep(w, ncols);
    if (rc == RECALL_ERROR) {
        print_error(sh->conn, st);
        sh->errors++;
    } else {
        printf("%zu row%s in set", total, total == 1 ? "" : "s");
        if (sh->timing)
            printf(" (%.3f sec)", now_s() - t0);
        putchar('\n');
    }
out:
    free(w);
    free(right);
    free(rows);
    recall_stmt_free(st);
}

static void help(void)
{
    puts("Statements end with ';'. Commands:\n"
         "  \\q               quit\n"
         "  \\timing          toggle timing of statements\n"
         "  \\c LEVEL         read consistency: linearizable, session or any\n"
         "  \\status          connection status\n"
         "  \\h               this help");
}

/* A backslash command; returns false to quit. */
static bool command(struct shell *sh, char *line)
{
    char *arg = line + 2;
    while (*arg == ' ')
        arg++;
    switch (line[1]) {
    case 'q':
        return false;
    case 't':
        sh->timing = !sh->timing;
        printf("Timing is %s.\n", sh->timing ? "on" : "off");
        break;
    case 'c': {
        char *end = arg + strlen(arg);
        while (end > arg && (end[-1] == ' ' || end[-1] == ';'))
            *--end = '\0';
        enum recall_consistency c;
        if (strcmp(arg, "linearizable") == 0)
            c = RECALL_LINEARIZABLE;
        else if (strcmp(arg, "session") == 0)
            c = RECALL_SESSION;
        else if (strcmp(arg, "any") == 0)
            c = RECALL_ANY;
        else {
            fprintf(stderr, "unknown level '%s' (linearizable, session, any)\n", arg);
            break;
        }
        recall_set_consistency(sh->conn, c);
        printf("Read consistency is %s.\n", arg);
        break;
    }
    case 's':
        printf("Server: %s\nReplicas: %d, primary: %d\nAutocommit: %s, in transaction: %s\n",
               recall_server_info(sh->conn), recall_replica_count(sh->conn),
               recall_primary(sh->conn), recall_get_autocommit(sh->conn) ? "on" : "off",
               recall_in_transaction(sh->conn) ? "yes" : "no");
        break;
    case 'h':
    case '?':
        help();
        break;
    default:
        fprintf(stderr, "unknown command %s (\\h for help)\n", line);
    }
    return true;
}

/* Accumulates input and hands out complete statements. */
struct lexer {
    char *buf;
    size_t len, cap;
    char quote;          /* inside '...', "..." or `...` */
    bool block_comment;
};

static int lex_append(struct lexer *lx, const char *s)
{
    size_t n = strlen(s);
    if (lx->len + n + 2 > lx->cap) {
        size_t cap = (lx->len + n + 2) * 2;
        char *b = realloc(lx->buf, cap);
        if (!b)
            return -1;
        lx->buf = b;
        lx->cap = cap;
    }
    memcpy(lx->buf + lx->len, s, n);
    lx->len += n;
    lx->buf[lx->len++] = '\n';
    lx->buf[lx->len] = '\0';
    return 0;
}

/* Run every complete statement in the buffer; keep the rest. */
static bool lex_run(struct shell *sh, struct lexer *lx)
{
    size_t start = 0, i = 0;
    lx->quote = 0;
    lx->block_comment = false;
    for (; i < lx->len; i++) {
        char c = lx->buf[i];
        if (lx->block_comment) {
            if (c == '*' && i + 1 < lx->len && lx->buf[i + 1] == '/') {
                lx->block_comment = false;
                i++;
            }
        } else if (lx->quote) {
            if (c == '\\' && lx->quote != '`')
                i++;
            else if (c == lx->quote)
                lx->quote = 0;
        } else if (c == '\'' || c == '"' || c == '`') {
            lx->quote = c;
        } else if (c == '/' && i + 1 < lx->len && lx->buf[i + 1] == '*') {
            lx->block_comment = true;
            i++;
        } else if ((c == '-' && i + 2 < lx->len && lx->buf[i + 1] == '-' &&
                    (lx->buf[i + 2] == ' ' || lx->buf[i + 2] == '\n')) || c == '#') {
            while (i < lx->len && lx->buf[i] != '\n')
                i++;
        } else if (c == ';') {
            size_t s = start, e = i;
            while (s < e && (lx->buf[s] == ' ' || lx->buf[s] == '\n' || lx->buf[s] == '\t'))
                s++;
            if (e > s)
                run(sh, lx->buf + s, e - s);
            start = i + 1;
            if (sh->errors && sh->stop_on_error)
                return false;
        }
    }
    memmove(lx->buf, lx->buf + start, lx->len - start);
    lx->len -= start;
    lx->buf[lx->len] = '\0';
    return true;
}

static bool only_space(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\n' && *s != '\t' && *s != '\r')
            return false;
    return true;
}

static char *read_line(struct shell *sh, bool continuation, FILE *in)
{
#ifdef HAVE_READLINE
    if (sh->interactive) {
        char *l = readline(continuation ? "    -> " : "recall> ");
        if (l && *l)
            add_history(l);
        return l;
    }
#else
    if (sh->interactive) {
        fputs(continuation ? "    -> " : "recall> ", stdout);
        fflush(stdout);
    }
#endif
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, in);
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = '\0';
    return line;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: recall [OPTIONS] [CONNECTION-STRING]\n"
               "An SQL shell for a Recall cluster.\n\n"
               "  CONNECTION-STRING      replicas=h1:8500,...;user=...;password=...;database=...\n"
               "                         (default: $RECALL_CONN)\n"
               "  -e, --execute SQL      run SQL and exit\n"
               "  -f, --file FILE        run the statements in FILE and exit\n"
               "  -t, --timing           print the time each statement took\n"
               "      --force            keep going after an error (files and stdin)\n"
               "  -h, --help\n\n"
               "Without -e/-f, reads statements from the terminal (or standard input).\n"
               "Exit status: 0 if every statement succeeded, 1 otherwise.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"execute", required_argument, NULL, 'e'}, {"file", required_argument, NULL, 'f'},
        {"timing", no_argument, NULL, 't'},        {"force", no_argument, NULL, 1},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *exec = NULL, *file = NULL, *conninfo = getenv("RECALL_CONN");
    struct shell sh = {0};
    struct lexer lx = {0};
    FILE *in = stdin;
    bool force = false;
    int opt;

    while ((opt = getopt_long(argc, argv, "e:f:th", opts, NULL)) != -1) {
        switch (opt) {
        case 'e': exec = optarg; break;
        case 'f': file = optarg; break;
        case 't': sh.timing = true; break;
        case 1: force = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        conninfo = argv[optind++];
    if (!conninfo) {
        fprintf(stderr, "recall: no connection string (give one, or set RECALL_CONN)\n");
        return 2;
    }
    if (recall_connect(conninfo, &sh.conn) != RECALL_OK) {
        fprintf(stderr, "recall: cannot connect: %s\n",
                sh.conn ? recall_errmsg(sh.conn) : "out of memory");
        recall_close(sh.conn);
        return 1;
    }
    if (exec) {
        sh.stop_on_error = !force;
        if (lex_append(&lx, exec) == 0 && lex_append(&lx, ";") == 0)
            lex_run(&sh, &lx);
        goto done;
    }
    if (file) {
        in = fopen(file, "r");
        if (!in) {
            perror(file);
            recall_close(sh.conn);
            return 1;
        }
    }
    sh.interactive = !file && isatty(STDIN_FILENO);
    sh.stop_on_error = !sh.interactive && !force;
    if (sh.interactive) {
        sh.timing = true;
        printf("Connected to %s. Type \\h for help, \\q to quit.\n", recall_server_info(sh.conn));
    }
    for (;;) {
        char *line = read_line(&sh, lx.len > 0 && !only_space(lx.buf), in);
        if (!line)
            break;
        if (line[0] == '\\' && (lx.len == 0 || only_space(lx.buf))) {
            bool go_on = command(&sh, line);
            free(line);
            if (!go_on)
                break;
            continue;
        }
        if (lex_append(&lx, line) < 0) {
            free(line);
            break;
        }
        free(line);
        if (!lex_run(&sh, &lx))
            break;
        if (sh.interactive)
            sh.errors = 0;
    }
    if (lx.len && !only_space(lx.buf) && !(sh.errors && sh.stop_on_error))
        run(&sh, lx.buf, lx.len); /* a last statement without ';' */
    if (in != stdin)
        fclose(in);
done:
    free(lx.buf);
    recall_close(sh.conn);
    return sh.errors ? 1 : 0;
}
