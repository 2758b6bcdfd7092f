#!/usr/bin/env bash
# Integration tests against a real sqlite cluster (see run.sh).
exec "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/run.sh" sqlite
