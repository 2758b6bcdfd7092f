#!/usr/bin/env bash
# How long a state transfer takes (issue 6): builds a three-replica cluster
# per backend with scripts/cluster, loads a database of the given size
# through Recall (a few large INSERT ... SELECT statements every replica
# replays), then makes one backup copy a donor's database with `recallctl
# resync` three times -- a full copy with no client, a full copy while a
# client writes, and the resync of a replica that is in sync (it holds what
# the donor holds, give or take the last writes) -- and reports,
# from the recipient's log, how long each phase took: stopping its server,
# the bulk pass, waiting for the donor to stop, the final --checksum pass,
# starting the server, and the rejoin; the total, and the rate (database
# size / total).  The database is the backend's data as the transfer sees
# it: the SQLite file, or MariaDB's whole datadir.  A "full copy" resets the
# modification times of the recipient's files first, so that rsync's quick
# check finds every file changed, as for a new or a damaged replica.
#
# Usage: bench/transfer_bench.sh [--backend sqlite|mariadb|both] [--size-mb N]
#            [--load-rate R] [--port P] [--dir DIR] [--record] [--keep]
#   --size-mb N     database size to build (default 1024)
#   --load-rate R   rows/s the client writes during the second transfer
#                   (default 100; 0 skips that run)
#   --record        also write the results, with a description of the
#                   machine, into docs/RECOVERY.md between the markers
#                   <!-- transfer_bench:begin --> and <!-- transfer_bench:end -->
#   --keep          leave the clusters running (and their directories)
# Environment: RECALL_BUILD (a build directory; default: the newest under
# build/), as for scripts/cluster.  Needs about 3.5 x N MB of disk per
# backend under DIR (default: a new directory under $TMPDIR or /tmp).
# Not part of `make check`: the 1 GB runs take minutes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cluster=$top/scripts/cluster

backends=both size_mb=1024 load_rate=100 port=26500 dir="" record=no keep=no
while [ $# -gt 0 ]; do
    case "$1" in
    --backend) backends=$2; shift ;;
    --size-mb) size_mb=$2; shift ;;
    --load-rate) load_rate=$2; shift ;;
    --port) port=$2; shift ;;
    --dir) dir=$2; shift ;;
    --record) record=yes ;;
    --keep) keep=yes ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "transfer_bench: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
case "$backends" in both) backends="sqlite mariadb" ;; sqlite|mariadb) ;; *)
    echo "transfer_bench: --backend sqlite|mariadb|both" >&2; exit 2 ;; esac
case "$size_mb" in ''|*[!0-9]*) echo "transfer_bench: --size-mb N" >&2; exit 2 ;; esac

find_bin() { # NAME SUBDIR
    if [ -n "${RECALL_BUILD:-}" ]; then echo "$RECALL_BUILD/$2/$1"; return; fi
    ls -t "$top"/build/*/"$2/$1" 2>/dev/null | head -1
}
ctl=$(find_bin recallctl tools)
recall=$(find_bin recall tools)
workload=$(find_bin recall-workload tools)
for b in "$ctl" "$recall" "$workload"; do
    [ -x "$b" ] || { echo "transfer_bench: build first (or set RECALL_BUILD): $b" >&2; exit 1; }
done
export RECALL_BUILD=${RECALL_BUILD:-$(dirname "$(dirname "$ctl")")}

work=${dir:-$(mktemp -d "${TMPDIR:-/tmp}/recall-transfer-bench-XXXXXX")}
mkdir -p "$work"
results=$work/results.md
: >"$results"
say() { echo "[$(date +%T)] $*" >&2; }

running=()
cleanup() {
    local d
    [ "$keep" = yes ] && { say "kept: ${running[*]:-}"; return; }
    for d in "${running[@]}"; do "$cluster" stop --dir "$d" >/dev/null 2>&1 || true; rm -rf "$d"; done
}
trap cleanup EXIT

# Seconds (with milliseconds) between two ISO timestamps of recalld's log.
secs_between() { # T1 T2
    python3 -c 'import sys, datetime as d
f = lambda s: d.datetime.strptime(s.rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
print("%.1f" % (f(sys.argv[2]) - f(sys.argv[1])).total_seconds())' "$1" "$2"
}

# The time of the first log line after line MARK of FILE matching PATTERN.
log_time() { # FILE MARK PATTERN
    tail -n +"$(($2 + 1))" "$1" | awk -v p="$3" '!found && $0 ~ p { print $1; found = 1 }'
}

db_size_mb() { # DIR BACKEND I
    if [ "$2" = sqlite ]; then du -sm "$1/r$3/db.sqlite" | cut -f1; else du -sm "$1/r$3/mysql/data" | cut -f1; fi
}

# fill: SIZE_MB of rows of about 1 KB, 100 MB per statement.
fill() { # CONN BACKEND
    local conn=$1 backend=$2 chunk=100000 rows=$((size_mb * 1000)) off=0 n
    if [ "$backend" = sqlite ]; then
        "$recall" -e "CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB)" "$conn" >/dev/null
    else
        "$recall" -e "CREATE TABLE big (id INT PRIMARY KEY, b VARCHAR(1100))" "$conn" >/dev/null
    fi
    while [ "$off" -lt "$rows" ]; do
        n=$((rows - off < chunk ? rows - off : chunk))
        if [ "$backend" = sqlite ]; then
            "$recall" -e "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $n)
                INSERT INTO big SELECT x + $off, randomblob(1000) FROM c" "$conn" >/dev/null
        else
            "$recall" -e "INSERT INTO big SELECT seq + $off, REPEAT(MD5(seq + $off), 31) FROM seq_1_to_$n" \
                "$conn" >/dev/null
        fi
        off=$((off + n))
        say "  $off of $rows rows"
    done
}

# Every replica has applied op OP.
all_applied() { # LIST N OP
    "$ctl" -r "$1" status --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
ok = all(m.get("up") and m.get("status") == "normal" and m.get("applied", 0) >= int(sys.argv[1])
         for m in d["members"])
sys.exit(0 if ok else 1)' "$3"
}

# One resync of replica I; prints a markdown table row.  MODE: full (every
# file of the recipient looks changed) or same (the replica is in sync).
transfer() { # DIR LIST CONN BACKEND I MODE LABEL
    local d=$1 list=$2 conn=$3 backend=$4 i=$5 mode=$6 label=$7 log mark t0 tb tw tf ts tdone trej wpid="" size
    log=$d/r$i/recalld.log
    size=$(db_size_mb "$d" "$backend" "$i")
    if [ "$mode" = full ]; then
        if [ "$backend" = sqlite ]; then
            touch -m -d @86400 "$d/r$i/db.sqlite"
        else
            find "$d/r$i/mysql/data" -type f -exec touch -m -d @86400 {} +
        fi
    fi
    if [ "$label" != idle ]; then
        "$workload" write --seconds 3600 --rate "$load_rate" --table bench_load --quiet "$conn" \
            >"$d/load.out" 2>&1 &
        wpid=$!
        sleep 3
    fi
    mark=$(wc -l <"$log")
    say "$backend: recallctl resync $i ($label, database $size MB)"
    "$ctl" -r "$list" resync "$i" >/dev/null
    local limit=$((SECONDS + 3600))
    until tail -n +"$((mark + 1))" "$log" | grep 'rejoined the cluster after the state transfer' >/dev/null; do
        [ $SECONDS -lt $limit ] || { echo "transfer_bench: no rejoin within an hour" >&2; exit 1; }
        sleep 0.5
    done
    if [ -n "$wpid" ]; then kill -INT "$wpid"; wait "$wpid" || true; fi
    t0=$(log_time "$log" "$mark" 'STATE TRANSFER:')
    tb=$(log_time "$log" "$mark" 'state transfer: bulk-copy')
    tw=$(log_time "$log" "$mark" 'state transfer: waiting-donor')
    tf=$(log_time "$log" "$mark" 'state transfer: final-copy')
    ts=$(log_time "$log" "$mark" 'state transfer: (starting-server|done)')
    tdone=$(log_time "$log" "$mark" 'state transfer: done')
    trej=$(log_time "$log" "$mark" 'rejoined the cluster after the state transfer')
    local n total
    n=$(tail -n +"$((mark + 1))" "$log" | grep -c 'STATE TRANSFER:' || true)
    total=$(secs_between "$t0" "$trej")
    printf '| %s | %s | %s | %s MB | %s | %s | %s | %s | %s | %s | **%s** | %s MB/s |\n' \
        "$backend" "$([ "$mode" = full ] && echo "full copy" || echo "in sync")" "$label" "$size" \
        "$(secs_between "$t0" "$tb")" "$(secs_between "$tb" "$tw")" \
        "$(secs_between "$tw" "$tf")" "$(secs_between "$tf" "$ts")" "$(secs_between "$ts" "$tdone")" \
        "$(secs_between "$tdone" "$trej")" "$total" \
        "$(python3 -c "print('%.0f' % ($size / max($total, 0.1)))")" | tee -a "$results"
    [ "$n" -eq 1 ] || echo "(note: $n transfers were needed for the $backend $label run)" | tee -a "$results"
}

printf '| backend | recipient | client load | database | stop server + choose donor (s) | bulk pass (s) | donor stops (s) | final pass (s) | start server (s) | rejoin (s) | total (s) | rate |\n' >>"$results"
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n' >>"$results"
for backend in $backends; do
    d=$work/$backend
    running+=("$d")
    say "$backend: starting a cluster in $d"
    RECALL_CONF_EXTRA="log_retain = 100000 entries
${RECALL_CONF_EXTRA:-}" "$cluster" start --backend "$backend" --dir "$d" --port "$port" >"$work/$backend.start" 2>&1 </dev/null
    conn="$(grep '^replicas=' "$work/$backend.start" | tail -1);request_timeout=3600"
    list=${conn#replicas=}; list=${list%%;*}
    say "$backend: loading ${size_mb} MB"
    t=$SECONDS
    fill "$conn" "$backend"
    op=$("$ctl" -r "$list" status --json | python3 -c 'import json,sys; print(max(m.get("commit",0) for m in json.load(sys.stdin)["members"] if m.get("up")))')
    until all_applied "$list" 3 "$op"; do sleep 1; done
    say "$backend: loaded in $((SECONDS - t)) s; database $(db_size_mb "$d" "$backend" 0) MB per replica"
    # the backup that is not the next view's primary
    i=0
    for c in 2 1 0; do
        "$ctl" -r "$list" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin); c = int(sys.argv[1])
sys.exit(0 if c != d["primary"] and c != (d["view"] + 1) % 3 else 1)' "$c" && { i=$c; break; }
    done
    transfer "$d" "$list" "$conn" "$backend" "$i" full idle
    if [ "$load_rate" -gt 0 ]; then
        transfer "$d" "$list" "$conn" "$backend" "$i" full "$load_rate writes/s"
    fi
    transfer "$d" "$list" "$conn" "$backend" "$i" same idle
    port=$((port + 100))
    if [ "$keep" = no ]; then "$cluster" stop --dir "$d" >/dev/null 2>&1 || true; rm -rf "$d"; fi
done

machine() {
    local cpu mem fs
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
    fs=$(df -T "$work" | awk 'NR == 2 { print $2 " on " $1 }')
    echo "Machine: $(nproc) x $cpu, $mem RAM, $fs ($work); $(uname -sr);"
    echo "$(rsync --version | head -1 | sed 's/  */ /g'); $(mariadbd --version 2>/dev/null || /usr/sbin/mariadbd --version 2>/dev/null | head -1);"
    echo "SQLite $(sqlite3 --version | cut -d' ' -f1). Local copies (sync_cmd empty), page cache warm, $(date +%Y-%m-%d)."
}
{
    echo
    machine
} >>"$results"
cat "$results"

if [ "$record" = yes ]; then
    doc=$top/docs/RECOVERY.md
    python3 - "$doc" "$results" <<'PY'
import sys
doc, res = sys.argv[1], sys.argv[2]
text = open(doc).read()
b, e = "<!-- transfer_bench:begin -->", "<!-- transfer_bench:end -->"
if b not in text or e not in text:
    sys.exit("transfer_bench: %s has no %s ... %s markers" % (doc, b, e))
head, rest = text.split(b, 1)
_, tail = rest.split(e, 1)
open(doc, "w").write(head + b + "\n" + open(res).read().rstrip() + "\n" + e + tail)
PY
    say "recorded in $doc"
fi
