#!/usr/bin/env bash
# ODBC integration tests against a live sqlite cluster (see live.sh).
exec "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/odbc/live.sh" sqlite
