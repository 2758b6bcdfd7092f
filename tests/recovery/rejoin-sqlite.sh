#!/usr/bin/env bash
# tests/recovery/rejoin.sh on the sqlite backend (see there).
exec "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/recovery/rejoin.sh" sqlite
