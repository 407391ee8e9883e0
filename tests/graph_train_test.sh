#!/usr/bin/env bash
# ember-mnist with --device cuda replays its steps as a CUDA graph (Note
# [Graphed training step] in examples/mnist/graphed_step.h) and writes the
# same steps.csv and metrics as with --cuda-graph off: the trainer's wiring
# of the graphed step, on the emulator. 200 images at batch 32: the last
# batch of 8 takes the eager fallback. Exits 77 (skipped) without data.
set -euo pipefail
bin=$1
source "$(dirname "$0")/require_digits.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--data-dir "$data" --device cuda --model mlp --train-limit 200 --batch-size 32 --epochs 1 --seed 3)
"$bin" train "${common[@]}" --cuda-graph off --out "$work/eager" > "$work/eager.log"
"$bin" train "${common[@]}" --cuda-graph auto --out "$work/graph" > "$work/graph.log"
grep -q "CUDA graph: [1-9][0-9]* steps replayed" "$work/graph.log" ||
  { echo "FAIL: no step was replayed"; cat "$work/graph.log"; exit 1; }
diff "$work/eager/steps.csv" "$work/graph/steps.csv" || { echo "FAIL: the graphed steps.csv differs"; exit 1; }
diff <(cut -d, -f1-7 "$work/eager/metrics.csv") <(cut -d, -f1-7 "$work/graph/metrics.csv") ||
  { echo "FAIL: the graphed metrics differ"; exit 1; }
echo "graphed training is exact: $(grep -o 'CUDA graph: .*' "$work/graph.log" | tail -1)"
