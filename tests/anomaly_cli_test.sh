#!/usr/bin/env bash
# ember-mnist --detect-anomaly end to end: a learning rate of 1e38 makes the
# second step's weights overflow. Without the flag the run stops at the
# diverged loss, a step late and naming no op; with it, it stops at the
# first op whose output overflows (LeNet's second convolution, whose 150
# products per output are the first to pass float32's range), names it with
# its input shapes, and exits 1.
#   anomaly_cli_test.sh EMBER_MNIST_BINARY
set -euo pipefail
bin=$1
. "$(dirname "$0")/require_digits.sh"  # sets $data, or exits 77
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(train --model lenet --optimizer sgd --lr 1e38 --train-limit 256 --epochs 1 --data-dir "$data")
if "$bin" "${args[@]}" --out "$work/plain" > "$work/plain.log" 2>&1; then
  echo "FAIL: the run with lr 1e38 succeeded"; exit 1
fi
grep -q "training diverged" "$work/plain.log" || { echo "FAIL: no divergence message"; cat "$work/plain.log"; exit 1; }
if grep -q "anomaly mode" "$work/plain.log"; then echo "FAIL: anomaly mode was on without the flag"; exit 1; fi
set +e
"$bin" "${args[@]}" --detect-anomaly --out "$work/anomaly" > "$work/anomaly.log" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || { echo "FAIL: --detect-anomaly exited $rc, expected 1"; cat "$work/anomaly.log"; exit 1; }
grep -q "anomaly mode: conv2d produced .* Inf .* output of shape \[64, 16, 10, 10\], from inputs of shapes \[64, 6, 14, 14\], \[16, 6, 5, 5\], \[16\]" \
  "$work/anomaly.log" || { echo "FAIL: the message does not name conv2d and its shapes"; cat "$work/anomaly.log"; exit 1; }
grep -q '"detect_anomaly": true' "$work/anomaly/config.json" || { echo "FAIL: config.json lacks detect_anomaly"; exit 1; }
echo "ember-mnist --detect-anomaly names conv2d and its shapes; without it, the run only says it diverged"
