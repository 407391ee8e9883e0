#!/usr/bin/env bash
# The MNIST issue's accuracy runs, Ember and PyTorch side by side on the
# same prepared data and seeds. Writes bench/results/mnist/*.jsonl and
# *.log. Needs a release build (cmake --preset release && cmake --build
# --preset release) and the prepared data (bash scripts/prepare_data.sh).
#
#   bash bench/mnist_recipes.sh parity    # LeNet/Adam: digits 5 epochs, Fashion 3 epochs, seeds 0-2
#   bash bench/mnist_recipes.sh default   # the default recipe on digits and Fashion, seeds 0-2
#   SEEDS="0" bash bench/mnist_recipes.sh default-fashion   # one seed (runs may go side by side)
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results/mnist
mkdir -p "$out"
bin=${EMBER_MNIST_BIN:-build/release/examples/ember-mnist}  # a copy keeps runs safe from rebuilds

ember_runs() {  # name dataset epochs extra-args...   (epochs "" = the command's default)
  local name=$1 dataset=$2 epochs=$3
  shift 3
  local epoch_args=()
  [ -z "$epochs" ] || epoch_args=(--epochs "$epochs")
  for seed in ${SEEDS:-0 1 2}; do
    local dir=runs/$name-seed$seed
    "$bin" train --dataset "$dataset" "${epoch_args[@]}" --seed "$seed" --out "$dir" "$@" | tee "$out/$name-seed$seed.log"
    python3 - "$dir/metrics.csv" "$name" "$dataset" "$seed" <<'PY' >> "$out/$name.jsonl"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(json.dumps({"framework": "ember", "run": sys.argv[2], "dataset": sys.argv[3], "seed": int(sys.argv[4]),
                  "epochs": len(rows), "test_accuracy": [float(r["test_accuracy"]) for r in rows],
                  "seconds": round(sum(float(r["epoch_seconds"]) for r in rows), 1)}))
PY
  done
}

case "${1:-parity}" in
  parity)
    rm -f "$out"/lenet-*.jsonl
    ember_runs lenet-mnist mnist 5 --model lenet --optimizer adam --lr 1e-3 --batch-size 64 --schedule none --augment 0 --weight-decay 0
    /usr/bin/python3 bench/torch_mnist.py --dataset mnist --epochs 5 | tee "$out/lenet-mnist-torch.jsonl"
    ember_runs lenet-fashion fashion 3 --model lenet --optimizer adam --lr 1e-3 --batch-size 64 --schedule none --augment 0 --weight-decay 0
    /usr/bin/python3 bench/torch_mnist.py --dataset fashion --epochs 3 | tee "$out/lenet-fashion-torch.jsonl"
    ;;
  default)  # the main command with no options but dataset and seed
    [ -n "${SEEDS:-}" ] || rm -f "$out"/default-*.jsonl
    ember_runs default-mnist mnist ""
    ember_runs default-fashion fashion ""
    ;;
  default-mnist)  # only the digits
    ember_runs default-mnist mnist ""
    ;;
  default-fashion)  # only Fashion (SEEDS="0" etc. to split the seeds over processes)
    ember_runs default-fashion fashion ""
    ;;
esac
