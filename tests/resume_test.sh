#!/usr/bin/env bash
# A resumed run equals an uninterrupted one (Note [Exact resume] in
# examples/mnist/trainer.h): train 3 epochs straight; train 1 epoch, stop,
# resume to 3; the metrics (all but the timing columns) must be identical,
# and so must the final weights. Exits 77 (skipped) without prepared data.
set -euo pipefail
bin=$1
source "$(dirname "$0")/require_digits.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# cnn has dropout (the generator's state) and batch norm (running statistics).
# 1,000 training images keep it quick, even under the sanitizers.
common=(--data-dir "$data" --model cnn --epochs 3 --batch-size 100 --seed 7 --augment 1 --train-limit 1000)
steps_per_epoch=10
# Both runs use the same --out, so their files differ only if the training does.
"$bin" train "${common[@]}" --out "$work/run" > "$work/straight.log"
mv "$work/run" "$work/straight"
"$bin" train "${common[@]}" --out "$work/run" --max-steps "$steps_per_epoch" > "$work/first.log"
"$bin" train "${common[@]}" --out "$work/run" --resume > "$work/second.log"
grep -q "resumed from" "$work/second.log" || { echo "FAIL: the second run did not resume"; exit 1; }
cut -d, -f1-7 "$work/straight/metrics.csv" > "$work/a.csv"
cut -d, -f1-7 "$work/run/metrics.csv" > "$work/b.csv"
if ! diff "$work/a.csv" "$work/b.csv"; then
  echo "FAIL: resumed metrics differ from the uninterrupted run"
  exit 1
fi
cmp "$work/straight/model.safetensors" "$work/run/model.safetensors" || { echo "FAIL: final weights differ"; exit 1; }
echo "resume is exact: $(wc -l < "$work/a.csv") metric lines and the final weights are identical"
