#!/usr/bin/env bash
# Compare the replicas of a local test cluster (scripts/cluster) by reading
# each replica's own database directly, bypassing recalld: SQLite files are
# opened read-only with the sqlite3 CLI, MariaDB servers are queried over
# their private sockets (tests/lib/mariadb.sh sql).  Each replica is read in
# one snapshot; every user table (schema and rows, in key order) is hashed.
#
# Usage: tests/integration/replicas.sh checksums DIR I   print "TABLE MD5" lines of replica I
#        tests/integration/replicas.sh same DIR [SECONDS]
#            wait (default 60 s) until every replica is up, in normal status,
#            has applied the primary's commit number, the primary is ready,
#            and all replicas hold identical tables; exit 1 with the
#            differences otherwise (after 5 s when a replica is diverged).
# Environment: RECALL_BUILD (for scripts/cluster status).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)

die() { echo "replicas.sh: $*" >&2; exit 2; }

[ $# -ge 2 ] || { sed -n '2,14p' "$0"; exit 2; }
cmd=$1 dir=$2
[ -f "$dir/cluster.env" ] || die "no cluster in $dir"
# shellcheck disable=SC1091
. "$dir/cluster.env"

# Print the dump of replica I: sections "== NAME" followed by rows.
dump_sqlite() {
    local db=$1/db.sqlite tables sql name wr ncol order q
    # Every table of the main schema but Recall's own and SQLite's schema
    # (sqlite_sequence is kept: AUTOINCREMENT counters must agree too).
    tables=$(sqlite3 -readonly -batch "$db" \
        "SELECT name || '|' || wr || '|' || ncol FROM pragma_table_list
          WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'recall\\_%' ESCAPE '\\'
            AND name NOT IN ('sqlite_schema', 'sqlite_temp_schema') ORDER BY name") || return 1
    sql=".mode quote
BEGIN;
.print == schema
SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'recall\\_%' ESCAPE '\\' ORDER BY type, name;"
    while IFS='|' read -r name wr ncol; do
        [ -n "$name" ] || continue
        q=${name//\"/\"\"}
        if [ "$wr" = 1 ]; then
            order=$(seq -s, 1 "$ncol")
            sql="$sql
.print == $name
SELECT * FROM \"$q\" ORDER BY $order;"
        else
            sql="$sql
.print == $name
SELECT rowid, * FROM \"$q\" ORDER BY rowid;"
        fi
    done <<<"$tables"
    sql="$sql
COMMIT;"
    sqlite3 -readonly -batch "$db" <<<"$sql"
}

dump_mariadb() {
    local m=$1/mysql tables sql name ncol
    tables=$("$top/tests/lib/mariadb.sh" sql "$m" \
        "SELECT CONCAT(table_schema, '.', table_name), COUNT(*) FROM information_schema.columns
          WHERE table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys', 'recall')
          GROUP BY table_schema, table_name ORDER BY table_schema, table_name") || return 1
    sql="START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;
SELECT '== schema';
SELECT table_schema, table_name, column_name, column_type, is_nullable, column_default, extra
  FROM information_schema.columns
 WHERE table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys', 'recall')
 ORDER BY table_schema, table_name, ordinal_position;"
    while IFS=$'\t' read -r name ncol; do
        [ -n "$name" ] || continue
        sql="$sql
SELECT '== $name'; SELECT * FROM \`${name%%.*}\`.\`${name#*.}\` ORDER BY $(seq -s, 1 "$ncol");"
    done <<<"$tables"
    sql="$sql
COMMIT;"
    "$top/tests/lib/mariadb.sh" sql "$m" "$sql"
}

# "TABLE MD5" for each section of replica I's dump.
checksums() { # I
    local r=$dir/r$1 tmp
    tmp=$(mktemp -d)
    if [ "$BACKEND" = mariadb ]; then
        dump_mariadb "$r" >"$tmp/dump" || { rm -rf "$tmp"; return 1; }
    else
        dump_sqlite "$r" >"$tmp/dump" || { rm -rf "$tmp"; return 1; }
    fi
    awk -v d="$tmp" '
        /^== / { n++; print substr($0, 4) > (d "/names"); next }
        { print > (d "/s" n) }' "$tmp/dump"
    local i=0
    while IFS= read -r name; do
        i=$((i + 1))
        [ -f "$tmp/s$i" ] || : >"$tmp/s$i"
        echo "$name $(md5sum <"$tmp/s$i" | cut -c1-32) $(wc -l <"$tmp/s$i")"
    done <"$tmp/names"
    rm -rf "$tmp"
}

# 0 when every replica is up, normal, and has applied the primary's commit.
caught_up() {
    local json members c n
    json=$(RECALL_BUILD=${RECALL_BUILD:-} "$top/scripts/cluster" status --dir "$dir" --json 2>/dev/null) || return 1
    members=$(grep -o '"index":[0-9]*,"address":"[^"]*","up":[a-z]*\(,"role":"[a-z]*","status":"[a-z-]*","view":[0-9]*,"op":[0-9]*,"commit":[0-9]*,"applied":[0-9]*\)\?' <<<"$json")
    n=$(grep -c '"up":true,"role":"[a-z]*","status":"normal"' <<<"$members" || true)
    [ "$n" -eq "$REPLICAS" ] || return 1
    c=$(grep '"role":"primary"' <<<"$members" | sed 's/.*"commit":\([0-9]*\).*/\1/')
    [ -n "$c" ] || return 1
    # the primary accepts work (its log is committed and applied, no DDL pending)
    grep -o '"detail":{"role":"primary"[^}]*}' <<<"$json" | grep -q '"ready":"yes"' || return 1
    ! grep -v "\"applied\":$c\$" <<<"$members" | grep -q .
}

# 0 when some replica reports the diverged status (it halted applying and
# stays so until repaired: waiting longer cannot help).
diverged() {
    RECALL_BUILD=${RECALL_BUILD:-} "$top/scripts/cluster" status --dir "$dir" --json 2>/dev/null |
        grep -q '"status":"diverged"'
}

same() {
    local limit=${1:-60} deadline i diff="" div_since=""
    deadline=$((SECONDS + limit))
    while :; do
        if diverged; then
            div_since=${div_since:-$SECONDS}
            if [ $((SECONDS - div_since)) -ge 5 ]; then
                diff="a replica is diverged (it halted applying; see its recalld.log)"
                break
            fi
        else
            div_since=""
        fi
        if caught_up; then
            diff=""
            checksums 0 >"$dir/.sum0" 2>&1 || diff="replica 0 unreadable"
            for ((i = 1; i < REPLICAS; i++)); do
                checksums "$i" >"$dir/.sum$i" 2>&1 || diff="replica $i unreadable"
                cmp -s "$dir/.sum0" "$dir/.sum$i" || diff="${diff:+$diff; }replica $i differs from replica 0"
            done
            [ -n "$diff" ] || { rm -f "$dir"/.sum*; return 0; }
        fi
        [ $SECONDS -lt $deadline ] || break
        sleep 0.3
    done
    echo "replicas.sh: ${diff:-the replicas did not all catch up within ${limit}s}"
    RECALL_BUILD=${RECALL_BUILD:-} "$top/scripts/cluster" status --dir "$dir" 2>&1 | sed 's/^/  /'
    for ((i = 0; i < REPLICAS; i++)); do
        echo "  replica $i (table md5 rows):"
        checksums "$i" 2>&1 | sed 's/^/    /'
    done
    rm -f "$dir"/.sum*
    return 1
}

case "$cmd" in
checksums) [ $# -eq 3 ] || die "usage: checksums DIR I"; checksums "$3" ;;
same) same "${3:-60}" ;;
*) die "unknown command $cmd (checksums, same)" ;;
esac
