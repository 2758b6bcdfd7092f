#!/usr/bin/python3
"""The ODBC side of the fault tests: the same four workloads as
jepsen-client, through pyodbc and the Recall ODBC driver, recording the same
history format (tests/jepsen/jhist.h) into OUT/WORKLOAD-odbc.jsonl.

One thread per workload (--threads to change), each with its own ODBC
connection.  Outcomes follow the same rules as jepsen-client: a read, or a
statement of a transaction before COMMIT, that fails is "fail"; a COMMIT or
autocommit write that fails with SQLSTATE HYT00 (timeout), HY008 (cancel),
08S01 (link lost) or HY000 (general error) is "info"; any other failure is
"fail".  After an "info" the thread reconnects under a new process number.

Usage: jepsen_odbc.py --driver PATH --replicas LIST --prefix P --out DIR
                      --seconds S --seed S --t0 NS [--workloads ...]
                      [--threads N] [--rate R] [--process-base B]
"""
import argparse
import json
import os
import random
import sys
import threading
import time

import pyodbc

PROCESS_STRIDE = 100000
INFO_STATES = {"HYT00", "HY008", "08S01", "HY000", "HYT01"}


class History:
    def __init__(self, path):
        self.f = open(path, "a", encoding="ascii")
        self.lock = threading.Lock()

    def record(self, typ, process, f, value=None, error=None):
        ev = {"type": typ, "process": process, "time": time.monotonic_ns(), "f": f}
        if value is not None:
            ev["value"] = value
        if error is not None:
            ev["error"] = error
        line = json.dumps(ev, separators=(",", ":"), ensure_ascii=True) + "\n"
        with self.lock:
            self.f.write(line)
            self.f.flush()

    def close(self):
        self.f.close()


def sqlstate(e):
    if isinstance(e, pyodbc.Error) and e.args:
        return str(e.args[0])
    return "HY000"


def errtext(e):
    return " ".join(str(a) for a in e.args)[:400] if getattr(e, "args", None) else str(e)


class Worker(threading.Thread):
    def __init__(self, args, workload, tid, hist, deadline):
        super().__init__(daemon=True)
        self.a = args
        self.w = workload
        self.tid = tid
        self.process = args.process_base + tid
        self.hist = hist
        self.deadline = deadline
        self.rng = random.Random(args.seed * 1000003 + tid)
        self.conn = None
        self.counter = 0
        self.sqlite = False
        self.t = lambda name: args.prefix + name

    # -- connections --
    def connect(self):
        cs = ("DRIVER={%s};REPLICAS=%s;UID=app;PWD=app;DATABASE=app;"
              "CONNECT_TIMEOUT=5;REQUEST_TIMEOUT=%g" %
              (self.a.driver, self.a.replicas, self.a.request_timeout))
        while time.monotonic_ns() < self.deadline:
            try:
                self.conn = pyodbc.connect(cs, autocommit=True, timeout=5)
                self.sqlite = "sqlite" in (self.conn.getinfo(pyodbc.SQL_DBMS_NAME) or "").lower()
                if self.w == "append":
                    self.conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                return True
            except pyodbc.Error:
                self.reset()
                time.sleep(0.1 + self.rng.random() * 0.2)
        return False

    def reset(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except pyodbc.Error:
                pass
        self.conn = None

    def rollback(self):
        try:
            self.conn.rollback()
        except pyodbc.Error:
            pass
        try:
            self.conn.autocommit = True
        except pyodbc.Error:
            pass

    def unique_value(self):
        self.counter += 1
        return ((self.a.process_base + self.tid) << 32) | self.counter

    def key_generation(self):
        return max(0, (time.monotonic_ns() - self.a.t0) // 1000000000)

    def write_failed(self, f, e):
        """A failed COMMIT or autocommit write: info or fail."""
        info = sqlstate(e) in INFO_STATES
        self.hist.record("info" if info else "fail", self.process, f, error=errtext(e))
        if info:
            self.reset()
            self.process += PROCESS_STRIDE

    # -- register --
    def op_register(self):
        k = (self.key_generation() * 4 + self.rng.randrange(4)) % self.a.keys
        cur = self.conn.cursor()
        if self.rng.random() < 0.5:
            v = self.unique_value()
            self.hist.record("invoke", self.process, "write", [k, v])
            try:
                cur.execute("UPDATE %s SET v = ? WHERE k = ?" % self.t("reg"), v, k)
                self.hist.record("ok", self.process, "write", [k, v, cur.rowcount])
            except pyodbc.Error as e:
                self.write_failed("write", e)
        else:
            self.hist.record("invoke", self.process, "read", [k, None])
            try:
                cur.execute("SELECT v FROM %s WHERE k = ?" % self.t("reg"), k)
                rows = cur.fetchall()
                self.hist.record("ok", self.process, "read", [k, int(rows[0][0]) if rows else None])
            except pyodbc.Error as e:
                self.hist.record("fail", self.process, "read", error=errtext(e))

    # -- bank --
    def op_bank(self):
        cur = self.conn.cursor()
        if self.rng.random() < 0.5:
            self.hist.record("invoke", self.process, "read", None)
            try:
                cur.execute("SELECT id, bal FROM %s ORDER BY id" % self.t("bank"))
                rows = [[int(r[0]), int(r[1])] for r in cur.fetchall()]
                self.hist.record("ok", self.process, "read", rows)
            except pyodbc.Error as e:
                self.hist.record("fail", self.process, "read", error=errtext(e))
            return
        frm = self.rng.randrange(self.a.accounts)
        to = self.rng.choice([i for i in range(self.a.accounts) if i != frm])
        amount = 1 + self.rng.randrange(20)
        self.hist.record("invoke", self.process, "transfer", [frm, to, amount])
        try:
            self.conn.autocommit = False
            cur.execute("UPDATE %s SET bal = bal - ? WHERE id = ? AND bal >= ?" % self.t("bank"),
                        amount, frm, amount)
            if cur.rowcount != 1:
                self.rollback()
                self.hist.record("fail", self.process, "transfer", error="insufficient funds")
                return
            cur.execute("UPDATE %s SET bal = bal + ? WHERE id = ?" % self.t("bank"), amount, to)
        except pyodbc.Error as e:
            self.rollback()
            self.hist.record("fail", self.process, "transfer", error=errtext(e))
            return
        try:
            self.conn.commit()
            self.conn.autocommit = True
            self.hist.record("ok", self.process, "transfer")
        except pyodbc.Error as e:
            self.write_failed("transfer", e)
            if self.conn is not None:
                self.rollback()

    # -- list append --
    def append_sql(self):
        if self.sqlite:
            return ("INSERT INTO %s (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET "
                    "v = v || ',' || excluded.v" % self.t("lists"))
        return ("INSERT INTO %s (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE "
                "v = CONCAT(v, ',', VALUES(v))" % self.t("lists"))

    def op_append(self):
        gen = self.key_generation()
        n = 1 + self.rng.randrange(4)
        mops = []
        for _ in range(n):
            k = gen * 4 + self.rng.randrange(4)
            if self.rng.random() < 0.5:
                mops.append(["append", k, self.unique_value()])
            else:
                mops.append(["r", k, None])
        self.hist.record("invoke", self.process, "txn", mops)
        cur = self.conn.cursor()
        res = []
        try:
            self.conn.autocommit = False
            for m in mops:
                if m[0] == "append":
                    cur.execute(self.append_sql(), m[1], str(m[2]))
                    res.append(m)
                else:
                    cur.execute("SELECT v FROM %s WHERE k = ?" % self.t("lists"), m[1])
                    rows = cur.fetchall()
                    lst = []
                    if rows and rows[0][0]:
                        for x in str(rows[0][0]).split(","):
                            try:
                                lst.append(int(x))
                            except ValueError:
                                lst.append(-1)
                    res.append(["r", m[1], lst])
        except pyodbc.Error as e:
            self.rollback()
            self.hist.record("fail", self.process, "txn", error=errtext(e))
            return
        try:
            self.conn.commit()
            self.conn.autocommit = True
            self.hist.record("ok", self.process, "txn", res)
        except pyodbc.Error as e:
            if all(m[0] == "r" for m in mops):
                self.rollback()
                self.hist.record("fail", self.process, "txn", error=errtext(e))
            else:
                self.write_failed("txn", e)
                if self.conn is not None:
                    self.rollback()

    # -- unique inserts --
    def op_unique(self):
        vals = [self.unique_value() for _ in range(1 + self.rng.randrange(3))]
        self.hist.record("invoke", self.process, "insert", vals)
        cur = self.conn.cursor()
        sql = "INSERT INTO %s (v, at) VALUES (?, %s)" % (
            self.t("uniq"), "CAST(strftime('%s', 'now') AS INTEGER)" if self.sqlite
            else "UNIX_TIMESTAMP()")
        if len(vals) == 1:
            try:
                cur.execute(sql, vals[0])
                self.hist.record("ok", self.process, "insert")
            except pyodbc.Error as e:
                self.write_failed("insert", e)
            return
        try:
            self.conn.autocommit = False
            for v in vals:
                cur.execute(sql, v)
        except pyodbc.Error as e:
            self.rollback()
            self.hist.record("fail", self.process, "insert", error=errtext(e))
            return
        try:
            self.conn.commit()
            self.conn.autocommit = True
            self.hist.record("ok", self.process, "insert")
        except pyodbc.Error as e:
            self.write_failed("insert", e)
            if self.conn is not None:
                self.rollback()

    def run(self):
        op = {"register": self.op_register, "bank": self.op_bank,
              "append": self.op_append, "unique": self.op_unique}[self.w]
        gap = 1.0 / self.a.rate if self.a.rate > 0 else 0
        while time.monotonic_ns() < self.deadline:
            if self.conn is None and not self.connect():
                break
            try:
                op()
            except pyodbc.Error as e:
                # connection-level trouble outside an operation's bookkeeping
                sys.stderr.write("jepsen_odbc: %s: %s\n" % (self.w, errtext(e)))
                self.reset()
            time.sleep(self.rng.random() * 2 * gap)
        self.reset()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--driver", required=True)
    p.add_argument("--replicas", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--t0", type=int, default=0)
    p.add_argument("--workloads", default="register,bank,append,unique")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rate", type=float, default=20)
    p.add_argument("--process-base", type=int, default=50000)
    p.add_argument("--request-timeout", type=float, default=5)
    p.add_argument("--keys", type=int, default=2000)
    p.add_argument("--accounts", type=int, default=5)
    a = p.parse_args()
    if not a.t0:
        a.t0 = time.monotonic_ns()
    deadline = time.monotonic_ns() + int(a.seconds * 1e9)
    hists, workers, tid = {}, [], 0
    for w in a.workloads.split(","):
        if w not in ("register", "bank", "append", "unique"):
            sys.exit("jepsen_odbc: unknown workload %s" % w)
        hists[w] = History(os.path.join(a.out, "%s-odbc.jsonl" % w))
        for _ in range(a.threads):
            workers.append(Worker(a, w, tid, hists[w], deadline))
            tid += 1
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    for h in hists.values():
        h.close()


if __name__ == "__main__":
    main()
