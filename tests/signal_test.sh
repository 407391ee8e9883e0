#!/usr/bin/env bash
# Graceful stop (Note [Graceful stop] in examples/mnist/stop.h): SIGINT or
# SIGTERM mid-epoch finishes the step, writes a mid-epoch checkpoint and the
# report, and exits 130 or 143; --resume then ends with the same weights,
# metrics.csv and steps.csv as an uninterrupted run. A second signal kills
# at once, and the last whole checkpoint still resumes exactly. --max-steps
# mid-epoch resumes exactly too. Exits 77 (skipped) without prepared data.
set -euo pipefail
bin=$1
source "$(dirname "$0")/require_digits.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# cnn: dropout (the generator's state) and batch norm (running statistics).
# 600 images in batches of 100: 6 steps an epoch.
base=(--data-dir "$data" --model cnn --epochs 2 --batch-size 100 --augment 1 --train-limit 600)
common=("${base[@]}" --seed 3)
fail() { echo "FAIL: $*"; exit 1; }

# Every run uses the same --out, so the files differ only if the training does.
"$bin" train "${common[@]}" --out "$work/run" > "$work/straight.log"
mv "$work/run" "$work/straight"

same_as_straight() {  # $1: what was done
  cmp -s "$work/straight/model.safetensors" "$work/run/model.safetensors" || fail "$1: the final weights differ"
  diff <(cut -d, -f1-7 "$work/straight/metrics.csv") <(cut -d, -f1-7 "$work/run/metrics.csv") ||
    fail "$1: metrics.csv differs"
  diff "$work/straight/steps.csv" "$work/run/steps.csv" || fail "$1: steps.csv differs"
}

# Starts a run in the background and waits for its steps.csv to hold $1 rows.
start_and_wait_for_step() {
  rm -rf "$work/run"
  # A script's `&` starts a job with SIGINT ignored, and ember-mnist keeps an
  # ignored signal ignored (Note [Graceful stop]): give it the default back.
  env --default-signal=INT,TERM "$bin" train "${common[@]}" --out "$work/run" > "$work/stopped.log" 2>&1 &
  pid=$!
  for _ in $(seq 6000); do
    [ "$(cat "$work/run/steps.csv" 2>/dev/null | wc -l)" -gt "$1" ] && return 0
    kill -0 $pid 2>/dev/null || fail "the run ended before step $1: $(tail -3 "$work/stopped.log")"
    sleep 0.05
  done
  fail "no step $1 after 300 s"
}

for signal in INT TERM; do
  want=$([ $signal = INT ] && echo 130 || echo 143)
  start_and_wait_for_step 7  # epoch 2's first step is done: five to go before it ends
  kill -$signal $pid
  rc=0
  wait $pid || rc=$?
  [ $rc = "$want" ] || fail "SIG$signal: exit status $rc, want $want: $(tail -3 "$work/stopped.log")"
  grep -q "stopped by SIG$signal in epoch 2 after batch" "$work/stopped.log" ||
    fail "SIG$signal: no mid-epoch stop message: $(tail -2 "$work/stopped.log")"
  grep -q "run the same command with --resume" "$work/run/report.html" || fail "SIG$signal: the report says nothing"
  if [ $signal = INT ]; then  # mid-epoch, the options that order the epoch's images must not change
    if "$bin" train "${base[@]}" --seed 4 --out "$work/run" --resume > "$work/refused.log" 2>&1; then
      fail "a mid-epoch resume with another --seed was not refused"
    fi
    grep -q "and --seed differ from its run's" "$work/refused.log" || fail "no clear refusal: $(tail -1 "$work/refused.log")"
  fi
  "$bin" train "${common[@]}" --out "$work/run" --resume > "$work/resumed.log"
  grep -q "resumed from .* in epoch 2 at batch" "$work/resumed.log" || fail "SIG$signal: did not resume mid-epoch"
  same_as_straight "SIG$signal and --resume"
done

# Two signals: the second kills at once, without a new checkpoint; the
# previous epoch's is whole and resumes exactly. Two different signals, since
# a second SIGINT sent before the first is taken merges into it (standard
# signals do not queue); SIGINT and SIGTERM are both delivered, in either
# order, and the second to arrive kills.
start_and_wait_for_step 7
ckpt_before=$(md5sum < "$work/run/checkpoint.safetensors")
kill -INT $pid
kill -TERM $pid
rc=0
wait $pid || rc=$?
[ $rc = 130 ] || [ $rc = 143 ] || fail "two signals: exit status $rc, want 130 or 143 (killed by the signal)"
if grep -q "stopped by" "$work/stopped.log"; then fail "two signals: the run stopped gracefully, not at once"; fi
[ "$(md5sum < "$work/run/checkpoint.safetensors")" = "$ckpt_before" ] || fail "two signals: the checkpoint changed"
"$bin" train "${common[@]}" --out "$work/run" --resume > "$work/resumed.log"
same_as_straight "two signals and --resume"

# --max-steps mid-epoch: the checkpoint holds the position, the resume
# drops the partial epoch's metrics row and redoes the epoch's remainder.
rm -rf "$work/run"
"$bin" train "${common[@]}" --out "$work/run" --max-steps 9 > "$work/first.log"
"$bin" train "${common[@]}" --out "$work/run" --resume > "$work/resumed.log"
grep -q "in epoch 2 at batch 3 of 6 (step 9)" "$work/resumed.log" ||
  fail "--max-steps 9: $(grep resumed "$work/resumed.log")"
same_as_straight "--max-steps 9 and --resume"
# SIGKILL just after the last checkpoint's rename: the resume has nothing
# to train, and the final files must still be the uninterrupted run's
# (scripts/kill_resume.sh once found model.safetensors left a step behind).
rm -rf "$work/run"
rc=0
EMBER_FAULT="kill@renamed:checkpoint#2" "$bin" train "${common[@]}" --out "$work/run" > "$work/first.log" 2>&1 &
wait $! 2>/dev/null || rc=$?
[ $rc = 137 ] || fail "kill@renamed:checkpoint#2: exit status $rc, want 137 (SIGKILL)"
"$bin" train "${common[@]}" --out "$work/run" --resume > "$work/resumed.log"
grep -q "nothing left to train" "$work/resumed.log" || fail "the resume after the last checkpoint trained again"
same_as_straight "a kill after the last checkpoint and --resume"
echo "graceful stop: SIGINT, SIGTERM, two signals, --max-steps and a kill after the last checkpoint all resume to" \
  "identical weights and metrics"
