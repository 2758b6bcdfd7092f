#!/usr/bin/env bash
# Tables and plots from recall-bench's CSV: reads OUT/results.csv (and
# OUT/machine.txt), writes OUT/tables.md (throughput per workload and thread
# count, latency percentiles, the issue's targets with their ratios) and the
# PNG plots OUT/throughput.png and OUT/latency.png (gnuplot, bench/plot.gp).
# Given DOC, it replaces the text between the markers
# "<!-- results:begin -->" and "<!-- results:end -->" in DOC with the
# machine, the tables and the plots.
#
# Usage: bench/report.sh OUT [DOC]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: report.sh OUT [DOC]}
doc=${2:-}
csv=$out/results.csv
[ -s "$csv" ] || { echo "report: $csv is missing or empty" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "report: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }

SERIES="mariadb/odbc galera/odbc galera-sync/odbc recall/odbc recall/librecall"
WORKLOADS="point_select insert update rwmix bank"

# ---- tables ----
awk -F, -v series="$SERIES" -v workloads="$WORKLOADS" '
NR == 1 { next }
{
    k = $1 "/" $2 SUBSEP $3 SUBSEP $4
    ops[k] = $7; p50[k] = $9; p95[k] = $10; p99[k] = $11; mx[k] = $12
    retr[k] = $13; errs[k] = $14; chk[k] = $15
    if (!($4 in seen_t)) { seen_t[$4] = 1; tlist[++nt] = $4 + 0 }
}
function have(s, w, t) { return ((s SUBSEP w SUBSEP t) in ops) }
function fmt(x) { return x >= 100 ? sprintf("%.0f", x) : sprintf("%.1f", x) }
function ms(x) { return sprintf("%.2f", x) }
END {
    ns = split(series, S, " "); nw = split(workloads, W, " ")
    # thread counts in numeric order
    for (i = 1; i <= nt; i++) for (j = i + 1; j <= nt; j++)
        if (tlist[j] < tlist[i]) { x = tlist[i]; tlist[i] = tlist[j]; tlist[j] = x }
    lat_t[1] = tlist[1]; nlat = 1
    for (i = 1; i <= nt; i++) if (tlist[i] == 8) { lat_t[2] = 8; nlat = 2 }
    if (nlat == 1 && nt > 1) { lat_t[2] = tlist[nt]; nlat = 2 }

    print "### Throughput (operations per second; an operation of rwmix and bank is a transaction)\n"
    for (wi = 1; wi <= nw; wi++) {
        w = W[wi]; hdr = "| threads |"; sep = "|---:|"; used = 0
        for (si = 1; si <= ns; si++) {
            for (i = 1; i <= nt; i++) if (have(S[si], w, tlist[i])) { use[S[si]] = 1 }
        }
        for (si = 1; si <= ns; si++) if (use[S[si]]) { hdr = hdr " " S[si] " |"; sep = sep "---:|"; used++ }
        if (!used) continue
        print "**" w "**\n"; print hdr; print sep
        for (i = 1; i <= nt; i++) {
            line = "| " tlist[i] " |"
            for (si = 1; si <= ns; si++) if (use[S[si]])
                line = line " " (have(S[si], w, tlist[i]) ? fmt(ops[S[si] SUBSEP w SUBSEP tlist[i]]) : "-") " |"
            print line
        }
        print ""
        delete use
    }

    print "### Latency from the client (milliseconds)\n"
    for (li = 1; li <= nlat; li++) {
        t = lat_t[li]
        print "**" t " thread" (t == 1 ? "" : "s") "**\n"
        print "| workload | system/path | p50 | p95 | p99 | max | retries | errors | check |"
        print "|---|---|---:|---:|---:|---:|---:|---:|:-:|"
        for (wi = 1; wi <= nw; wi++) for (si = 1; si <= ns; si++) {
            k = S[si] SUBSEP W[wi] SUBSEP t
            if (!(k in ops)) continue
            print "| " W[wi] " | " S[si] " | " ms(p50[k]) " | " ms(p95[k]) " | " ms(p99[k]) " | " ms(mx[k]) \
                " | " retr[k] " | " errs[k] " | " chk[k] " |"
        }
        print ""
    }

    print "### Targets\n"
    print "| target | workload | threads | Recall path | Recall | reference | ratio | met |"
    print "|---|---|---:|---|---:|---:|---:|:-:|"
    split("recall/librecall recall/odbc", R, " ")
    # writes: at least 1.5x Galera at 1 and 8 threads
    split("insert update bank", WW, " ")
    for (ti = 1; ti <= 2; ti++) { t = (ti == 1 ? 1 : 8)
        for (wi = 1; wi <= 3; wi++) for (ri = 1; ri <= 2; ri++) {
            a = R[ri] SUBSEP WW[wi] SUBSEP t; b = "galera/odbc" SUBSEP WW[wi] SUBSEP t
            if (!(a in ops) || !(b in ops) || ops[b] == 0) continue
            r = ops[a] / ops[b]
            printf "| writes >= 1.5x Galera | %s | %d | %s | %s/s | %s/s | %.2fx | %s |\n", WW[wi], t, R[ri], fmt(ops[a]), fmt(ops[b]), r, (r >= 1.5 ? "yes" : "**no**")
        }
    }
    # linearizable point reads: at least 0.9x Galera with wsrep_sync_wait=1
    for (i = 1; i <= nt; i++) { t = tlist[i]
        for (ri = 1; ri <= 2; ri++) {
            a = R[ri] SUBSEP "point_select" SUBSEP t; b = "galera-sync/odbc" SUBSEP "point_select" SUBSEP t
            if (!(a in ops) || !(b in ops) || ops[b] == 0) continue
            r = ops[a] / ops[b]
            printf "| reads >= 0.9x Galera (wsrep_sync_wait=1) | point_select | %d | %s | %s/s | %s/s | %.2fx | %s |\n", t, R[ri], fmt(ops[a]), fmt(ops[b]), r, (r >= 0.9 ? "yes" : "**no**")
        }
    }
    # write latency p50 at 1 thread: at most 2x a single MariaDB
    for (wi = 1; wi <= 3; wi++) for (ri = 1; ri <= 2; ri++) {
        a = R[ri] SUBSEP WW[wi] SUBSEP 1; b = "mariadb/odbc" SUBSEP WW[wi] SUBSEP 1
        if (!(a in ops) || !(b in ops) || p50[b] == 0) continue
        r = p50[a] / p50[b]
        printf "| write p50 <= 2x single MariaDB | %s | 1 | %s | %s ms | %s ms | %.2fx | %s |\n", WW[wi], R[ri], ms(p50[a]), ms(p50[b]), r, (r <= 2 ? "yes" : "**no**")
    }
    print ""
}' "$csv" >"$out/tables.md"

# ---- plots ----
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
for w in $WORKLOADS; do
    for s in $SERIES; do
        f=$data/$w.${s/\//_}.dat
        awk -F, -v s="$s" -v w="$w" 'NR > 1 && ($1 "/" $2) == s && $3 == w {
            print $4, $7, $9, $10, $11, $12 }' "$csv" | sort -n >"$f"
        [ -s "$f" ] || rm -f "$f"
    done
done
gnuplot -e "datadir='$data'; outdir='$out'" "$here/plot.gp"

# ---- the document ----
if [ -n "$doc" ]; then
    grep -q '<!-- results:begin -->' "$doc" && grep -q '<!-- results:end -->' "$doc" ||
        { echo "report: $doc has no results markers" >&2; exit 1; }
    rel=$(realpath --relative-to="$(dirname "$doc")" "$out")
    gen=$data/section.md
    {
        echo "<!-- results:begin -->"
        echo "<!-- generated by bench/report.sh from $rel/results.csv: do not edit by hand -->"
        echo
        echo "Machine and run:"
        echo
        echo '```'
        cat "$out/machine.txt" 2>/dev/null || true
        echo '```'
        echo
        if [ -s "$out/failures.txt" ]; then
            echo "Points that failed to run (no row in the tables):"
            echo
            echo '```'
            cat "$out/failures.txt"
            echo '```'
            echo
        fi
        echo "![throughput against threads]($rel/throughput.png)"
        echo
        echo "![latency percentiles]($rel/latency.png)"
        echo
        cat "$out/tables.md"
        echo "<!-- results:end -->"
    } >"$gen"
    awk -v gen="$gen" '
        /<!-- results:begin -->/ { while ((getline l < gen) > 0) print l; skip = 1; next }
        /<!-- results:end -->/ { skip = 0; next }
        !skip { print }' "$doc" >"$doc.tmp"
    mv "$doc.tmp" "$doc"
fi
