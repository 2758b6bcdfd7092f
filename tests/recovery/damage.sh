#!/usr/bin/env bash
# shellcheck disable=SC2034 # (variables assigned by eval "$(rt_get I)")
# Damaged database files on a backup (backend $1), repaired by state
# transfer.  recalld finds damage in two ways, and both are exercised:
#   - a write touches the damaged data: the backup's apply fails where the
#     primary's succeeded, the backup halts (it never leads) and copies a
#     donor's database by itself;
#   - nothing writes the damaged data: `recallctl verify` reports the
#     replica, and the operator runs `recallctl resync` on it.
# The damage: SQLite pages overwritten in the middle of the database file;
# MariaDB a table's .ibd file deleted, or part of it overwritten (server
# stopped meanwhile; recalld keeps running and reconnects).  A third case
# makes the damaged replica the primary (the next view's primary is damaged,
# then the primary is killed): a write that touches the damage must still
# succeed once the damaged primary has stepped down and repaired itself.
# Each case ends with verify identical on every replica and no client error.
#
# Usage: tests/recovery/damage.sh sqlite|mariadb   (TAP)
# shellcheck source=tests/recovery/lib.sh
. "$(dirname "$0")/lib.sh"

rt_init damage "${1:-sqlite}" 28800
rt_start_cluster 3
rt_fill cold 3000 >/dev/null || rt_bail "cannot fill table cold"
rt_fill hot 3000 >/dev/null || rt_bail "cannot fill table hot"

# damage I TABLE HOW: damages TABLE on replica I while its recalld runs (a
# disk does not wait for a restart).  SQLite: the WAL is checkpointed into
# the database file first (so no newer copy of a page hides the damage),
# then 40 pages from the middle of TABLE's run are overwritten.  MariaDB:
# the server is stopped (recalld reconnects when it is back), TABLE's .ibd
# deleted (HOW=delete) or 60 of its 16K pages overwritten, the server
# started again.
damage() {
    local i=$1 t=$2 how=$3 r=$rt_dir/r$1 first last pages mport busy n=0
    rt_wait_caught_up "$i" 30 || return 1
    if [ "$rt_backend" = sqlite ]; then
        read -r first last pages < <(sqlite3 -readonly "$r/db.sqlite" \
            "SELECT min(pageno), max(pageno), count(*) FROM dbstat WHERE name = '$t' AND pagetype = 'leaf'" | tr '|' ' ')
        [ "${pages:-0}" -gt 100 ] || { fail "table $t has only ${pages:-0} leaf pages"; return 1; }
        until busy=$(sqlite3 "$r/db.sqlite" "PRAGMA busy_timeout = 2000; PRAGMA wal_checkpoint(TRUNCATE)" | tail -1) &&
                [ "${busy%%|*}" = 0 ]; do
            n=$((n + 1)); [ $n -lt 20 ] || { fail "cannot checkpoint $r/db.sqlite"; return 1; }
            sleep 0.2
        done
        say "overwriting pages $(((first + last) / 2))..$(((first + last) / 2 + 39)) of $r/db.sqlite (table $t: pages $first..$last)"
        dd if=/dev/urandom of="$r/db.sqlite" bs=4096 seek=$(((first + last) / 2 - 1)) count=40 conv=notrunc status=none ||
            return 1
        sqlite3 -readonly "$r/db.sqlite" "PRAGMA quick_check" 2>&1 | has '^ok$' &&
            { fail "the overwrite did not damage the file"; return 1; }
    else
        mport=$(sed -n 's/^start_server = .* \([0-9]*\)$/\1/p' "$r/recalld.conf")
        "$rt_mariadb" stop "$r/mysql" || return 1
        if [ "$how" = delete ]; then
            say "deleting $r/mysql/data/app/$t.ibd"
            rm "$r/mysql/data/app/$t.ibd" || return 1
        else
            # 3000 rows of 1 KB: about 200 pages of 16 KB; overwrite 60 in the middle
            say "overwriting 16K pages 60..119 of $r/mysql/data/app/$t.ibd"
            dd if=/dev/urandom of="$r/mysql/data/app/$t.ibd" bs=16384 seek=60 count=60 conv=notrunc status=none ||
                return 1
        fi
        "$rt_mariadb" start "$r/mysql" "$mport" || return 1
    fi
    rt_wait 60 "damaged replica $i in normal status" rt_normal "$i"
}

# A backup that will not lead the next view either (a restarted replica
# may start a view change; the damaged one must stay a backup here).
quiet_backup() { rt_backup "$(rt_next_primary)"; }

case_apply_detects() {
    local b mark how=pages
    [ "$rt_backend" = mariadb ] && how=delete
    b=$(quiet_backup) || { fail "no backup"; return 1; }
    damage "$b" hot "$how" || return 1
    rt_load_start wl_damage 20 || return 1
    mark=$(rt_logmark "$b")
    say "a write touching every row of hot"
    rt_sql "UPDATE hot SET n = n + 1" || { fail "the update failed"; return 1; }
    if ! rt_wait 90 "replica $b found the damage, copied a donor and rejoined" rt_rejoined "$b" "$mark"; then
        rt_transfer_story "$b" "$mark"
        return 1
    fi
    rt_transfer_story "$b" "$mark"
    rt_logsince "$b" "$mark" | has 'APPLY HALTED' || { fail "replica $b did not halt its apply"; return 1; }
    rt_wait_caught_up "$b" 30 || return 1
    rt_load_stop_check || return 1
    rt_same
}

case_verify_detects() {
    local b mark out rc how=pages
    [ "$rt_backend" = mariadb ] && how=overwrite
    b=$(quiet_backup) || { fail "no backup"; return 1; }
    damage "$b" cold "$how" || return 1
    out=$("$rt_ctl" -r "$rt_list" -t 5000 verify 2>&1)
    rc=$?
    echo "$out"
    say "recallctl verify exited with $rc"
    [ "$rc" -ne 0 ] || { fail "recallctl verify did not notice the damage"; return 1; }
    echo "$out" | grep -E "replica ${b}[: ]" | has -i -E 'damaged|malformed|corrupt' ||
        { fail "recallctl verify did not name replica $b as damaged"; return 1; }
    rt_load_start wl_verify 20 || return 1
    mark=$(rt_logmark "$b")
    say "recallctl resync $b"
    "$rt_ctl" -r "$rt_list" resync "$b" || { fail "recallctl resync $b failed"; return 1; }
    if ! rt_wait 90 "replica $b copied a donor and rejoined" rt_rejoined "$b" "$mark"; then
        rt_transfer_story "$b" "$mark"
        return 1
    fi
    rt_transfer_story "$b" "$mark"
    rt_wait_caught_up "$b" 30 || return 1
    rt_load_stop_check || return 1
    rt_same
}

case_damaged_primary() {
    local p nxt mark how=pages out
    [ "$rt_backend" = mariadb ] && how=delete
    p=$(rt_primary)
    nxt=$(rt_next_primary)
    say "damaging replica $nxt, the next view's primary (the primary is $p)"
    damage "$nxt" hot "$how" || return 1
    [ "$(rt_primary)" = "$p" ] || { fail "the primary changed to $(rt_primary) during the set-up"; return 1; }
    rt_load_start wl_primary 20 || return 1
    mark=$(rt_logmark "$nxt")
    say "killing the primary, replica $p"
    rt_kill "$p" || return 1
    rt_wait 30 "a new primary" rt_has_primary || return 1
    say "primary: replica $(rt_primary); restarting replica $p"
    rt_restart "$p" || return 1
    say "a write touching every row of hot"
    out=$("$rt_recall" -e "UPDATE hot SET n = n + 1" "${conn%;request_timeout=*};request_timeout=30" 2>&1)
    echo "$out"
    echo "$out" | has 'rows affected' ||
        { rt_transfer_story "$nxt" "$mark"; fail "a write failed because the primary's database is damaged"; return 1; }
    if ! rt_wait 90 "replica $nxt repaired itself and rejoined" rt_rejoined "$nxt" "$mark"; then
        rt_transfer_story "$nxt" "$mark"
        return 1
    fi
    rt_transfer_story "$nxt" "$mark"
    rt_wait_caught_up "$nxt" 30 || return 1
    rt_load_stop_check || return 1
    rt_same
}

rt_case apply "damage a write touches: the apply halts, the replica repairs itself" case_apply_detects
rt_case verify "damage no write touches: recallctl verify names it, resync repairs it" case_verify_detects
rt_case primary "the damaged replica becomes primary: it steps down and repairs, writes succeed" case_damaged_primary
rt_finish
