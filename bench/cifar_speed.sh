#!/usr/bin/env bash
# ResNet-18 training speed on the CPU, side by side: ember-mnist's resnet18
# (the CIFAR stem: 3x3 stride-1 conv1, no max-pool, 10 classes) and
# torchvision's resnet18 with the same stem (bench/torch_cifar_speed.py),
# SGD nesterov momentum 0.9, weight decay 5e-4, lr 0.1 constant, float32,
# random crop (padding 4) and flip, the same thread count, on the same
# synthetic CIFAR-10-format images (scripts/make_synthetic_cifar.py: only
# speed is measured, never accuracy), in one run.
#
# Each run trains two epochs of --steps batches: epoch 1 is warm-up, epoch 2
# is timed (trainer.cpp's epoch_seconds: from the epoch's start to its last
# optimizer step, batch assembly included, the evaluation after it not).
# Repeats alternate the order (ember first, then pytorch first, ...).
# samples/s is the median over repeats; the ratio is Ember / PyTorch.
# Writes bench/results/cifar/cpu-resnet18.csv (one row per repeat and
# framework), .jsonl (each run's raw record), .md and .svg.
#
#   bash bench/cifar_speed.sh                          # 6 steps, 3 repeats, batch 128, 2 threads
#   bash bench/cifar_speed.sh --steps 10 --repeats 5
#   bash bench/cifar_speed.sh --steps 2 --repeats 1 --batch-size 16 --out /tmp/cifar-trial   # a smoke test
#   EMBER_MNIST_BIN=/tmp/ember-mnist bash bench/cifar_speed.sh   # a given binary, not built
# Other options: --threads N (default: the number of cores), --test N (test
# images evaluated after each epoch, untimed; default 128).
set -euo pipefail
cd "$(dirname "$0")/.."

steps=6 repeats=3 batch=128 threads=$(nproc) test=128 out=bench/results/cifar
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps=$2; shift ;;
    --repeats) repeats=$2; shift ;;
    --batch-size) batch=$2; shift ;;
    --threads) threads=$2; shift ;;
    --test) test=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;  # the comment above
    *) echo "cifar_speed.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
die() { echo "cifar_speed.sh: $*" >&2; exit 1; }
for v in steps repeats batch threads test; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--${v/batch/batch-size} must be a positive integer, got '${!v}'"
done
. bench/torch_env.sh  # PY
"$PY" -c 'import torchvision' 2>/dev/null || die "$PY cannot import torchvision (apt-get install python3-torchvision)"

bin=${EMBER_MNIST_BIN:-}
if [ -z "$bin" ]; then
  bin=build/release/examples/ember-mnist
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
  [ -f build/release/CMakeCache.txt ] || cmake --preset release >/dev/null
  cmake --build build/release --target ember-mnist ember-plot -j"${EMBER_BUILD_JOBS:-2}" >/dev/null ||
    die "building ember-mnist failed"
fi
[ -x "$bin" ] || die "no ember-mnist at $bin"

# A rough forecast: ResNet-18 (CIFAR stem) costs about 3 x 1.1 GFLOP per
# training image; assume about 25 GFLOP/s per thread (a guess for
# this kind of 2-core machine; a 16-image trial under load ran at ~12).
# Each run is 2 epochs of $steps steps, plus start-up and two evaluations.
"$PY" - "$steps" "$repeats" "$batch" "$threads" "$test" <<'PY'
import sys
steps, repeats, batch, threads, test = map(int, sys.argv[1:])
per_image = 3.3 / (25 * threads)  # seconds
run = 2 * steps * batch * per_image + 2 * test * per_image / 3 + 5
print(f"cifar_speed.sh: {repeats} repeat(s) x 2 frameworks x 2 epochs of {steps} steps of {batch}: "
      f"roughly {repeats * 2 * run / 60:.0f} min (forecast; the first repeat's real time is printed after it)")
PY

data=$(mktemp -d /tmp/ember-cifar-speed.XXXXXX)
trap 'rm -rf "$data"' EXIT
limit=$((steps * batch))
"$PY" scripts/make_synthetic_cifar.py "$data" --train "$limit" --test "$test" >/dev/null

mkdir -p "$out"
jsonl=$out/cpu-resnet18.jsonl
: > "$jsonl"

ember_run() {  # repeat
  local run=runs/speed-cifar-r$1
  echo "== repeat $1: ember, $threads threads"
  rm -rf "$run"
  mkdir -p runs
  # EMBER_* settings from the caller's environment would change what Ember runs: cleared
  env -u EMBER_BACKEND -u EMBER_CPU_CACHE -u EMBER_GEMM_BLOCKS -u EMBER_PROFILE EMBER_NUM_THREADS="$threads" \
    "$bin" train --dataset cifar10 --data-dir "$data" --model resnet18 --optimizer sgd --lr 0.1 --momentum 0.9 \
    --weight-decay 5e-4 --schedule none --augment 4 --flip on --batch-size "$batch" --epochs 2 \
    --train-limit "$limit" --threads "$threads" --seed 0 --out "$run" > "$run.log" ||
    { tail -20 "$run.log" >&2; die "ember-mnist failed (log: $run.log)"; }
  "$PY" - "$run/metrics.csv" "$1" "$threads" "$batch" "$(head -1 "$run.log")" <<'PY' | tee -a "$jsonl" | cut -c1-160
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(json.dumps({"framework": "ember", "repeat": int(sys.argv[2]), "threads": int(sys.argv[3]),
                  "batch_size": int(sys.argv[4]),
                  "epoch_seconds": [float(r["epoch_seconds"]) for r in rows],
                  "samples_per_second": [float(r["samples_per_second"]) for r in rows],
                  "train_loss": [float(r["train_loss"]) for r in rows], "startup": sys.argv[5]}))
PY
}

torch_run() {  # repeat
  echo "== repeat $1: pytorch, $threads threads"
  OMP_NUM_THREADS="$threads" "$PY" bench/torch_cifar_speed.py --data-dir "$data" --train-limit "$limit" \
    --batch-size "$batch" --epochs 2 --lr 0.1 --augment 4 --threads "$threads" |
    "$PY" -c 'import json, sys; d = json.loads(sys.stdin.read()); d["repeat"] = int(sys.argv[1]); print(json.dumps(d))' "$1" \
    >> "$jsonl"
}

start=$SECONDS
for r in $(seq 1 "$repeats"); do
  if [ $((r % 2)) = 1 ]; then ember_run "$r"; torch_run "$r"; else torch_run "$r"; ember_run "$r"; fi
  if [ "$r" = 1 ] && [ "$repeats" -gt 1 ]; then
    echo "cifar_speed.sh: repeat 1 took $((SECONDS - start)) s;" \
      "the rest will take about $(((SECONDS - start) * (repeats - 1))) s"
  fi
done

plot=build/release/examples/ember-plot
[ -z "${EMBER_MNIST_BIN:-}" ] || plot=$(dirname "$bin")/ember-plot
"$PY" bench/summarize_cifar_speed.py "$jsonl" --steps "$steps" --plot "$plot"
