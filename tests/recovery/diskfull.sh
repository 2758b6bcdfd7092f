#!/usr/bin/env bash
# shellcheck disable=SC2034 # (variables assigned by eval "$(rt_get I)")
# A state transfer that fails because the recipient's disk is full (backend
# $1): a new replica whose database lives on a small tmpfs needs a copy of a
# donor that does not fit.  Every attempt fails (rsync: no space left on
# device); meanwhile the replica is out of service -- status `transfer`
# with the error and the attempt count, clients refused -- and it neither
# acknowledges nor votes: with the cluster's other backup also down, the
# primary and this replica together (two of three) commit nothing and elect
# nobody.  Once the other backup is back and the disk is grown, the next
# attempt completes and the replica joins; verify is identical.
# Needs root (mount -t tmpfs).
#
# Usage: tests/recovery/diskfull.sh sqlite|mariadb   (TAP)
# shellcheck source=tests/recovery/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP mounting a small tmpfs needs root"
    exit 0
fi
rt_init diskfull "${1:-sqlite}" 29000
rt_start_cluster 3
if [ "$rt_backend" = sqlite ]; then rows=4000; else rows=40000; fi
rt_fill big "$rows" >/dev/null || rt_bail "cannot fill the big table"

mnt=""
umount_small() { [ -z "$mnt" ] || { umount "$mnt" 2>/dev/null || umount -l "$mnt"; }; }
rt_cleanups+=("umount_small")

# Replica I's attempts failed at least twice, the error is shown.
failing() {
    local up status ready t_phase t_error t_attempt
    eval "$(rt_get "$1")"
    echo "status=$status ready=$ready phase=$t_phase attempt=$t_attempt error=$t_error" >"$rt_work/failing.last"
    [ "$status" = transfer ] && [ "$ready" = no ] && [ -n "$t_error" ] && [ "${t_attempt:-0}" -ge 2 ]
}

case_disk_full() {
    local b c r mark size used need out st mport
    b=$(rt_backup "$(rt_next_primary)") || { fail "no backup"; return 1; }
    c=$(rt_backup "$b") || { fail "no second backup"; return 1; }
    r=$rt_dir/r$b
    say "replica $b becomes a new replica whose database lives on a small tmpfs"
    rt_stop "$b"
    rm -rf "$r/data"
    if [ "$rt_backend" = sqlite ]; then
        mnt=$r/small
        mkdir -p "$mnt"
        mount -t tmpfs -o size=1m,mode=0755 recall-test "$mnt" || { fail "cannot mount a tmpfs"; mnt=""; return 1; }
        rm -f "$r"/db.sqlite*
        # the replica comparison reads $r/db.sqlite: a link to the real file
        ln -s small/db.sqlite "$r/db.sqlite"
        rt_conf "$b" "backend = sqlite:$mnt/db.sqlite"
        size=1m
    else
        mnt=$r/mysql/data
        mport=$(sed -n 's/^start_server = .* \([0-9]*\)$/\1/p' "$r/recalld.conf")
        "$rt_mariadb" stop "$r/mysql" || return 1
        rm -rf "$mnt"
        mkdir -p "$mnt"
        # room for a fresh datadir, not for the donor's (its big table does not fit)
        need=$(du -sm "$rt_dir/r$c/mysql/data/app/big.ibd" | cut -f1)
        size=$((64 + need / 2))m
        mount -t tmpfs -o size=$size,mode=0755 recall-test "$mnt" || { fail "cannot mount a tmpfs"; mnt=""; return 1; }
        # a fresh datadir in the tmpfs (mariadb.sh would replace the mount point)
        "$(command -v mariadb-install-db || echo /usr/bin/mariadb-install-db)" --defaults-file="$r/mysql/my.cnf" \
            --auth-root-authentication-method=normal --skip-test-db >"$rt_work/install-db.log" 2>&1 ||
            { tail "$rt_work/install-db.log"; fail "mariadb-install-db failed"; return 1; }
        "$rt_mariadb" start "$r/mysql" "$mport" || return 1
    fi
    say "tmpfs of $size at $mnt: $(df -h "$mnt" | tail -1)"
    rt_write_past_retention "$b" 0 || return 1
    mark=$(rt_logmark "$b")
    say "starting replica $b"
    rt_restart "$b" || return 1
    rt_wait 90 "replica $b's transfer failed and was retried" failing "$b" || { cat "$rt_work/failing.last"; return 1; }
    say "replica $b: $(cat "$rt_work/failing.last")"
    rt_logsince "$b" "$mark" | grep -m2 -E 'No space left|attempt failed'
    # checked at the end, so that the rest of the case runs regardless
    local late=""
    rt_logsince "$b" "$mark" | has 'No space left on device' ||
        late="the log never says why rsync failed (No space left on device)"
    rt_logsince "$b" "$mark" | has 'state transfer attempt failed: .*retrying in' ||
        { fail "the log does not say the attempt failed and is retried"; return 1; }
    # clients are turned away
    out=$("$rt_recall" -e "SELECT COUNT(*) FROM big" "${conn%;request_timeout=*};request_timeout=10" 2>&1)
    echo "$out" | has -E '^\| *'"$rows"' \|$' || { echo "$out"; fail "a read failed"; return 1; }
    rt_refused "$b" "$mark" || { fail "replica $b did not refuse the client"; return 1; }
    # it neither acknowledges nor votes: with replica c down, nothing commits
    # (a connection opened while c was up, so that only the write can fail)
    rm -f "$rt_work/nv.fifo"; mkfifo "$rt_work/nv.fifo"
    stdbuf -oL "$rt_recall" --force "${conn%;request_timeout=*};request_timeout=4" \
        <"$rt_work/nv.fifo" >"$rt_work/nv.out" 2>"$rt_work/nv.err" &
    local nv=$!
    rt_bg+=("$nv")
    exec 7>"$rt_work/nv.fifo"
    echo "SELECT COUNT(*) FROM big;" >&7
    rt_wait 20 "a client connected and read" has -E '^\| *[0-9]+ \|$' "$rt_work/nv.out" || { exec 7>&-; return 1; }
    say "killing the other backup, replica $c: only the primary and replica $b remain"
    rt_kill "$c" || { exec 7>&-; return 1; }
    echo "INSERT INTO big (id, n) VALUES (-1, 0);" >&7
    exec 7>&-
    rt_wait 30 "the client gave up" rt_gone "$nv"
    wait "$nv"
    st=$?
    cat "$rt_work/nv.out" "$rt_work/nv.err"
    has -i 'row.* affected' "$rt_work/nv.out" &&
        { fail "a write committed with replica $b as the second acknowledgement"; return 1; }
    [ "$st" -ne 0 ] && [ -s "$rt_work/nv.err" ] || { fail "the write neither failed nor committed"; return 1; }
    sleep 2 # long enough for view changes to be attempted (timeout 600 ms)
    if rt_has_primary; then
        eval "$(rt_get "$b")"
        [ "$status" = transfer ] || { fail "replica $b left the transfer state ($status)"; return 1; }
    fi
    say "restarting replica $c"
    rt_restart "$c" || return 1
    rt_wait 60 "a primary again" rt_has_primary || return 1
    rt_wait 30 "replica $c in normal status" rt_normal "$c" || return 1
    rt_load_start wl_full 40 || return 1
    say "growing the tmpfs"
    if [ "$rt_backend" = sqlite ]; then
        mount -o remount,size=64m "$mnt" || { fail "cannot grow the tmpfs"; return 1; }
    else
        mount -o remount,size=$((4 * ${size%m}))m "$mnt" || { fail "cannot grow the tmpfs"; return 1; }
    fi
    if ! rt_wait 90 "replica $b completed a later attempt and joined" rt_rejoined "$b" "$mark"; then
        rt_transfer_story "$b" "$mark"
        return 1
    fi
    rt_transfer_story "$b" "$mark" | tail -12
    rt_wait_caught_up "$b" 30 || return 1
    rt_load_stop_check || return 1
    rt_same || return 1
    [ -z "$late" ] || { fail "$late"; return 1; }
}

rt_case full "disk full: not serving, not voting, retried; grown disk: it completes" case_disk_full
rt_finish
