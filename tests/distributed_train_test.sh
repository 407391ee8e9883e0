#!/usr/bin/env bash
# ember-mnist train --distributed under mpirun (Note [Data-parallel
# ember-mnist] in examples/mnist/data_parallel.h): two ranks train the
# default CNN on 512 digits, the startup line names the world and the
# backend, and a run stopped mid-epoch by --max-steps resumes to the very
# weights of an uninterrupted run, but not on another number of ranks. Run
# in two working directories, rank 0 alone writes, and a checkpoint only
# rank 0 sees is a clear error. Then the same command without mpirun is a
# world of one.
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

# A mid-epoch checkpoint of 2 ranks does not resume on 1: the rest of the
# epoch would be another share of the order.
"${mpirun[@]}" -np 2 "$bin" "${common[@]}" --epochs 2 --out "$work/run" --max-steps 11 > /dev/null 2>&1
if "$bin" "${common[@]}" --epochs 2 --out "$work/run" --resume > "$work/world.log" 2>&1; then
  echo "FAIL: a 2-rank mid-epoch checkpoint resumed on 1 rank"; exit 1
fi
grep -q "the number of ranks (mpirun -np) differ" "$work/world.log" ||
  { cat "$work/world.log"; echo "FAIL: the refusal does not name the number of ranks"; exit 1; }

# Rank 0 alone writes: each rank in its own working directory (MPMD), a
# relative --out; rank 1's directory stays empty. Then only rank 0 sees the
# checkpoint, and --resume says so instead of training two different runs.
mkdir -p "$work/a" "$work/b"
"${mpirun[@]}" -np 1 -wdir "$work/a" "$bin" "${common[@]}" --epochs 1 --out run : \
  -np 1 -wdir "$work/b" "$bin" "${common[@]}" --epochs 1 --out run > "$work/mpmd.log" 2>&1 ||
  { cat "$work/mpmd.log"; echo "FAIL: the two-directory run failed"; exit 1; }
[ -s "$work/a/run/model.safetensors" ] || { echo "FAIL: rank 0 wrote no model"; exit 1; }
[ -z "$(ls -A "$work/b")" ] || { ls -R "$work/b"; echo "FAIL: rank 1 wrote files"; exit 1; }
if "${mpirun[@]}" -np 1 -wdir "$work/a" "$bin" "${common[@]}" --epochs 2 --out run --resume : \
     -np 1 -wdir "$work/b" "$bin" "${common[@]}" --epochs 2 --out run --resume > "$work/seen.log" 2>&1; then
  echo "FAIL: resumed with the checkpoint on rank 0 only"; exit 1
fi
grep -q "is seen by 1 of the 2 ranks" "$work/seen.log" || { cat "$work/seen.log"; echo "FAIL: no clear error"; exit 1; }

# Without mpirun, --distributed is a world of one.
"$bin" "${common[@]}" --epochs 1 --out "$work/single" > "$work/single.log" 2>&1 ||
  { cat "$work/single.log"; echo "FAIL: a world of one did not train"; exit 1; }
grep -q "data-parallel: world 1, backend " "$work/single.log" || { echo "FAIL: world of one not named"; exit 1; }
echo "PASS: two ranks trained, rank 0 wrote alone, and a mid-epoch resume ended on the same weights"
