#!/usr/bin/env bash
# make check: a short randomized fault test of a SQLite-backed cluster, one
# phase per nemesis class (tests/jepsen/README).  TAP on stdout.
exec python3 "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/jepsen/jepsen.py" check --backend sqlite
