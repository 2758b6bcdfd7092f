#!/usr/bin/python3
"""pyodbc (Debian's python3-pyodbc) against a live Recall cluster through
the Recall ODBC driver, as tests/odbc/live.sh sets it up: connecting,
execute/fetch, parameters of every Python type, executemany with and
without fast_executemany, Unicode, decimals, dates, NULLs, large values,
commit/rollback, errors and the catalog methods.  Prints TAP."""

import datetime
import decimal
import os
import sys
import traceback

import pyodbc

DSN = os.environ.get("RECALL_TEST_DSN", "recall_test")
MARIA = os.environ.get("RECALL_TEST_BACKEND") == "mariadb"
ENGINE = " ENGINE=InnoDB" if MARIA else ""
PREFIX = "py_%d_" % os.getpid()

results = []


def test(fn):
    results.append(fn)
    return fn


def connect(**kw):
    return pyodbc.connect("DSN=%s" % DSN, **kw)


def table(name, cols):
    """Create a fresh table; returns its name."""
    t = PREFIX + name
    with connect(autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS %s" % t)
        c.execute("CREATE TABLE %s (%s)%s" % (t, cols, ENGINE))
    return t


@test
def connect_and_describe():
    c = connect(autocommit=True)
    assert c.getinfo(pyodbc.SQL_DBMS_NAME) == ("MariaDB" if MARIA else "SQLite")
    assert c.getinfo(pyodbc.SQL_DRIVER_NAME) == "libRecallODBC.so"
    cur = c.execute("SELECT 1 AS one, 'two' AS two")
    assert [d[0] for d in cur.description] == ["one", "two"]
    assert tuple(cur.fetchone()) == (1, "two")
    assert cur.fetchone() is None
    # A connection string with the keys spelled out, unknown ones ignored.
    rep = os.environ["RECALL_TEST_REPLICAS"]
    c2 = pyodbc.connect("DRIVER={Recall};REPLICAS=%s;UID=app;PWD={app};DATABASE=app;Ignored=1" % rep,
                        autocommit=True)
    assert c2.execute("SELECT 2").fetchval() == 2
    c2.close()
    c.close()


@test
def parameters_of_every_type():
    t = table("types", "id INT PRIMARY KEY, i BIGINT, f DOUBLE, s VARCHAR(100), b %s, d DATE, "
              "ts %s, flag SMALLINT, n DECIMAL(12,4)"
              % ("VARBINARY(100)" if MARIA else "BLOB", "DATETIME(6)" if MARIA else "DATETIME"))
    c = connect(autocommit=True)
    when = datetime.datetime(2024, 2, 29, 13, 14, 15, 123456)
    row = (1, -(2 ** 62), 2.5, "plain text", b"\x00\x01\xfe\xff", datetime.date(1999, 12, 31), when,
           True, decimal.Decimal("-1234.5678"))
    c.execute("INSERT INTO %s VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)" % t, *row)
    c.execute("INSERT INTO %s (id) VALUES (?)" % t, 2)
    got = c.execute("SELECT id, i, f, s, b, d, ts, flag, n FROM %s ORDER BY id" % t).fetchall()
    assert tuple(got[0])[0:6] == row[0:6], got[0]
    if MARIA:
        assert got[0][6] == when, got[0][6]
    else:
        assert got[0][6].replace(microsecond=0) == when.replace(microsecond=0), got[0][6]
    assert got[0][7] == 1
    assert got[0][8] == decimal.Decimal("-1234.5678"), got[0][8]
    assert tuple(got[1]) == (2, None, None, None, None, None, None, None, None), got[1]
    # Parameters are bound, never interpolated.
    evil = "x'); DROP TABLE %s; --" % t
    c.execute("UPDATE %s SET s = ? WHERE id = 2" % t, evil)
    assert c.execute("SELECT s FROM %s WHERE id = 2" % t).fetchval() == evil
    assert c.execute("SELECT COUNT(*) FROM %s WHERE s = ?" % t, evil).fetchval() == 1


@test
def unicode_round_trip():
    t = table("uni", "id INT PRIMARY KEY, s VARCHAR(100)")
    c = connect(autocommit=True)
    words = ["grüße", "€ 100", "日本語テキスト", "emoji 😀🎉", "Ünïcödé ß"]
    for i, w in enumerate(words):
        c.execute("INSERT INTO %s VALUES (?, ?)" % t, i, w)
    got = [r[0] for r in c.execute("SELECT s FROM %s ORDER BY id" % t)]
    assert got == words, got
    assert c.execute("SELECT id FROM %s WHERE s = ?" % t, "emoji 😀🎉").fetchval() == 3
    assert c.execute("SELECT ?", "ça 😀").fetchval() == "ça 😀"


@test
def decimals_and_numbers():
    t = table("dec", "id INT PRIMARY KEY, n DECIMAL(18,6), r DOUBLE")
    c = connect(autocommit=True)
    vals = [decimal.Decimal("0.000001"), decimal.Decimal("-99999.5"), decimal.Decimal("123456789.123456")]
    for i, v in enumerate(vals):
        c.execute("INSERT INTO %s VALUES (?, ?, ?)" % t, i, v, float(v))
    got = [r[0] for r in c.execute("SELECT n FROM %s ORDER BY id" % t)]
    assert got == vals, got
    assert isinstance(got[0], decimal.Decimal)
    assert c.execute("SELECT r FROM %s WHERE id = 1" % t).fetchval() == -99999.5
    assert c.execute("SELECT ? + 1", 2 ** 40).fetchval() == 2 ** 40 + 1


@test
def dates_times_and_nulls():
    t = table("dt", "id INT PRIMARY KEY, d DATE, t TIME, ts %s" % ("DATETIME" if MARIA else "DATETIME"))
    c = connect(autocommit=True)
    c.execute("INSERT INTO %s VALUES (?, ?, ?, ?)" % t, 1, datetime.date(2024, 1, 2), datetime.time(3, 4, 5),
              datetime.datetime(2024, 1, 2, 3, 4, 5))
    c.execute("INSERT INTO %s VALUES (?, ?, ?, ?)" % t, 2, None, None, None)
    r = c.execute("SELECT d, t, ts FROM %s WHERE id = 1" % t).fetchone()
    assert r.d == datetime.date(2024, 1, 2)
    assert r.t == datetime.time(3, 4, 5)
    assert r.ts == datetime.datetime(2024, 1, 2, 3, 4, 5)
    assert tuple(c.execute("SELECT d, t, ts FROM %s WHERE id = 2" % t).fetchone()) == (None, None, None)
    assert c.execute("SELECT COUNT(*) FROM %s WHERE d IS NULL" % t).fetchval() == 1


@test
def large_values():
    t = table("big", "id INT PRIMARY KEY, txt %s, bin %s" % (("LONGTEXT", "LONGBLOB") if MARIA else ("TEXT", "BLOB")))
    c = connect(autocommit=True)
    text = "".join(chr(0x61 + i % 26) for i in range(600000)) + "é😀"
    blob = bytes(i % 256 for i in range(400000))
    c.execute("INSERT INTO %s VALUES (?, ?, ?)" % t, 1, text, blob)
    r = c.execute("SELECT txt, bin FROM %s" % t).fetchone()
    assert r.txt == text
    assert r.bin == blob


@test
def executemany_plain_and_fast():
    t = table("many", "id INT PRIMARY KEY, name VARCHAR(50), amount DECIMAL(10,2), d DATE")
    c = connect(autocommit=True)
    cur = c.cursor()
    rows = [(i, "name %d é" % i, decimal.Decimal("%d.25" % i), datetime.date(2024, 1, 1 + i % 28))
            for i in range(1, 101)]
    cur.executemany("INSERT INTO %s VALUES (?, ?, ?, ?)" % t, rows[:50])
    # fast_executemany binds parameter arrays (row-wise, with a bind offset).
    # pyodbc's own fast path cannot bind Decimal objects to parameters that
    # SQLDescribeParam reports as VARCHAR ("Converting decimal loses
    # precision"), so the amounts go as text, which DECIMAL columns take.
    cur.fast_executemany = True
    cur.executemany("INSERT INTO %s VALUES (?, ?, ?, ?)" % t,
                    [(i, n, str(a), d) for (i, n, a, d) in rows[50:]])
    got = c.execute("SELECT id, name, amount, d FROM %s ORDER BY id" % t).fetchall()
    assert [tuple(r) for r in got] == rows, (got[:2], rows[:2])
    # fetchmany in batches.
    cur = c.execute("SELECT id FROM %s ORDER BY id" % t)
    first = cur.fetchmany(30)
    rest = cur.fetchall()
    assert len(first) == 30 and len(rest) == 70 and rest[-1][0] == 100


@test
def commit_and_rollback():
    t = table("tx", "id INT PRIMARY KEY")
    c = connect(autocommit=False)
    c.execute("INSERT INTO %s VALUES (1)" % t)
    c.rollback()
    assert c.execute("SELECT COUNT(*) FROM %s" % t).fetchval() == 0
    c.execute("INSERT INTO %s VALUES (2)" % t)
    assert c.execute("SELECT COUNT(*) FROM %s" % t).fetchval() == 1  # reads its own write
    c.commit()
    other = connect(autocommit=True)
    assert other.execute("SELECT id FROM %s" % t).fetchval() == 2
    c.autocommit = True
    c.execute("INSERT INTO %s VALUES (3)" % t)
    assert other.execute("SELECT COUNT(*) FROM %s" % t).fetchval() == 2


@test
def errors_are_classified():
    t = table("err", "id INT PRIMARY KEY")
    c = connect(autocommit=True)
    c.execute("INSERT INTO %s VALUES (1)" % t)
    try:
        c.execute("INSERT INTO %s VALUES (1)" % t)
        raise AssertionError("duplicate key accepted")
    except pyodbc.IntegrityError as e:
        assert e.args[0].startswith("23"), e.args
        assert "[Recall]" in e.args[1]
    try:
        c.execute("SELECT * FROM %snosuch" % PREFIX)
        raise AssertionError("missing table accepted")
    except pyodbc.Error as e:
        assert "[Recall]" in e.args[1], e.args
    assert c.execute("SELECT 5").fetchval() == 5  # still usable


@test
def catalog_methods():
    parent = table("parent", "id INT PRIMARY KEY, name VARCHAR(30) NOT NULL")
    child = table("child", "id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES %s (id)" % parent)
    c = connect(autocommit=True)
    cur = c.cursor()
    names = [r.table_name for r in cur.tables(table=PREFIX.replace("_", "\\_") + "%")]
    assert parent in names and child in names, names
    cols = cur.columns(table=parent).fetchall()
    assert [r.column_name for r in cols] == ["id", "name"]
    assert cols[1].data_type in (pyodbc.SQL_VARCHAR, pyodbc.SQL_WVARCHAR)
    assert cols[1].column_size == 30 and cols[1].nullable == 0
    pk = cur.primaryKeys(parent).fetchall()
    assert [r.column_name for r in pk] == ["id"]
    fk = cur.foreignKeys(table=parent).fetchall()
    assert len(fk) == 1 and fk[0].fktable_name == child and fk[0].fkcolumn_name == "pid", fk
    stats = [r.index_name for r in cur.statistics(child) if r.index_name]
    assert stats, stats
    assert [r.column_name for r in cur.rowIdColumns(parent)] == ["id"]
    types = cur.getTypeInfo().fetchall()
    assert len(types) >= 10
    assert any(r.data_type == pyodbc.SQL_TYPE_TIMESTAMP for r in types)
    cur.procedures().fetchall()
    with connect(autocommit=True) as c2:
        c2.execute("DROP TABLE %s" % child)


def main():
    n = 0
    failed = 0
    for fn in results:
        n += 1
        try:
            fn()
            print("ok %d - %s" % (n, fn.__name__))
        except Exception:
            failed += 1
            print("not ok %d - %s" % (n, fn.__name__))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        sys.stdout.flush()
    print("1..%d" % n)
    try:
        with connect(autocommit=True) as c:
            for r in c.cursor().tables(table=PREFIX.replace("_", "\\_") + "%").fetchall():
                c.execute("DROP TABLE IF EXISTS %s" % r.table_name)
    except Exception:
        pass
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
