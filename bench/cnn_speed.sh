#!/usr/bin/env bash
# Default-CNN training speed, side by side: lenet_speed.sh's counterpart for
# ember-mnist's default model (--model cnn: three 3x3 conv-BN-ReLU-maxpool
# stages of 32/64/128 channels, dropout 0.25, Linear 1152-128-10), AdamW lr
# 3e-3 weight decay 5e-4, batch 64, no augmentation, no schedule, seed 0, on
# the same prepared data, with Ember and PyTorch (an exact replica of the
# model, bench/torch_mnist.py's CNN) in one run:
#   ember                      ember-mnist train --model cnn ...
#   pytorch stock              Debian's torch as installed
#   pytorch openblas-keepmem   OpenBLAS (its own kernel choice) through LD_LIBRARY_PATH,
#                              and glibc keeping freed memory (GLIBC_TUNABLES)
#   pytorch openblas-skx-keepmem  the same with OPENBLAS_CORETYPE=SkylakeX
# samples/s is the median of epochs 2..N of each run (the training loop only;
# see bench/torch_lenet_speed.py). Writes bench/results/mnist-speed/
# cnn.csv (one row per run and epoch), cnn.jsonl and cnn.md
# (cnn-fashion.* for --dataset fashion).
#
#   bash bench/cnn_speed.sh                        # digits, 5 epochs, 2 threads
#   bash bench/cnn_speed.sh --dataset fashion
#   bash bench/cnn_speed.sh --quick                # a trial: 3 epochs on 2,048 images, marked as trial
#   EMBER_MNIST_BIN=/tmp/ember-mnist bash bench/cnn_speed.sh   # a given binary (a copy safe from rebuilds), not built
# Other options: --epochs N, --threads N, --train-limit N, --out DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

dataset=mnist epochs=5 threads=2 limit=0 quick=0 out=bench/results/mnist-speed
while [ $# -gt 0 ]; do
  case "$1" in
    --dataset) dataset=$2; shift ;;
    --epochs) epochs=$2; shift ;;
    --threads) threads=$2; shift ;;
    --train-limit) limit=$2; shift ;;
    --quick) quick=1 ;;
    --out) out=$2; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;  # the comment above
    *) echo "cnn_speed.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ "$quick" = 0 ] || { epochs=3; limit=2048; }
[ "$epochs" -ge 2 ] || { echo "cnn_speed.sh: need at least 2 epochs (epoch 1 is warm-up)" >&2; exit 2; }

die() { echo "cnn_speed.sh: $*" >&2; exit 1; }
. bench/torch_env.sh  # PY, KEEPMEM, fetch_openblas
folder=$([ "$dataset" = fashion ] && echo fashion-mnist || echo mnist-digits)
ls datasets/"$folder"/train-images* >/dev/null 2>&1 || die "no datasets/$folder (run: bash scripts/prepare_data.sh)"

bin=${EMBER_MNIST_BIN:-}
if [ -z "$bin" ]; then
  bin=build/release/examples/ember-mnist
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
  [ -f build/release/CMakeCache.txt ] || cmake --preset release >/dev/null
  cmake --build build/release --target ember-mnist -j"${EMBER_BUILD_JOBS:-2}" >/dev/null || die "building ember-mnist failed"
fi
[ -x "$bin" ] || die "no ember-mnist at $bin"

fetch_openblas  # Debian's OpenBLAS unpacked into bench/.cache, not installed

mkdir -p "$out"
stem=$([ "$dataset" = mnist ] && echo cnn || echo "cnn-$dataset")
jsonl=$out/$stem.jsonl
: > "$jsonl"
lim=()
[ "$limit" = 0 ] || lim=(--train-limit "$limit")

echo "== ember, $threads threads"
run=runs/speed-cnn-$dataset
rm -rf "$run"
# EMBER_* settings from the caller's environment would change what Ember runs: cleared
env -u EMBER_BACKEND -u EMBER_CPU_CACHE -u EMBER_GEMM_BLOCKS -u EMBER_NUM_THREADS -u EMBER_PROFILE \
  "$bin" train --model cnn --dataset "$dataset" --optimizer adamw --lr 3e-3 --weight-decay 5e-4 --batch-size 64 \
  --schedule none --augment 0 --flip off --epochs "$epochs" --threads "$threads" --seed 0 --out "$run" "${lim[@]}" \
  | tee "$out/ember-cnn-$dataset.log"
"$PY" - "$run/metrics.csv" "$dataset" "$threads" "$(head -1 "$out/ember-cnn-$dataset.log")" \
  "$(grep '^memory:' "$out/ember-cnn-$dataset.log" || true)" <<'PY' >> "$jsonl"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def memory(line):  # ember-mnist's last line: "memory: peak RSS P MiB, R MiB with the data and model ready: ..."
    import re
    m = re.search(r"peak RSS ([0-9.]+) MiB, ([0-9.]+) MiB with the data", line)
    return {"peak_rss_mib": float(m.group(1)), "rss_ready_mib": float(m.group(2))} if m else {}
print(json.dumps({"framework": "ember", "config": "cache-on", "model": "cnn", "dataset": sys.argv[2],
                  "threads": int(sys.argv[3]),
                  "samples_per_second": [float(r["samples_per_second"]) for r in rows],
                  "epoch_seconds": [float(r["epoch_seconds"]) for r in rows],
                  "test_accuracy": [float(r["test_accuracy"]) for r in rows], "startup": sys.argv[4],
                  **memory(sys.argv[5])}))
PY

torch_run() {  # config [env...]
  local config=$1
  shift
  echo "== pytorch $config, $threads threads"
  env -u OPENBLAS_CORETYPE OMP_NUM_THREADS="$threads" "$@" "$PY" bench/torch_lenet_speed.py --model cnn \
    --dataset "$dataset" --epochs "$epochs" --threads "$threads" --config "$config" "${lim[@]}" >> "$jsonl"
}
torch_run stock
torch_run openblas-keepmem LD_LIBRARY_PATH="$obdir" GLIBC_TUNABLES="$KEEPMEM"
torch_run openblas-skx-keepmem LD_LIBRARY_PATH="$obdir" OPENBLAS_CORETYPE=SkylakeX GLIBC_TUNABLES="$KEEPMEM"

"$PY" bench/summarize_lenet_speed.py "$jsonl" --model cnn --trial "$quick"
