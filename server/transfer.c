/* State transfer by rsync: the recipient's worker thread and the helpers
 * both sides share.  See transfer.h for the steps and the failure modes. */
#include "config.h"

#include "transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "ctlclient.h"
#include "logging.h"
#include "mono.h"
#include "proto.h"

#define MARKER_NAME "recall-cluster"
#define PROBE_TIMEOUT_MS 2000
#define BACKOFF_MAX_S 30
#define DONOR_SLACK 100        /* a donor this many ops behind the best is not up to date */
#define HOLD_TTL_S 600         /* how long replicas keep the log the copy needs */

struct transfer {
    const struct cfg *cfg;
    transfer_done_cb done;
    void *arg;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t mu;            /* guards prog and child */
    pthread_cond_t cv;
    struct transfer_progress prog;
    pid_t child;                   /* running rsync/hook, 0 if none */
    uint64_t next_progress_log;    /* ms: when to log progress next */
};

/* ---- paths and the marker ---- */

static bool is_sqlite(const struct cfg *cfg)
{
    return strncmp(cfg->backend, "sqlite:", 7) == 0;
}

/* The SQLite database file of a DSN "sqlite:PATH[?options]". */
static int sqlite_file(const struct cfg *cfg, char *out, size_t cap, struct err *e)
{
    const char *p = cfg->backend + 7, *q = strchr(p, '?');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if (n == 0 || n >= cap)
        return err_set(e, ERR_CONFIG, "cannot tell the database file from the backend DSN");
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int marker_path(const struct cfg *cfg, char *out, size_t cap)
{
    return snprintf(out, cap, "%s/" MARKER_NAME, cfg->sync_path) >= (int)cap ? -1 : 0;
}

/* 1: marker matches, 0: missing, -1: another cluster's (e set). */
static int marker_check(const struct cfg *cfg, struct err *e)
{
    char path[PATH_MAX], buf[64], want[ADDR_ID_STR_MAX];
    FILE *f;
    if (marker_path(cfg, path, sizeof path) < 0)
        return err_set(e, ERR_CONFIG, "sync_path too long");
    if (!(f = fopen(path, "r")))
        return 0;
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    addr_cluster_id_format(cfg->cluster_id, want);
    if (strcmp(buf, want) != 0)
        return err_set(e, ERR_CONFIG,
                       "%s says the directory belongs to cluster '%s', not %s: refusing to copy "
                       "over it (check sync_path)", path, buf, want);
    return 1;
}

int transfer_marker_ensure(const struct cfg *cfg, struct err *e)
{
    char path[PATH_MAX], id[ADDR_ID_STR_MAX];
    struct stat sb;
    FILE *f;
    int rc;
    if (is_sqlite(cfg) || !cfg->sync_path || stat(cfg->sync_path, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return 0;
    if ((rc = marker_check(cfg, e)) != 0)
        return rc < 0 ? -1 : 0;
    if (marker_path(cfg, path, sizeof path) < 0)
        return err_set(e, ERR_CONFIG, "sync_path too long");
    if (!(f = fopen(path, "w")))
        return err_set_errno(e, errno, "cannot write %s", path);
    fprintf(f, "%s\n", addr_cluster_id_format(cfg->cluster_id, id));
    if (fclose(f) != 0)
        return err_set_errno(e, errno, "cannot write %s", path);
    return 0;
}

int transfer_source_path(const struct cfg *cfg, char *path, size_t cap, struct err *e)
{
    if (is_sqlite(cfg))
        return sqlite_file(cfg, path, cap, e);
    if (!cfg->sync_path)
        return err_set(e, ERR_CONFIG, "no sync_path configured");
    switch (marker_check(cfg, e)) {
    case 1:
        break;
    case 0:
        return err_set(e, ERR_CONFIG, "%s has no %s marker: not offering it for copying",
                       cfg->sync_path, MARKER_NAME);
    default:
        return -1;
    }
    if (snprintf(path, cap, "%s/", cfg->sync_path) >= (int)cap)
        return err_set(e, ERR_CONFIG, "sync_path too long");
    return 0;
}

/* ---- running commands ---- */

typedef void (*line_cb)(void *arg, const char *line);

/* Run argv with stdout+stderr piped to line_cb (split at \n and \r),
 * bounded by timeout_s (0 = none) and t->stop.  Returns the exit status
 * (0 = success) or -1 with e. */
static int run_cmd(struct transfer *t, char *const argv[], unsigned timeout_s, line_cb cb,
                   void *arg, struct err *e)
{
    int pfd[2], status = 0;
    pid_t pid, parent = getpid();
    char buf[4096], line[1024];
    size_t ll = 0;
    uint64_t deadline = timeout_s ? mono_ms() + (uint64_t)timeout_s * 1000 : UINT64_MAX;
    bool killed = false;

    if (pipe2(pfd, O_CLOEXEC) < 0)
        return err_set_errno(e, errno, "pipe");
    pid = fork();
    if (pid < 0) {
        int err = errno;
        close(pfd[0]);
        close(pfd[1]);
        return err_set(e, ERR_IO, "cannot run %s: %s", argv[0], strerror(err));
    }
    if (pid == 0) {
        /* the child: only async-signal-safe calls until exec.  It dies with
         * recalld (an orphaned rsync must not keep writing into the
         * database directory), in a process group of its own so a timeout
         * kills everything it started, with SIGPIPE as programs expect. */
        int devnull = open("/dev/null", O_RDONLY);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        dup2(pfd[1], STDOUT_FILENO);
        dup2(pfd[1], STDERR_FILENO);
        execvp(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid); /* as the child does: no window where a kill misses */
    close(pfd[1]);
    if (t) {
        pthread_mutex_lock(&t->mu);
        t->child = pid;
        pthread_mutex_unlock(&t->mu);
    }
    for (;;) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        uint64_t now = mono_ms();
        if (!killed && ((t && atomic_load(&t->stop)) || now >= deadline)) {
            kill(-pid, SIGTERM);
            killed = true;
            deadline = now + 5000;
        } else if (killed && now >= deadline) {
            kill(-pid, SIGKILL);
        }
        int pr = poll(&p, 1, 200);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr <= 0)
            continue;
        ssize_t n = read(pfd[0], buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n' || buf[i] == '\r') {
                line[ll] = '\0';
                if (ll && cb)
                    cb(arg, line);
                ll = 0;
            } else if (ll + 1 < sizeof line) {
                line[ll++] = buf[i];
            }
        }
    }
    if (ll && cb) {
        line[ll] = '\0';
        cb(arg, line);
    }
    close(pfd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (t) {
        pthread_mutex_lock(&t->mu);
        t->child = 0;
        pthread_mutex_unlock(&t->mu);
    }
    if (killed)
        return err_set(e, ERR_TIMEOUT, "%s was stopped (%s)", argv[0],
                       t && atomic_load(&t->stop) ? "shutting down" : "timeout");
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return err_set(e, ERR_IO, "%s died with signal %d", argv[0], WTERMSIG(status));
}

struct hook_log {
    const char *what;
    char last[256];
};

static void hook_line(void *arg, const char *line)
{
    struct hook_log *h = arg;
    log_info("%s: %s", h->what, line);
    snprintf(h->last, sizeof h->last, "%s", line);
}

int transfer_run_hook(const char *what, const char *cmd, unsigned timeout_s, struct err *e)
{
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    struct hook_log h = {what, ""};
    int rc;
    if (!cmd || !*cmd)
        return 0;
    log_info("running %s: %s", what, cmd);
    rc = run_cmd(NULL, argv, timeout_s, hook_line, &h, e);
    if (rc < 0)
        return err_wrap(e, "%s", what);
    if (rc != 0)
        return err_set(e, ERR_IO, "%s (%s) exited with status %d%s%s", what, cmd, rc,
                       h.last[0] ? ": " : "", h.last);
    return 0;
}

/* ---- the recipient ---- */

static void set_phase(struct transfer *t, const char *phase)
{
    pthread_mutex_lock(&t->mu);
    snprintf(t->prog.phase, sizeof t->prog.phase, "%s", phase);
    t->prog.bytes = t->prog.total = 0;
    t->prog.rate = 0;
    t->prog.eta_s = -1;
    pthread_mutex_unlock(&t->mu);
    log_info("state transfer: %s", phase);
}

static uint64_t parse_size(const char *s, const char **end)
{
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9')
            v = v * 10 + (uint64_t)(*s - '0');
        else if (*s != ',')
            break;
    }
    *end = s;
    return v;
}

/* rsync --info=progress2: "  1,234,567  45%  12.34MB/s    0:00:10 ..." */
static void rsync_line(void *arg, const char *line)
{
    struct transfer *t = arg;
    const char *p = line, *end;
    uint64_t bytes;
    unsigned pct, h, m, s;
    double rate;
    char unit[8];

    while (*p == ' ')
        p++;
    if (!(*p >= '0' && *p <= '9')) {
        log_info("rsync: %s", line);
        pthread_mutex_lock(&t->mu);
        snprintf(t->prog.error, sizeof t->prog.error, "rsync: %s", line);
        pthread_mutex_unlock(&t->mu);
        return;
    }
    bytes = parse_size(p, &end);
    if (sscanf(end, " %u%% %lf%7[kKMGTB]/s %u:%u:%u", &pct, &rate, unit, &h, &m, &s) < 3) {
        /* not a progress line after all (rsync appends its errors to one) */
        log_info("rsync: %s", line);
        pthread_mutex_lock(&t->mu);
        snprintf(t->prog.error, sizeof t->prog.error, "rsync: %s", p);
        pthread_mutex_unlock(&t->mu);
        return;
    }
    {
        /* rsync appends some errors to a progress line */
        const char *err = strstr(end, "rsync");
        if (!err)
            err = strstr(end, "rror");
        if (err) {
            log_info("rsync: %s", line);
            pthread_mutex_lock(&t->mu);
            snprintf(t->prog.error, sizeof t->prog.error, "%s", err);
            pthread_mutex_unlock(&t->mu);
        }
    }
    if (unit[0] == 'k' || unit[0] == 'K')
        rate *= 1024;
    else if (unit[0] == 'M')
        rate *= 1024.0 * 1024;
    else if (unit[0] == 'G')
        rate *= 1024.0 * 1024 * 1024;
    pthread_mutex_lock(&t->mu);
    t->prog.bytes = bytes;
    t->prog.total = pct ? bytes * 100 / pct : 0;
    t->prog.rate = rate;
    t->prog.eta_s = rate > 0 && t->prog.total > bytes ? (int)((double)(t->prog.total - bytes) / rate) : 0;
    if (mono_ms() >= t->next_progress_log) {
        t->next_progress_log = mono_ms() + 5000;
        log_info("state transfer: %s %.1f MB of %.1f MB at %.1f MB/s, ETA %d s", t->prog.phase,
                 (double)bytes / 1e6, (double)t->prog.total / 1e6, rate / 1e6, t->prog.eta_s);
    }
    pthread_mutex_unlock(&t->mu);
}

static int rsync_pass(struct transfer *t, const char *src, const char *dst, bool checksum,
                      bool del, struct err *e)
{
    const struct cfg *cfg = t->cfg;
    char *argv[40];
    int n = 0, rc;
    argv[n++] = "rsync";
    argv[n++] = "-a";
    argv[n++] = "--info=progress2";
    argv[n++] = "--no-inc-recursive";
    argv[n++] = "--exclude=" MARKER_NAME;
    if (checksum)
        argv[n++] = "--checksum";
    if (del)
        argv[n++] = "--delete";
    if (cfg->sync_cmd && *cfg->sync_cmd) {
        argv[n++] = "-e";
        argv[n++] = cfg->sync_cmd;
    }
    char opts[1024];
    if (cfg->sync_options && *cfg->sync_options) {
        snprintf(opts, sizeof opts, "%s", cfg->sync_options);
        for (char *tok = strtok(opts, " \t"); tok && n < 30; tok = strtok(NULL, " \t"))
            argv[n++] = tok;
    }
    argv[n++] = (char *)src;
    argv[n++] = (char *)dst;
    argv[n] = NULL;
    log_info("state transfer: rsync %s%s%s -> %s", checksum ? "--checksum " : "",
             del ? "--delete " : "", src, dst);
    rc = run_cmd(t, argv, 0, rsync_line, t, e);
    if (rc < 0)
        return -1;
    if (rc != 0) {
        char last[256];
        pthread_mutex_lock(&t->mu);
        snprintf(last, sizeof last, "%s", t->prog.error);
        pthread_mutex_unlock(&t->mu);
        return err_set(e, ERR_IO, "rsync exited with status %d%s%s", rc, last[0] ? ": " : "",
                       last);
    }
    return 0;
}

/* Pick a donor: an up-to-date backup in normal status of the highest view;
 * the primary only when no backup can serve. */
static int choose_donor(struct transfer *t, struct err *e)
{
    const struct cfg *cfg = t->cfg;
    struct proto_status st[ADDR_MAX_REPLICAS];
    bool up[ADDR_MAX_REPLICAS] = {false};
    uint64_t view = 0;
    int best = -1;
    bool best_backup = false;

    for (size_t i = 0; i < cfg->nreplicas; i++) {
        struct err pe;
        if (i == cfg->self)
            continue;
        if (ctl_probe(&cfg->replicas[i], cfg->cluster_id, PROBE_TIMEOUT_MS, &st[i], &pe) == 0) {
            up[i] = true;
            if (st[i].view > view)
                view = st[i].view;
        }
    }
    /* up to date: within DONOR_SLACK ops of the most advanced candidate;
     * among those a backup, the primary only when no backup qualifies */
    uint64_t top = 0;
    for (size_t i = 0; i < cfg->nreplicas; i++)
        if (up[i] && st[i].status == STATUS_NORMAL && st[i].view == view && st[i].applied > top)
            top = st[i].applied;
    for (size_t i = 0; i < cfg->nreplicas; i++) {
        bool backup;
        if (!up[i] || st[i].status != STATUS_NORMAL || st[i].view != view ||
            st[i].applied + DONOR_SLACK < top)
            continue;
        backup = st[i].primary != i;
        if (best < 0 || (backup && !best_backup) ||
            (backup == best_backup && st[i].applied > st[best].applied)) {
            best = (int)i;
            best_backup = backup;
        }
    }
    for (size_t i = 0; i < cfg->nreplicas; i++)
        if (up[i]) {
            struct proto_msg m = {.type = MSG_STATUS};
            m.u.status = st[i];
            proto_msg_free(&m);
        }
    if (best < 0)
        return err_set(e, ERR_UNAVAILABLE, "no replica in normal status can donate its database");
    return best;
}

/* One SYNC_REQUEST / SYNC_REPLY exchange. */
static int sync_call(struct ctlconn *c, const struct cfg *cfg, uint64_t nonce, uint8_t phase,
                     int timeout_ms, struct proto_msg *reply, struct err *e)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_SYNC_REQUEST;
    m.u.sync_request.replica = (uint32_t)cfg->self;
    m.u.sync_request.nonce = nonce;
    m.u.sync_request.phase = phase;
    if (ctl_send(c, &m, 5000, e) < 0 || ctl_recv(c, reply, timeout_ms, e) < 0)
        return -1;
    if (reply->type == MSG_ERROR) {
        err_set(e, ERR_REJECTED, "donor: %s", reply->u.error.msg.p);
        proto_msg_free(reply);
        return -1;
    }
    if (reply->type != MSG_SYNC_REPLY || reply->u.sync_reply.nonce != nonce ||
        reply->u.sync_reply.phase != phase) {
        err_set(e, ERR_PROTOCOL, "donor answered %s out of turn", proto_type_name(reply->type));
        proto_msg_free(reply);
        return -1;
    }
    if (!reply->u.sync_reply.ok) {
        err_set(e, ERR_REJECTED, "donor refused: %s", reply->u.sync_reply.msg.p);
        proto_msg_free(reply);
        return -1;
    }
    return 0;
}

static void remove_sqlite_sidecars(const char *db)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
}

/* Ask every replica to keep its log from `op` on for a while: whichever
 * is primary when this replica rejoins must still hold what the copy lacks,
 * however fast the others write.  Best effort: a replica that misses it
 * only risks another copy. */
static void hold_logs(struct transfer *t, uint64_t op)
{
    const struct cfg *cfg = t->cfg;
    char opstr[24], ttl[16], who[16];
    snprintf(opstr, sizeof opstr, "%llu", (unsigned long long)op);
    snprintf(ttl, sizeof ttl, "%d", HOLD_TTL_S);
    snprintf(who, sizeof who, "%zu", cfg->self);
    for (size_t i = 0; i < cfg->nreplicas; i++) {
        struct ctlconn c;
        struct proto_msg m;
        struct err e;
        if (i == cfg->self ||
            ctl_open(&c, &cfg->replicas[i], cfg->cluster_id, PROBE_TIMEOUT_MS, NULL, &e) < 0)
            continue;
        memset(&m, 0, sizeof m);
        m.type = MSG_CTL;
        m.u.ctl.req = 1;
        proto_str_setz(&m.u.ctl.command, "hold");
        if (proto_list_kv_resize(&m.u.ctl.args, 3) == 0) {
            proto_str_setz(&m.u.ctl.args.v[0].key, "op");
            proto_str_setz(&m.u.ctl.args.v[0].val, opstr);
            proto_str_setz(&m.u.ctl.args.v[1].key, "ttl_s");
            proto_str_setz(&m.u.ctl.args.v[1].val, ttl);
            proto_str_setz(&m.u.ctl.args.v[2].key, "holder");
            proto_str_setz(&m.u.ctl.args.v[2].val, who);
        }
        if (ctl_send(&c, &m, PROBE_TIMEOUT_MS, &e) == 0) {
            proto_msg_free(&m);
            if (ctl_recv(&c, &m, PROBE_TIMEOUT_MS, &e) == 0)
                proto_msg_free(&m);
        } else {
            proto_msg_free(&m);
        }
        ctl_close(&c);
    }
}

/* One attempt: returns 0 with *applied = the donor's applied op. */
static int attempt(struct transfer *t, uint64_t *applied, struct err *e)
{
    const struct cfg *cfg = t->cfg;
    struct ctlconn c;
    struct proto_msg rep;
    char src[PATH_MAX + 300], dst[PATH_MAX];
    uint64_t nonce;
    bool sqlite = is_sqlite(cfg), del = false;
    int donor, rc = -1;
    unsigned hook_timeout = cfg->start_timeout ? cfg->start_timeout : 120;

    set_phase(t, "choosing-donor");
    if ((donor = choose_donor(t, e)) < 0)
        return -1;
    pthread_mutex_lock(&t->mu);
    t->prog.donor = donor;
    pthread_mutex_unlock(&t->mu);
    log_info("state transfer: donor is replica %d", donor);
    if (getrandom(&nonce, sizeof nonce, 0) != sizeof nonce)
        nonce = mono_ms();
    if (ctl_open(&c, &cfg->replicas[donor], cfg->cluster_id, PROBE_TIMEOUT_MS, NULL, e) < 0)
        return -1;
    if (sync_call(&c, cfg, nonce, SYNC_BULK, 10000, &rep, e) < 0)
        goto out;
    if (cfg->sync_cmd && *cfg->sync_cmd) {
        char host[ADDR_STR_MAX];
        const struct replica_addr *a = &cfg->replicas[donor];
        snprintf(host, sizeof host, a->ipv6 ? "[%s]" : "%s", a->host);
        snprintf(src, sizeof src, "%s:%s", host, rep.u.sync_reply.path.p);
    } else {
        snprintf(src, sizeof src, "%s", rep.u.sync_reply.path.p);
    }
    proto_msg_free(&rep);
    if (sqlite) {
        if (sqlite_file(cfg, dst, sizeof dst, e) < 0)
            goto out;
        remove_sqlite_sidecars(dst);
    } else {
        int mk = marker_check(cfg, e);
        if (mk < 0)
            goto out;
        del = mk == 1; /* --delete only into a directory marked as ours */
        mkdir(cfg->sync_path, 0750);
        snprintf(dst, sizeof dst, "%s/", cfg->sync_path);
        set_phase(t, "stopping-server");
        if (transfer_run_hook("stop_server", cfg->stop_server, hook_timeout, e) < 0)
            goto out;
    }

    set_phase(t, "bulk-copy");
    if (rsync_pass(t, src, dst, false, del, e) < 0)
        goto out;

    set_phase(t, "waiting-donor");
    if (sync_call(&c, cfg, nonce, SYNC_FINAL, (int)(hook_timeout * 2 + 60) * 1000, &rep, e) < 0)
        goto out;
    *applied = rep.u.sync_reply.applied;
    proto_msg_free(&rep);
    hold_logs(t, *applied + 1);

    set_phase(t, "final-copy");
    if (sqlite)
        remove_sqlite_sidecars(dst);
    if (rsync_pass(t, src, dst, true, del, e) < 0)
        goto out;
    {
        /* release the donor now; closing the connection would do it too */
        struct proto_msg m;
        struct err de;
        memset(&m, 0, sizeof m);
        m.type = MSG_SYNC_REQUEST;
        m.u.sync_request.replica = (uint32_t)cfg->self;
        m.u.sync_request.nonce = nonce;
        m.u.sync_request.phase = SYNC_DONE;
        ctl_send(&c, &m, 5000, &de);
    }
    if (!sqlite) {
        struct err me;
        set_phase(t, "starting-server");
        if (transfer_run_hook("start_server", cfg->start_server, hook_timeout, e) < 0)
            goto out;
        if (transfer_marker_ensure(cfg, &me) < 0)
            log_warn("state transfer: %s", me.msg);
    }
    rc = 0;
out:
    ctl_close(&c);
    return rc;
}

static void *transfer_main(void *arg)
{
    struct transfer *t = arg;
    unsigned backoff = 1;
    while (!atomic_load(&t->stop)) {
        uint64_t applied = 0;
        struct err e;
        uint64_t t0 = mono_ms();
        pthread_mutex_lock(&t->mu);
        t->prog.attempt++;
        pthread_mutex_unlock(&t->mu);
        err_clear(&e);
        if (attempt(t, &applied, &e) == 0) {
            set_phase(t, "done");
            log_info("state transfer complete in %.1f s: the database now holds op %llu",
                     (double)(mono_ms() - t0) / 1000.0, (unsigned long long)applied);
            t->done(t->arg, applied);
            return NULL;
        }
        if (atomic_load(&t->stop))
            break;
        log_error("state transfer attempt failed: %s (retrying in %u s)", e.msg, backoff);
        pthread_mutex_lock(&t->mu);
        snprintf(t->prog.error, sizeof t->prog.error, "%s", e.msg);
        snprintf(t->prog.phase, sizeof t->prog.phase, "failed");
        {
            struct timespec ts = mono_deadline(backoff * 1000);
            while (!atomic_load(&t->stop) &&
                   mono_cond_wait(&t->cv, &t->mu, &ts) != ETIMEDOUT)
                ;
        }
        pthread_mutex_unlock(&t->mu);
        backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
    }
    return NULL;
}

struct transfer *transfer_start(const struct cfg *cfg, transfer_done_cb done, void *arg,
                                struct err *e)
{
    struct transfer *t = calloc(1, sizeof *t);
    int rc;
    if (!t) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    t->cfg = cfg;
    t->done = done;
    t->arg = arg;
    atomic_init(&t->stop, false);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->prog.active = true;
    t->prog.donor = -1;
    t->prog.eta_s = -1;
    snprintf(t->prog.phase, sizeof t->prog.phase, "starting");
    if ((rc = pthread_create(&t->thread, NULL, transfer_main, t)) != 0) {
        free(t);
        err_set(e, ERR_LIMIT, "cannot start the transfer thread: %s", strerror(rc));
        return NULL;
    }
    return t;
}

void transfer_stop(struct transfer *t)
{
    if (!t)
        return;
    atomic_store(&t->stop, true);
    pthread_mutex_lock(&t->mu);
    if (t->child > 0)
        kill(-t->child, SIGTERM);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}

void transfer_progress(struct transfer *t, struct transfer_progress *out)
{
    pthread_mutex_lock(&t->mu);
    *out = t->prog;
    pthread_mutex_unlock(&t->mu);
}
