#!/usr/bin/env bash
# shellcheck disable=SC2034 # (variables assigned by eval "$(rt_get I)")
# State transfers that lose a party half-way, on a real five-replica cluster
# (backend $1), with the copy slowed down (sync_options = --bwlimit) so that
# it takes seconds, while a client keeps writing and reading:
#   - a replica comes back behind every log's retention and copies a donor,
#     whose recalld is killed (SIGKILL) during the bulk copy: the recipient
#     retries with another donor and finishes, the cluster keeps serving
#     (five replicas: one copying, one dead, three still a majority);
#   - what an operator sees meanwhile: phase, bytes, rate and ETA in
#     `recallctl status` and in the log;
#   - the recipient itself is killed during the copy: restarted, it copies
#     again from the start and never opens the half-copied database, and no
#     rsync of the dead recalld goes on writing into its database.
#
# Usage: tests/recovery/donor.sh sqlite|mariadb   (TAP)
# shellcheck source=tests/recovery/lib.sh
. "$(dirname "$0")/lib.sh"

rt_init donor "${1:-sqlite}" 28700
# a pass takes seconds: SQLite copies a ~6 MB file, MariaDB a ~60 MB datadir
if [ "$rt_backend" = sqlite ]; then bwlimit=700; else bwlimit=6000; fi
rt_start_cluster 5 "sync_options = --bwlimit=$bwlimit"
rt_fill big 6000 >/dev/null || rt_bail "cannot fill the big table"

# Samples of replica I's status (JSON member line, and the text table)
# every 0.2 s, until sampler_stop.
sampler_start() {
    (
        while :; do
            "$rt_ctl" -r "$rt_list" -t 1000 status --json 2>/dev/null |
                python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["members"][int(sys.argv[1])]))' "$1" \
                >>"$rt_work/samples.json" 2>/dev/null
            "$rt_ctl" -r "$rt_list" -t 1000 status >>"$rt_work/samples.txt" 2>&1
            echo "--" >>"$rt_work/samples.txt"
            sleep 0.2
        done
    ) &
    sampler=$!
    rt_bg+=("$sampler")
}
sampler_stop() { kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null; }

# Replica I is in its bulk copy (or, with a second argument "any", in
# either pass).  Leaves the donor and the primary of that probe in
# copy_donor and copy_primary.
copying() {
    local up t_phase t_donor cprimary
    eval "$(rt_get "$1")"
    copy_donor=$t_donor copy_primary=$cprimary
    [ "$t_phase" = bulk-copy ] || { [ "${2:-}" = any ] && [ "$t_phase" = final-copy ]; }
}

recipient=""
case_donor_killed() {
    local b mark donor t_donor primary again n
    b=$(rt_backup) || { fail "no backup"; return 1; }
    recipient=$b
    # behind the others' logs, so that its database differs from the donor's
    # (a resync of an up-to-date replica may find nothing to copy in the
    # bulk pass: rsync's quick check sees the same size and second)
    say "killing replica $b"
    rt_kill "$b" || return 1
    rt_write_past_retention "$b" || return 1
    rt_load_start wl_donor 40 || return 1
    mark=$(rt_logmark "$b")
    sampler_start "$b"
    say "restarting replica $b"
    rt_restart "$b" || return 1
    rt_wait 60 "replica $b is copying" copying "$b" || { rt_transfer_story "$b" "$mark"; return 1; }
    donor=$copy_donor primary=$copy_primary
    rt_kill "$donor" || return 1
    say "replica $b was copying from replica $donor (primary: $primary): killed replica $donor"
    [ "$donor" != "$primary" ] || { fail "the primary was chosen as the donor while backups could serve"; return 1; }
    rt_logsince "$b" "$mark" | has 'state transfer: waiting-donor' &&
        { fail "test too slow: the bulk copy was over before the donor was killed"; return 1; }
    rt_wait 120 "replica $b finished with another donor and rejoined" rt_rejoined "$b" "$mark" ||
        { rt_transfer_story "$b" "$mark"; return 1; }
    sampler_stop
    rt_transfer_story "$b" "$mark"
    rt_logsince "$b" "$mark" | has 'state transfer attempt failed' ||
        { fail "no failed attempt: the donor's death went unnoticed"; return 1; }
    again=$(rt_logsince "$b" "$mark" | sed -n 's/.*state transfer: donor is replica \([0-9]*\).*/\1/p' | tail -1)
    [ -n "$again" ] && [ "$again" != "$donor" ] ||
        { fail "the last attempt did not use another donor (replica ${again:-?})"; return 1; }
    n=$(rt_logcount "$b" "$mark" 'STATE TRANSFER:')
    [ "$n" -eq 1 ] || { fail "$n transfers started (one, with a retry, should do)"; return 1; }
    rt_wait_caught_up "$b" 30 || return 1
    rt_load_stop_check || return 1
    say "restarting the killed donor, replica $donor"
    rt_restart "$donor" || return 1
    rt_wait 60 "replica $donor back in service" rt_normal "$donor" || return 1
    rt_same
}

# What the samples and the log showed during the copy.
case_visibility() {
    local mark_ok=1 phases
    [ -s "$rt_work/samples.json" ] || { fail "no status samples (the previous case failed early)"; return 1; }
    phases=$(python3 -c '
import json, sys
seen = []
for line in open(sys.argv[1]):
    d = json.loads(line).get("detail", {})
    p = d.get("transfer_phase")
    if p and (not seen or seen[-1] != p):
        seen.append(p)
print(" ".join(seen))' "$rt_work/samples.json")
    say "phases seen in recallctl status --json: $phases"
    python3 - "$rt_work/samples.json" <<'PY' || mark_ok=0
import json, sys
ok = False
for line in open(sys.argv[1]):
    d = json.loads(line).get("detail", {})
    if d.get("transfer_phase") in ("bulk-copy", "final-copy") and int(d.get("transfer_bytes", 0)) > 0 \
            and int(d.get("transfer_total", 0)) >= int(d.get("transfer_bytes", 0)) \
            and float(d.get("transfer_rate", 0)) > 0 and int(d.get("transfer_eta_s", -1)) >= 0 \
            and int(d.get("transfer_donor", -1)) >= 0:
        print("json sample with progress:", json.dumps(d))
        ok = True
        break
if not ok:
    print("FAIL: no JSON status sample shows bytes, total, rate, ETA and donor during a copy")
sys.exit(0 if ok else 1)
PY
    # (choosing-donor and waiting-donor may pass between two samples)
    for p in bulk-copy final-copy; do
        echo " $phases " | has " $p " || { say "FAIL: phase $p never seen in recallctl status --json"; mark_ok=0; }
    done
    if [ "$rt_backend" = mariadb ]; then
        echo " $phases " | has " stopping-server \| starting-server " ||
            { say "FAIL: the MariaDB hook phases were never seen"; mark_ok=0; }
    fi
    # the text status an operator reads
    if grep -q -E 'bulk-copy|final-copy' "$rt_work/samples.txt" && grep -E 'bulk-copy|final-copy' "$rt_work/samples.txt" | has '/s'; then
        say "recallctl status (text): $(grep -E 'bulk-copy|final-copy' "$rt_work/samples.txt" | head -1)"
    else
        say "FAIL: recallctl status (text) never shows the transfer phase with its rate; a sample during the copy:"
        awk '/^--$/ { if (blk ~ /transfer/) { print blk; exit } blk = ""; next } { blk = blk $0 "\n" }' "$rt_work/samples.txt"
        mark_ok=0
    fi
    # the log: progress of a pass lasting seconds (bytes and rate)
    if grep -v 'refusing\|closing connection' "$rt_dir/r$recipient/recalld.log" | grep 'state transfer' | has '/s'; then
        say "log: $(grep -v 'refusing\|closing connection' "$rt_dir/r$recipient/recalld.log" | grep 'state transfer' | grep '/s' | head -1)"
    else
        say "FAIL: replica $recipient's log shows no progress (bytes, rate) during passes lasting seconds"
        mark_ok=0
    fi
    [ $mark_ok = 1 ]
}

# rsync processes still writing into replica I's directory.
strays() { pgrep -a -f "rsync .*$rt_dir/r$1/" || true; }

case_recipient_killed() {
    local b mark stray before
    b=$(rt_backup "$recipient") || { fail "no backup"; return 1; }
    rt_load_start wl_recipient 40 || return 1
    mark=$(rt_logmark "$b")
    say "recallctl resync $b"
    "$rt_ctl" -r "$rt_list" resync "$b" || { fail "recallctl resync $b failed"; return 1; }
    rt_wait 60 "replica $b is copying" copying "$b" any || { rt_transfer_story "$b" "$mark"; return 1; }
    say "killing replica $b (the recipient) during its copy"
    rt_kill "$b" || return 1
    [ "$(cat "$rt_dir/r$b/data/transfer" 2>/dev/null)" = copying ] ||
        { fail "data_dir/transfer does not say 'copying' after the kill"; return 1; }
    sleep 1
    stray=$(strays "$b")
    [ -z "$stray" ] || say "rsync left running after its recalld died: $stray"
    before=$(rt_logmark "$b")
    say "restarting replica $b"
    rt_restart "$b" || return 1
    rt_wait 120 "replica $b copied again and rejoined" rt_rejoined "$b" "$before" ||
        { rt_transfer_story "$b" "$before"; return 1; }
    rt_transfer_story "$b" "$before"
    rt_logsince "$b" "$before" | has 'state transfer was interrupted' ||
        { fail "the restart did not notice the interrupted transfer"; return 1; }
    # the database is opened only once the new copy is complete
    rt_logsince "$b" "$before" | awk '/state transfer complete/ { done = 1 } /backend .*applied op/ && !done { bad = 1 } END { exit bad }' ||
        { fail "the half-copied database was opened before the copy completed"; return 1; }
    rt_wait_caught_up "$b" 30 || return 1
    rt_load_stop_check || return 1
    rt_same || return 1
    [ -z "$stray" ] || { fail "the dead recalld's rsync kept running: $stray"; return 1; }
}

rt_case donor_killed "the donor killed during the copy: another donor finishes it, clients unaffected" case_donor_killed
rt_case visibility "progress visible: phases, bytes, rate, ETA in recallctl status and the log" case_visibility
rt_case recipient_killed "the recipient killed during the copy: it copies again, never opens a half copy" case_recipient_killed
rt_finish
