#!/usr/bin/env bash
# Why a micro-benchmark case misses its goal: flat `perf` profiles of Ember
# and of PyTorch on the same case, side by side, in
# bench/results/cpu/profile.md (issue 4 asks for misses to be explained with
# a profile). Run it on a quiet machine after bench/cpu_micro.sh.
#
#   bash bench/profile_micro.sh                       # matmul_2048, sum, softmax; 2 threads
#   bash bench/profile_micro.sh --cases 'matmul_1024 sum' --threads 1
#
# PyTorch runs with Debian's OpenBLAS swapped in (OPENBLAS_CORETYPE=SkylakeX)
# and glibc keeping freed memory: the best configuration of the reduced run.
# These VMs expose no hardware counters, so perf samples the cpu-clock
# (software) event: shares of time per function, no IPC or cache misses.
# perf.data files stay in bench/.cache/profile-micro/.
set -euo pipefail
cd "$(dirname "$0")/.."

cases="matmul_2048 sum softmax" threads=2 freq=999 out=bench/results/cpu/profile.md
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) cases=$2; shift ;;
    --threads) threads=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile_micro.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
die() { echo "profile_micro.sh: $*" >&2; exit 1; }
. bench/torch_env.sh  # PY, KEEPMEM, fetch_openblas
command -v perf >/dev/null || die "perf is not installed (apt-get install linux-perf)"
# Many long samples, so that the timed calls outweigh the setup (allocating
# and filling the inputs, the reference check) in the profile.
timing="--repeat 40 --min-sample-ms 50 --max-case-s 60"   # bench/torch_micro.py's
ember_timing="--rep-ms 2000 --max-row-s 60"                # ember-bench's: about as long a run
work=bench/.cache/profile-micro
mkdir -p "$work"
perf record -q -o "$work/check.data" -- true >/dev/null 2>&1 ||
  die "perf cannot sample here (kernel.perf_event_paranoid is $(cat /proc/sys/kernel/perf_event_paranoid))"

export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
[ -f build/release/CMakeCache.txt ] || cmake --preset release >/dev/null
cmake --build build/release --target ember-bench -j"${EMBER_BUILD_JOBS:-2}" >/dev/null || die "build failed"
bin="build/release/bench/ember-bench --device cpu --hot"
fetch_openblas

# The top functions of one perf.data, as a markdown table.
top_table() {  # perf.data
  echo "| share | library | function |"
  echo "|---|---|---|"
  perf report -i "$1" --stdio --no-children --sort dso,symbol --percent-limit 1.5 2>/dev/null |
    awk '/^ *[0-9.]+%/ {
      share = $1; dso = $2; $1 = ""; $2 = ""; $3 = "";
      sym = substr($0, 4); sub(/ +- +-$/, "", sym); gsub(/\|/, "\\|", sym);
      if (length(sym) > 110) sym = substr(sym, 1, 107) "...";
      printf "| %s | %s | `%s` |\n", share, dso, sym }'
}

{
  echo "# Where the micro-benchmark time goes: Ember and PyTorch side by side"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); CPU: $(LC_ALL=C lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Ember: \`$bin --filter '^CASE\$' --threads $threads $ember_timing\` ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench/results' || echo ', modified'))"
  echo "- PyTorch $("$PY" -c 'import torch; print(torch.__version__)'): \`bench/torch_micro.py\`, the same case, OpenBLAS $openblas_version with OPENBLAS_CORETYPE=SkylakeX and GLIBC_TUNABLES keeping freed memory"
  echo "- \`perf record -F $freq\` on the cpu-clock event (no hardware counters on this VM); shares of all samples of the process, setup and reference check included; functions under 1.5% left out"
} > "$work/head.md"

: > "$work/body.md"
for c in $cases; do
  echo "== $c"
  perf record -q -F "$freq" -o "$work/ember-$c.data" -- $bin --filter "^$c\$" --threads "$threads" $ember_timing \
    > "$work/ember-$c.log" 2>&1 || die "perf record of Ember failed: $(tail -3 "$work/ember-$c.log")"
  env -u OPENBLAS_CORETYPE OMP_NUM_THREADS="$threads" LD_LIBRARY_PATH="$obdir" OPENBLAS_CORETYPE=SkylakeX \
    GLIBC_TUNABLES="$KEEPMEM" perf record -q -F "$freq" -o "$work/torch-$c.data" -- \
    "$PY" bench/torch_micro.py --config openblas-skx-keepmem --threads "$threads" --filter "^$c\$" $timing \
    > "$work/torch-$c.log" 2>&1 || die "perf record of PyTorch failed: $(tail -3 "$work/torch-$c.log")"
  {
    echo
    echo "## $c"
    echo
    echo "Medians in this run (ms, under perf): Ember $(awk -v c="$c" '$1 == c {print $5}' "$work/ember-$c.log"),"\
         "PyTorch $(awk -v c="$c" '$1 == c {print $5}' "$work/torch-$c.log")."
    echo
    echo "### Ember"
    echo
    top_table "$work/ember-$c.data"
    echo
    echo "### PyTorch"
    echo
    top_table "$work/torch-$c.data"
  } >> "$work/body.md"
done
mkdir -p "$(dirname "$out")"
cat "$work/head.md" "$work/body.md" > "$out"
echo "wrote $out"
