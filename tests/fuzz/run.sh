#!/bin/sh
# Recall's fuzz tests, as a TAP test for `make check`: builds each libFuzzer
# harness with clang (-fsanitize=fuzzer,address,undefined) straight from the
# sources, seeds a corpus (checked-in files under tests/fuzz/corpus/, which
# include every crash found so far, plus generated protocol messages), and
# runs each harness for a bounded time.  Prints "ok N - NAME: M runs, no
# crash", or "not ok" with the saved crashing input; without clang every
# harness is reported as skipped.
#
# Environment: RECALL_FUZZ_SECONDS (default 30) per harness;
#              top_srcdir, top_builddir (set by make check).
# Reproduce a finding: $top_builddir/tests/fuzz/work/NAME CRASH-FILE
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
secs=${RECALL_FUZZ_SECONDS:-30}
fuzzdir=$top_srcdir/tests/fuzz
work=$top_builddir/tests/fuzz/work
harnesses="fuzz_proto fuzz_text fuzz_sql"

echo "1..3"

if ! command -v clang >/dev/null 2>&1; then
    i=0
    for h in $harnesses; do
        i=$((i + 1))
        echo "ok $i - $h # SKIP clang is not installed (Debian: apt-get install clang)"
    done
    exit 0
fi
if [ ! -f "$top_builddir/config.h" ]; then
    echo "Bail out! $top_builddir/config.h not found: run configure first"
    exit 1
fi

mkdir -p "$work" || exit 1
shared="buf err mp proto frame addr cfg connstr logging sqlclass"
cflags="-g -O1 -std=gnu11 -D_GNU_SOURCE -I$top_builddir -I$top_srcdir/shared -I$top_srcdir/include"
msgpack_cflags=$(pkg-config --cflags msgpack 2>/dev/null)
msgpack_libs=$(pkg-config --libs msgpack 2>/dev/null || echo -lmsgpackc)
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

# The shared sources, instrumented once for all harnesses (two at a time).
objdir=$work/obj
rm -rf "$objdir" && mkdir -p "$objdir"
objs="" pids=""
for s in $shared; do
    objs="$objs $objdir/$s.o"
    clang $cflags $san -fsanitize=fuzzer-no-link $msgpack_cflags -c "$top_srcdir/shared/$s.c" \
        -o "$objdir/$s.o" >"$objdir/$s.log" 2>&1 &
    pids="$pids $!"
    if [ "$(echo $pids | wc -w)" -ge 2 ]; then
        wait $pids
        pids=""
    fi
done
wait $pids
compile_failed=""
for s in $shared; do
    [ -f "$objdir/$s.o" ] || compile_failed="$compile_failed $s"
done
if [ -n "$compile_failed" ]; then
    i=0
    for h in $harnesses; do
        i=$((i + 1))
        echo "not ok $i - $h: shared sources do not compile:$compile_failed (logs: $objdir)"
    done
    for s in $compile_failed; do
        sed 's/^/# /' "$objdir/$s.log" | head -10
    done
    exit 0
fi

# The generated protocol seeds: every message type, framed.
seeds_proto=$work/seeds-proto
rm -rf "$seeds_proto" && mkdir -p "$seeds_proto"
if ! clang $cflags $san -fsanitize=fuzzer-no-link $msgpack_cflags -o "$work/seedgen" \
        "$fuzzdir/seedgen.c" $objs $msgpack_libs >"$work/seedgen.log" 2>&1 ||
        ! "$work/seedgen" "$seeds_proto" >>"$work/seedgen.log" 2>&1; then
    echo "# seedgen failed (log: $work/seedgen.log); fuzz_proto starts from the checked-in corpus"
    sed 's/^/# /' "$work/seedgen.log" | head -20
fi

i=0
for h in $harnesses; do
    i=$((i + 1))
    case $h in
    fuzz_proto) corpus=proto; dict=""; maxlen=65536; extra_seeds=$seeds_proto ;;
    fuzz_text) corpus=text; dict=$fuzzdir/text.dict; maxlen=4096; extra_seeds="" ;;
    fuzz_sql) corpus=sql; dict=$fuzzdir/sql.dict; maxlen=4096; extra_seeds="" ;;
    esac
    bin=$work/$h
    log=$work/$h.log
    if ! clang $cflags $san -fsanitize=fuzzer $msgpack_cflags -o "$bin" "$fuzzdir/$h.c" $objs \
            $msgpack_libs >"$log" 2>&1; then
        echo "not ok $i - $h: does not compile (log: $log)"
        sed 's/^/# /' "$log" | head -20
        continue
    fi
    # A fresh working corpus each run, seeded from the checked-in inputs
    # (regressions included: libFuzzer runs them all first).
    run_corpus=$work/corpus-$h
    rm -rf "$run_corpus" && mkdir -p "$run_corpus"
    cp "$fuzzdir/corpus/$corpus/"* "$run_corpus/" 2>/dev/null
    [ -n "$extra_seeds" ] && cp "$extra_seeds/"* "$run_corpus/" 2>/dev/null
    rm -f "$work/$h-"crash-* "$work/$h-"timeout-* "$work/$h-"leak-* "$work/$h-"oom-*
    set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$maxlen" \
        -print_final_stats=1 -artifact_prefix="$work/$h-" -close_fd_mask=1
    [ -n "$dict" ] && set -- "$@" -dict="$dict"
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$bin" "$@" "$run_corpus" >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s += $1} END {print s + 0}')
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | head -1)
    if [ "$status" -eq 0 ] && [ -z "$artifact" ]; then
        echo "ok $i - $h: $runs runs, no crash"
    else
        echo "not ok $i - $h: ${artifact:+crash input saved at $artifact }(exit $status, log: $log)"
        grep -E "ERROR|SUMMARY|invariant|runtime error|#[0-9]+ 0x" "$log" | head -25 | sed 's/^/# /'
    fi
done
exit 0
