#!/usr/bin/env bash
# shellcheck disable=SC2034 # (variables assigned by eval "$(rt_get I)")
# State transfer through real ssh (backend $1): every replica's sync_cmd is
# `ssh -p PORT -i KEY ...` to a private sshd listening on the replicas'
# loopback addresses, with a generated host key and a generated user key.
# A replica killed while the others write past the log retention window is
# restarted while sshd is still down: its transfer attempts fail (rsync
# cannot reach the donor), it stays out of service -- status `transfer`,
# the error shown, clients refused -- and retries with backoff; once sshd
# is up the next attempt copies the donor through ssh and the replica
# rejoins.  A client writes and reads throughout with no error.
#
# Usage: tests/recovery/ssh.sh sqlite|mariadb   (TAP)
# shellcheck source=tests/recovery/lib.sh
. "$(dirname "$0")/lib.sh"

rt_init ssh "${1:-sqlite}" 28900
sshd=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$sshd" ] || rt_bail "sshd (Debian package openssh-server) is not installed"
command -v ssh-keygen >/dev/null || rt_bail "ssh-keygen (Debian package openssh-client) is not installed"

# ---- a private sshd: keys, configuration ----
sshdir=$rt_work/ssh
ssh_port=$((rt_port + 5))
mkdir -p "$sshdir"
chmod 700 "$sshdir"
ssh-keygen -q -t ed25519 -N '' -C recall-test-host -f "$sshdir/host_key" || rt_bail "ssh-keygen failed"
ssh-keygen -q -t ed25519 -N '' -C recall-test-user -f "$sshdir/id" || rt_bail "ssh-keygen failed"
cp "$sshdir/id.pub" "$sshdir/authorized_keys"
chmod 600 "$sshdir/authorized_keys"
{
    echo "Port $ssh_port"
    for ((i = 1; i <= 3; i++)); do echo "ListenAddress 127.0.0.$i"; done
    echo "HostKey $sshdir/host_key"
    echo "PidFile $sshdir/sshd.pid"
    echo "AuthorizedKeysFile $sshdir/authorized_keys"
    echo "PubkeyAuthentication yes"
    echo "PasswordAuthentication no"
    echo "KbdInteractiveAuthentication no"
    echo "PermitRootLogin prohibit-password"
    echo "AllowUsers $(id -un)"
    echo "StrictModes no"
    echo "UsePAM no"
    echo "LogLevel VERBOSE"
} >"$sshdir/sshd_config"
# the privilege separation directory the Debian service would create
[ "$(id -u)" -ne 0 ] || mkdir -p /run/sshd
sshd_pid=""
sshd_start() {
    "$sshd" -D -f "$sshdir/sshd_config" -E "$sshdir/sshd.log" &
    sshd_pid=$!
    rt_bg+=("$sshd_pid")
    rt_wait 10 "sshd listening on port $ssh_port" sshd_up
}
sshd_up() { ss -Htln "sport = :$ssh_port" 2>/dev/null | has .; }
sshd_stop() { [ -z "$sshd_pid" ] || { kill "$sshd_pid" 2>/dev/null; wait "$sshd_pid" 2>/dev/null; sshd_pid=""; }; }
rt_cleanups+=("sshd_stop")

sync_cmd="ssh -p $ssh_port -i $sshdir/id -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=5"
rt_start_cluster 3 "sync_cmd = $sync_cmd"

# Replica I's transfer has failed at least twice and says why.
failing() {
    local up status ready t_phase t_error t_attempt
    eval "$(rt_get "$1")"
    echo "status=$status ready=$ready phase=$t_phase attempt=$t_attempt error=$t_error" >"$rt_work/failing.last"
    [ "$status" = transfer ] && [ "$ready" = no ] && [ -n "$t_error" ] && [ "${t_attempt:-0}" -ge 2 ]
}

case_ssh() {
    local b mark n
    # ssh works at all (the same command the replicas will run)
    sshd_start || return 1
    $sync_cmd 127.0.0.2 true || { fail "ssh with the generated key does not work"; return 1; }
    sshd_stop
    b=$(rt_backup) || { fail "no backup"; return 1; }
    say "killing backup replica $b"
    rt_kill "$b" || return 1
    rt_write_past_retention "$b" || return 1
    rt_load_start wl_ssh 40 || return 1
    mark=$(rt_logmark "$b")
    say "restarting replica $b while sshd is down"
    rt_restart "$b" || return 1
    rt_wait 60 "replica $b's transfer failed and was retried" failing "$b" || { cat "$rt_work/failing.last"; return 1; }
    say "replica $b: $(cat "$rt_work/failing.last")"
    rt_logsince "$b" "$mark" | grep 'state transfer attempt failed' | head -2
    rt_logsince "$b" "$mark" | has 'state transfer attempt failed: rsync' ||
        { fail "the log does not say the rsync failed"; return 1; }
    rt_logsince "$b" "$mark" | has 'retrying in' || { fail "the log does not say it retries"; return 1; }
    rt_wait 20 "replica $b refuses clients meanwhile" rt_refused "$b" "$mark" || return 1
    say "starting sshd"
    sshd_start || return 1
    if ! rt_wait 90 "replica $b copied its donor through ssh and rejoined" rt_rejoined "$b" "$mark"; then
        rt_transfer_story "$b" "$mark"
        return 1
    fi
    rt_transfer_story "$b" "$mark"
    rt_logsince "$b" "$mark" | has -E 'state transfer: rsync .*127\.0\.0\.[0-9]+:/' ||
        { fail "the rsync source is not a remote (host:path) one"; return 1; }
    grep 'Accepted publickey' "$sshdir/sshd.log" | tail -2
    grep -q 'Accepted publickey' "$sshdir/sshd.log" || { fail "sshd accepted no connection"; return 1; }
    n=$(rt_logcount "$b" "$mark" 'STATE TRANSFER:')
    [ "$n" -eq 1 ] || { fail "$n transfers started (one, with retries, should do)"; return 1; }
    rt_wait_caught_up "$b" 30 || return 1
    rt_load_stop_check || return 1
    rt_same
}

rt_case ssh "through ssh: failing while sshd is down (retried, not serving), completing once it is up" case_ssh
rt_finish
