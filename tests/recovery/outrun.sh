#!/usr/bin/env bash
# shellcheck disable=SC2034 # (variables assigned by eval "$(rt_get I)")
# A state transfer under a write rate that outruns the log retention window
# while the copy runs (DESIGN.md section 7, step 2: the donor "keeps its log
# above a_D until R is done", and R "fetches the entries above it from D's
# log").  A replica is resynchronized (`recallctl resync`) with its rsync
# slowed down (sync_options = --bwlimit) so that each pass takes longer than
# the time the others need to write past log_retain; a client writes as fast
# as it can meanwhile.  One transfer must be enough: the copied database plus
# the entries logged since the donor paused bring the replica up to date.
# SQLite only: the mechanism does not depend on the backend.
#
# Usage: tests/recovery/outrun.sh sqlite   (TAP)
# shellcheck source=tests/recovery/lib.sh
. "$(dirname "$0")/lib.sh"

rt_init outrun "${1:-sqlite}" 28600
rt_retain=100
rt_start_cluster 3

# Replica I rejoined after a transfer started since MARK, or started a
# second one (which is the failure: stop waiting).
rejoined_or_again() {
    rt_rejoined "$1" "$2" && return 0
    [ "$(rt_logcount "$1" "$2" 'STATE TRANSFER:')" -ge 2 ]
}

case_outrun() {
    local b mark n
    rt_fill big 4000 >/dev/null || { fail "cannot fill the big table"; return 1; }
    b=$(rt_backup) || { fail "no backup"; return 1; }
    say "replica $b will copy at 700 KiB/s (about 6 s per pass of a 4 MB database)"
    rt_stop "$b"
    rt_conf "$b" "sync_options = --bwlimit=700"
    rt_restart "$b" || return 1
    rt_wait 30 "replica $b back in service" rt_normal "$b" || return 1
    rt_wait_caught_up "$b" 30 || return 1
    rt_load_start wl_outrun 0 || return 1
    mark=$(rt_logmark "$b")
    "$rt_ctl" -r "$rt_list" resync "$b" || { fail "recallctl resync $b failed"; return 1; }
    rt_wait 90 "replica $b rejoined (or started another transfer)" rejoined_or_again "$b" "$mark" || return 1
    rt_transfer_story "$b" "$mark"
    n=$(rt_logcount "$b" "$mark" 'STATE TRANSFER:')
    if [ "$n" -ne 1 ]; then
        rt_logsince "$b" "$mark" | grep 'gone from every' | head -3
        fail "the copy was not enough: the entries logged while it ran were gone when replica $b rejoined, so it started transfer number $n (it never catches up while writes go on)"
        return 1
    fi
    rt_wait_caught_up "$b" 60 || return 1
    rt_load_stop_check || return 1
    rt_same
}

rt_case outrun "writes outrunning log_retain during the copy: one transfer is enough" case_outrun

# log_retain by size alone: every replica's log stays within the bound
# (plus the segment being written and one more, since whole segments go).
log_within() { [ "$(du -sb "$rt_dir/r$1/data/log" | cut -f1)" -le "$2" ]; }
case_retain_size() {
    local i n0 limit=$((128 * 1024 + 2 * 64 * 1024))
    for ((i = 0; i < rt_n; i++)); do
        rt_stop "$i"
        rt_conf "$i" "log_retain = 128K"
        rt_restart "$i" || return 1
        rt_wait 30 "replica $i back in service" rt_normal "$i" || return 1
    done
    eval "$(rt_get 0)"
    n0=$ccommit
    "$rt_workload" write --seconds 6 --table wl_size --ack "$rt_work/wl_size.ack" --quiet "$conn" \
        >"$rt_work/wl_size.out" 2>&1 || { fail "writes failed: $(tail -1 "$rt_work/wl_size.out")"; return 1; }
    eval "$(rt_get 0)"
    say "wrote $((ccommit - n0)) entries; the logs start at op $clog_start"
    [ $((ccommit - n0)) -ge 3000 ] || { fail "too few writes to tell ($((ccommit - n0)))"; return 1; }
    # the log is cut below what the backend has made durable, which the
    # applier does every 5 s: give it two rounds
    for ((i = 0; i < rt_n; i++)); do
        rt_wait_caught_up "$i" 30 || return 1
        rt_wait 12 "replica $i's log within $limit bytes" log_within "$i" "$limit" || {
            ls -l "$rt_dir/r$i/data/log"; return 1; }
        say "replica $i: log $(du -sb "$rt_dir/r$i/data/log" | cut -f1) bytes"
    done
    eval "$(rt_get 0)"
    [ "$clog_start" -gt "$n0" ] || { fail "the logs were not cut (they start at op $clog_start)"; return 1; }
    rt_same
}

rt_case retain-size "log_retain by size bounds every replica's log" case_retain_size
rt_finish
