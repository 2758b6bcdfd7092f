# Shared by the state-transfer tests (tests/recovery/*.sh, issue 6): each
# test sources this file, calls rt_init, starts its own cluster with
# rt_start_cluster (scripts/cluster, on a port range and in a directory of its
# own), runs its cases with rt_case and ends with rt_finish.  The helpers read
# the cluster through recallctl's JSON status and each replica's recalld.log,
# drive client load with tools/recall-workload (writes) and tools/recall
# (linearizable reads), and compare replicas with `recallctl verify` and
# tests/integration/replicas.sh (each replica's own database, read directly).
# Output is TAP; a failing case prints the end of its story and names the
# logs, which are kept (without MariaDB datadirs) in the work directory.
#
# Environment: top_srcdir, top_builddir (set by `make check`);
#   RECALL_RECOVERY_KEEP=1 keeps the cluster running and the directory.
# shellcheck shell=bash

set -uo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
export RECALL_BUILD=$top_builddir
rt_cluster=$top_srcdir/scripts/cluster
rt_mariadb=$top_srcdir/tests/lib/mariadb.sh
rt_ctl=$top_builddir/tools/recallctl
rt_recall=$top_builddir/tools/recall
rt_workload=$top_builddir/tools/recall-workload

rt_ntests=0
rt_nfail=0
rt_t0=$SECONDS
rt_bg=()          # background processes to stop at exit
rt_cleanups=()    # extra commands for the exit trap, run first
rt_port=""
rt_list=""
conn=""

rt_diag() { sed 's/^/# /'; }
rt_ok() { rt_ntests=$((rt_ntests + 1)); echo "ok $rt_ntests - $rt_backend: $*"; }
rt_not_ok() { rt_ntests=$((rt_ntests + 1)); rt_nfail=$((rt_nfail + 1)); echo "not ok $rt_ntests - $rt_backend: $*"; }
rt_bail() { echo "Bail out! $*"; exit 1; }
# A line for the story of the current case (its log).
say() { echo "[$(date +%T.%3N)] $*"; }
fail() { say "FAIL: $*"; return 1; }
# grep -q for the end of a pipeline: reads all its input, so that the
# writer never dies of SIGPIPE (which pipefail would count as a failure).
has() { grep "$@" >/dev/null; }

# rt_init NAME BACKEND BASEPORT: checks the tools, picks free ports, makes
# the work directory and installs the exit trap.
rt_init() {
    rt_name=$1 rt_backend=$2
    local base=$3 f k p busy
    case "$rt_backend" in sqlite|mariadb) ;; *) rt_bail "backend must be sqlite or mariadb" ;; esac
    for f in "$top_builddir/server/recalld" "$rt_ctl" "$rt_workload" "$rt_recall"; do
        [ -x "$f" ] || rt_bail "$f is not built"
    done
    command -v rsync >/dev/null || rt_bail "rsync (Debian package rsync) is not installed"
    command -v python3 >/dev/null || rt_bail "python3 is not installed"
    command -v sqlite3 >/dev/null || rt_bail "sqlite3 (Debian package sqlite3) is not installed"
    if [ "$rt_backend" = mariadb ] && ! { command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ]; }; then
        rt_bail "MariaDB server (Debian package mariadb-server) is not installed"
    fi
    # Ports: replica i on 127.0.0.(i+1):P, its MariaDB on 127.0.0.1:P+1000+i,
    # helpers (sshd) on P+5..P+9.  Each test has its own base; a block in
    # use (another run of the same test) moves the run 10 ports up.
    [ "$rt_backend" = mariadb ] && base=$((base + 50))
    for ((k = 0; k < 5; k++)); do
        p=$((base + k * 10))
        busy=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' |
            awk -v lo="$p" -v lo2="$((p + 1000))" '($1 >= lo && $1 < lo + 10) || ($1 >= lo2 && $1 < lo2 + 10)')
        [ -z "$busy" ] && { rt_port=$p; break; }
    done
    [ -n "$rt_port" ] || rt_bail "no free port block near $base"
    rt_work=$(mktemp -d "${TMPDIR:-/tmp}/recall-recov-$rt_name-$rt_backend-XXXXXX")
    rt_dir=$rt_work/cluster
    trap rt_cleanup EXIT
    trap 'exit 1' INT TERM
    echo "# $rt_name ($rt_backend): work directory $rt_work, port $rt_port"
}

rt_cleanup() {
    local st=$? c pid
    for pid in "${rt_bg[@]}"; do kill "$pid" 2>/dev/null; done
    if [ "${RECALL_RECOVERY_KEEP:-}" = 1 ]; then
        echo "# kept the cluster in $rt_dir (stop: RECALL_BUILD=$top_builddir $rt_cluster stop --dir $rt_dir)"
        return
    fi
    [ -f "$rt_dir/cluster.env" ] && "$rt_cluster" stop --dir "$rt_dir" >>"$rt_work/cluster.out" 2>&1
    for c in "${rt_cleanups[@]}"; do eval "$c" >>"$rt_work/cluster.out" 2>&1; done
    if [ "$rt_nfail" -eq 0 ] && [ "$st" -eq 0 ]; then
        rm -rf "$rt_work"
    else
        rm -rf "$rt_dir"/r*/mysql/data "$rt_dir"/r*/mysql/tmp "$rt_dir"/r*/db.sqlite*
        echo "# logs kept in $rt_work"
    fi
}

rt_finish() {
    echo "# $rt_name ($rt_backend): $rt_ntests cases, $rt_nfail failed, $((SECONDS - rt_t0)) s"
    echo "1..$rt_ntests"
    [ "$rt_nfail" -eq 0 ]
}

# rt_start_cluster N [CONF LINES]: a cluster of N replicas, every
# recalld.conf with short timeouts, a small log (retention in entries and
# 64K segments, so "well past the retention window" takes seconds) and the
# given lines.
rt_retain=1000
rt_start_cluster() {
    local n=$1 extra=${2:-}
    RECALL_CONF_EXTRA="heartbeat_ms = 50
view_change_timeout_ms = 600
log_retain = $rt_retain entries
log_segment_size = 64K
$extra" timeout 300 "$rt_cluster" start --backend "$rt_backend" --replicas "$n" --dir "$rt_dir" \
        --port "$rt_port" >"$rt_work/cluster.out" 2>&1 </dev/null
    if [ $? -ne 0 ]; then
        rt_diag <"$rt_work/cluster.out"
        for f in "$rt_dir"/r*/recalld.log; do [ -f "$f" ] && tail -20 "$f" | rt_diag; done
        rt_bail "the $rt_backend cluster did not start"
    fi
    rt_n=$n
    conn=$(grep '^replicas=' "$rt_work/cluster.out" | tail -1)
    rt_list=${conn#replicas=}
    rt_list=${rt_list%%;*}
    conn="$conn;request_timeout=30"
    echo "# $n-replica $rt_backend cluster: $rt_list"
}

# rt_case NAME DESCRIPTION FUNCTION: runs FUNCTION with its story in
# $rt_work/NAME.log; ok when it returns 0.
rt_case() {
    local what=$2 fn=$3 log=$rt_work/$1.log t0=$SECONDS
    if { rt_heal && "$fn"; } >"$log" 2>&1; then
        rt_ok "$what ($((SECONDS - t0)) s)"
    else
        rt_not_ok "$what ($((SECONDS - t0)) s)"
        tail -30 "$log" | rt_diag
        echo "# story: $log; replica logs: $rt_dir/r*/recalld.log"
    fi
}

# ---- looking at the cluster ----

rt_status_json() { "$rt_ctl" -r "$rt_list" -t 1000 status --json 2>/dev/null; }

# rt_get I: prints shell assignments for replica I from one status probe:
# up status role view applied commit op log_start ready, the transfer_*
# details (empty when absent), and cluster-wide cview cprimary ccommit.
rt_get() {
    rt_status_json | python3 -c '
import json, shlex, sys
i = int(sys.argv[1])
try:
    d = json.load(sys.stdin)
except Exception:
    d = {"members": [], "view": -1, "primary": -1}
m = d["members"][i] if i < len(d["members"]) else {"up": False}
det = m.get("detail", {})
out = {
    "up": "yes" if m.get("up") else "no",
    "status": m.get("status", ""), "role": m.get("role", ""),
    "view": m.get("view", ""), "applied": m.get("applied", 0),
    "commit": m.get("commit", 0), "op": m.get("op", 0),
    "log_start": m.get("log_start", 0), "ready": det.get("ready", ""),
    "cview": d.get("view", -1), "cprimary": d.get("primary", -1),
    "ccommit": max([x.get("commit", 0) for x in d["members"] if x.get("up")] or [0]),
    "clog_start": min([x.get("log_start", 0) for x in d["members"]
                       if x.get("up") and x.get("status") == "normal"] or [0]),
}
for k in ("phase", "donor", "bytes", "total", "rate", "eta_s", "attempt", "error"):
    out["t_" + k] = det.get("transfer_" + k, "")
for k, v in out.items():
    print("%s=%s" % (k, shlex.quote(str(v))))
' "$1"
}

# The index of the primary, or -1.
rt_primary() { rt_status_json | sed -n 's/.*"view":[0-9]*,"primary":\(-\?[0-9]*\),.*/\1/p'; }
# The replica that leads the next view (view + 1 mod N).
rt_next_primary() {
    local v
    v=$(rt_status_json | sed -n 's/.*"view":\([0-9]*\),"primary":.*/\1/p')
    echo $(((v + 1) % rt_n))
}
# The index of a backup other than the ones given.
rt_backup() {
    local p i x skip
    p=$(rt_primary)
    for ((i = rt_n - 1; i >= 0; i--)); do
        skip=no
        for x in "$p" "$@"; do [ "$i" = "$x" ] && skip=yes; done
        [ $skip = no ] && { echo "$i"; return 0; }
    done
    return 1
}

# rt_wait SECONDS WHAT CMD...: polls CMD every 0.2 s until it succeeds.
rt_wait() {
    local limit=$1 what=$2 t0=$SECONDS
    shift 2
    until "$@"; do
        if [ $((SECONDS - t0)) -ge "$limit" ]; then
            say "timed out after ${limit}s waiting for: $what"
            return 1
        fi
        sleep 0.2
    done
    say "$what ($((SECONDS - t0)) s)"
}

rt_has_primary() { "$rt_cluster" wait --dir "$rt_dir" --timeout 1 >/dev/null 2>&1; }

# Replica I is in normal status in a view with a primary.
rt_normal() {
    local up status cprimary
    eval "$(rt_get "$1")"
    [ "$up" = yes ] && [ "$status" = normal ] && [ "$cprimary" -ge 0 ]
}
# rt_applied_ge I OP: replica I is in normal status and has applied OP.
rt_applied_ge() {
    local up status applied
    eval "$(rt_get "$1")"
    [ "$up" = yes ] && [ "$status" = normal ] && [ "$applied" -ge "$2" ]
}
# rt_wait_caught_up I SECONDS: replica I applies what the cluster had
# committed when this was called.
rt_wait_caught_up() {
    local ccommit
    eval "$(rt_get "$1")"
    rt_wait "$2" "replica $1 applied op $ccommit" rt_applied_ge "$1" "$ccommit"
}

# Replica I is out of service in a state transfer.
rt_in_transfer() {
    local up status
    eval "$(rt_get "$1")"
    [ "$up" = yes ] && [ "$status" = transfer ]
}

# ---- replica processes ----

rt_kill() { "$rt_cluster" kill "$1" --dir "$rt_dir"; }
rt_restart() { "$rt_cluster" restart "$1" --dir "$rt_dir"; }
# SIGTERM replica I's recalld and wait for it to exit.
rt_stop() {
    local pid
    pid=$(cat "$rt_dir/r$1/recalld.pid" 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}
rt_pid() { cat "$rt_dir/r$1/recalld.pid"; }

# rt_heal: every replica's recalld runs (restarting those that do not) and
# is in normal status, so that a case starts on a whole cluster whatever
# the previous one left behind.
rt_heal() {
    local i
    for ((i = 0; i < rt_n; i++)); do rt_restart "$i" >/dev/null 2>&1; done
    for ((i = 0; i < rt_n; i++)); do
        rt_wait 60 "replica $i in normal status" rt_normal "$i" >/dev/null || { fail "replica $i is not in service"; return 1; }
    done
}

# rt_conf I 'key = value': sets a key in replica I's recalld.conf (takes
# effect at its next start).
rt_conf() {
    local f=$rt_dir/r$1/recalld.conf key=${2%% *}
    sed -i "/^${key}[ =]/d" "$f"
    echo "$2" >>"$f"
}

# rt_logmark I: the current length of replica I's log; rt_logsince I MARK
# prints what it logged since (without trace lines).
rt_logmark() { wc -l <"$rt_dir/r$1/recalld.log"; }
rt_logsince() { tail -n +"$(($2 + 1))" "$rt_dir/r$1/recalld.log" | grep -v ' DEBUG \| TRACE '; }
# rt_logcount I MARK PATTERN: lines since MARK matching the ERE PATTERN.
rt_logcount() { rt_logsince "$1" "$2" | grep -c -E "$3"; }

# ---- data ----

# rt_sql SQL: runs SQL through Recall (request timeout 60 s).
rt_sql() { "$rt_recall" -e "$1" "${conn%;request_timeout=*};request_timeout=60"; }

# rt_fill TABLE ROWS: a table of ROWS rows of about 1 KB each, made by one
# statement each backend replays deterministically.
rt_fill() {
    local t=$1 rows=$2
    if [ "$rt_backend" = sqlite ]; then
        rt_sql "CREATE TABLE $t (id INTEGER PRIMARY KEY, n INTEGER, b BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $rows)
INSERT INTO $t SELECT x, 0, randomblob(1000) FROM c"
    else
        rt_sql "CREATE TABLE $t (id INT PRIMARY KEY, n INT, b VARCHAR(1100));
INSERT INTO $t SELECT seq, 0, REPEAT(MD5(seq), 32) FROM seq_1_to_$rows"
    fi
}

# rt_db_applied I: the op-number replica I's own database says it has
# applied (read directly, bypassing recalld).
rt_db_applied() {
    if [ "$rt_backend" = sqlite ]; then
        sqlite3 -readonly "$rt_dir/r$1/db.sqlite" "SELECT applied FROM recall_state WHERE id = 1"
    else
        "$rt_mariadb" sql "$rt_dir/r$1/mysql" "SELECT applied FROM recall.recall_state WHERE id = 1"
    fi
}

# rt_write_past_retention I [APPLIED]: with replica I down, writes (as fast as one
# client can) until every replica in service has dropped from its log the
# entry I needs next, and at least 2 x log_retain entries were written.  No
# write may fail; every acknowledged row must be there (table wl_gap).
rt_gap_n=0
rt_write_past_retention() {
    local down=$1 need=${2:-} wpid n0 clog_start ccommit out t0=$SECONDS
    [ -n "$need" ] || need=$(rt_db_applied "$down") || { fail "cannot read replica $down's applied op"; return 1; }
    eval "$(rt_get "$(rt_primary)")"
    n0=$ccommit
    rt_gap_n=$((rt_gap_n + 1))
    out=$rt_work/wl_gap.$rt_gap_n.out
    "$rt_workload" write --seconds 120 --table wl_gap --ack "$rt_work/wl_gap.ack" --quiet \
        --start $((rt_gap_n * 10000000)) "$conn" >"$out" 2>&1 &
    wpid=$!
    while :; do
        sleep 0.5
        eval "$(rt_get "$(rt_primary)")"
        if [ "$clog_start" -gt $((need + 1)) ] && [ $((ccommit - n0)) -ge $((2 * rt_retain)) ]; then
            break
        fi
        if ! kill -0 "$wpid" 2>/dev/null || [ $((SECONDS - t0)) -gt 90 ]; then
            kill -INT "$wpid" 2>/dev/null; wait "$wpid"
            fail "the logs still hold op $((need + 1)) (first op $clog_start) after $((ccommit - n0)) writes"
            return 1
        fi
    done
    kill -INT "$wpid"
    wait "$wpid"
    say "writer: $(tail -1 "$out")"
    grep -q '^wrote [0-9]* rows acknowledged, 0 errors' "$out" || { fail "writes failed with replica $down down"; return 1; }
    say "wrote $((ccommit - n0)) entries with replica $down down; every log in service now starts at op $clog_start, replica $down's database holds op $need ($((SECONDS - t0)) s)"
}

rt_gone() { ! kill -0 "$1" 2>/dev/null; }
rt_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# rt_acked TABLE N: the load on TABLE has at least N acknowledged rows.
rt_acked() { [ "$(rt_lines "$rt_work/$1.ack")" -ge "$2" ]; }

# ---- client load: writes and linearizable reads while a transfer runs ----

# rt_load_start NAME RATE: recall-workload writes RATE rows/s into table
# NAME; a reader counts NAME's rows ten times a second on one connection.
rt_load_start() {
    local t=$1 rate=$2
    rt_load_table=$t
    rt_sql "CREATE TABLE IF NOT EXISTS $t (seq BIGINT PRIMARY KEY, note VARCHAR(64), at BIGINT)" >/dev/null ||
        { fail "cannot create $t"; return 1; }
    "$rt_workload" write --seconds 600 --rate "$rate" --table "$t" --ack "$rt_work/$t.ack" \
        --quiet "$conn" >"$rt_work/$t.out" 2>&1 &
    rt_load_w=$!
    rt_bg+=("$rt_load_w")
    # the reader ends (and flushes its output) at the end of its input
    rm -f "$rt_work/$t.fifo"
    mkfifo "$rt_work/$t.fifo" || return 1
    "$rt_recall" --force "$conn" <"$rt_work/$t.fifo" >"$rt_work/$t.reads" 2>"$rt_work/$t.read-errors" &
    rt_load_r=$!
    rt_bg+=("$rt_load_r")
    (while :; do echo "SELECT COUNT(*) FROM $t;"; sleep 0.1; done) >"$rt_work/$t.fifo" 2>/dev/null &
    rt_load_g=$!
    rt_bg+=("$rt_load_g")
    rt_wait 30 "load on $t started" rt_acked "$t" 10
}

# rt_load_stop_check: stops the load and checks it: no write failed, every
# acknowledged row is in the table exactly once and nothing else is, no
# read failed, and the counts read never went down (linearizable reads of
# an insert-only table).
rt_load_stop_check() {
    local t=$rt_load_table out acked errors rows reads bad
    kill -INT "$rt_load_w" 2>/dev/null
    wait "$rt_load_w"
    kill "$rt_load_g" 2>/dev/null
    wait "$rt_load_g" 2>/dev/null
    rt_wait 30 "the reader finished its last read" rt_gone "$rt_load_r" || kill "$rt_load_r" 2>/dev/null
    wait "$rt_load_r" 2>/dev/null
    out=$rt_work/$t.out
    say "writer: $(tail -1 "$out")"
    acked=$(sed -n 's/^wrote \([0-9]*\) rows acknowledged, \([0-9]*\) errors.*/\1/p' "$out")
    errors=$(sed -n 's/^wrote \([0-9]*\) rows acknowledged, \([0-9]*\) errors.*/\2/p' "$out")
    [ -n "$acked" ] || { cat "$out"; fail "the writer did not finish"; return 1; }
    [ "$errors" -eq 0 ] || { grep -v '^wrote' "$out" | head; fail "$errors writes failed"; return 1; }
    [ "$acked" -eq "$(rt_lines "$rt_work/$t.ack")" ] || { fail "ack file and writer disagree"; return 1; }
    [ "$acked" -gt 0 ] || { fail "no write was acknowledged"; return 1; }
    "$rt_workload" verify --table "$t" --ack "$rt_work/$t.ack" "$conn" >"$out.verify" 2>&1 ||
        { cat "$out.verify"; fail "acknowledged rows lost or duplicated"; return 1; }
    rows=$(sed -n 's/^\([0-9]*\) rows in .*/\1/p' "$out.verify")
    [ "$rows" = "$acked" ] || { fail "$rows rows in $t, $acked acknowledged"; return 1; }
    say "writer: $acked rows acknowledged, all present once, no failed write"
    reads=$(grep -c -E '^\| *[0-9]+ \|$' "$rt_work/$t.reads")
    if [ -s "$rt_work/$t.read-errors" ]; then
        head -5 "$rt_work/$t.read-errors"
        fail "$(wc -l <"$rt_work/$t.read-errors") of the reads failed"
        return 1
    fi
    [ "$reads" -ge 5 ] || { fail "only $reads reads answered"; return 1; }
    bad=$(grep -E '^\| *[0-9]+ \|$' "$rt_work/$t.reads" | tr -d '| ' |
        awk 'NR > 1 && $1 < last { print "count went down from " last " to " $1; exit } { last = $1 }')
    [ -z "$bad" ] || { fail "linearizable reads: $bad"; return 1; }
    say "reader: $reads reads, none failed, counts never went down"
}

# rt_same: `recallctl verify` finds identical checksums on every replica,
# and so does a direct comparison of the replicas' own databases.
rt_same() {
    local out rc
    out=$("$rt_ctl" -r "$rt_list" -t 5000 verify 2>&1)
    rc=$?
    echo "$out"
    [ "$rc" -eq 0 ] || { fail "recallctl verify exited with $rc"; return 1; }
    echo "$out" | has "on $rt_n of $rt_n replicas" || { fail "not every replica answered verify"; return 1; }
    "$top_srcdir/tests/integration/replicas.sh" same "$rt_dir" 90 || { fail "the replicas' databases differ"; return 1; }
    say "recallctl verify and the replicas' own databases agree on every replica"
}

# rt_rejoined I MARK: since MARK, replica I logged that it rejoined after a
# state transfer, and it is in normal status.
rt_rejoined() {
    rt_logsince "$1" "$2" | has 'rejoined the cluster after the state transfer' && rt_normal "$1"
}

# rt_refused I MARK: since MARK replica I turned a client away because of
# its state transfer.
rt_refused() { rt_logsince "$1" "$2" | has 'not serving: state transfer in progress'; }

# rt_transfer_story I MARK: replica I's transfer lines since MARK.
rt_transfer_story() {
    rt_logsince "$1" "$2" | grep -v 'refusing\|closing connection' |
        grep -E 'STATE TRANSFER|state transfer|rejoin|donor|rsync|stop_server|start_server|HALTED|interrupted' | head -60
}
