#!/usr/bin/env bash
# tests/recovery/ssh.sh on the mariadb backend (see there).
exec "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/recovery/ssh.sh" mariadb
