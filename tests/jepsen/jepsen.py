#!/usr/bin/env python3
"""Fault tests of real Recall clusters (see tests/jepsen/README).

Starts a three-replica cluster with scripts/cluster on 127.0.0.x (a port
and a directory of its own), then runs phases: in each, the four workloads
(register, bank, list-append, unique inserts) through librecall
(jepsen-client) and ODBC (jepsen_odbc.py, when pyodbc works) while a
nemesis injects one class of faults from a seeded schedule; then it heals
everything, waits for the cluster to recover, does the final reads, checks
every history (jepsen-check), compares the replicas' own databases, and
writes RUN/summary.txt.  A failure prints the seed and the history path.

Nemesis classes: kill (kill -9 of the primary, a backup, f replicas or all,
then restart), pause (SIGSTOP/SIGCONT), partition (iptables rules on lo:
majority/minority, isolated primary, one-way, bridge), clock (a replica's
CLOCK_REALTIME jumps by hours or days through libfaketime), slowdisk
(restart with recalld's --test-fsync-delay-us), diskfull (the replica's
data_dir is a small tmpfs, filled up).

How replicas are told apart on lo: every recalld runs under its own group
id (setpriv), an iptables rule marks each connection with the group of the
process that opened it (CONNMARK), and partition rules drop packets by
mark, address and port.  Clients (group 0) are never cut off, so they can
still reach an isolated primary.  Everything (chains, mounts, processes)
is removed on exit.

Commands:
  jepsen.py check --backend B      make check: one phase per class, TAP
  jepsen.py run   --backend B [--seed S] [--classes LIST] [--seconds N]
  jepsen.py soak  --minutes M [--backend B] [--seed S] [--phase-seconds N]
"""
import argparse
import datetime
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CLASSES = ["kill", "pause", "partition", "clock", "slowdisk", "diskfull", "clientcut", "rolling",
           "dbkill"]
MARIADB_ONLY = {"dbkill"}
AVAIL_BOUND_S = 4.0
WORKLOADS = ["register", "bank", "append", "unique"]
ACCOUNTS, BALANCE = 5, 100
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
PORT_LO, PORT_SLOTS = 10000, 450          # ports 10000..10898, MariaDB +1000+i
GID_BASE = 60000
TMPFS_MB = 96


def now_ns():
    return time.monotonic_ns()


def say(msg):
    print("# " + msg, flush=True)


class Fatal(Exception):
    pass


def sh(cmd, check=True, timeout=120, env=None):
    """Run a command (a list); returns CompletedProcess with the output (both
    streams) in stdout.  The output goes through a file, not a pipe: a
    daemon started by the command keeps its inherited descriptors open."""
    e = dict(os.environ)
    if env:
        e.update(env)
    with tempfile.TemporaryFile(mode="w+") as out:
        try:
            r = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               timeout=timeout, env=e, universal_newlines=True)
        except subprocess.TimeoutExpired:
            out.seek(0)
            raise Fatal("timed out after %ss: %s\n%s" % (timeout, " ".join(cmd),
                                                        out.read()[-2000:]))
        out.seek(0)
        r.stdout = out.read()
    if check and r.returncode != 0:
        raise Fatal("%s failed (%d): %s" % (" ".join(cmd), r.returncode, (r.stdout or "")[-2000:]))
    return r


# ---------------------------------------------------------------- environment

class Env:
    def __init__(self, build):
        self.top = os.environ.get("top_srcdir") or TOP
        self.build = build or os.environ.get("top_builddir") or os.environ.get("RECALL_BUILD")
        if not self.build:
            cands = []
            for d in [os.path.join(self.top, "build", x) for x in
                      (os.listdir(os.path.join(self.top, "build"))
                       if os.path.isdir(os.path.join(self.top, "build")) else [])]:
                f = os.path.join(d, "tests/jepsen/jepsen-client")
                if os.path.exists(f):
                    cands.append((os.path.getmtime(f), d))
            if cands:
                self.build = max(cands)[1]
        if not self.build:
            raise Fatal("no build directory: pass --build DIR (or set top_builddir)")
        self.build = os.path.abspath(self.build)
        self.recalld = os.path.join(self.build, "server/recalld")
        self.recallctl = os.path.join(self.build, "tools/recallctl")
        self.client = os.path.join(self.build, "tests/jepsen/jepsen-client")
        self.checker = os.path.join(self.build, "tests/jepsen/jepsen-check")
        self.odbc_module = os.path.join(self.build, "odbc/.libs/libRecallODBC.so")
        self.cluster = os.path.join(self.top, "scripts/cluster")
        self.mariadb_sh = os.path.join(self.top, "tests/lib/mariadb.sh")
        for f in (self.recalld, self.recallctl, self.client, self.checker):
            if not os.path.exists(f):
                raise Fatal("%s is not built (make -C %s)" % (f, self.build))
        self.odbc_python = None
        if os.path.exists(self.odbc_module):
            for py in ("/usr/bin/python3", shutil.which("python3")):
                if py and sh([py, "-c", "import pyodbc"], check=False).returncode == 0:
                    self.odbc_python = py
                    break
        self.faketime = FAKETIME_LIB if os.path.exists(FAKETIME_LIB) else None
        # a sanitizer build: libasan must come first in a process that loads
        # the instrumented ODBC module (python), and libfaketime preloaded
        # into recalld makes ASan's link-order check complain
        self.asan_lib = None
        r = sh(["ldd", self.odbc_module if os.path.exists(self.odbc_module) else self.recalld],
               check=False)
        for line in r.stdout.splitlines():
            if "libasan" in line and "=>" in line:
                self.asan_lib = line.split("=>")[1].split("(")[0].strip()
        self.root = os.geteuid() == 0
        self.iptables = shutil.which("iptables")
        self.setpriv = shutil.which("setpriv")

    def odbc_env(self):
        """The environment of the python ODBC client: with a sanitizer
        build, libasan preloaded (python itself is not instrumented, and its
        allocations are not leaks of ours)."""
        e = dict(os.environ)
        if self.asan_lib:
            e["LD_PRELOAD"] = self.asan_lib
            e["ASAN_OPTIONS"] = (e.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
        return e

    def missing(self):
        """What this machine lacks for the fault tests (empty: nothing)."""
        out = []
        if not self.root:
            out.append("root (iptables, tmpfs mounts, per-replica group ids)")
        if not self.iptables:
            out.append("iptables (Debian package iptables)")
        if not self.setpriv:
            out.append("setpriv (Debian package util-linux)")
        return out


# ---------------------------------------------------------------- the cluster

def short_tmpdir():
    t = tempfile.gettempdir()
    return t if len(t) <= 40 else "/tmp"


class PortLock:
    """A port pair reserved for this run (a lock file per port, with our pid)."""

    def __init__(self, rng):
        slots = list(range(PORT_SLOTS))
        rng.shuffle(slots)
        for k in slots:
            port = PORT_LO + 2 * k
            path = "/tmp/recall-jepsen-port-%d.lock" % port
            if os.path.exists(path):
                try:
                    pid = int(open(path).read().strip() or "0")
                    os.kill(pid, 0)
                    continue            # held by a live run
                except (ValueError, ProcessLookupError, PermissionError):
                    # a run that died without cleaning up (SIGKILL)
                    self.remove_leftovers(port)
                    try:
                        os.unlink(path)
                    except FileNotFoundError:
                        pass
            if not self.free(port):
                continue
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                continue
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            self.port, self.path = port, path
            return
        raise Fatal("no free port in %d..%d" % (PORT_LO, PORT_LO + 2 * PORT_SLOTS))

    @staticmethod
    def remove_leftovers(port):
        """The iptables chains and tmpfs mounts of a dead run on this port."""
        ipt = shutil.which("iptables")
        if ipt:
            chain = "rj-%d" % port
            while sh([ipt, "-w", "-D", "OUTPUT", "-o", "lo", "-p", "tcp", "-j", chain],
                     check=False).returncode == 0:
                pass
            for c in (chain, chain + "-p"):
                sh([ipt, "-w", "-F", c], check=False)
            for c in (chain, chain + "-p"):
                sh([ipt, "-w", "-X", c], check=False)
        try:
            mounts = [l.split()[1] for l in open("/proc/mounts") if l.split()[0] == "tmpfs"]
        except OSError:
            mounts = []
        for m in mounts:
            env = os.path.join(os.path.dirname(os.path.dirname(m)), "cluster.env")
            try:
                if m.endswith("/data") and "PORT=%d\n" % port in open(env).read():
                    sh(["umount", "-l", m], check=False)
            except OSError:
                pass

    @staticmethod
    def free(port):
        addrs = [("127.0.0.%d" % (i + 1), port) for i in range(5)]
        addrs += [("127.0.0.1", port + 1000 + i) for i in range(5)]
        for a in addrs:
            s = socket.socket()
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(a)
            except OSError:
                return False
            finally:
                s.close()
        return True

    def release(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class Cluster:
    def __init__(self, env, backend, run_dir, port, n=3):
        self.env, self.backend, self.n, self.port = env, backend, n, port
        # the cluster itself lives under a short path: MariaDB's unix socket
        # path is limited (tests/lib/mariadb.sh), and build paths are long
        self.work = os.path.join(short_tmpdir(), "recall-jepsen-%d" % port)
        shutil.rmtree(self.work, ignore_errors=True)   # ours: we hold the port's lock
        self.dir = os.path.join(self.work, "cluster")
        self.shim = os.path.join(run_dir, "shim")
        self.slot = (port - PORT_LO) // 2
        self.gids = [GID_BASE + self.slot * 8 + i for i in range(n)]
        self.marks = [0x4a000000 | (port << 4) | (i + 1) for i in range(n)]
        # the workload clients run under a group of their own too
        self.client_gid = GID_BASE + self.slot * 8 + 7
        self.client_mark = 0x4a000000 | (port << 4) | 0xf
        self.chain = "rj-%d" % port
        self.pchain = "rj-%d-p" % port
        self.mounts = []
        self.iptables_ready = False
        self.started = False
        self.paused = set()
        self.blocked = []
        self.conn = None

    # -- setup and teardown --
    def replica_list(self):
        return ",".join("127.0.0.%d:%d" % (i + 1, self.port) for i in range(self.n))

    def write_shim(self):
        os.makedirs(os.path.join(self.shim, "server"), exist_ok=True)
        os.makedirs(os.path.join(self.shim, "tools"), exist_ok=True)
        os.makedirs(os.path.join(self.shim, "clock"), exist_ok=True)
        for i in range(self.n):
            with open(self.clock_file(i), "w") as f:
                f.write("+0\n")
        ctl = os.path.join(self.shim, "tools", "recallctl")
        if not os.path.exists(ctl):
            os.symlink(self.env.recallctl, ctl)
        gids = " ".join(str(g) for g in self.gids)
        preload = ""
        if self.env.asan_lib:
            preload = ("ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 ")
        if self.env.faketime:
            # CLOCK_REALTIME only: timers run on CLOCK_MONOTONIC, which a
            # real clock step does not move either
            preload += ("LD_PRELOAD=%s FAKETIME_TIMESTAMP_FILE=%s/clock/r$i "
                       "FAKETIME_CACHE_DURATION=1 FAKETIME_DONT_FAKE_MONOTONIC=1 NO_FAKE_STAT=1"
                       % (self.env.faketime, self.shim))
        script = """#!/bin/sh
# recalld as replica I of a fault-test cluster (tests/jepsen/jepsen.py):
# its own group id (iptables marks its connections), libfaketime for clock
# jumps, a small log so that the tmpfs data_dir suffices.
conf=""; prev=""
for a in "$@"; do [ "$prev" = "-c" ] && conf=$a; prev=$a; done
i=$(basename "$(dirname "$conf")"); i=${i#r}
set -- "$@" --set log_segment_size=4M --set "log_retain=30000 entries"
gids="%s"
gid=$(echo $gids | cut -d' ' -f$((i + 1)))
exec %s --regid "$gid" --clear-groups -- env %s %s "$@"
""" % (gids, self.env.setpriv, preload, self.env.recalld)
        path = os.path.join(self.shim, "server", "recalld")
        with open(path, "w") as f:
            f.write(script)
        os.chmod(path, 0o755)

    def clock_file(self, i):
        return os.path.join(self.shim, "clock", "r%d" % i)

    def ipt(self, *args, check=True):
        return sh([self.env.iptables, "-w"] + list(args), check=check)

    def iptables_setup(self):
        self.iptables_teardown()
        self.ipt("-N", self.chain)
        self.ipt("-N", self.pchain)
        for gid, mark in list(zip(self.gids, self.marks)) + [(self.client_gid, self.client_mark)]:
            self.ipt("-A", self.chain, "-m", "conntrack", "--ctstate", "NEW", "-m", "owner",
                     "--gid-owner", str(gid), "-j", "CONNMARK", "--set-mark", str(mark))
        self.ipt("-A", self.chain, "-j", self.pchain)
        self.ipt("-I", "OUTPUT", "-o", "lo", "-p", "tcp", "-j", self.chain)
        self.iptables_ready = True

    def iptables_teardown(self):
        if not self.env.iptables:
            return
        while self.ipt("-D", "OUTPUT", "-o", "lo", "-p", "tcp", "-j", self.chain,
                       check=False).returncode == 0:
            pass
        for c in (self.chain, self.pchain):
            self.ipt("-F", c, check=False)
        for c in (self.chain, self.pchain):
            self.ipt("-X", c, check=False)
        self.iptables_ready = False

    def data_dir(self, i):
        return os.path.join(self.dir, "r%d" % i, "data")

    def mount_tmpfs(self):
        for i in range(self.n):
            d = self.data_dir(i)
            os.makedirs(d, exist_ok=True)
            sh(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0755" % TMPFS_MB, "tmpfs", d])
            self.mounts.append(d)

    def umount_tmpfs(self):
        for d in self.mounts:
            for _ in range(50):
                if sh(["umount", d], check=False).returncode == 0:
                    break
                time.sleep(0.1)
            else:
                sh(["umount", "-l", d], check=False)
        self.mounts = []

    def cluster_cmd(self, *args, timeout=240, extra=None):
        env = {"RECALL_BUILD": self.shim}
        if extra is not None:
            env["RECALLD_EXTRA"] = extra
        return sh([self.env.cluster] + list(args) + ["--dir", self.dir], env=env,
                  timeout=timeout, check=False)

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.write_shim()
        self.iptables_setup()
        self.mount_tmpfs()
        self.started = True
        r = sh([self.env.cluster, "start", "--backend", self.backend, "--dir", self.dir,
                "--port", str(self.port)], env={"RECALL_BUILD": self.shim, "RECALLD_EXTRA": ""},
               timeout=300, check=False)
        if r.returncode != 0:
            raise Fatal("the cluster did not start:\n" + r.stdout[-3000:])
        self.conn = [l for l in r.stdout.splitlines() if l.startswith("replicas=")][-1]

    def stop(self):
        for i in list(self.paused):
            self.resume(i)
        if self.started:
            self.cluster_cmd("stop", timeout=300)
            # recalld processes that scripts/cluster no longer knows
            for i in range(self.n):
                pid = self.pid(i)
                if pid:
                    os.kill(pid, signal.SIGKILL)
        self.umount_tmpfs()
        self.iptables_teardown()
        self.started = False

    def keep_into(self, dest):
        """Move the stopped cluster's directory (logs, SQLite files, configs;
        not the MariaDB datadirs) to dest, and remove the work directory."""
        for i in range(self.n):
            shutil.rmtree(os.path.join(self.dir, "r%d" % i, "mysql", "data"), ignore_errors=True)
        if os.path.isdir(self.dir):
            shutil.move(self.dir, dest)
        shutil.rmtree(self.work, ignore_errors=True)

    def keep_logs_into(self, dest_dir):
        """Move the replicas' logs to dest_dir/recalld-rI.log and remove the
        work directory."""
        for i in range(self.n):
            log = self.log_path(i)
            if os.path.exists(log):
                shutil.move(log, os.path.join(dest_dir, "recalld-r%d.log" % i))
        shutil.rmtree(self.work, ignore_errors=True)

    # -- processes --
    def pid(self, i):
        try:
            pid = int(open(os.path.join(self.dir, "r%d" % i, "recalld.pid")).read().strip())
            cmd = open("/proc/%d/cmdline" % pid, "rb").read().decode(errors="replace")
        except (OSError, ValueError):
            return None
        conf = os.path.join(self.dir, "r%d" % i, "recalld.conf")
        return pid if conf in cmd else None

    def alive(self, i):
        return self.pid(i) is not None

    def kill(self, i):
        pid = self.pid(i)
        if not pid:
            return
        os.kill(pid, signal.SIGKILL)
        self.paused.discard(i)
        deadline = time.time() + 10
        while self.pid(i) == pid and time.time() < deadline:
            time.sleep(0.02)

    def terminate(self, i):
        pid = self.pid(i)
        if not pid:
            return
        if i in self.paused:
            self.resume(i)
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 15
        while self.pid(i) == pid and time.time() < deadline:
            time.sleep(0.05)
        if self.pid(i) == pid:
            os.kill(pid, signal.SIGKILL)
            while self.pid(i) == pid:
                time.sleep(0.02)

    def restart(self, i, extra=""):
        r = self.cluster_cmd("restart", str(i), extra=extra, timeout=60)
        if r.returncode != 0:
            raise Fatal("restart of replica %d failed: %s" % (i, r.stdout[-1500:]))

    def pause(self, i):
        pid = self.pid(i)
        if pid:
            os.kill(pid, signal.SIGSTOP)
            self.paused.add(i)

    def resume(self, i):
        pid = self.pid(i)
        if pid:
            os.kill(pid, signal.SIGCONT)
        self.paused.discard(i)

    # -- network --
    def block(self, a, b):
        """Packets from replica a no longer reach replica b."""
        pa, pb = "127.0.0.%d" % (a + 1), "127.0.0.%d" % (b + 1)
        # connections a opened to b: a's packets towards b's port
        self.ipt("-A", self.pchain, "-m", "connmark", "--mark", str(self.marks[a]),
                 "-d", pb, "-p", "tcp", "--dport", str(self.port), "-j", "DROP")
        # connections b opened to a: a's replies from its port
        self.ipt("-A", self.pchain, "-m", "connmark", "--mark", str(self.marks[b]),
                 "-s", pa, "-p", "tcp", "--sport", str(self.port), "-j", "DROP")
        self.blocked.append((a, b))

    def block_clients(self, x):
        """The workload clients can no longer reach replica x (both ways)."""
        px = "127.0.0.%d" % (x + 1)
        self.ipt("-A", self.pchain, "-m", "connmark", "--mark", str(self.client_mark),
                 "-d", px, "-p", "tcp", "--dport", str(self.port), "-j", "DROP")
        self.ipt("-A", self.pchain, "-m", "connmark", "--mark", str(self.client_mark),
                 "-s", px, "-p", "tcp", "--sport", str(self.port), "-j", "DROP")
        self.blocked.append(("clients", x))

    def as_client(self, cmd):
        """cmd run under the clients' group (see block_clients)."""
        return [self.env.setpriv, "--regid", str(self.client_gid), "--clear-groups", "--"] + cmd

    def heal_network(self):
        if self.iptables_ready:
            self.ipt("-F", self.pchain)
        self.blocked = []

    # -- clocks and disks --
    def set_clock(self, i, offset):
        tmp = self.clock_file(i) + ".tmp"
        with open(tmp, "w") as f:
            f.write(offset + "\n")
        os.replace(tmp, self.clock_file(i))

    def filler(self, i):
        return os.path.join(self.data_dir(i), "jepsen-filler")

    def fill_disk(self, i):
        """Fill replica i's data_dir; returns the bytes taken."""
        st = os.statvfs(self.data_dir(i))
        free = st.f_bavail * st.f_frsize
        fd = os.open(self.filler(i), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            try:
                os.posix_fallocate(fd, 0, max(free, 1))
            except OSError:
                pass
            chunk = b"\0" * 65536
            try:                      # whatever fallocate left
                while os.write(fd, chunk) > 0:
                    pass
            except OSError:
                pass
        finally:
            os.close(fd)
        return free

    def free_disk(self, i):
        try:
            os.unlink(self.filler(i))
        except FileNotFoundError:
            pass

    # -- status --
    def status(self):
        r = sh([self.env.recallctl, "-r", self.replica_list(), "-t", "700", "status", "--json"],
               check=False, timeout=30)
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return None

    def primary(self):
        st = self.status()
        return st.get("primary", -1) if st else -1

    @staticmethod
    def healthy(st, n, quiet):
        """Every replica up and normal in one view with a primary; when quiet
        (no client is writing), also the same log end, commit and applied
        op everywhere."""
        if not st or st.get("primary", -1) < 0:
            return False
        m = st.get("members", [])
        if len(m) != n or not all(x.get("up") and x.get("status") == "normal" for x in m):
            return False
        if len({x.get("view") for x in m}) != 1:
            return False
        if not quiet:
            return True
        ops = {(x.get("op"), x.get("commit"), x.get("applied")) for x in m}
        return len(ops) == 1 and len(set(next(iter(ops)))) == 1

    def wait_healthy(self, timeout, quiet=False):
        t0 = time.time()
        st = None
        while time.time() - t0 < timeout:
            st = self.status()
            if self.healthy(st, self.n, quiet):
                return True, time.time() - t0, st
            time.sleep(0.1)
        return False, time.time() - t0, st

    def db_dir(self, i):
        return os.path.join(self.dir, "r%d" % i, "mysql")

    def kill_db(self, i):
        """kill -9 of replica i's MariaDB server (recalld keeps running)."""
        try:
            pid = int(open(os.path.join(self.db_dir(i), "mariadbd.pid")).read().strip())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.time() + 10
        while time.time() < deadline and os.path.exists("/proc/%d" % pid):
            time.sleep(0.02)

    def start_db(self, i):
        port = open(os.path.join(self.db_dir(i), "port")).read().strip()
        r = sh([self.env.mariadb_sh, "start", self.db_dir(i), port], check=False, timeout=120)
        if r.returncode != 0:
            raise Fatal("MariaDB of replica %d did not restart: %s" % (i, r.stdout[-1500:]))

    def wait_quorum(self, timeout):
        """Wait until a primary is in normal status with a majority normal."""
        t0 = time.time()
        while time.time() - t0 < timeout:
            st = self.status()
            if st and st.get("primary", -1) >= 0:
                normal = [m for m in st.get("members", []) if m.get("status") == "normal"]
                if len(normal) > self.n // 2:
                    return True
            time.sleep(0.1)
        return False

    def log_path(self, i):
        return os.path.join(self.dir, "r%d" % i, "recalld.log")

    def log_size(self, i):
        try:
            return os.path.getsize(self.log_path(i))
        except OSError:
            return 0

    def log_since(self, i, offset):
        try:
            with open(self.log_path(i), "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    # -- the replicas' own data --
    def table_rows(self, i, table, order):
        """Rows of a table read directly from replica i's database, sorted."""
        if self.backend == "sqlite":
            import sqlite3
            db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.dir, "r%d" % i,
                                                                  "db.sqlite"), uri=True,
                                 timeout=10)
            try:
                rows = db.execute("SELECT * FROM %s ORDER BY %s" % (table, order)).fetchall()
            finally:
                db.close()
            return [tuple(str(c) for c in r) for r in rows]
        r = sh([self.env.mariadb_sh, "sql", os.path.join(self.dir, "r%d" % i, "mysql"),
                "SELECT * FROM app.%s ORDER BY %s" % (table, order)], check=True, timeout=60)
        return [tuple(l.split("\t")) for l in r.stdout.splitlines() if l]


# ---------------------------------------------------------------- the nemesis

class Nemesis:
    """Injects faults of one class (or of every class, "mixed") at random.
    Each start returns an undo closure; heal() undoes everything."""

    def __init__(self, cluster, rng, log):
        self.c, self.rng, self.log = cluster, rng, log
        self.active = []          # (kind, description, undo)
        self.counts = {}
        self.rolling_checks = []  # (replica, its log size when it came back)
        self.failed_restarts = [] # (replica, why)
        self.dbkill_windows = []  # (replica, was primary, killed at, restarted at)

    def restart(self, i, extra=""):
        """Start replica i again; a replica that will not start is recorded
        (it is a finding, not a harness error) and left down."""
        why = ""
        for attempt in range(2):
            try:
                self.c.restart(i, extra=extra)
                return True
            except Fatal as e:
                why = str(e)
                time.sleep(1)
        tail = [l for l in self.c.log_since(i, max(0, self.c.log_size(i) - 4000)).splitlines()
                if "ERROR" in l or "FATAL" in l]
        why = (tail[-1] if tail else why.splitlines()[0])[:300]
        self.note("found", "restart-failed", "r%d does not start again: %s" % (i, why))
        self.failed_restarts.append((i, why))
        return False

    def note(self, event, kind, what):
        self.log.append({"time": now_ns(), "event": event, "class": kind, "what": what})
        say("nemesis %s %s: %s" % (event, kind, what))

    def count(self, key):
        self.counts[key] = self.counts.get(key, 0) + 1

    def pick_primary_or(self, prefer=0.6):
        p = self.c.primary()
        if p >= 0 and self.rng.random() < prefer:
            return p, "the primary"
        i = self.rng.randrange(self.c.n)
        return i, ("the primary" if i == p else "backup" if p >= 0 else "a replica")

    def start(self, kind):
        f = getattr(self, "start_" + kind)
        what, undo = f()
        self.active.append((kind, what, undo))
        self.note("start", kind, what)

    def stop_one(self):
        # restarts come last: a replica restarted onto a full disk or into
        # a partition would be a different fault
        order = sorted(range(len(self.active)),
                       key=lambda k: self.active[k][0] in ("kill", "slowdisk"))
        kind, what, undo = self.active.pop(order[0])
        undo()
        self.note("stop", kind, what)

    def heal(self):
        """Undo every fault; returns the replicas found not running that no
        fault had stopped (they exited on their own: see their logs)."""
        while self.active:
            self.stop_one()
        # and whatever is left over, whatever happened
        self.c.heal_network()
        crashed = []
        for i in range(self.c.n):
            self.c.resume(i)
            self.c.set_clock(i, "+0")
            self.c.free_disk(i)
            if not self.c.alive(i):
                crashed.append(i)
                self.note("found", "exit", "r%d was not running: it exited on its own" % i)
                self.restart(i)
        return crashed

    # -- classes --
    def start_kill(self):
        f = (self.c.n - 1) // 2
        p = self.c.primary()
        mode = self.rng.choice(["primary", "primary", "backup", "minority", "all"])
        if mode == "primary" and p >= 0:
            targets = [p]
        elif mode == "backup" and p >= 0:
            targets = [self.rng.choice([i for i in range(self.c.n) if i != p])]
        elif mode == "all":
            targets = list(range(self.c.n))
        else:
            mode = "minority"
            targets = self.rng.sample(range(self.c.n), f)
        for i in targets:
            self.c.kill(i)
        self.count("kill-" + mode)

        def undo():
            for i in targets:
                self.restart(i)
        return "kill -9 of %s (r%s)" % (mode, ",r".join(map(str, targets))), undo

    def start_pause(self):
        f = (self.c.n - 1) // 2
        p = self.c.primary()
        mode = self.rng.choice(["primary", "primary", "backup", "minority"])
        if mode == "primary" and p >= 0:
            targets = [p]
        elif mode == "backup" and p >= 0:
            targets = [self.rng.choice([i for i in range(self.c.n) if i != p])]
        else:
            mode = "minority"
            targets = self.rng.sample(range(self.c.n), f)
        for i in targets:
            self.c.pause(i)
        self.count("pause-" + mode)

        def undo():
            for i in targets:
                self.c.resume(i)
        return "SIGSTOP of %s (r%s)" % (mode, ",r".join(map(str, targets))), undo

    def start_partition(self):
        n = self.c.n
        p = self.c.primary()
        mode = self.rng.choice(["majority-minority", "isolate-primary", "one-way", "bridge",
                                "clients-cut"])
        if mode == "isolate-primary" and p < 0:
            mode = "majority-minority"
        if mode == "majority-minority" or mode == "isolate-primary":
            if mode == "isolate-primary":
                minority = [p]
            else:
                minority = self.rng.sample(range(n), self.rng.randint(1, (n - 1) // 2))
            majority = [i for i in range(n) if i not in minority]
            for a in minority:
                for b in majority:
                    self.c.block(a, b)
                    self.c.block(b, a)
            what = "%s: {%s} | {%s}" % (mode, ",".join(map(str, minority)),
                                        ",".join(map(str, majority)))
        elif mode == "clients-cut":
            x = p if p >= 0 and self.rng.random() < 0.5 else self.rng.randrange(n)
            self.c.block_clients(x)
            what = "clients-cut: the clients cannot reach r%d%s" % (x, " (the primary)"
                                                                    if x == p else "")
        elif mode == "one-way":
            # one replica stops hearing the others, or the others stop
            # hearing it (it still hears them)
            x = p if p >= 0 and self.rng.random() < 0.6 else self.rng.randrange(n)
            others = [i for i in range(n) if i != x]
            if self.rng.random() < 0.5:
                for b in others:
                    self.c.block(x, b)
                what = "one-way: r%d's messages are lost, it hears the others" % x
            else:
                for a in others:
                    self.c.block(a, x)
                what = "one-way: r%d hears nobody, its messages arrive" % x
        else:
            order = list(range(n))
            self.rng.shuffle(order)
            mid = order[n // 2]
            left, right = order[:n // 2], order[n // 2 + 1:]
            for a in left:
                for b in right:
                    self.c.block(a, b)
                    self.c.block(b, a)
            what = "bridge: {%s} - r%d - {%s}" % (",".join(map(str, left)), mid,
                                                  ",".join(map(str, right)))
        self.count("partition-" + mode)
        return what, self.c.heal_network

    def start_clientcut(self):
        """The clients lose a backup (a minority): everything must stay
        available, since a majority including the primary still answers."""
        p = self.c.primary()
        x = self.rng.choice([i for i in range(self.c.n) if i != p])
        self.c.block_clients(x)
        self.count("clientcut")
        return "the clients cannot reach backup r%d (replicas still can)" % x, \
            self.c.heal_network

    def start_rolling(self):
        """A backup goes down (kill -9); while it is down the other replicas
        are restarted one at a time (clean stop, start, wait until the
        cluster is whole again without the dead one): a rolling restart.
        The backup then comes back: a replica down for seconds must catch
        up from the others' logs (DESIGN: log retention), not need a state
        transfer."""
        p = self.c.primary()
        b = self.rng.choice([i for i in range(self.c.n) if i != p])
        self.c.kill(b)
        time.sleep(self.rng.uniform(1.0, 2.0))
        order = [i for i in range(self.c.n) if i != b]
        self.rng.shuffle(order)
        for i in order:
            self.c.terminate(i)
            self.restart(i)
            self.c.wait_quorum(30)
        self.count("rolling")
        self.rolling_backup = b
        mark = self.c.log_size(b)

        def undo():
            self.restart(b)
            self.rolling_checks.append((b, mark))
        return "r%d down (kill -9) during a rolling restart of r%s" % (
            b, ",r".join(map(str, order))), undo

    def start_dbkill(self):
        """kill -9 of a replica's MariaDB server, usually the primary's; the
        recalld stays up.  A primary that cannot apply must step down
        (DESIGN 3.3): writes must resume through another replica."""
        i, who = self.pick_primary_or(0.8)
        self.c.kill_db(i)
        self.count("dbkill")
        t = now_ns()

        def undo():
            self.c.start_db(i)
            self.dbkill_windows.append((i, who == "the primary", t, now_ns()))
        return "MariaDB server of r%d (%s) killed (kill -9)" % (i, who), undo

    def start_clock(self):
        i, who = self.pick_primary_or(0.7)
        offset = self.rng.choice(["+1h", "+1d", "+2d", "-1h", "-1d", "-2d",
                                  "%+d" % self.rng.randint(-400000, 400000)])
        self.c.set_clock(i, offset)
        self.count("clock")
        return ("CLOCK_REALTIME of r%d (%s) jumps by %s" % (i, who, offset),
                lambda: self.c.set_clock(i, "+0"))

    def start_slowdisk(self):
        i, who = self.pick_primary_or(0.6)
        delay = self.rng.choice([10000, 30000, 80000, 200000])
        self.c.terminate(i)
        self.restart(i, extra="--test-fsync-delay-us %d" % delay)
        self.count("slowdisk")

        def undo():
            self.c.terminate(i)
            self.restart(i)
        return "r%d (%s) restarted with every log fsync delayed %d ms" % (i, who, delay // 1000), \
            undo

    def start_diskfull(self):
        i, who = self.pick_primary_or(0.6)
        free = self.c.fill_disk(i)
        self.count("diskfull")

        def undo():
            # space is back; a replica that stopped on the full disk is
            # started again, as a supervisor would
            self.c.free_disk(i)
            if not self.c.alive(i):
                self.note("found", "exit", "r%d stopped on the full disk: restarted" % i)
                self.count("diskfull-stopped-replica")
                self.restart(i)
        return "data_dir of r%d (%s) full (%d MiB filled)" % (i, who, free >> 20), undo


# ---------------------------------------------------------------- phases

class Phase:
    def __init__(self, idx, kind, seconds, seed, run_dir):
        self.idx, self.kind, self.seconds, self.seed = idx, kind, seconds, seed
        self.name = "phase-%02d-%s" % (idx, kind)
        self.dir = os.path.join(run_dir, self.name)
        self.prefix = "p%d_" % idx
        self.results = {}         # workload -> dict from the RESULT line
        self.checks = []          # (ok, description, detail)
        self.faults = []
        self.fault_counts = {}
        self.recovery_s = None
        self.procs = []
        self.crashed = []
        self.clock_skew = None    # (earliest row time - start, latest - end), seconds
        self.recovered = True
        self.transfers = 0


def parse_result(line):
    out = {}
    body = line[len("RESULT "):]
    verdict = ""
    if ' verdict="' in body:
        body, verdict = body.split(' verdict="', 1)
        verdict = verdict.rstrip().rstrip('"')
    for tok in body.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    out["verdict"] = verdict
    return out


def slow_operations(phase_dir, bound_s):
    """Operations of a phase that took longer than bound_s or timed out."""
    out = []
    for name in sorted(os.listdir(phase_dir)):
        if not name.endswith(".jsonl") or name == "faults.jsonl":
            continue
        inflight = {}
        for line in open(os.path.join(phase_dir, name)):
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("type") == "invoke":
                inflight[ev.get("process")] = ev
                continue
            inv = inflight.pop(ev.get("process"), None)
            if not inv:
                continue
            took = (ev["time"] - inv["time"]) / 1e9
            err = ev.get("error") or ""
            if took > bound_s or "HYT00" in err:
                out.append("%s: %s %s after %.1f s %s" % (name, inv.get("f"), ev.get("type"),
                                                           took, err[:120]))
    return out


def ok_writes_between(phase_dir, t0, t1):
    """Acknowledged writes (of any workload) that completed in [t0, t1]."""
    n = 0
    for name in os.listdir(phase_dir):
        if not name.endswith(".jsonl") or name == "faults.jsonl":
            continue
        inflight = {}
        for line in open(os.path.join(phase_dir, name)):
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("type") == "invoke":
                inflight[ev.get("process")] = ev
                continue
            inv = inflight.pop(ev.get("process"), None)
            if not inv or ev.get("type") != "ok" or not t0 <= ev.get("time", 0) <= t1:
                continue
            f, v = inv.get("f"), inv.get("value")
            if f in ("write", "insert", "transfer") or (
                    f == "txn" and any(m[0] == "append" for m in v or [])):
                n += 1
    return n


def run_phase(env, cluster, ph, rng, use_odbc, tap):
    os.makedirs(ph.dir, exist_ok=True)
    say("%s: %d s of all workloads under the %s nemesis (seed %d)" %
        (ph.name, ph.seconds, ph.kind, ph.seed))
    conn = cluster.conn
    # RECALL_JEPSEN_TRACE=1: the librecall clients trace every message into
    # the phase's clients.log (large; for chasing a slow operation)
    client_env = {"RECALL_TRACE": os.environ.get("RECALL_JEPSEN_TRACE", "")}
    r = None
    for attempt in range(20):
        r = sh([env.client, "setup", "--conn", conn, "--prefix", ph.prefix,
                "--accounts", str(ACCOUNTS), "--balance", str(BALANCE)], check=False,
               timeout=120, env=client_env)
        if r.returncode == 0:
            break
        time.sleep(1)
    if r.returncode != 0:
        raise Fatal("setup of %s failed: %s" % (ph.name, r.stdout[-1500:]))

    t0 = now_ns()
    ph.wall = [time.time(), None]
    log_marks = [cluster.log_size(i) for i in range(cluster.n)]
    procs = ph.procs
    out = open(os.path.join(ph.dir, "clients.log"), "w")
    procs.append(subprocess.Popen(cluster.as_client(
        [env.client, "run", "--conn", conn, "--prefix", ph.prefix, "--out", ph.dir,
         "--seconds", str(ph.seconds), "--seed", str(ph.seed), "--t0", str(t0),
         "--threads", "3", "--rate", "40", "--accounts", str(ACCOUNTS)]),
        stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, **client_env)))
    if use_odbc:
        procs.append(subprocess.Popen(cluster.as_client(
            [env.odbc_python, os.path.join(HERE, "jepsen_odbc.py"), "--driver", env.odbc_module,
             "--replicas", cluster.replica_list(), "--prefix", ph.prefix, "--out", ph.dir,
             "--seconds", str(ph.seconds), "--seed", str(ph.seed), "--t0", str(t0),
             "--accounts", str(ACCOUNTS)]), stdout=out, stderr=subprocess.STDOUT,
            env=env.odbc_env()))

    # the nemesis: faults one after the other until the end of the phase
    nem = Nemesis(cluster, rng, ph.faults)
    end = t0 + ph.seconds * 10**9
    kinds = [k for k in CLASSES if cluster.backend == "mariadb" or k not in MARIADB_ONLY] \
        if ph.kind == "mixed" else [ph.kind]
    time.sleep(rng.uniform(0.5, 1.5))
    while now_ns() < end - 2 * 10**9:
        kind = rng.choice(kinds)
        if kind == "clock" and not env.faketime:
            kind = "kill"
        nem.start(kind)
        if ph.kind == "mixed" and rng.random() < 0.3 and now_ns() < end - 4 * 10**9:
            time.sleep(rng.uniform(0.3, 1.5))
            nem.start(rng.choice([k for k in kinds if k not in ("slowdisk", "rolling", "dbkill") and
                                  (k != "clock" or env.faketime)]))
        # a client cut lasts past the request timeout (5 s): every read
        # the clients send to that replica meanwhile shows whether they wait
        hold = rng.uniform(6.0, 7.0) if kind == "clientcut" else \
            rng.uniform(12.0, 14.0) if kind == "dbkill" else \
            rng.uniform(0.5, 1.0) if kind == "rolling" else rng.uniform(1.0, 4.0)
        time.sleep(max(0, min(hold, (end - now_ns()) / 1e9 - 0.5)))
        while nem.active:
            nem.stop_one()
        if now_ns() < end - 2 * 10**9:
            time.sleep(rng.uniform(0.5, 2.0))
    crashed = nem.heal()
    ph.fault_counts = nem.counts
    t_heal = now_ns()
    ok, secs, st = cluster.wait_healthy(120)
    ph.recovery_s = secs
    ph.recovered = ok
    ph.checks.append((ok, "%s: cluster recovered (all replicas up and normal in one view) "
                      "%.1f s after the heal" % (ph.name, secs),
                      json.dumps(st)[:1500] if not ok else ""))
    ph.crashed = crashed

    hung = False
    for p in procs:
        try:
            p.wait(timeout=max(5, (end - now_ns()) / 1e9) + 60)
        except subprocess.TimeoutExpired:
            hung = True
            p.kill()
            p.wait()
    out.close()
    t_end = now_ns()
    ph.checks.append((not hung, "%s: clients finished within 60 s of the end" % ph.name,
                      "see %s/clients.log" % ph.dir))
    ok, secs, st = cluster.wait_healthy(120, quiet=True)
    ph.recovered = ph.recovered and ok
    ph.checks.append((ok, "%s: with the clients stopped, every replica applied the same log "
                      "(%.1f s)" % (ph.name, secs), json.dumps(st)[:1500] if not ok else ""))
    # final reads, even when recovery failed (they retry)
    fr = sh([env.client, "final", "--conn", conn, "--prefix", ph.prefix, "--out", ph.dir,
             "--seconds", "60"], check=False, timeout=200, env=client_env)
    with open(os.path.join(ph.dir, "final.log"), "w") as f:
        f.write(fr.stdout)
    ph.checks.append((fr.returncode == 0, "%s: final reads succeeded" % ph.name, fr.stdout[-800:]))

    with open(os.path.join(ph.dir, "faults.jsonl"), "w") as f:
        for ev in ph.faults:
            f.write(json.dumps(ev) + "\n")

    # the checkers
    for w in WORKLOADS:
        files = sorted(os.path.join(ph.dir, x) for x in os.listdir(ph.dir)
                       if x.startswith(w + "-") and x.endswith(".jsonl"))
        cmd = [env.checker, "--workload", w, "--window", str(t0), str(t_heal)]
        if w == "bank":
            cmd += ["--accounts", str(ACCOUNTS), "--total", str(ACCOUNTS * BALANCE)]
        r = sh(cmd + ["--report", os.path.join(ph.dir, w + ".report")] + files, check=False,
               timeout=600)
        line = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
        res = parse_result(line[-1]) if line else {"valid": "no", "verdict": r.stdout[-300:]}
        res["files"] = files
        ph.results[w] = res

    if ph.kind == "clientcut":
        slow = slow_operations(ph.dir, AVAIL_BOUND_S)
        ph.checks.append((not slow, "%s: every operation completed within %.0f s while the "
                          "clients could not reach one backup" % (ph.name, AVAIL_BOUND_S),
                          "\n".join(slow[:20])))

    ph.wall[1] = time.time()
    # state transfers the phase caused (recalld logs them loudly)
    ph.transfers = sum(cluster.log_since(i, log_marks[i]).count("STATE TRANSFER:")
                       for i in range(cluster.n))
    for i, why in nem.failed_restarts:
        ph.checks.append((False, "%s: r%d started again after the fault" % (ph.name, i), why))
    for i, was_primary, t_kill, t_back in nem.dbkill_windows:
        if not was_primary or t_back - t_kill < 12 * 10**9:
            continue
        writes = ok_writes_between(ph.dir, t_kill + 10 * 10**9, t_back)
        ph.checks.append((writes > 0, "%s: writes resumed within 10 s of the primary's database "
                          "(r%d) dying (%d acknowledged before it came back)" %
                          (ph.name, i, writes), "no write was acknowledged between 10 s after "
                          "the kill and the restart of the database"))
    for b, mark in nem.rolling_checks:
        text = cluster.log_since(b, mark)
        needed = "STATE TRANSFER:" in text
        ph.checks.append((not needed, "%s: r%d, down during a rolling restart of the others, "
                          "caught up from their logs (no state transfer)" % (ph.name, b),
                          "\n".join(l for l in text.splitlines()
                                     if "TRANSFER" in l or "gone" in l)[:1500]))
    # what the statement clock did: the unique workload stores the
    # database's idea of "now" with every row
    try:
        ats = [int(r[1]) for r in cluster.table_rows(0, ph.prefix + "uniq", "v")]
        if ats:
            ph.clock_skew = (min(ats) - ph.wall[0], max(ats) - ph.wall[1])
    except Exception:  # noqa: BLE001 - informational only
        pass

    # the replicas' own databases agree
    if ok:
        diffs = []
        for table, order in (("reg", "k"), ("bank", "id"), ("lists", "k"), ("uniq", "v")):
            t = ph.prefix + table
            try:
                rows = [cluster.table_rows(i, t, order) for i in range(cluster.n)]
            except Exception as e:  # noqa: BLE001 - any failure to read is reported
                diffs.append("%s: cannot read: %s" % (t, e))
                continue
            for i in range(1, cluster.n):
                if rows[i] != rows[0]:
                    diffs.append("%s: replica %d differs from replica 0 (%d vs %d rows)" %
                                 (t, i, len(rows[i]), len(rows[0])))
        ph.checks.append((not diffs, "%s: the replicas' databases hold identical tables" %
                          ph.name, "; ".join(diffs)))
    return t0, t_end


# ---------------------------------------------------------------- a run

class Run:
    def __init__(self, env, backend, seed, run_dir, classes, seconds, use_odbc, tap, minutes=None):
        self.env, self.backend, self.seed, self.dir = env, backend, seed, run_dir
        self.classes, self.seconds, self.use_odbc, self.tap = classes, seconds, use_odbc, tap
        self.minutes = minutes
        self.phases = []
        self.ntap = 0
        self.failed = []
        self.replaced = 0
        self.cluster = None
        self.started = time.time()
        self.error = None

    def tap_line(self, ok, desc, detail=""):
        self.ntap += 1
        if self.tap:
            print("%s %d - %s" % ("ok" if ok else "not ok", self.ntap, desc), flush=True)
        if not ok:
            self.failed.append(desc)
            say("FAILED: %s" % desc)
            for l in (detail or "").splitlines()[:30]:
                say("  " + l)

    def report_phase(self, ph):
        for check in ph.checks:
            self.tap_line(*check)
        for w in WORKLOADS:
            r = ph.results.get(w, {})
            ok = r.get("valid") == "yes"
            desc = "%s: %s: ok %s, fail %s, info %s, anomalies %s: %s" % (
                ph.name, w, r.get("ok", "?"), r.get("fail", "?"), r.get("info", "?"),
                r.get("anomalies", "?"), r.get("verdict", ""))
            detail = ""
            if not ok:
                rep = os.path.join(ph.dir, w + ".report")
                detail = "seed %d; history %s; report %s\n" % (
                    self.seed, " ".join(r.get("files", [])), rep)
                try:
                    detail += open(rep).read()[:3000]
                except OSError:
                    pass
            self.tap_line(ok, desc, detail)

    def execute(self):
        rng = random.Random(self.seed)
        lock = PortLock(rng)
        cluster = Cluster(self.env, self.backend, self.dir, lock.port)
        old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}

        def on_signal(sig, frame):
            raise KeyboardInterrupt("signal %d" % sig)
        for s in old:
            signal.signal(s, on_signal)
        try:
            say("seed %d, backend %s, port %d, run directory %s" %
                (self.seed, self.backend, lock.port, self.dir))
            t = time.time()
            cluster.start()
            say("cluster up in %.1f s: %s" % (time.time() - t, cluster.conn))
            generation = 1
            idx = 0
            deadline = self.started + self.minutes * 60 if self.minutes else None
            kinds = list(self.classes)
            while True:
                if deadline is None and idx >= len(kinds):
                    break
                if deadline is not None and time.time() + self.seconds + 30 > deadline and idx:
                    break
                kind = kinds[idx % len(kinds)]
                idx += 1
                seconds = max(self.seconds, 20) if kind == "dbkill" else self.seconds
                ph = Phase(idx, kind, seconds, rng.randrange(1 << 40), self.dir)
                self.phases.append(ph)
                run_phase(self.env, cluster, ph, random.Random(ph.seed), self.use_odbc,
                          self.tap)
                self.report_phase(ph)
                if not ph.recovered and (deadline is not None or idx < len(kinds)):
                    # the cluster is stuck: keep its logs with the phase, and go
                    # on with a fresh cluster so the remaining phases still run
                    say("%s: the cluster did not recover; starting a new one" % ph.name)
                    cluster.stop()
                    cluster.keep_into(os.path.join(ph.dir, "cluster"))
                    generation += 1
                    self.replaced += 1
                    cluster = Cluster(self.env, self.backend, self.dir, lock.port)
                    cluster.start()
                    say("cluster %d up: %s" % (generation, cluster.conn))
                self.write_summary()
        except Fatal as e:
            self.error = str(e)
            self.tap_line(False, "the fault test ran to the end", str(e))
        except KeyboardInterrupt as e:
            self.error = "interrupted (%s)" % e
            self.tap_line(False, "the fault test ran to the end", self.error)
        except Exception:  # noqa: BLE001 - a bug of the harness: report, clean up
            import traceback
            self.error = "harness error: " + traceback.format_exc()
            self.tap_line(False, "the fault test ran to the end", self.error)
        finally:
            for ph in self.phases:
                for pr in ph.procs:
                    if pr.poll() is None:
                        pr.kill()
                        pr.wait()
            try:
                cluster.stop()
            finally:
                self.cluster = cluster
                lock.release()
                for s, h in old.items():
                    signal.signal(s, h)
        self.write_summary()
        return not self.failed

    # -- summary --
    def totals(self):
        t = {"ok": 0, "fail": 0, "info": 0, "anomalies": 0}
        for ph in self.phases:
            for r in ph.results.values():
                for k in t:
                    try:
                        t[k] += int(r.get(k, 0))
                    except ValueError:
                        pass
        return t

    def write_summary(self):
        lines = []
        t = self.totals()
        elapsed = time.time() - self.started
        faults = {}
        for ph in self.phases:
            for k, v in ph.fault_counts.items():
                faults[k] = faults.get(k, 0) + v
        nfaults = sum(faults.values())
        longest = 0
        for ph in self.phases:
            for r in ph.results.values():
                try:
                    longest = max(longest, int(r.get("longest_unavailable_ms", 0)))
                except ValueError:
                    pass
        lines.append("Recall fault test: backend %s, seed %d, %d phases, %.0f s (%s)" % (
            self.backend, self.seed, len(self.phases), elapsed,
            datetime.datetime.now().strftime("%Y-%m-%d %H:%M")))
        lines.append("result: %s" % ("PASS" if not self.failed else "FAIL (%d checks)" %
                                     len(self.failed)))
        if self.error:
            lines.append("error: " + self.error)
        lines.append("replay: tests/jepsen/run --backend %s --seed %d --classes %s --seconds %d" %
                     (self.backend, self.seed, ",".join(self.classes), self.seconds))
        lines.append("clients: librecall (jepsen-client)%s" %
                     (" and ODBC (pyodbc)" if self.use_odbc else "; ODBC not available"))
        lines.append("operations: %d ok, %d failed, %d unknown (info); anomalies: %d" % (
            t["ok"], t["fail"], t["info"], t["anomalies"]))
        lines.append("faults injected: %d (%s)" % (
            nfaults, ", ".join("%s %d" % kv for kv in sorted(faults.items())) or "none"))
        lines.append("longest unavailability of one workload (no ok operation): %.1f s" %
                     (longest / 1000))
        transfers = sum(ph.transfers for ph in self.phases)
        if transfers:
            lines.append("state transfers (a replica copied a donor's database): %d" % transfers)
        if self.replaced:
            lines.append("clusters that never recovered (replaced by a new one): %d" %
                         self.replaced)
        lines.append("")
        lines.append("%-22s %-9s %6s %5s %5s %4s %8s  %s" % (
            "phase", "workload", "ok", "fail", "info", "bad", "unavail", "verdict"))
        for ph in self.phases:
            for w in WORKLOADS:
                r = ph.results.get(w)
                if not r:
                    continue
                lines.append("%-22s %-9s %6s %5s %5s %4s %7.1fs  %s" % (
                    ph.name, w, r.get("ok", "?"), r.get("fail", "?"), r.get("info", "?"),
                    r.get("anomalies", "?"),
                    int(r.get("longest_unavailable_ms", "0") or 0) / 1000.0,
                    r.get("verdict", "")[:60]))
            lines.append("%-22s faults: %s; recovered %s%s%s" % (
                "", ", ".join("%s %d" % kv for kv in sorted(ph.fault_counts.items())) or "none",
                "in %.1f s" % ph.recovery_s if ph.recovery_s is not None else "?",
                "; state transfers %d" % ph.transfers if ph.transfers else "",
                "; exited on their own: %s" % ",".join("r%d" % i for i in ph.crashed)
                if ph.crashed else ""))
            if ph.clock_skew and (abs(ph.clock_skew[0]) > 60 or abs(ph.clock_skew[1]) > 60):
                lines.append("%-22s statement clock off the real clock: first row %+.0f s, "
                             "last row %+.0f s" % ("", ph.clock_skew[0], ph.clock_skew[1]))
        if self.failed:
            lines.append("")
            lines.append("failed checks:")
            for f in self.failed[:20]:
                lines.append("  " + f)
            lines.append("histories and reports: %s/phase-*/" % self.dir)
        with open(os.path.join(self.dir, "summary.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(self.dir, "summary.json"), "w") as f:
            json.dump({"backend": self.backend, "seed": self.seed, "seconds": elapsed,
                       "phases": len(self.phases), "totals": t, "faults": faults,
                       "longest_unavailable_ms": longest, "failed": self.failed,
                       "clusters_replaced": self.replaced,
                       "error": self.error}, f, indent=1)


# ---------------------------------------------------------------- commands

def default_runs_dir(env):
    return os.path.join(env.build, "tests", "jepsen", "runs")


def main(argv=None):
    p = argparse.ArgumentParser(prog="jepsen.py", description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["check", "run", "soak"])
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "mariadb"])
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--classes", default=",".join(CLASSES),
                   help="nemesis classes, comma-separated (also: mixed)")
    p.add_argument("--seconds", type=int, default=None, help="seconds per phase")
    p.add_argument("--minutes", type=float, default=None, help="soak: total duration")
    p.add_argument("--dir", default=None, help="run directory (default: BUILD/tests/jepsen/runs/...)")
    p.add_argument("--build", default=None, help="build directory")
    p.add_argument("--no-odbc", action="store_true", help="librecall clients only")
    a = p.parse_args(argv)

    tap = a.command == "check"
    try:
        env = Env(a.build)
    except Fatal as e:
        if tap:
            print("Bail out! %s" % e)
            return 1
        sys.exit("jepsen.py: %s" % e)
    missing = env.missing()
    if missing:
        if tap:
            print("1..0 # SKIP the fault tests need %s" % ", ".join(missing))
            return 0
        sys.exit("jepsen.py: this machine lacks %s" % ", ".join(missing))
    if a.backend == "mariadb" and not (shutil.which("mariadbd") or
                                       os.path.exists("/usr/sbin/mariadbd")):
        if tap:
            print("1..0 # SKIP MariaDB server (Debian package mariadb-server) is not installed")
            return 0
        sys.exit("jepsen.py: mariadbd is not installed")
    seed = a.seed if a.seed is not None else int(os.environ.get("RECALL_JEPSEN_SEED", "0")) or \
        random.SystemRandom().randrange(1, 1 << 31)
    classes = [c for c in a.classes.split(",") if c]
    for c in classes:
        if c not in CLASSES + ["mixed"]:
            sys.exit("jepsen.py: unknown nemesis class %s" % c)
    if a.command == "soak":
        if not a.minutes:
            sys.exit("jepsen.py: soak needs --minutes")
        if a.classes == ",".join(CLASSES):
            classes = ["mixed"] + CLASSES
        seconds = a.seconds or 60
    else:
        seconds = a.seconds or (10 if a.command == "check" else 20)
    if a.backend != "mariadb":
        classes = [c for c in classes if c not in MARIADB_ONLY]
    if a.command == "check":
        # keep failed runs, replace passed ones
        base = default_runs_dir(env)
        if os.path.isdir(base):
            for d in os.listdir(base):
                if d.startswith("check-%s-" % a.backend):
                    try:
                        s = json.load(open(os.path.join(base, d, "summary.json")))
                        if not s.get("failed"):
                            shutil.rmtree(os.path.join(base, d), ignore_errors=True)
                    except (OSError, ValueError):
                        pass
    run_dir = a.dir or os.path.join(default_runs_dir(env), "%s-%s-%d" % (a.command, a.backend,
                                                                        seed))
    if os.path.exists(os.path.join(run_dir, "cluster")):
        sys.exit("jepsen.py: %s already holds a run" % run_dir)
    os.makedirs(run_dir, exist_ok=True)
    use_odbc = env.odbc_python is not None and not a.no_odbc
    if not use_odbc:
        say("ODBC clients disabled (%s)" % ("--no-odbc" if a.no_odbc else
                                           "pyodbc or libRecallODBC.so not available"))
    if not env.faketime:
        say("libfaketime (Debian package faketime) is missing: clock faults are replaced "
            "by kills")
    run = Run(env, a.backend, seed, run_dir, classes, seconds, use_odbc, tap, a.minutes)
    ok = run.execute()
    if run.cluster is not None:
        if ok:
            # a passing run keeps its histories, summary and recalld logs
            run.cluster.keep_logs_into(run_dir)
        else:
            # a failed one keeps the whole cluster directory but the
            # MariaDB datadirs
            run.cluster.keep_into(os.path.join(run_dir, "cluster"))
    summary = os.path.join(run_dir, "summary.txt")
    try:
        if tap:
            print("1..%d" % run.ntap)
            for l in open(summary).read().splitlines():
                say(l)
        else:
            print(open(summary).read(), end="")
        if not ok:
            say("FAILED: seed %d; histories in %s (summary: %s)" % (seed, run_dir, summary))
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
