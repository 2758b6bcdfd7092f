#!/usr/bin/env bash
# ODBC integration tests against a live three-replica Recall cluster, through
# unixODBC's driver manager: starts a cluster with scripts/cluster (backend
# $1: sqlite or mariadb), writes a private odbcinst.ini/odbc.ini and points
# ODBCSYSINI at it, then runs each client in turn -- the C test program
# (libodbc), scripted isql and iusql sessions, the pyodbc module, the Perl
# DBD::ODBC test -- and the failover test last (it kills the primary).  Every
# client speaks TAP; this script merges their results into one TAP stream.
#
# Usage: tests/odbc/live.sh sqlite|mariadb
# Environment: top_srcdir, top_builddir (set by `make check`), RECALL_ODBC_KEEP=1
# keeps the cluster and its directory for inspection.
set -uo pipefail

backend=${1:-sqlite}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
here=$top_srcdir/tests/odbc
module=$top_builddir/odbc/.libs/libRecallODBC.so

ntests=0
nfail=0
tap_ok() { ntests=$((ntests + 1)); echo "ok $ntests - $*"; }
tap_not_ok() { ntests=$((ntests + 1)); nfail=$((nfail + 1)); echo "not ok $ntests - $*"; }
tap_skip_all() { echo "1..0 # SKIP $*"; exit 0; }
diag() { sed 's/^/# /'; }

# ---- preconditions ----
[ -f "$module" ] || { echo "Bail out! $module is not built"; exit 1; }
command -v isql >/dev/null || tap_skip_all "isql (Debian package unixodbc) is not installed"
if [ "$backend" = mariadb ]; then
    command -v mariadbd >/dev/null || command -v mysqld >/dev/null || [ -x /usr/sbin/mariadbd ] ||
        tap_skip_all "MariaDB server (Debian package mariadb-server) is not installed"
fi

# A sanitizer build of the driver needs libasan first in the programs that
# load it and are not instrumented themselves (isql, python3, perl); their
# own allocations are not leaks of ours, and their own string handling is
# not ours to check (iusql copies overlapping strings).
host=(env)
asan=$(ldd "$module" 2>/dev/null | sed -n 's/.*libasan[^ ]* => \([^ ]*\).*/\1/p' | head -1)
if [ -n "$asan" ]; then
    host=(env LD_PRELOAD="$asan" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:replace_str=0:intercept_strlen=0:intercept_strchr=0:intercept_strndup=0")
    echo "# sanitizer build: $asan preloaded into isql, python3 and perl"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/recall-odbc-$backend-XXXXXX")
# Ports: one base per run so that parallel runs and other clusters do not
# collide (scripts/cluster uses 127.0.0.(i+1):port and, for MariaDB, port+1000+i).
port=$((12000 + ($$ % 2000) * 2))
[ "$backend" = mariadb ] && port=$((port + 1))

cleanup() {
    if [ "${RECALL_ODBC_KEEP:-}" = 1 ]; then
        echo "# kept cluster in $work"
        return
    fi
    RECALL_BUILD=$top_builddir "$top_srcdir/scripts/cluster" stop --dir "$work/cluster" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

echo "# starting a $backend cluster in $work/cluster on port $port"
if ! RECALL_BUILD=$top_builddir timeout 240 "$top_srcdir/scripts/cluster" start --backend "$backend" \
        --dir "$work/cluster" --port "$port" >"$work/cluster.out" 2>&1 </dev/null; then
    diag <"$work/cluster.out"
    for f in "$work"/cluster/r*/recalld.log; do [ -f "$f" ] && tail -20 "$f" | diag; done
    echo "Bail out! the $backend cluster did not start"
    exit 1
fi
conn=$(grep '^replicas=' "$work/cluster.out" | tail -1)
replicas=${conn#replicas=}
replicas=${replicas%%;*}

# ---- the driver manager's configuration ----
mkdir -p "$work/ini"
cat >"$work/ini/odbcinst.ini" <<EOF
[Recall]
Description = Recall ODBC driver (test build)
Driver = $module
Threading = 0
EOF
cat >"$work/ini/odbc.ini" <<EOF
[recall_test]
Description = Recall $backend test cluster
Driver = Recall
REPLICAS = $replicas
UID = app
PWD = app
DATABASE = app
CONNECT_TIMEOUT = 10
REQUEST_TIMEOUT = 30
EOF
export ODBCSYSINI=$work/ini ODBCINI=$work/ini/odbc.ini
export RECALL_TEST_DSN=recall_test RECALL_TEST_BACKEND=$backend RECALL_TEST_REPLICAS=$replicas
export RECALL_TEST_CLUSTER_DIR=$work/cluster RECALL_BUILD=$top_builddir
export LD_LIBRARY_PATH=$top_builddir/driver/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# The suites use a table prefix of their own so they never collide.

# Run one TAP-speaking client: its results join ours (numbers and plans are
# replaced); a client that exits non-zero without failing a test is a failure.
run_tap() { # NAME COMMAND...
    local name=$1 out st line seen=0 bad=0
    shift
    out=$("$@" 2>"$work/$name.stderr")
    st=$?
    while IFS= read -r line; do
        case "$line" in
        "ok "*|"ok")
            seen=$((seen + 1))
            tap_ok "$name: $(sed -E 's/^ok( [0-9]+)?( -)? ?//' <<<"$line")" ;;
        "not ok"*)
            seen=$((seen + 1)); bad=$((bad + 1))
            tap_not_ok "$name: $(sed -E 's/^not ok( [0-9]+)?( -)? ?//' <<<"$line")" ;;
        "1.."*) ;;
        "#"*) echo "$line" ;;
        *) [ -n "$line" ] && echo "# $line" ;;
        esac
    done <<<"$out"
    if [ -s "$work/$name.stderr" ]; then
        tail -30 "$work/$name.stderr" | diag
    fi
    if [ "$st" -ne 0 ] && [ "$bad" -eq 0 ]; then
        tap_not_ok "$name: exited with status $st after $seen results"
    elif [ "$seen" -eq 0 ]; then
        tap_not_ok "$name: produced no test results"
    fi
}

# ---- isql and iusql ----
isql_session() { # NAME TOOL INPUT EXPECT-REGEX...
    local name=$1 tool=$2 input=$3 out
    shift 3
    out=$(printf '%s\n' "$input" | timeout 60 "${host[@]}" "$tool" -v recall_test -b -d'|' 2>&1)
    for re in "$@"; do
        if grep -Eq -- "$re" <<<"$out"; then
            tap_ok "$name: output matches /$re/"
        else
            tap_not_ok "$name: output matches /$re/"
            diag <<<"$out"
        fi
    done
}

t=isql_${backend}_$$
if [ "$backend" = mariadb ]; then
    ddl="CREATE TABLE $t (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(10,2), d DATE) ENGINE=InnoDB"
else
    ddl="CREATE TABLE $t (id INTEGER PRIMARY KEY, name VARCHAR(40), amount DECIMAL(10,2), d DATE)"
fi
isql_session isql isql "$ddl
INSERT INTO $t VALUES (1, 'alpha', 12.50, '2024-01-02')
INSERT INTO $t VALUES (2, 'beta', NULL, {d '2024-02-03'})
SELECT id, name, amount, d FROM $t ORDER BY id
SELECT {fn UCASE(name)} FROM $t WHERE id = 2
SELECT nosuchcolumn FROM $t" \
    '^1\|alpha\|12\.5(0)?\|2024-01-02' \
    '^2\|beta\|\|2024-02-03' \
    '^BETA$' \
    '\[Recall\]'
word=$(printf 'gr\xc3\xbc\xc3\x9fe \xe2\x82\xac') # non-ASCII through the W entry points
isql_session iusql iusql "INSERT INTO $t VALUES (3, '$word', 1, '2024-03-04')
SELECT name FROM $t WHERE id = 3
DROP TABLE $t" \
    "^$word\$"

# ---- the C test program (libodbc) ----
run_tap c "$top_builddir/tests/odbc/test_odbc_live"

# ---- pyodbc (Debian's python3-pyodbc, with the system Python) ----
if /usr/bin/python3 -c 'import pyodbc' 2>/dev/null; then
    run_tap pyodbc "${host[@]}" /usr/bin/python3 "$here/test_pyodbc.py"
else
    tap_not_ok "pyodbc: python3-pyodbc is not installed (apt-get install python3-pyodbc)"
fi

# ---- Perl DBI with DBD::ODBC ----
if perl -MDBD::ODBC -e 1 2>/dev/null; then
    run_tap dbd_odbc "${host[@]}" perl "$here/test_dbd_odbc.pl"
else
    tap_not_ok "dbd_odbc: DBD::ODBC is not installed (apt-get install libdbd-odbc-perl)"
fi

# ---- failover (last: it kills the primary) ----
if /usr/bin/python3 -c 'import pyodbc' 2>/dev/null; then
    run_tap failover "${host[@]}" /usr/bin/python3 "$here/test_failover.py"
fi

echo "1..$ntests"
[ "$nfail" -eq 0 ]
