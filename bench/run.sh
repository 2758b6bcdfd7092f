#!/usr/bin/env bash
# The whole benchmark comparison in one command: builds an optimized Recall
# and recall-bench, starts on loopback a single MariaDB, a three-node MariaDB
# Galera cluster and a three-replica Recall cluster on MariaDB (each with its
# own datadirs), runs every workload at every thread count against each
# system -- interleaved, so that drift of the machine hits all of them alike
# -- stops everything, and regenerates the tables and plots.
#
# Usage: bench/run.sh [--quick] [--work DIR] [--out DIR] [--build DIR]
#                     [--duration S] [--warmup S] [--threads "1 2 4 8 16"]
#                     [--workloads "point_select insert update rwmix bank"]
#                     [--profile] [--keep]
#
#   (default)  threads 1 2 4 8 16, 12 s per point after 3 s of warm-up
#              (about 35 minutes); results go to docs/perf/ and the results
#              section of docs/PERFORMANCE.md is rewritten.
#   --quick    threads 1 and 8, 4 s per point after 1 s (about 5 minutes);
#              results go to WORK/report/ unless --out is given.
#   --profile  afterwards, record perf profiles of Recall (all processes on
#              the machine, call graphs) for the point select and the update
#              workload, into OUT/profile-*.txt.
#   --keep     leave the systems running (stop them with bench/run.sh --stop).
#   --stop     stop the systems a --keep run left in WORK, then exit.
#
# Systems and paths (CSV columns system,path): mariadb/odbc and galera/odbc
# through Debian's MariaDB Connector/ODBC; galera-sync/odbc is Galera with
# wsrep_sync_wait=1 (reads see every write committed before they began, the
# match for Recall's linearizable reads); recall/odbc through the Recall ODBC
# driver and recall/librecall through librecall.  See docs/PERFORMANCE.md.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
here=$top/bench

quick="" work=/tmp/recall-bench out="" build="" duration="" warmup="" threads="" profile=""
keep="" stop_only=""
workloads="point_select insert update rwmix bank"
port_recall=17500 port_single=17600 port_galera=17610
table_size=10000

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "== $*"; }

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --work) work=$2; shift ;;
    --out) out=$2; shift ;;
    --build) build=$2; shift ;;
    --duration) duration=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --threads) threads=$2; shift ;;
    --workloads) workloads=$2; shift ;;
    --profile) profile=1 ;;
    --keep) keep=1 ;;
    --stop) stop_only=1 ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (--help)" ;;
    esac
    shift
done
if [ -n "$quick" ]; then
    : "${duration:=4}" "${warmup:=1}" "${threads:=1 8}" "${out:=$work/report}"
else
    : "${duration:=12}" "${warmup:=3}" "${threads:=1 2 4 8 16}" "${out:=$top/docs/perf}"
fi
: "${build:=$work/build}"
mkdir -p "$work"
work=$(cd "$work" && pwd)
case "$build" in /*) ;; *) build=$(pwd)/$build ;; esac

odbc_maria=/usr/lib/x86_64-linux-gnu/odbc/libmaodbc.so

# ---- stopping (also on any exit) ----
stop_all() {
    set +e
    if [ -f "$work/recall/cluster.env" ]; then
        RECALL_BUILD=$build "$top/scripts/cluster" stop --dir "$work/recall" >/dev/null 2>&1
    fi
    "$here/lib/galera.sh" stop "$work/galera" >/dev/null 2>&1
    "$top/tests/lib/mariadb.sh" stop "$work/single" >/dev/null 2>&1
    set -e
}
if [ -n "$stop_only" ]; then stop_all; exit 0; fi

# ---- dependencies: the project's, then the benchmark's own ----
# shellcheck source=scripts/deps.sh
. "$top/scripts/deps.sh"
recall_install_deps
RECALL_DEBS="galera-4 odbc-mariadb gnuplot-nox linux-perf lsof"
recall_install_deps
[ -f "$odbc_maria" ] || odbc_maria=$(dpkg -L odbc-mariadb | grep '/libmaodbc\.so$' | head -1)
[ -f "$odbc_maria" ] || die "MariaDB Connector/ODBC (libmaodbc.so) not found"

# ---- an optimized build of its own ----
say "building (optimized) in $build"
[ -x "$top/configure" ] || (cd "$top" && autoreconf -i >/dev/null)
mkdir -p "$build"
if [ ! -f "$build/Makefile" ]; then
    (cd "$build" && "$top/configure" CFLAGS="-O2 -g -fno-omit-frame-pointer" >configure.out 2>&1) ||
        { tail -20 "$build/configure.out"; die "configure failed ($build/configure.out)"; }
fi
make -C "$build" -j2 server/recalld tools/recallctl driver/librecall.la odbc/libRecallODBC.la \
    bench/recall-bench >"$build/make.out" 2>&1 || { tail -30 "$build/make.out"; die "build failed"; }
bench=$build/bench/recall-bench
recall_odbc=$build/odbc/.libs/libRecallODBC.so
export LD_LIBRARY_PATH=$build/driver/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# ---- the systems ----
stop_all
[ -n "$keep" ] || trap stop_all EXIT
rm -rf "$work/single" "$work/galera" "$work/recall" "$work/csv"
mkdir -p "$work/csv"

say "starting a single MariaDB on 127.0.0.1:$port_single"
# tests/lib/mariadb.sh writes Recall's settings; the later lines override
# them into a standalone server's durable configuration: redo log flushed at
# every commit and no binary log (nothing replicates from it).
"$top/tests/lib/mariadb.sh" start "$work/single" "$port_single" \
    --innodb_flush_log_at_trx_commit=1 --skip-log-bin --binlog_format=MIXED
"$top/tests/lib/mariadb.sh" sql "$work/single" "CREATE DATABASE IF NOT EXISTS app;
    CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app';
    CREATE USER IF NOT EXISTS 'app'@'localhost' IDENTIFIED BY 'app';
    GRANT ALL ON app.* TO 'app'@'%'; GRANT ALL ON app.* TO 'app'@'localhost';"

say "starting a 3-node Galera cluster on 127.0.0.1:$port_galera-$((port_galera + 2))"
"$here/lib/galera.sh" start "$work/galera" "$port_galera"

say "starting a 3-replica Recall cluster on MariaDB (127.0.0.1-3:$port_recall)"
RECALL_BUILD=$build RECALL_DEBUG=0 "$top/scripts/cluster" start --backend mariadb \
    --dir "$work/recall" --port "$port_recall" >"$work/recall.out" 2>&1 ||
    { cat "$work/recall.out"; die "the Recall cluster did not start"; }
conn_lib=$(grep '^replicas=' "$work/recall.out" | tail -1)
replicas=${conn_lib#replicas=}
replicas=${replicas%%;*}

maria_conn() { # PORT
    echo "DRIVER=$odbc_maria;SERVER=127.0.0.1;PORT=$1;UID=app;PWD=app;DATABASE=app"
}
conn_single=$(maria_conn "$port_single")
conn_recall_odbc="DRIVER=$recall_odbc;REPLICAS=$replicas;UID=app;PWD=app;DATABASE=app"

# system/path -> recall-bench arguments
bench_args() { # SERIES
    case "$1" in
    mariadb/odbc) printf '%s\0' --system mariadb --path odbc --conn "$conn_single" ;;
    galera/odbc|galera-sync/odbc)
        printf '%s\0' --system "${1%/odbc}" --path odbc
        for i in 0 1 2; do printf '%s\0' --conn "$(maria_conn $((port_galera + i)))"; done
        [ "$1" = galera/odbc ] || printf '%s\0' --init-sql "SET SESSION wsrep_sync_wait=1" ;;
    recall/odbc) printf '%s\0' --system recall --path odbc --conn "$conn_recall_odbc" ;;
    recall/librecall) printf '%s\0' --system recall --path librecall --conn "$conn_lib" ;;
    *) die "unknown series $1" ;;
    esac
}

run_bench() { # SERIES ARGS... (output to the terminal, failures to failures.txt)
    local series=$1 args
    shift
    mapfile -d '' args < <(bench_args "$series")
    if ! timeout $((${duration%.*} + ${warmup%.*} + 180)) "$bench" "${args[@]}" "$@"; then
        echo "$series $*" >>"$work/failures.txt"
        echo "   (failed: $series $*)"
    fi
}

say "loading $table_size rows into each system"
rm -f "$work/failures.txt"
for s in mariadb/odbc galera/odbc recall/librecall; do
    run_bench "$s" --setup --table-size "$table_size" || true
done
[ ! -s "$work/failures.txt" ] || die "loading failed: $(cat "$work/failures.txt")"

series_for() { # WORKLOAD: the systems that run it
    local s="mariadb/odbc galera/odbc"
    case "$1" in point_select|rwmix|bank) s="$s galera-sync/odbc" ;; esac
    echo "$s recall/odbc recall/librecall"
}

csv=$work/csv/results.csv
rm -f "$csv"
npoints=0
for w in $workloads; do for t in $threads; do
    for s in $(series_for "$w"); do npoints=$((npoints + 1)); done
done; done
say "running $npoints points: threads [$threads], ${duration}s each after ${warmup}s warm-up"
turn=0
started=$SECONDS
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for w in $workloads; do
    for t in $threads; do
        read -r -a series <<<"$(series_for "$w")"
        n=${#series[@]}
        # rotate the order for every point: each system goes first in turn
        for ((k = 0; k < n; k++)); do
            s=${series[$(((k + turn) % n))]}
            run_bench "$s" --workload "$w" --threads "$t" --duration "$duration" \
                --warmup "$warmup" --table-size "$table_size" --csv "$csv"
        done
        turn=$((turn + 1))
    done
done
say "comparison done in $((SECONDS - started)) s"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$((SECONDS - started))

# ---- profiles of Recall ----
# perf samples every process on the machine (recalld, the replicas' mariadbd,
# the client), so the split between them is visible as well as the functions.
if [ -n "$profile" ]; then
    mkdir -p "$out"
    for spec in "point_select 8" "update 1" "update 8"; do
        read -r pw pt <<<"$spec"
        say "profiling recall/librecall $pw at $pt threads"
        mapfile -d '' args < <(bench_args recall/librecall)
        data=$work/perf-$pw-$pt.data
        perf record -a -g -F 499 -o "$data" -- "$bench" "${args[@]}" --workload "$pw" \
            --threads "$pt" --duration 10 --warmup 1 --table-size "$table_size" \
            >"$work/perf-$pw-$pt.out" 2>&1 || { echo "   (perf failed: $work/perf-$pw-$pt.out)"; continue; }
        {
            echo "# recall/librecall $pw, $pt threads: $(grep ops/s "$work/perf-$pw-$pt.out")"
            echo "# CPU by process (perf record -a, cpu-clock)"
            perf report -i "$data" --no-children --sort comm --stdio -g none 2>/dev/null |
                grep -v '^#' | grep -v '^$' | head -15 || true
            echo "# CPU by process and function"
            perf report -i "$data" --no-children --sort comm,dso,sym --stdio -g none 2>/dev/null |
                grep -v '^#' | grep -v '^$' | head -60 || true
        } >"$out/profile-$pw-$pt.txt"
    done
fi

machine() {
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
    echo "memory: $(free -g | awk '/^Mem:/ {print $2}') GiB"
    echo "kernel: $(uname -r); disk: $(df -T "$work" | awk 'NR==2 {print $2 " on " $1}')"
    echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "mariadb: $(dpkg-query -W -f='${Version}' mariadb-server)"
    echo "galera-4: $(dpkg-query -W -f='${Version}' galera-4)"
    echo "odbc-mariadb: $(dpkg-query -W -f='${Version}' odbc-mariadb); unixodbc: $(dpkg-query -W -f='${Version}' unixodbc)"
    echo "recall: $(cd "$top" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "settings: threads [$threads], ${duration}s per point after ${warmup}s warm-up, $table_size rows"
    echo "comparison: $npoints points in ${elapsed}s; load average before $load_before, after $load_after"
}
mkdir -p "$out"
cp "$csv" "$out/results.csv"
machine >"$out/machine.txt"
[ ! -s "$work/failures.txt" ] || cp "$work/failures.txt" "$out/failures.txt"
doc=""
[ "$(cd "$out" && pwd)" != "$top/docs/perf" ] || doc=$top/docs/PERFORMANCE.md
"$here/report.sh" "$out" $doc
say "results: $out (results.csv, *.png, tables.md)${doc:+; $doc updated}"
if [ -s "$work/failures.txt" ]; then
    echo "bench: some points failed:" >&2
    cat "$work/failures.txt" >&2
    exit 1
fi
