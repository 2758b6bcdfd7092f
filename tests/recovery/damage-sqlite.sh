#!/usr/bin/env bash
# tests/recovery/damage.sh on the sqlite backend (see there).
exec "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/recovery/damage.sh" sqlite
