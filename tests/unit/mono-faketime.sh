#!/bin/sh
# tests/unit/test_mono under libfaketime with the real-time clock two days
# ahead, as tests/jepsen runs recalld (see test_mono.c).  Skipped (77)
# without libfaketime (Debian package faketime).
top_builddir=${top_builddir:-$(pwd)}
lib=
for l in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 /usr/lib/*/faketime/libfaketimeMT.so.1 \
         /usr/lib/faketime/libfaketimeMT.so.1; do
    [ -f "$l" ] && { lib=$l; break; }
done
if [ -z "$lib" ]; then
    echo "1..0 # SKIP libfaketime not installed (Debian package faketime)"
    exit 0
fi
clock=$(mktemp)
trap 'rm -f "$clock"' EXIT
echo "+2d" >"$clock"
LD_PRELOAD=$lib FAKETIME_TIMESTAMP_FILE=$clock FAKETIME_DONT_FAKE_MONOTONIC=1 \
    "$top_builddir/tests/unit/test_mono"
