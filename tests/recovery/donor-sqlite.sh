#!/usr/bin/env bash
# tests/recovery/donor.sh on the sqlite backend (see there).
exec "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/recovery/donor.sh" sqlite
