#!/usr/bin/env bash
# Where Ember's time goes in LeNet training (issue 5's per-op profile):
# `perf record` with DWARF call stacks on a short ember-mnist run (the
# lenet_speed.sh recipe, --max-steps steps), grouped by kernel and by op by
# bench/perf_summary.py into bench/results/mnist-speed/profile.md.
# perf.data and the raw stacks stay in bench/.cache/profile/.
#
#   bash bench/profile_lenet.sh                  # 300 steps, 2 threads asked for, digits
#   bash bench/profile_lenet.sh --steps 100 --threads 1 --dataset fashion
#   bash bench/profile_lenet.sh --trial          # notes in profile.md that the machine was busy
#
# Needs perf (linux-perf) allowed to sample this process: exits with a
# message when it is not. Without perf, valgrind's callgrind gives an
# instruction-count profile instead (by hand: valgrind --tool=callgrind
# build/release/examples/ember-mnist train ... --max-steps 20; callgrind_annotate).
set -euo pipefail
cd "$(dirname "$0")/.."

steps=300 threads=2 dataset=mnist freq=499 out=bench/results/mnist-speed/profile.md trial=()
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps=$2; shift ;;
    --threads) threads=$2; shift ;;
    --dataset) dataset=$2; shift ;;
    --freq) freq=$2; shift ;;
    --out) out=$2; shift ;;
    --trial) trial=(--note "**trial run** on a shared, busy machine: shares within a few points, not a measurement") ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile_lenet.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
die() { echo "profile_lenet.sh: $*" >&2; exit 1; }

work=bench/.cache/profile
mkdir -p "$work"
command -v perf >/dev/null || die "perf is not installed (apt-get install linux-perf); see the header for callgrind"
if ! perf record -q -F "$freq" --call-graph dwarf -o "$work/check.data" -- true >"$work/check.log" 2>&1; then
  cat "$work/check.log" >&2
  die "perf cannot sample here (perf_event_paranoid is $(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo ?);
  as root: sysctl kernel.perf_event_paranoid=1). See the header for callgrind."
fi

export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
[ -f build/release/CMakeCache.txt ] || cmake --preset release >/dev/null
cmake --build build/release --target ember-mnist -j"${EMBER_BUILD_JOBS:-2}" >/dev/null || die "building ember-mnist failed"

run=$work/run
rm -rf "$run"
args=(train --model lenet --dataset "$dataset" --optimizer adam --lr 1e-3 --batch-size 64 --schedule none --augment 0
      --weight-decay 0 --epochs 100 --max-steps "$steps" --threads "$threads" --seed 0 --out "$run")
echo "perf record: ember-mnist ${args[*]}"
perf record -F "$freq" --call-graph dwarf,16384 -o "$work/perf.data" -- build/release/examples/ember-mnist "${args[@]}" \
  > "$work/ember.log" 2> "$work/record.log" || { cat "$work/record.log" >&2; die "perf record failed"; }
perf script -F comm,tid,period,ip,sym,dso -i "$work/perf.data" > "$work/stacks.txt" 2>"$work/script.log" ||
  die "perf script failed (see $work/script.log)"

mkdir -p "$(dirname "$out")"
python3 bench/perf_summary.py "$work/stacks.txt" --title "Where Ember's time goes: LeNet training, $steps steps" "${trial[@]}" \
  --note "run: \`ember-mnist ${args[*]}\` under \`perf record -F $freq --call-graph dwarf\` ($(date -u '+%Y-%m-%d'), $(LC_ALL=C lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))" \
  --note "Ember at $(git rev-parse --short HEAD); startup line: \`$(head -1 "$work/ember.log")\`" \
  --note "the run evaluates the test set and saves a checkpoint at the end of each epoch, the last one partial; both have their own rows" \
  --note "cpu-clock sampling (no hardware counters in this VM): time, not cycles or cache misses" \
  > "$out"
echo "wrote $out"
