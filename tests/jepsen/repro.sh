#!/usr/bin/env bash
# Minimal reproductions of the bugs the fault tests found (docs/RELIABILITY.md,
# "Findings").  Each starts its own small cluster with scripts/cluster, shows
# the misbehaviour, stops the cluster, and exits 0 when the bug reproduced,
# 1 when it did not (fixed?), 2 on a setup problem.
#
# Usage: tests/jepsen/repro.sh write-08006 | log-reset | dbkill-stepdown | silent-replica
#   write-08006      an autocommit INSERT that was sent fails with 08006 ("retry
#                    later") and yet commits
#   log-reset        a backup down for seconds needs a full state transfer after
#                    the other two restarted cleanly
#   dbkill-stepdown  (MariaDB) the primary's database dies; the primary never steps
#                    down and writes time out
#   silent-replica   (root) the client cannot reach one backup; quorum reads time
#                    out although two replicas answer
# Environment: RECALL_BUILD (a build directory; default: the newest build/*),
#              REPRO_PORT (default 10950), REPRO_DIR (default a new temp dir).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
case "${1:-}" in write-08006|log-reset|dbkill-stepdown|silent-replica) ;; *)
    sed -n '2,18p' "$0"; exit 2 ;; esac
what=$1
if [ -z "${RECALL_BUILD:-}" ]; then
    RECALL_BUILD=$(ls -td "$top"/build/*/ 2>/dev/null | head -1)
fi
export RECALL_BUILD=${RECALL_BUILD%/}
cluster=$top/scripts/cluster
recall=$RECALL_BUILD/tools/recall
workload=$RECALL_BUILD/tools/recall-workload
port=${REPRO_PORT:-10950}
dir=${REPRO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/recall-repro-XXXXXX")}
[ -x "$recall" ] || { echo "repro: $recall is not built"; exit 2; }

cleanup() { "$cluster" stop --dir "$dir/c" >/dev/null 2>&1; }
trap cleanup EXIT
say() { echo "repro: $*"; }
primary() { "$cluster" status --dir "$dir/c" --json 2>/dev/null |
            sed -n 's/.*"view":[0-9]*,"primary":\(-\?[0-9]*\),.*/\1/p'; }
start() { # BACKEND
    "$cluster" start --backend "$1" --dir "$dir/c" --port "$port" >"$dir/start.out" 2>&1 ||
        { cat "$dir/start.out"; exit 2; }
    conn="$(grep '^replicas=' "$dir/start.out" | tail -1);request_timeout=4"
}

case "$what" in
write-08006)
    # Two replicas with slow fsyncs keep the INSERT from gathering a quorum
    # for a second after it reached their logs (written, not yet synced);
    # every replica is then killed (kill -9 keeps the page cache, so the
    # entry survives) and stays down past the client's request timeout.
    start sqlite
    "$recall" -e "CREATE TABLE t (v INT)" "$conn" >/dev/null || exit 2
    p=$(primary)
    for i in 0 1 2; do
        [ "$i" = "$p" ] && continue
        kill -TERM "$(cat "$dir/c/r$i/recalld.pid")"
        while [ -f "$dir/c/r$i/recalld.pid" ] && kill -0 "$(cat "$dir/c/r$i/recalld.pid")" 2>/dev/null; do
            sleep 0.05
        done
        RECALLD_EXTRA="--test-fsync-delay-us 1000000" "$cluster" restart "$i" --dir "$dir/c" \
            >/dev/null || exit 2
    done
    "$cluster" wait --dir "$dir/c" >/dev/null || exit 2
    sleep 2
    RECALL_TRACE=1 "$recall" -e "INSERT INTO t VALUES (42)" "$conn" >"$dir/insert.out" 2>&1 &
    ins=$!
    for _ in $(seq 500); do grep -q " EXEC " "$dir/insert.out" 2>/dev/null && break; sleep 0.01; done
    kill -9 $(cat "$dir"/c/r*/recalld.pid)
    wait "$ins"
    say "the INSERT said: $(grep -v '^recall [0-9]' "$dir/insert.out")"
    for i in 0 1 2; do "$cluster" restart "$i" --dir "$dir/c" >/dev/null; done
    "$cluster" wait --dir "$dir/c" >/dev/null || exit 2
    n=$("$recall" -e "SELECT COUNT(*) FROM t WHERE v = 42" "$conn" | sed -n 's/^| *\([0-9][0-9]*\) *|$/\1/p')
    say "rows with v = 42 after the restart: $n"
    if grep -q 08006 "$dir/insert.out" && [ "$n" = 1 ]; then
        say "REPRODUCED: a write reported as 08006 (no majority: retry later) committed"
        exit 0
    fi
    exit 1
    ;;
log-reset)
    start sqlite
    p=$(primary); b=$(((p + 1) % 3)); o=$(((p + 2) % 3))
    "$workload" write --seconds 1 --table t1 --quiet "$conn" >/dev/null
    "$cluster" kill "$b" --dir "$dir/c" >/dev/null
    say "backup r$b killed; writing while it is down"
    "$workload" write --seconds 1 --table t1 --start 100000 --quiet "$conn" >/dev/null
    sleep 1  # let every replica apply what is committed
    say "clean restart of r$p and r$o (one at a time)"
    for i in "$p" "$o"; do
        kill -TERM "$(cat "$dir/c/r$i/recalld.pid")"
        while [ -f "$dir/c/r$i/recalld.pid" ] && kill -0 "$(cat "$dir/c/r$i/recalld.pid")" 2>/dev/null; do
            sleep 0.05
        done
        "$cluster" restart "$i" --dir "$dir/c" >/dev/null
        "$cluster" wait --dir "$dir/c" >/dev/null
    done
    grep -h "log holds" "$dir/c/r$p/recalld.log" "$dir/c/r$o/recalld.log" | tail -2
    "$cluster" restart "$b" --dir "$dir/c" >/dev/null
    for _ in $(seq 50); do
        grep -q "STATE TRANSFER" "$dir/c/r$b/recalld.log" && break
        sleep 0.1
    done
    if grep "STATE TRANSFER\|gone from every" "$dir/c/r$b/recalld.log"; then
        say "REPRODUCED: r$b, down for about two seconds, needs a state transfer"
        exit 0
    fi
    exit 1
    ;;
dbkill-stepdown)
    start mariadb
    p=$(primary)
    "$workload" write --seconds 20 --table t1 "$conn" >"$dir/w.out" 2>&1 &
    w=$!
    sleep 2
    kill -9 "$(cat "$dir/c/r$p/mysql/mariadbd.pid")"
    say "killed the MariaDB server of the primary r$p; waiting 15 s"
    sleep 15
    p2=$(primary)
    say "primary now: r$p2"
    "$top/tests/lib/mariadb.sh" start "$dir/c/r$p/mysql" "$(cat "$dir/c/r$p/mysql/port")"
    wait "$w"
    tail -3 "$dir/w.out"
    if [ "$p2" = "$p" ]; then
        say "REPRODUCED: r$p kept leading for 15 s without a database"
        exit 0
    fi
    exit 1
    ;;
silent-replica)
    [ "$(id -u)" -eq 0 ] || { echo "repro: needs root (iptables)"; exit 2; }
    start sqlite
    p=$(primary); b=$(((p + 1) % 3)); gid=61999; chain=recall-repro-$port
    mark=0x4a0ffff0
    iptables -w -N "$chain"
    iptables -w -I OUTPUT -o lo -p tcp -j "$chain"
    trap 'iptables -w -D OUTPUT -o lo -p tcp -j "$chain"; iptables -w -F "$chain"; iptables -w -X "$chain"; cleanup' EXIT
    iptables -w -A "$chain" -m conntrack --ctstate NEW -m owner --gid-owner $gid -j CONNMARK --set-mark $mark
    "$recall" -e "CREATE TABLE t (v INT)" "$conn" >/dev/null
    "$recall" -e "INSERT INTO t VALUES (1)" "$conn" >/dev/null
    # one client connection (a process under its own group, connected to
    # all three replicas) reads once a second; after the first read its
    # packets to and from one backup are dropped (the replicas still talk
    # to each other)
    ( for _ in 1 2 3 4 5 6 7; do echo "SELECT COUNT(*) FROM t;"; sleep 1; done ) |
        setpriv --regid $gid --clear-groups -- "$recall" -t --force "$conn" >"$dir/reads.out" 2>&1 &
    reader=$!
    sleep 0.5
    iptables -w -A "$chain" -m connmark --mark $mark -d 127.0.0.$((b + 1)) -p tcp --dport "$port" -j DROP
    iptables -w -A "$chain" -m connmark --mark $mark -s 127.0.0.$((b + 1)) -p tcp --sport "$port" -j DROP
    say "the client cannot reach backup r$b any more; it keeps reading"
    wait "$reader"
    grep -E "row in set|ERROR" "$dir/reads.out"
    if grep -q "HYT00" "$dir/reads.out"; then
        say "REPRODUCED: quorum reads timed out with two of three replicas reachable"
        exit 0
    fi
    exit 1
    ;;
esac
