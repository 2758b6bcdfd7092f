#!/usr/bin/env bash
# Integration tests against a real mariadb cluster (see run.sh).
exec "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/run.sh" mariadb
