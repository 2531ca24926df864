#!/bin/sh
# run.sh — time and peak memory of reading a 10^7-row CSV file (366 MB, `nnfit data --task abs`:
# three %.9g columns and a header) with nnfit's reader (build/bench/csv_read, nf_data_read)
# and with numpy.loadtxt into float32, RUNS times each, alternating; prints every run and the
# medians.  Times and peak memory (maximum resident set size) are /usr/bin/time -v's for the
# whole process, start-up included.
# usage: bench/csv_read/run.sh [build-dir] [rows] [runs]
set -eu
bdir=${1:-build}
rows=${2:-10000000}
runs=${3:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tmp=$(mktemp -d /tmp/nnfit-csvbench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$bdir/src/cli/nnfit" data --task abs --n "$rows" --out "$tmp/abs.csv" >/dev/null
echo "file: $(wc -c <"$tmp/abs.csv") bytes, $rows rows + header, 3 columns"
cat "$tmp/abs.csv" >/dev/null # in the page cache for both readers
# one run: prints "WALL_SECONDS PEAK_KIB CPU_SECONDS" for the whole process as /usr/bin/time -v
# sees it (CPU = user + system, steadier than wall time on a busy machine)
one() {
    /usr/bin/time -v "$@" >"$tmp/out" 2>"$tmp/time" || { cat "$tmp/out" "$tmp/time" >&2; exit 1; }
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/time" | awk -F: '{print $(NF-1)*60+$NF}')
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time")
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$tmp/time")
    echo "$wall $rss $cpu"
}
: >"$tmp/nnfit"
: >"$tmp/numpy"
for i in $(seq "$runs"); do
    r=$(one "$bdir/bench/csv_read" "$tmp/abs.csv")
    echo "$r" >>"$tmp/nnfit"
    echo "run $i nnfit csv_read:  $r  ($(cat "$tmp/out"))"
    r=$(one /usr/bin/python3 -c "import sys, numpy; a = numpy.loadtxt(sys.argv[1], delimiter=',', skiprows=1, dtype=numpy.float32); print(a.shape, float(a.sum(dtype=numpy.float64)))" "$tmp/abs.csv")
    echo "$r" >>"$tmp/numpy"
    echo "run $i numpy.loadtxt:   $r  ($(cat "$tmp/out"))"
done
med() { sort -n -k"$2" "$1" | awk -v k="$2" '{v[NR]=$k} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
echo "median seconds: nnfit $(med "$tmp/nnfit" 1), numpy $(med "$tmp/numpy" 1)"
echo "median peak RSS (KiB): nnfit $(med "$tmp/nnfit" 2), numpy $(med "$tmp/numpy" 2)"
echo "median CPU seconds: nnfit $(med "$tmp/nnfit" 3), numpy $(med "$tmp/numpy" 3)"
echo "numpy $(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
