# Plots of the benchmark comparison (called by bench/report.sh):
#   gnuplot -e "datadir='D'; outdir='O'" bench/plot.gp
# D holds WORKLOAD.SERIES.dat files (columns: threads ops/s p50 p95 p99 max,
# latencies in ms; SERIES is system_path).  Writes O/throughput.png
# (operations per second against client threads, one panel per workload) and
# O/latency.png (p50 solid and p99 dashed against threads, log scale).

workloads = "point_select insert update rwmix bank"
series = "mariadb_odbc galera_odbc galera-sync_odbc recall_odbc recall_librecall"
titles = "mariadb/odbc galera/odbc galera-sync/odbc recall/odbc recall/librecall"
file_exists(f) = system("test -s '" . f . "' && echo 1 || echo 0") + 0
datafile(w, s) = sprintf("%s/%s.%s.dat", datadir, w, s)

set style line 1 lc rgb "#1b9e77" lw 2 pt 7 ps 1.0
set style line 2 lc rgb "#d95f02" lw 2 pt 5 ps 1.0
set style line 3 lc rgb "#7570b3" lw 2 pt 9 ps 1.2
set style line 4 lc rgb "#e7298a" lw 2 pt 11 ps 1.2
set style line 5 lc rgb "#444444" lw 2 pt 13 ps 1.2
do for [i=1:5] {
    eval sprintf("set style line %d lc rgb word('#1b9e77 #d95f02 #7570b3 #e7298a #444444', %d) lw 1.5 dt 2 pt %d ps 0.8", 10 + i, i, word("7 5 9 11 13", i) + 0)
}

set terminal pngcairo size 1500,900 font "DejaVu Sans,10" noenhanced
set logscale x 2
set xlabel "client threads"
set grid
unset key

# The sixth panel of each page holds the legend (key only, no axes).
LEGEND = "unset logscale; unset border; unset tics; unset xlabel; unset ylabel; unset title; " . \
    "unset grid; set xrange [0:1]; set yrange [0:1]; set key center center font ',12' spacing 1.5; " . \
    "plot for [i=1:words(series)] NaN with linespoints ls i title word(titles, i); " . \
    "unset key; set border; set tics; set grid; set xrange [*:*]; set logscale x 2; set xlabel 'client threads'"

# ---- throughput ----
set output outdir . "/throughput.png"
set multiplot layout 2,3 title "Throughput against client threads (same machine, same run)"
do for [wi=1:words(workloads)] {
    w = word(workloads, wi)
    set title w
    set ylabel (w eq "rwmix" || w eq "bank" ? "transactions/s" : "operations/s")
    set yrange [0:*]
    cmd = ""
    do for [i=1:words(series)] {
        f = datafile(w, word(series, i))
        if (file_exists(f)) {
            cmd = cmd . (strlen(cmd) > 0 ? ", " : "") . sprintf("'%s' using 1:2 with linespoints ls %d title '%s'", f, i, word(titles, i))
        }
    }
    if (strlen(cmd) > 0) { eval("plot " . cmd) }
}
eval LEGEND
unset multiplot

# ---- latency percentiles ----
set output outdir . "/latency.png"
set multiplot layout 2,3 title "Client latency against threads: p50 (solid) and p99 (dashed), ms, log scale"
set logscale y 10
set yrange [*:*]
do for [wi=1:words(workloads)] {
    w = word(workloads, wi)
    set title w
    set ylabel "ms"
    cmd = ""
    do for [i=1:words(series)] {
        f = datafile(w, word(series, i))
        if (file_exists(f)) {
            cmd = cmd . (strlen(cmd) > 0 ? ", " : "") . sprintf("'%s' using 1:3 with linespoints ls %d title '%s p50', '%s' using 1:5 with linespoints ls %d title '%s p99'", f, i, word(titles, i), f, 10 + i, word(titles, i))
        }
    }
    if (strlen(cmd) > 0) { eval("plot " . cmd) }
}
eval LEGEND
unset multiplot
