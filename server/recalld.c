/* recalld: the Recall replica server.  Reads recalld.conf (with
 * command-line overrides), optionally becomes a daemon, brings the replica
 * up (replica.c) and runs its event loop until SIGTERM/SIGINT; SIGHUP
 * reopens the log file. */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "fault.h"
#include "logging.h"
#include "replica.h"

#define DEFAULT_CONFIG "/etc/recall/recalld.conf"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: recalld [OPTIONS]\n"
            "Run one replica of a Recall cluster.\n\n"
            "  -c, --config FILE      configuration file (default " DEFAULT_CONFIG ")\n"
            "  -s, --set KEY=VALUE    override a configuration key (repeatable)\n"
            "      --listen ADDR      same as --set listen=ADDR\n"
            "      --data-dir DIR     same as --set data_dir=DIR\n"
            "      --backend DSN      same as --set backend=DSN\n"
            "      --debug N          same as --set debug=N (0..3)\n"
            "  -f, --foreground       stay in the foreground (the default)\n"
            "  -d, --daemon           detach and run in the background (logs to log_file,\n"
            "                         default data_dir/recalld.log)\n"
            "      --check            validate the configuration, print it, and exit\n"
            "      --version          print the version and exit\n"
            "  -h, --help             this help\n\n"
            "Signals: TERM/INT stop cleanly, HUP reopens the log file.\n"
            "Every configuration key is described in docs/CONFIG.md.\n");
}

struct signals {
    struct replica *r;
    struct event_base *base;
};

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    struct signals *s = arg;
    (void)what;
    log_info("signal %d: stopping", (int)sig);
    if (s->r)
        replica_stop(s->r);
    else
        event_base_loopexit(s->base, NULL);
}

static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
    struct err e;
    (void)sig, (void)what, (void)arg;
    if (log_reopen(&e) < 0)
        log_error("reopening the log file: %s", e.msg);
    else
        log_info("log file reopened");
}

static int write_pid_file(const char *path, struct err *e)
{
    char tmp[4096];
    FILE *f;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f)
        return err_set_errno(e, errno, "cannot write pid file %s", tmp);
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return err_set_errno(e, errno, "cannot write pid file %s", path);
    return 0;
}

static int daemonize(struct err *e)
{
    pid_t pid = fork();
    int fd;
    if (pid < 0)
        return err_set_errno(e, errno, "fork");
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return err_set_errno(e, errno, "setsid");
    pid = fork();
    if (pid < 0)
        return err_set_errno(e, errno, "fork");
    if (pid > 0)
        _exit(0);
    /* let go of the caller's terminal or pipe entirely (the log goes to
     * log_file, which main() opened before) */
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 's'},
        {"listen", required_argument, NULL, 1},
        {"data-dir", required_argument, NULL, 2},
        {"backend", required_argument, NULL, 3},
        {"debug", required_argument, NULL, 4},
        {"foreground", no_argument, NULL, 'f'},
        {"daemon", no_argument, NULL, 'd'},
        {"check", no_argument, NULL, 5},
        {"version", no_argument, NULL, 6},
        {"help", no_argument, NULL, 'h'},
        {"test-fsync-delay-us", required_argument, NULL, 7},
        {NULL, 0, NULL, 0}};
    const char *config = NULL;
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int nsets = 0, opt;
    bool daemon_mode = false, check = false;
    unsigned fsync_delay = 0;
    struct cfg cfg;
    struct err e;
    struct event_base *base = NULL;
    struct signals sig = {0};
    struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL;
    int status = 1;

    if (!sets)
        return 1;
    while ((opt = getopt_long(argc, argv, "c:s:fdh", opts, NULL)) != -1) {
        char *kv = NULL;
        switch (opt) {
        case 'c': config = optarg; break;
        case 's': sets[nsets++] = strdup(optarg); break;
        case 1: if (asprintf(&kv, "listen=%s", optarg) >= 0) sets[nsets++] = kv; break;
        case 2: if (asprintf(&kv, "data_dir=%s", optarg) >= 0) sets[nsets++] = kv; break;
        case 3: if (asprintf(&kv, "backend=%s", optarg) >= 0) sets[nsets++] = kv; break;
        case 4: if (asprintf(&kv, "debug=%s", optarg) >= 0) sets[nsets++] = kv; break;
        case 'f': daemon_mode = false; break;
        case 'd': daemon_mode = true; break;
        case 5: check = true; break;
        case 6: printf("recalld %s\n", PACKAGE_VERSION); return 0;
        case 7: fsync_delay = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "recalld: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    cfg_init_defaults(&cfg);
    if (!config && access(DEFAULT_CONFIG, R_OK) == 0)
        config = DEFAULT_CONFIG;
    if (config && cfg_load_file(&cfg, config, &e) < 0) {
        fprintf(stderr, "recalld: %s\n", e.msg);
        goto out;
    }
    for (int i = 0; i < nsets; i++) {
        if (!sets[i] || cfg_set_arg(&cfg, sets[i], &e) < 0) {
            fprintf(stderr, "recalld: %s\n", sets[i] ? e.msg : "out of memory");
            goto out;
        }
    }
    if (cfg_validate(&cfg, &e) < 0) {
        fprintf(stderr, "recalld: %s\n", e.msg);
        goto out;
    }
    if (check) {
        struct buf b;
        buf_init(&b);
        cfg_format(&cfg, &b);
        fwrite(b.data, 1, b.len, stdout);
        buf_close(&b);
        status = 0;
        goto out;
    }

    log_set_level(log_level_from_debug(cfg.debug));
    {
        char tag[16];
        snprintf(tag, sizeof tag, "r%zu", cfg.self);
        log_set_tag(tag);
    }
    if (mkdir(cfg.data_dir, 0750) < 0 && errno != EEXIST) {
        log_error("cannot create data_dir %s: %s", cfg.data_dir, strerror(errno));
        goto out;
    }
    if (daemon_mode && !cfg.log_file) {
        /* a daemon has no stderr: log next to its data */
        char *path;
        if (asprintf(&path, "%s/recalld.log", cfg.data_dir) < 0)
            goto out;
        cfg.log_file = path;
    }
    if (cfg.log_file && log_open(cfg.log_file, &e) < 0) {
        fprintf(stderr, "recalld: %s\n", e.msg);
        goto out;
    }
    if (daemon_mode && daemonize(&e) < 0) {
        log_error("%s", e.msg);
        goto out;
    }
    if (cfg.pid_file && write_pid_file(cfg.pid_file, &e) < 0) {
        log_error("%s", e.msg);
        goto out;
    }
    if (fsync_delay) {
        log_warn("test switch: every fsync of the log is delayed by %u us", fsync_delay);
        fault_set_delay_us(FAULT_WAL_FSYNC, fsync_delay);
    }

    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    base = event_base_new();
    if (!base || event_base_priority_init(base, 3) < 0) {
        log_error("cannot create the event loop");
        goto out;
    }
    sig.base = base;
    ev_term = evsignal_new(base, SIGTERM, stop_cb, &sig);
    ev_int = evsignal_new(base, SIGINT, stop_cb, &sig);
    ev_hup = evsignal_new(base, SIGHUP, hup_cb, &sig);
    if (!ev_term || !ev_int || !ev_hup) {
        log_error("cannot install signal handlers");
        goto out;
    }
    event_add(ev_term, NULL);
    event_add(ev_int, NULL);
    event_add(ev_hup, NULL);

    sig.r = replica_open(&cfg, base, &e);
    if (!sig.r) {
        log_error("cannot start: %s", e.msg);
        goto out;
    }
    if (replica_run(sig.r, &e) < 0)
        log_error("stopped: %s", e.msg);
    else
        status = 0;
    replica_close(sig.r);
    log_info("stopped");
out:
    if (ev_term)
        event_free(ev_term);
    if (ev_int)
        event_free(ev_int);
    if (ev_hup)
        event_free(ev_hup);
    if (base)
        event_base_free(base);
    if (cfg.pid_file && status == 0)
        unlink(cfg.pid_file);
    cfg_free(&cfg);
    for (int i = 0; i < nsets; i++)
        free(sets[i]);
    free(sets);
    log_close();
    return status;
}
