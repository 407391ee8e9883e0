#!/usr/bin/env bash
# Data-parallel training on this machine, in one run (docs/distributed.md):
#  1. throughput: ember-mnist's default CNN on the MNIST digits, 2 epochs,
#     as 1 rank x 2 threads (batch 64) and as 2 ranks x 1 thread under
#     mpirun (--distributed, batch 32 per rank: the same 64 images a step);
#     epoch 2's samples/s, --repeats interleaved repeats, the median;
#  2. communication per step: ember-dist-steps on 2 ranks x 1 thread, with
#     DDP's default 25 MiB buckets (the CNN's 0.97 MB of gradients make one
#     bucket, reduced after the whole backward) and with 0.25 MiB buckets
#     (reduced while backward goes on): step time, all-reduce time in
#     flight and time blocked, and a timeline of one step from the
#     profiler's trace.
# Writes bench/results/distributed/: throughput.csv, steps-25mb.csv,
# steps-0.25mb.csv, timeline.svg, trace.json, summary.md.
#
#   bash bench/distributed_speed.sh [--repeats 3] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=3 out=bench/results/distributed
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) repeats=$2; shift ;;
    --out) out=$2; shift ;;
    *) echo "distributed_speed.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
bin=build/release/examples/ember-mnist steps_bin=build/release/bench/ember-dist-steps
[ -x "$bin" ] && [ -x "$steps_bin" ] || { echo "build first: cmake --build build/release --target ember-mnist ember-dist-steps" >&2; exit 1; }
data=datasets/mnist-digits
[ -d "$data" ] || bash scripts/prepare_data.sh mnist-digits
mpirun=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader --mca oob_tcp_if_include lo)
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "config,repeat,threads_per_rank,ranks,batch_per_rank,samples_per_second" > "$out/throughput.csv"
one_rank() {
  "$bin" train --data-dir "$data" --epochs 2 --batch-size 64 --threads 2 --seed 1 --out "$work/one" > /dev/null
  echo "1 rank x 2 threads,$1,2,1,64,$(tail -n 1 "$work/one/metrics.csv" | cut -d, -f9)" >> "$out/throughput.csv"
}
two_ranks() {
  "${mpirun[@]}" -np 2 "$bin" train --distributed --data-dir "$data" --epochs 2 --batch-size 32 --threads 1 --seed 1 \
    --out "$work/two" > /dev/null
  echo "2 ranks x 1 thread,$1,1,2,32,$(tail -n 1 "$work/two/metrics.csv" | cut -d, -f9)" >> "$out/throughput.csv"
}
for r in $(seq 1 "$repeats"); do
  echo "== throughput, repeat $r"
  if [ $((r % 2)) = 1 ]; then one_rank "$r"; two_ranks "$r"; else two_ranks "$r"; one_rank "$r"; fi
done

for cap in 25 0.25; do
  echo "== communication per step, ${cap} MiB buckets"
  "${mpirun[@]}" -np 2 "$steps_bin" --threads 1 --steps 40 --warmup 5 --bucket-mb "$cap" --out "$work/steps-$cap"
  cp "$work/steps-$cap/steps.csv" "$out/steps-${cap}mb.csv"
done
cp "$work/steps-0.25/timeline.svg" "$out/timeline.svg"
cp "$work/steps-0.25/trace.json" "$out/trace.json"

python3 bench/summarize_distributed.py "$out" "$(git rev-parse --short HEAD)" "$(mpirun --version | head -1)"
