#!/usr/bin/env bash
# shellcheck disable=SC2034 # (variables assigned by eval "$(rt_get I)")
# Recovery by state transfer, the common triggers (issue 6), on a real
# three-replica cluster (backend $1): a replica killed while the others
# write well past the log retention window comes back, finds the entries it
# needs gone from every log and copies a donor's database by rsync while a
# client keeps writing and reading; then a brand-new replica (empty data_dir,
# empty database) joins the same way.  Each case ends with the acknowledged
# rows all present once, no client error, `recallctl verify` identical and
# the replicas' own databases identical.
#
# Usage: tests/recovery/rejoin.sh sqlite|mariadb   (TAP)
# shellcheck source=tests/recovery/lib.sh
. "$(dirname "$0")/lib.sh"

rt_init rejoin "${1:-sqlite}" 28500
rt_start_cluster 3

# Replica I's log since MARK shows one state transfer, with both rsync passes.
one_transfer() {
    local i=$1 mark=$2 n
    rt_transfer_story "$i" "$mark"
    n=$(rt_logcount "$i" "$mark" 'STATE TRANSFER:')
    [ "$n" -eq 1 ] || { fail "replica $i started $n state transfers (one should do)"; return 1; }
    rt_logsince "$i" "$mark" | has 'state transfer: rsync .*->' || { fail "no bulk rsync pass"; return 1; }
    rt_logsince "$i" "$mark" | has 'state transfer: rsync --checksum' ||
        { fail "no final rsync pass with --checksum"; return 1; }
}

case_behind_retention() {
    local b mark n
    b=$(rt_backup) || { fail "no backup"; return 1; }
    say "killing backup replica $b"
    rt_kill "$b" || return 1
    rt_write_past_retention "$b" || return 1
    rt_load_start wl_rejoin 40 || return 1
    mark=$(rt_logmark "$b")
    say "restarting replica $b under load"
    rt_restart "$b" || return 1
    if ! rt_wait 120 "replica $b copied a donor's database and rejoined" rt_rejoined "$b" "$mark"; then
        rt_transfer_story "$b" "$mark"
        return 1
    fi
    rt_wait_caught_up "$b" 30 || return 1
    rt_logsince "$b" "$mark" | has 'gone from every' ||
        { fail "the transfer was not started because the log was gone"; return 1; }
    # the rejoined replica takes part in further writes
    n=$(rt_lines "$rt_work/wl_rejoin.ack")
    rt_wait 30 "50 more writes after the rejoin" rt_acked wl_rejoin $((n + 50)) || return 1
    rt_load_stop_check || return 1
    one_transfer "$b" "$mark" || return 1
    rt_same
}

case_new_replica() {
    local b mark mport
    b=$(rt_backup) || { fail "no backup"; return 1; }
    say "stopping replica $b and wiping its data_dir and database"
    rt_stop "$b"
    rm -rf "$rt_dir/r$b/data"
    if [ "$rt_backend" = sqlite ]; then
        rm -f "$rt_dir/r$b"/db.sqlite*
    else
        # a freshly initialized MariaDB datadir: no application data, no app account
        mport=$(sed -n 's/^start_server = .* \([0-9]*\)$/\1/p' "$rt_dir/r$b/recalld.conf")
        "$rt_mariadb" stop "$rt_dir/r$b/mysql" || return 1
        rm -rf "$rt_dir/r$b/mysql/data"
        "$rt_mariadb" start "$rt_dir/r$b/mysql" "$mport" || return 1
        "$rt_mariadb" sql "$rt_dir/r$b/mysql" "SHOW DATABASES" | has -x app &&
            { fail "the re-initialized datadir still has the app database"; return 1; }
    fi
    rt_write_past_retention "$b" 0 || return 1
    rt_load_start wl_new 40 || return 1
    mark=$(rt_logmark "$b")
    say "starting the new replica $b under load"
    rt_restart "$b" || return 1
    if ! rt_wait 120 "new replica $b copied a donor's database and joined" rt_rejoined "$b" "$mark"; then
        rt_transfer_story "$b" "$mark"
        return 1
    fi
    rt_wait_caught_up "$b" 30 || return 1
    rt_logsince "$b" "$mark" | has "new replica $b" || { fail "replica $b did not start as a new replica"; return 1; }
    rt_load_stop_check || return 1
    one_transfer "$b" "$mark" || return 1
    rt_same
}

rt_case behind "a replica behind every log's retention copies a donor under client load" case_behind_retention
rt_case new "a brand-new replica (empty data_dir and database) joins by copying a donor" case_new_replica
rt_finish
