#!/usr/bin/env bash
# ember-mnist with an output directory it cannot make fails at once, before
# any training, with a message naming --out and the reason, and exit 1: not
# an uncaught std::filesystem error (abort, exit 134), and not after an
# epoch's work. (Tests run as root here, so a read-only directory is no
# test; a path through a regular file cannot be made by anyone.)
#   out_dir_test.sh EMBER_MNIST_BINARY
set -euo pipefail
bin=$1
. "$(dirname "$0")/require_digits.sh"  # sets $data, or exits 77
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
touch "$work/a-file"
set +e
"$bin" train --model lenet --train-limit 64 --epochs 1 --data-dir "$data" --out "$work/a-file/run" > "$work/log" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || { echo "FAIL: exit $rc, expected 1"; cat "$work/log"; exit 1; }
grep -q -- "error: --out $work/a-file/run: cannot create the output directory: Not a directory" "$work/log" ||
  { echo "FAIL: the message does not name --out and the reason"; cat "$work/log"; exit 1; }
if grep -q "^epoch" "$work/log"; then echo "FAIL: training started before the check"; exit 1; fi
echo "an unusable --out fails before training, naming the directory and the reason"
