#!/usr/bin/env bash
# MNIST training speed, side by side (issue 5): the same LeNet, Adam lr 1e-3,
# batch 64, no augmentation, on the same prepared data, with Ember
# (ember-mnist) and PyTorch in one run:
#   ember                      build/release/examples/ember-mnist train --model lenet ...
#   pytorch stock              Debian's torch as installed
#   pytorch openblas-keepmem   OpenBLAS (its own kernel choice) through LD_LIBRARY_PATH,
#                              and glibc keeping freed memory (GLIBC_TUNABLES)
#   pytorch openblas-skx-keepmem  the same with OPENBLAS_CORETYPE=SkylakeX
# samples/s is the median of epochs 2-5 of each run (the training loop only;
# see bench/torch_lenet_speed.py). Writes bench/results/mnist-speed/
# lenet.csv (one row per run and epoch), lenet.jsonl and lenet.md
# (lenet-fashion.* for --dataset fashion).
#
#   bash bench/lenet_speed.sh                      # digits, 5 epochs, 2 threads
#   bash bench/lenet_speed.sh --dataset fashion
#   bash bench/lenet_speed.sh --quick              # a trial: 3 epochs on 2,048 images, marked as trial
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
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lenet_speed.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ "$quick" = 0 ] || { epochs=3; limit=2048; }
[ "$epochs" -ge 2 ] || { echo "lenet_speed.sh: need at least 2 epochs (epoch 1 is warm-up)" >&2; exit 2; }

die() { echo "lenet_speed.sh: $*" >&2; exit 1; }
. bench/torch_env.sh  # PY, KEEPMEM, fetch_openblas
folder=$([ "$dataset" = fashion ] && echo fashion-mnist || echo mnist-digits)
ls datasets/"$folder"/train-images* >/dev/null 2>&1 || die "no datasets/$folder (run: bash scripts/prepare_data.sh)"

export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
[ -f build/release/CMakeCache.txt ] || cmake --preset release >/dev/null
cmake --build build/release --target ember-mnist -j"${EMBER_BUILD_JOBS:-2}" >/dev/null || die "building ember-mnist failed"

fetch_openblas  # Debian's OpenBLAS unpacked into bench/.cache, not installed

mkdir -p "$out"
stem=$([ "$dataset" = mnist ] && echo lenet || echo "lenet-$dataset")
jsonl=$out/$stem.jsonl
: > "$jsonl"
lim=()
[ "$limit" = 0 ] || lim=(--train-limit "$limit")

echo "== ember, $threads threads"
run=runs/speed-lenet-$dataset
rm -rf "$run"
build/release/examples/ember-mnist train --model lenet --dataset "$dataset" --optimizer adam --lr 1e-3 --batch-size 64 \
  --schedule none --augment 0 --weight-decay 0 --epochs "$epochs" --threads "$threads" --seed 0 --out "$run" "${lim[@]}" \
  | tee "$out/ember-$dataset.log"
"$PY" - "$run/metrics.csv" "$dataset" "$threads" "$(head -1 "$out/ember-$dataset.log")" \
  "$(grep '^memory:' "$out/ember-$dataset.log" || true)" <<'PY' >> "$jsonl"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def memory(line):  # ember-mnist's last line: "memory: peak RSS P MiB, R MiB with the data and model ready: ..."
    import re
    m = re.search(r"peak RSS ([0-9.]+) MiB, ([0-9.]+) MiB with the data", line)
    return {"peak_rss_mib": float(m.group(1)), "rss_ready_mib": float(m.group(2))} if m else {}
print(json.dumps({"framework": "ember", "config": "cache-on", "dataset": sys.argv[2], "threads": int(sys.argv[3]),
                  "samples_per_second": [float(r["samples_per_second"]) for r in rows],
                  "epoch_seconds": [float(r["epoch_seconds"]) for r in rows],
                  "test_accuracy": [float(r["test_accuracy"]) for r in rows], "startup": sys.argv[4],
                  **memory(sys.argv[5])}))
PY

torch_run() {  # config [env...]
  local config=$1
  shift
  echo "== pytorch $config, $threads threads"
  env -u OPENBLAS_CORETYPE OMP_NUM_THREADS="$threads" "$@" "$PY" bench/torch_lenet_speed.py --dataset "$dataset" \
    --epochs "$epochs" --threads "$threads" --config "$config" "${lim[@]}" >> "$jsonl"
}
torch_run stock
torch_run openblas-keepmem LD_LIBRARY_PATH="$obdir" GLIBC_TUNABLES="$KEEPMEM"
torch_run openblas-skx-keepmem LD_LIBRARY_PATH="$obdir" OPENBLAS_CORETYPE=SkylakeX GLIBC_TUNABLES="$KEEPMEM"

"$PY" bench/summarize_lenet_speed.py "$jsonl" --trial "$quick"
