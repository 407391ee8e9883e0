#!/usr/bin/env bash
# End to end: the default CNN trained on the first 1,000 training digits
# scores at least 90% on all 2,004 test digits. A real model learning real
# data through the whole stack (data, conv, pool, batch norm, dropout,
# AdamW, one-cycle, the trainer). No time limit beyond CTest's timeout.
# Exits 77 (skipped) without prepared data.
set -euo pipefail
bin=$1
source "$(dirname "$0")/require_digits.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" train --data-dir "$data" --model cnn --train-limit 1000 --epochs 8 --seed 0 --out "$work/run" | tail -3
acc=$(tail -n 1 "$work/run/metrics.csv" | cut -d, -f6)
echo "test accuracy after training on 1,000 digits: $acc (need >= 0.90)"
awk -v a="$acc" 'BEGIN { exit !(a >= 0.90) }' || { echo "FAIL: the CNN did not learn well enough"; exit 1; }
