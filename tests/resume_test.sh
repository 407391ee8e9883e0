#!/usr/bin/env bash
# A resumed run equals an uninterrupted one (Note [Exact resume] in
# examples/mnist/trainer.h): train 3 epochs straight; train 1 epoch, stop,
# resume to 3; the metrics (all but the timing columns) must be identical,
# and so must the final weights. Then a run that reads its step metrics
# every 3 steps writes the same metrics.csv and steps.csv. Exits 77 (skipped) without prepared data.
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
grep -q "resumed from .* at epoch 1 (step $steps_per_epoch)" "$work/second.log" ||
  { echo "FAIL: the second run did not resume at the end of epoch 1: $(grep resumed "$work/second.log")"; exit 1; }
cut -d, -f1-7 "$work/straight/metrics.csv" > "$work/a.csv"
cut -d, -f1-7 "$work/run/metrics.csv" > "$work/b.csv"
if ! diff "$work/a.csv" "$work/b.csv"; then
  echo "FAIL: resumed metrics differ from the uninterrupted run"
  exit 1
fi
cmp "$work/straight/model.safetensors" "$work/run/model.safetensors" || { echo "FAIL: final weights differ"; exit 1; }
# The step metrics read every 3 steps (Note [Metrics once per N steps] in
# examples/mnist/trainer.cpp; 3 divides no epoch's 10 steps): the same files.
"$bin" train "${common[@]}" --out "$work/run" --sync-every 3 > "$work/batched.log"
cut -d, -f1-7 "$work/run/metrics.csv" > "$work/c.csv"
diff "$work/a.csv" "$work/c.csv" || { echo "FAIL: --sync-every 3 changed metrics.csv"; exit 1; }
diff "$work/straight/steps.csv" "$work/run/steps.csv" || { echo "FAIL: --sync-every 3 changed steps.csv"; exit 1; }
# A divergence is reported at the step where it happened, however late the
# host reads the losses.
for every in 1 4; do
  if "$bin" train --data-dir "$data" --lr 1e12 --train-limit 640 --epochs 1 --sync-every $every \
      --out "$work/diverged" > "$work/diverged.log" 2>&1; then
    echo "FAIL: --lr 1e12 trained without an error"; exit 1
  fi
  grep -q "training diverged: the loss became nan at epoch 1, step 3 " "$work/diverged.log" ||
    { echo "FAIL: --sync-every $every: $(tail -1 "$work/diverged.log")"; exit 1; }
done
echo "resume is exact: $(wc -l < "$work/a.csv") metric lines and the final weights are identical"
