#!/usr/bin/python3
"""Failover through the Recall ODBC driver (pyodbc): while one connection
runs a stream of autocommit INSERTs and another holds an open transaction,
the primary replica is killed (SIGKILL, scripts/cluster kill).  Expected:
every autocommit statement completes (librecall retries it on the new
primary, exactly once), the open transaction fails with SQLSTATE 40001, and
both connections stay usable.  Prints TAP.  Needs the environment
tests/odbc/live.sh sets (RECALL_TEST_DSN, RECALL_TEST_CLUSTER_DIR)."""

import json
import os
import subprocess
import sys
import threading
import time

import pyodbc

DSN = os.environ.get("RECALL_TEST_DSN", "recall_test")
MARIA = os.environ.get("RECALL_TEST_BACKEND") == "mariadb"
CLUSTER = os.environ["RECALL_TEST_CLUSTER_DIR"]
TOP = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
T = "fo_%d" % os.getpid()

n = 0
failed = 0


def tap(ok, name, detail=None):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", n, name))
    if detail and not ok:
        for line in str(detail).splitlines():
            print("# " + line)
    sys.stdout.flush()


def cluster(*args):
    # Output goes through a file: a replica that `restart` starts keeps the
    # caller's stderr open, so a pipe would never reach end of file.
    with open(os.path.join(CLUSTER, "failover-test.out"), "w+") as out:
        r = subprocess.run([os.path.join(TOP, "scripts", "cluster")] + list(args) + ["--dir", CLUSTER],
                           stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                           timeout=120)
        out.seek(0)
        r.stdout = r.stderr = out.read()
    return r


def status():
    r = cluster("status", "--json")
    return json.loads(r.stdout) if r.returncode == 0 else None


def wait_for(pred, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return None


def connect(autocommit):
    return pyodbc.connect("DSN=%s" % DSN, autocommit=autocommit)


def main():
    c = connect(True)
    c.execute("DROP TABLE IF EXISTS %s" % T)
    c.execute("CREATE TABLE %s (id INT PRIMARY KEY, src VARCHAR(10))%s" % (T, " ENGINE=InnoDB" if MARIA else ""))
    st = wait_for(lambda: (s := status()) and s.get("primary", -1) >= 0 and s, 30)
    tap(st is not None, "the cluster has a primary")
    if not st:
        return
    primary = st["primary"]

    # An open transaction on the primary.
    tx = connect(False)
    tx.execute("INSERT INTO %s VALUES (?, 'tx')" % T, 1000000)

    # The autocommit workload.
    done = {"ok": 0, "errors": [], "slowest": 0.0}
    stop = threading.Event()

    def workload():
        w = connect(True)
        i = 0
        while not stop.is_set():
            i += 1
            t0 = time.time()
            try:
                w.execute("INSERT INTO %s VALUES (?, 'auto')" % T, i)
                done["ok"] += 1
            except pyodbc.Error as e:
                done["errors"].append((i, e.args))
            done["slowest"] = max(done["slowest"], time.time() - t0)
        w.close()

    th = threading.Thread(target=workload)
    th.start()
    time.sleep(1.0)
    before = done["ok"]
    k = cluster("kill", str(primary))
    tap(k.returncode == 0, "killed the primary (replica %d)" % primary, k.stderr)
    # A new primary within a few view-change timeouts.
    st2 = wait_for(lambda: (s := status()) and s.get("primary", -1) not in (-1, primary) and s, 30)
    tap(st2 is not None, "a new primary is elected", status())
    # Let the workload run on the new primary for a while.
    time.sleep(2.0)
    stop.set()
    th.join(120)
    tap(not th.is_alive(), "the workload thread finished")
    tap(done["ok"] > before, "autocommit statements went on after the kill (%d before, %d in all, slowest %.1f s)"
        % (before, done["ok"], done["slowest"]))
    tap(not done["errors"], "every autocommit statement completed", done["errors"][:5])

    # The open transaction was lost with the old primary: 40001.
    state = None
    try:
        tx.execute("INSERT INTO %s VALUES (?, 'tx')" % T, 1000001)
        tx.commit()
    except pyodbc.Error as e:
        state = e.args[0]
    tap(state == "40001", "the open transaction fails with 40001", state)
    try:
        tx.rollback()
    except pyodbc.Error:
        pass
    # Both connections are still usable.
    try:
        tx.execute("INSERT INTO %s VALUES (?, 'tx2')" % T, 2000000)
        tx.commit()
        ok = True
    except pyodbc.Error as e:
        ok = e
    tap(ok is True, "the transaction's connection stays usable", ok)
    rows = c.execute("SELECT src, COUNT(*) FROM %s GROUP BY src" % T).fetchall()
    counts = {r[0]: r[1] for r in rows}
    tap(counts.get("auto") == done["ok"], "exactly the acknowledged autocommit rows exist (%s vs %d)"
        % (counts.get("auto"), done["ok"]))
    tap(counts.get("tx", 0) == 0 and counts.get("tx2") == 1, "the lost transaction left nothing behind",
        counts)

    # Bring the killed replica back for whatever runs next.
    r = cluster("restart", str(primary))
    back = wait_for(lambda: (s := status()) and s.get("up") == s.get("replicas") and s, 60)
    tap(r.returncode == 0 and back is not None, "the killed replica rejoins", r.stderr)
    c.execute("DROP TABLE %s" % T)
    c.close()
    tx.close()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failure, not a silent pass
        import traceback
        tap(False, "the failover test ran to the end", traceback.format_exc())
    print("1..%d" % n)
    sys.exit(1 if failed else 0)
