#!/usr/bin/env bash
# ember-mnist train --distributed under mpirun (Note [Data-parallel
# ember-mnist] in examples/mnist/data_parallel.h): two ranks train the
# default CNN on 512 digits, rank 0 alone writes the run directory, the
# startup line names the world and the backend, and a run stopped
# mid-epoch by --max-steps resumes to the very weights of an uninterrupted
# run. Then the same command without mpirun is a world of one.
#   tests/distributed_train_test.sh EMBER_MNIST MPIRUN [MPIRUN ARGS...]
# Exits 77 (skipped) without prepared data.
set -euo pipefail
bin=$1
shift
mpirun=("$@")
source "$(dirname "$0")/require_digits.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(train --distributed --data-dir "$data" --model cnn --train-limit 512 --batch-size 32 --seed 5)

# 512 images in shares of 256: 8 steps an epoch.
# Both runs use the same --out, so their files differ only if the training does.
"${mpirun[@]}" -np 2 "$bin" "${common[@]}" --epochs 2 --out "$work/run" > "$work/straight.log" 2>&1 ||
  { cat "$work/straight.log"; echo "FAIL: two ranks did not train"; exit 1; }
mv "$work/run" "$work/straight"
grep -q "data-parallel: world 2, backend mpi, batch 32 per rank (64 in all)" "$work/straight.log" ||
  { cat "$work/straight.log"; echo "FAIL: no data-parallel startup line"; exit 1; }
[ "$(grep -o "epoch 2/2  train loss" "$work/straight.log" | wc -l)" = 1 ] ||
  { cat "$work/straight.log"; echo "FAIL: an epoch line from a rank other than 0"; exit 1; }
[ "$(tail -n 1 "$work/straight/metrics.csv" | cut -d, -f2)" = 16 ] ||
  { echo "FAIL: 2 epochs of 8 steps should end at step 16"; cat "$work/straight/metrics.csv"; exit 1; }
for f in metrics.csv steps.csv checkpoint.safetensors model.safetensors report.html; do
  [ -s "$work/straight/$f" ] || { echo "FAIL: rank 0 wrote no $f"; exit 1; }
done

# Stopped in the middle of epoch 2 (step 11), then resumed: the same weights.
"${mpirun[@]}" -np 2 "$bin" "${common[@]}" --epochs 2 --out "$work/run" --max-steps 11 > "$work/first.log" 2>&1 ||
  { cat "$work/first.log"; echo "FAIL: the first half did not run"; exit 1; }
"${mpirun[@]}" -np 2 "$bin" "${common[@]}" --epochs 2 --out "$work/run" --resume > "$work/second.log" 2>&1 ||
  { cat "$work/second.log"; echo "FAIL: the resume did not run"; exit 1; }
grep -q "resumed from .* in epoch 2 at batch 3 of 8 (step 11)" "$work/second.log" ||
  { grep resumed "$work/second.log"; echo "FAIL: did not resume mid-epoch at step 11"; exit 1; }
cut -d, -f1-7 "$work/straight/metrics.csv" > "$work/a.csv"
cut -d, -f1-7 "$work/run/metrics.csv" > "$work/b.csv"
diff "$work/a.csv" "$work/b.csv" || { echo "FAIL: the resumed run's metrics differ"; exit 1; }
cmp "$work/straight/model.safetensors" "$work/run/model.safetensors" ||
  { echo "FAIL: the resumed run ends with other weights"; exit 1; }

# Without mpirun, --distributed is a world of one.
"$bin" "${common[@]}" --epochs 1 --out "$work/single" > "$work/single.log" 2>&1 ||
  { cat "$work/single.log"; echo "FAIL: a world of one did not train"; exit 1; }
grep -q "data-parallel: world 1, backend " "$work/single.log" || { echo "FAIL: world of one not named"; exit 1; }
echo "PASS: two ranks trained, rank 0 wrote alone, and a mid-epoch resume ended on the same weights"
