#!/usr/bin/env bash
# Integration tests of a real three-replica Recall cluster (issue 4): starts
# recalld processes with scripts/cluster (backend $1: sqlite or mariadb, the
# MariaDB servers private to the run) on a port and in a directory of its
# own, runs the C cases (tests/integration/test_integration), then the fault
# scenarios with real processes and kill -9, comparing the replicas' own
# databases at the end of each (tests/integration/replicas.sh).  Always stops
# the cluster.  Speaks TAP: one line per case; a failing case names its logs.
#
# Usage: tests/integration/run.sh sqlite|mariadb
# Environment: top_srcdir, top_builddir (set by `make check`);
#   RECALL_INTEG_KEEP=1 keeps the cluster running and its directory;
#   RECALL_INTEG_ONLY=c|faults runs only one part.
# Exit status: 0 once the whole TAP stream is out (failures are its "not ok"
# lines); 1 with "Bail out!" when the cluster cannot be started.
set -uo pipefail

backend=${1:-sqlite}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
here=$top_srcdir/tests/integration
export RECALL_BUILD=$top_builddir
cluster=$top_srcdir/scripts/cluster
workload=$top_builddir/tools/recall-workload
recall=$top_builddir/tools/recall
program=$top_builddir/tests/integration/test_integration
t_start=$SECONDS

ntests=0
nfail=0
tap_ok() { ntests=$((ntests + 1)); echo "ok $ntests - $backend: $*"; }
tap_not_ok() { ntests=$((ntests + 1)); nfail=$((nfail + 1)); echo "not ok $ntests - $backend: $*"; }
diag() { sed 's/^/# /'; }

case "$backend" in sqlite|mariadb) ;; *) echo "Bail out! backend must be sqlite or mariadb"; exit 1 ;; esac
for f in "$top_builddir/server/recalld" "$top_builddir/tools/recallctl" "$workload" "$recall" "$program"; do
    [ -x "$f" ] || { echo "Bail out! $f is not built"; exit 1; }
done
command -v sqlite3 >/dev/null || { echo "Bail out! sqlite3 (Debian package sqlite3) is not installed"; exit 1; }
if [ "$backend" = mariadb ] && ! { command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ]; }; then
    echo "Bail out! MariaDB server (Debian package mariadb-server) is not installed"
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/recall-integ-$backend-XXXXXX")
dir=$work/cluster
# Ports: replica i listens on 127.0.0.(i+1):port, its MariaDB on 127.0.0.1:port+1000+i.
# 18500..18899 stays clear of the other suites (ODBC: 12000..17001,
# librecall: 20000 and up).
# A port nothing listens on yet (replicas and, for MariaDB, its servers).
port_busy() { # PORT
    local p=$1
    command -v ss >/dev/null || return 1
    ss -Hltn 2>/dev/null | awk '{print $4}' |
        grep -Eq ":($p|$((p + 1000))|$((p + 1001))|$((p + 1002)))\$"
}
for ((k = 0; k < 200; k++)); do
    port=$((18500 + (($$ + k) % 200) * 2))
    [ "$backend" = mariadb ] && port=$((port + 1))
    port_busy "$port" || break
done

cleanup() {
    local st=$?
    if [ "${RECALL_INTEG_KEEP:-}" = 1 ]; then
        echo "# kept the running cluster in $dir (stop: RECALL_BUILD=$top_builddir $cluster stop --dir $dir)"
        return
    fi
    "$cluster" stop --dir "$dir" >>"$work/cluster.out" 2>&1
    if [ "$nfail" -eq 0 ] && [ "$st" -eq 0 ]; then
        rm -rf "$work"
    else
        # keep the logs and the SQLite files, not the MariaDB datadirs
        rm -rf "$dir"/r*/mysql/data "$dir"/r*/mysql/tmp
        echo "# logs kept in $work"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

logs_hint() { # CASE-LOG
    echo "# logs: $1 and $dir/r{0,1,2}/recalld.log"
}

# ---- the cluster ----
echo "# starting a $backend cluster in $dir on port $port"
if ! timeout 240 "$cluster" start --backend "$backend" --dir "$dir" --port "$port" \
        >"$work/cluster.out" 2>&1 </dev/null; then
    diag <"$work/cluster.out"
    for f in "$dir"/r*/recalld.log; do [ -f "$f" ] && tail -20 "$f" | diag; done
    echo "Bail out! the $backend cluster did not start"
    exit 1
fi
conn=$(grep '^replicas=' "$work/cluster.out" | tail -1)
if [ "$backend" = sqlite ]; then
    # SQLite has no accounts: give the DSN the credentials the connection
    # string carries, so that a wrong password is refused (docs/BACKEND-SQLITE.md).
    "$cluster" stop --dir "$dir" >>"$work/cluster.out" 2>&1
    for c in "$dir"/r*/recalld.conf; do
        sed -i 's|^backend = \(sqlite:[^?]*\)$|backend = \1?user=app\&password=app|' "$c"
    done
    for ((i = 0; i < 3; i++)); do "$cluster" restart "$i" --dir "$dir" >>"$work/cluster.out" 2>&1; done
    if ! "$cluster" wait --dir "$dir" --timeout 60 >>"$work/cluster.out" 2>&1; then
        diag <"$work/cluster.out"
        echo "Bail out! the $backend cluster did not come back with credentials"
        exit 1
    fi
fi
echo "# connection string: $conn"
probe_ddl="CREATE TABLE it_probe (id INTEGER PRIMARY KEY, note VARCHAR(64))"
[ "$backend" = mariadb ] &&
    probe_ddl="CREATE TABLE it_probe (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(64))"
if ! "$recall" -e "$probe_ddl" "$conn;request_timeout=30" >>"$work/cluster.out" 2>&1; then
    diag <"$work/cluster.out"
    echo "Bail out! the $backend cluster does not accept DDL"
    exit 1
fi

ctl_json() { "$cluster" status --dir "$dir" --json 2>/dev/null; }
view() { ctl_json | sed -n 's/.*"view":\([0-9]*\),"primary":.*/\1/p'; }
primary() { ctl_json | sed -n 's/.*"view":[0-9]*,"primary":\(-\?[0-9]*\),.*/\1/p'; }
a_backup() { # prints a replica index that is not the primary
    local p
    p=$(primary)
    echo $(((p + 1) % 3))
}
# Wait until FILE has at least N lines (seconds: $3).
wait_lines() {
    local f=$1 n=$2 limit=$3 t0=$SECONDS
    while [ "$(lines "$f")" -lt "$n" ]; do
        [ $((SECONDS - t0)) -lt "$limit" ] || return 1
        sleep 0.1
    done
}
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
wait_primary() { "$cluster" wait --dir "$dir" --timeout "${1:-60}" >/dev/null 2>&1; }

# ---- the C cases ----
run_c() {
    local out line seen=0 bad=0 st what=""
    out=$(RECALL_TEST_CONN=$conn RECALL_TEST_CLUSTER_DIR=$dir RECALL_TEST_BACKEND=$backend \
          top_srcdir=$top_srcdir timeout 900 "$program" 2>"$work/c.stderr")
    st=$?
    echo "$out" >"$work/c.tap"
    while IFS= read -r line; do
        case "$line" in
        "ok "*)
            seen=$((seen + 1))
            tap_ok "$(sed -E 's/^ok [0-9]+ - [^:]*:([^:]*):([^:]*): .*/\1: \2/' <<<"$line")$what"
            what="" ;;
        "not ok"*)
            seen=$((seen + 1)); bad=$((bad + 1))
            tap_not_ok "$(sed -E 's/^not ok [0-9]+ - [^:]*:([^:]*):([^:]*): (.*)/\1: \2: \3/' <<<"$line")"
            logs_hint "$work/c.tap, $work/c.stderr" ;;
        "1.."*) ;;
        "#"*)
            # "# NAME -> replica I: ..." names the malformed-frame case that follows
            case "$line" in "# "*" -> replica "*) what=" (${line#\# }"; what="${what%% -> *})" ;; esac
            echo "$line" ;;
        *) [ -n "$line" ] && echo "# $line" ;;
        esac
    done <<<"$out"
    [ -s "$work/c.stderr" ] && tail -20 "$work/c.stderr" | diag
    if [ "$st" -ne 0 ] && [ "$bad" -eq 0 ]; then
        tap_not_ok "C cases: test_integration exited with status $st after $seen results"
        logs_hint "$work/c.stderr"
    elif [ "$seen" -eq 0 ]; then
        tap_not_ok "C cases: test_integration produced no results"
        logs_hint "$work/c.stderr"
    fi
}

# ---- fault scenarios: each writes its story to $work/NAME.log ----
fault() { # NAME DESCRIPTION FUNCTION
    local name=$1 what=$2 fn=$3 log=$work/$1.log t0=$SECONDS
    # Each case starts on a cluster that has a primary and accepts writes.
    if ! wait_primary 30 || ! "$recall" -e "INSERT INTO it_probe (note) VALUES ('before $name')" \
            "$conn;request_timeout=15" >"$log" 2>&1; then
        echo "the cluster does not accept writes before the case" >>"$log"
        tap_not_ok "fault: $what (the cluster did not accept writes before the case)"
        diag <"$log"
        logs_hint "$log"
        return
    fi
    if "$fn" >"$log" 2>&1; then
        tap_ok "fault: $what ($((SECONDS - t0)) s)"
    else
        tap_not_ok "fault: $what"
        tail -25 "$log" | diag
        logs_hint "$log"
    fi
}

# The summary line of `recall-workload write`: "wrote N rows acknowledged, E errors, ...".
check_workload() { # OUT ACK TABLE
    local out=$1 ack=$2 table=$3 acked errors rows
    cat "$out"
    acked=$(sed -n 's/^wrote \([0-9]*\) rows acknowledged, \([0-9]*\) errors.*/\1/p' "$out")
    errors=$(sed -n 's/^wrote \([0-9]*\) rows acknowledged, \([0-9]*\) errors.*/\2/p' "$out")
    [ -n "$acked" ] || { echo "FAIL: the workload did not finish"; return 1; }
    [ "$acked" -eq "$(lines "$ack")" ] || { echo "FAIL: ack file has $(lines "$ack") lines, workload says $acked"; return 1; }
    # Autocommit writes interrupted by a failover are retried inside librecall.
    [ "$errors" -eq 0 ] || { echo "FAIL: $errors writes failed during the failover"; return 1; }
    "$workload" verify --table "$table" --ack "$ack" "$conn" >"$out.verify" 2>&1
    local st=$?
    cat "$out.verify"
    [ "$st" -eq 0 ] || { echo "FAIL: recall-workload verify: acknowledged rows lost or duplicated"; return 1; }
    # With no failed write, the table holds exactly the acknowledged rows:
    # none applied twice, none applied without its acknowledgement.
    rows=$(sed -n 's/^\([0-9]*\) rows in .*/\1/p' "$out.verify")
    [ "$rows" = "$acked" ] || { echo "FAIL: $rows rows in $table, $acked acknowledged"; return 1; }
    echo "ok: $acked acknowledged, $rows rows"
}

same_replicas() {
    "$here/replicas.sh" same "$dir" "${1:-90}" || { echo "FAIL: replicas differ"; return 1; }
    echo "ok: all replicas hold identical tables"
}

# kill -9 of the primary during a stream of autocommit writes.
fault_kill_primary() {
    local ack=$work/kill_primary.ack out=$work/kill_primary.out p wpid before after
    "$workload" write --seconds 12 --table wl_primary --ack "$ack" --quiet "$conn" >"$out" 2>&1 &
    wpid=$!
    wait_lines "$ack" 200 30 || { kill "$wpid"; echo "FAIL: the workload did not start"; cat "$out"; return 1; }
    p=$(primary)
    before=$(lines "$ack")
    echo "killing the primary, replica $p, after $before acknowledged writes"
    "$cluster" kill "$p" --dir "$dir" || return 1
    wait "$wpid"
    after=$(lines "$ack")
    echo "after the kill: $((after - before)) more writes acknowledged; new primary $(primary)"
    check_workload "$out" "$ack" wl_primary || return 1
    [ "$after" -ge $((before + 100)) ] || { echo "FAIL: writes did not resume after the failover"; return 1; }
    echo "restarting replica $p"
    "$cluster" restart "$p" --dir "$dir" || return 1
    same_replicas 90
}

# A backup down while writes go on catches up from the others' logs when it
# comes back (no state transfer needed).
fault_catch_up() {
    local ack=$work/catch_up.ack out=$work/catch_up.out b mark view
    b=$(a_backup)
    echo "killing backup replica $b"
    "$cluster" kill "$b" --dir "$dir" || return 1
    "$workload" write --seconds 3 --table wl_catchup --ack "$ack" --quiet "$conn" >"$out" 2>&1
    check_workload "$out" "$ack" wl_catchup || return 1
    mark=$(wc -l <"$dir/r$b/recalld.log")
    view=$(view)
    echo "restarting replica $b, $(lines "$ack") writes behind, in view $view"
    "$cluster" restart "$b" --dir "$dir" || return 1
    same_replicas 90 || return 1
    echo "replica $b's log since the restart:"
    tail -n +"$((mark + 1))" "$dir/r$b/recalld.log" | grep -v DEBUG | head -40
    if tail -n +"$((mark + 1))" "$dir/r$b/recalld.log" | grep -qi "state transfer\|rsync"; then
        echo "FAIL: replica $b needed a state transfer to catch up $(lines "$ack") entries"
        return 1
    fi
    # A recovering replica rejoins through recovery before it votes
    # (DESIGN.md section 4): its return must not depose a healthy primary.
    if [ "$(view)" != "$view" ]; then
        echo "FAIL: the view moved from $view to $(view) when backup $b came back"
        return 1
    fi
}

# kill -9 of a backup during a write stream, restarted while it goes on.
fault_backup_restart() {
    local ack=$work/backup_restart.ack out=$work/backup_restart.out b wpid n
    "$workload" write --seconds 10 --table wl_backup --ack "$ack" --quiet "$conn" >"$out" 2>&1 &
    wpid=$!
    wait_lines "$ack" 100 30 || { kill "$wpid"; echo "FAIL: the workload did not start"; cat "$out"; return 1; }
    b=$(a_backup)
    echo "killing backup replica $b after $(lines "$ack") writes"
    "$cluster" kill "$b" --dir "$dir" || return 1
    n=$(lines "$ack")
    wait_lines "$ack" $((n + 200)) 20 || { echo "FAIL: writes stalled with one backup down"; }
    echo "restarting replica $b after $(lines "$ack") writes"
    "$cluster" restart "$b" --dir "$dir" || return 1
    wait "$wpid"
    check_workload "$out" "$ack" wl_backup || return 1
    same_replicas 90
}

# (MariaDB) The primary's database server killed while no write is under
# way: the primary must notice on its own (nothing fails to apply) and step
# down, and a transaction must then commit through the new primary.
# Regression: an idle primary kept leading without a database, refusing new
# client connections, until its server came back.
fault_idle_dbkill() {
    local p np t0 mport
    p=$(primary)
    mport=$(cat "$dir/r$p/mysql/port")
    echo "killing the MariaDB server of the primary, replica $p (no writes running)"
    kill -9 "$(cat "$dir/r$p/mysql/mariadbd.pid")" || return 1
    t0=$SECONDS
    np=$p
    while [ "$np" = "$p" ] || [ "$np" = -1 ] || [ -z "$np" ]; do
        [ $((SECONDS - t0)) -lt 15 ] || { echo "FAIL: replica $p still leads 15 s after its database died"; break; }
        sleep 0.2
        np=$(primary)
    done
    echo "new primary: replica $np after $((SECONDS - t0)) s"
    [ "$np" != "$p" ] || { "$top_srcdir/tests/lib/mariadb.sh" start "$dir/r$p/mysql" "$mport"; return 1; }
    "$recall" -e "BEGIN; INSERT INTO it_probe (note) VALUES ('after the primary lost its database'); COMMIT" \
        "$conn;request_timeout=15" || { echo "FAIL: no transaction committed through the new primary"; 
        "$top_srcdir/tests/lib/mariadb.sh" start "$dir/r$p/mysql" "$mport"; return 1; }
    echo "starting replica $p's MariaDB server again"
    "$top_srcdir/tests/lib/mariadb.sh" start "$dir/r$p/mysql" "$mport" || return 1
    same_replicas 90
}

# (MariaDB) The primary's database server restarted under a client's open
# connection: the client's session there lost its database connection, and
# the writes must go on through a new session.  Regression: the session
# answered "backend session lost" to every later request of that
# connection, for ever.
fault_db_restart() {
    local ack=$work/db_restart.ack out=$work/db_restart.out p wpid n mport
    "$workload" write --seconds 15 --table wl_dbrestart --ack "$ack" --quiet "$conn" >"$out" 2>&1 &
    wpid=$!
    wait_lines "$ack" 100 30 || { kill "$wpid"; echo "FAIL: the workload did not start"; cat "$out"; return 1; }
    p=$(primary)
    mport=$(cat "$dir/r$p/mysql/port")
    echo "restarting the primary's (replica $p) MariaDB server under the workload"
    kill -9 "$(cat "$dir/r$p/mysql/mariadbd.pid")" || return 1
    "$top_srcdir/tests/lib/mariadb.sh" start "$dir/r$p/mysql" "$mport" || return 1
    n=$(lines "$ack")
    echo "$n writes acknowledged when the server was back; primary now $(primary)"
    wait_lines "$ack" $((n + 100)) 20 || { kill "$wpid"; wait "$wpid"; cat "$out";
        echo "FAIL: the writes did not go on after the database came back"; return 1; }
    wait "$wpid"
    cat "$out"
    "$workload" verify --table wl_dbrestart --ack "$ack" "$conn" || {
        echo "FAIL: acknowledged rows lost or duplicated"; return 1; }
    same_replicas 90
}

if [ "${RECALL_INTEG_ONLY:-c}" = c ] || [ -z "${RECALL_INTEG_ONLY:-}" ]; then
    run_c
fi
if [ "${RECALL_INTEG_ONLY:-faults}" = faults ] || [ -z "${RECALL_INTEG_ONLY:-}" ]; then
    fault kill_primary "kill -9 of the primary during a write stream" fault_kill_primary
    fault backup_restart "a backup killed and restarted during a write stream" fault_backup_restart
    fault catch_up "a restarted replica catches up from the log" fault_catch_up
    if [ "$backend" = mariadb ]; then
        fault idle_dbkill "the idle primary's database killed: another replica leads" fault_idle_dbkill
        fault db_restart "the primary's database restarted under open connections: writes go on" fault_db_restart
    fi
fi

echo "# $backend: $ntests cases, $nfail failed, $((SECONDS - t_start)) s"
echo "1..$ntests"
# The failures are the "not ok" lines: a complete TAP stream exits 0 so
# that the harness counts each failing case once (not once more as ERROR).
exit 0
