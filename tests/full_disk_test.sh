#!/usr/bin/env bash
# Full disks (docs/reliability.md): a write that fails midway, in any file
# ember-mnist writes, stops the run with an error naming the file and the
# reason, leaves no temporary file, and leaves the previous checkpoint whole:
# --resume then ends with the weights and metrics of an uninterrupted run.
# The failures are injected (EMBER_FAULT, Note [Fault injection] in
# core/fault.h) at every step of a write, and real (ulimit -f: the kernel
# refuses the write with EFBIG once a file passes the limit).
# Usage: full_disk_test.sh EMBER_MNIST [CSV]: with CSV, one row per case is
# written there (scripts/reliability_figures.sh). Exits 77 without data.
set -euo pipefail
bin=$1
csv=${2:-}
source "$(dirname "$0")/require_digits.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# 3 steps an epoch; cnn has dropout and batch norm.
common=(--data-dir "$data" --model cnn --epochs 2 --batch-size 100 --seed 5 --augment 1 --train-limit 300)
fail() { echo "FAIL: $*"; exit 1; }
[ -z "$csv" ] || echo "case,exit_status,error_names_file,no_temporary_left,resumed_from,resumed_identical" > "$csv"

"$bin" train "${common[@]}" --out "$work/run" > "$work/straight.log"
mv "$work/run" "$work/straight"
ckpt_bytes=$(stat -c %s "$work/straight/checkpoint.safetensors")

# $1: the case's name; $2: the file the error must name; $3: where the
# resume must start: "epoch 1" (the first checkpoint survived), "start" (no
# checkpoint was written yet) or "any"; the rest: how to run the failing
# training (a command prefix).
check_case() {
  local name=$1 file=$2 want=$3
  shift 3
  rm -rf "$work/run"
  local rc=0
  "$@" "$bin" train "${common[@]}" --out "$work/run" > "$work/failed.log" 2>&1 || rc=$?
  [ $rc = 1 ] || fail "$name: exit status $rc, want 1: $(tail -2 "$work/failed.log")"
  local err
  err=$(grep "^error: " "$work/failed.log" || true)
  [[ $err == *"$file"* && ( $err == *"No space left on device"* || $err == *"File too large"* ) ]] ||
    fail "$name: the error does not name $file and the reason: '$err'"
  if ls -A "$work/run" | grep -q '\.tmp'; then fail "$name: a temporary file was left: $(ls -A "$work/run")"; fi
  "$bin" train "${common[@]}" --out "$work/run" --resume > "$work/resumed.log" 2>&1 ||
    fail "$name: --resume failed: $(tail -2 "$work/resumed.log")"
  case $want in
    "epoch 1") grep -q "resumed from .* at epoch 1 (step 3)" "$work/resumed.log" ||
                 fail "$name: the resume did not start at the first checkpoint: $(grep resumed "$work/resumed.log")" ;;
    start) if grep -q "resumed from" "$work/resumed.log"; then fail "$name: a checkpoint was written"; fi ;;
  esac
  cmp -s "$work/straight/model.safetensors" "$work/run/model.safetensors" || fail "$name: the final weights differ"
  diff -q <(cut -d, -f1-7 "$work/straight/metrics.csv") <(cut -d, -f1-7 "$work/run/metrics.csv") > /dev/null ||
    fail "$name: metrics.csv differs"
  diff -q "$work/straight/steps.csv" "$work/run/steps.csv" > /dev/null || fail "$name: steps.csv differs"
  echo "ok: $name: $err"
  [ -z "$csv" ] || echo "$name,$rc,yes,yes,$want,yes" >> "$csv"
}

# Every step of the atomic write, for the checkpoint (the second one: the
# first must survive), and a write into each other kind of file.
for point in write fsync rename; do
  check_case "checkpoint: ENOSPC at $point" checkpoint.safetensors "epoch 1" \
    env EMBER_FAULT="enospc@$point:checkpoint#2"
done
check_case "model: ENOSPC at write" model.safetensors "epoch 1" env EMBER_FAULT="enospc@write:model.safetensors#2"
check_case "report: ENOSPC at write" report.html "epoch 1" env EMBER_FAULT="enospc@write:report#1"
check_case "chart: ENOSPC at write" .svg any env EMBER_FAULT="enospc@write:.svg#3"
check_case "config.json: ENOSPC at write" config.json start env EMBER_FAULT="enospc@write:config#1"
check_case "metrics.csv: ENOSPC mid-row" metrics.csv "epoch 1" env EMBER_FAULT="enospc@append:metrics#2"
check_case "steps.csv: ENOSPC mid-row" steps.csv "epoch 1" env EMBER_FAULT="enospc@append:steps#4"
# A real limit: files may grow to 3/4 of a checkpoint, so the first
# checkpoint fails in the kernel's write(2) (SIGXFSZ ignored, as a shell
# that traps it would; otherwise the signal kills the process).
run_limited() { (trap '' XFSZ; ulimit -f $((ckpt_bytes * 3 / 4 / 1024)); "$@"); }
check_case "checkpoint: ulimit -f (EFBIG)" checkpoint.safetensors start run_limited
echo "full disk: every case stopped with a clear error and resumed to identical weights and metrics"
