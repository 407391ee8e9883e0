#!/usr/bin/env bash
# Kill-and-resume at scale (docs/reliability.md): SIGKILL ember-mnist at N
# random moments, then --resume each time; the final weights must equal an
# uninterrupted run's, byte for byte (the same tensors, the same metadata),
# and so must metrics.csv (all but the timing columns) and steps.csv.
#
# Half the kills come at a random time; half at an injected point inside a
# write (EMBER_FAULT=kill@POINT:FILE#K, Note [Fault injection] in
# core/fault.h), each point in turn with a random K: mid-write, before
# fsync, before rename, after rename, or mid-row in a log. A run may be killed again while it resumes (--chain).
#
#   bash scripts/kill_resume.sh [--bin PATH] [--kills N] [--seed S] [--csv FILE] [--chain]
#
# Defaults: build/release/examples/ember-mnist, 20 kills, seed 1. Prints one
# line per kill and exits 1 at the first run that does not match. Needs the
# prepared digits (bash scripts/prepare_data.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release/examples/ember-mnist kills=20 seed=1 csv="" chain=0
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --kills) kills=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --csv) csv=$2; shift 2 ;;
    --chain) chain=1; shift ;;
    *) echo "unknown option $1 (see the header of $0)"; exit 2 ;;
  esac
done
data=$root/datasets/mnist-digits
[ -e "$data/train-images-idx3-ubyte" ] ||
  { echo "SKIPPED: no digits in $data (bash scripts/prepare_data.sh)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
RANDOM=$seed
# 3 epochs of 4 steps: kills land before, inside and between epochs.
common=(--data-dir "$data" --model cnn --epochs 3 --batch-size 100 --seed 11 --augment 1 --train-limit 400)
fail() { echo "FAIL: $*"; exit 1; }
[ -z "$csv" ] || echo "kill,how,where,killed,resumed_at,identical,seconds" > "$csv"

start=$(date +%s.%N)
"$bin" train "${common[@]}" --out "$work/run" > "$work/straight.log"
straight_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
mv "$work/run" "$work/straight"
echo "uninterrupted run: $straight_s s"

# The injected points: POINT:FILE and how many arrivals a run makes there
# (K is drawn in 1..max). Writes count per write(2) call of a file.
points=("write:checkpoint#3" "fsync:checkpoint#3" "rename:checkpoint#3" "renamed:checkpoint#3"
        "write:model.safetensors#3" "rename:report#3" "append:steps#12" "append:metrics#3")

for i in $(seq 1 "$kills"); do
  rm -rf "$work/run"
  t0=$(date +%s.%N)
  # $RANDOM is drawn here, never inside $(...): a subshell's draw does not
  # advance the parent's sequence, so every kill would get the same one.
  r1=$RANDOM r2=$RANDOM
  if (( i % 2 )); then  # at a random time in [5%, 95%] of a run
    delay=$(awk -v t="$straight_s" -v p=$((5 + r1 % 91)) 'BEGIN { printf "%.2f", t * p / 100 }')
    how="SIGKILL after ${delay} s" where=time
    "$bin" train "${common[@]}" --out "$work/run" > "$work/killed.log" 2>&1 &
    pid=$!
    sleep "$delay"
    kill -KILL $pid 2>/dev/null || true
    wait $pid 2>/dev/null && killed=no || killed=yes
  else
    pick=${points[$(((i / 2 - 1) % ${#points[@]}))]}  # each point in turn; K at random
    max=${pick##*#}
    spec="kill@${pick%#*}#$((1 + r2 % max))"
    how="EMBER_FAULT=$spec" where=${pick%#*}
    # In the background, so that the shell's "Killed" notice goes to wait's
    # stderr, which is silenced, rather than into the table.
    EMBER_FAULT=$spec "$bin" train "${common[@]}" --out "$work/run" > "$work/killed.log" 2>&1 &
    wait $! 2>/dev/null && killed=no || killed=yes
  fi
  # Resume (with --chain, the resume is killed once more at a random time first).
  resumed_at=$( [ -e "$work/run/checkpoint.safetensors" ] && echo "checkpoint" || echo "start")
  if [ $chain = 1 ] && [ -e "$work/run/checkpoint.safetensors" ]; then
    "$bin" train "${common[@]}" --out "$work/run" --resume > "$work/chain.log" 2>&1 &
    pid=$!
    sleep "$(awk -v t="$straight_s" -v p=$((5 + r2 % 50)) 'BEGIN { printf "%.2f", t * p / 100 }')"
    kill -KILL $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
  fi
  "$bin" train "${common[@]}" --out "$work/run" --resume > "$work/resumed.log" 2>&1 ||
    fail "kill $i ($how): --resume failed: $(tail -2 "$work/resumed.log")"
  grep -q "resumed from" "$work/resumed.log" && resumed_at=$(grep -o "resumed from .*" "$work/resumed.log" |
    sed 's/.*\(in epoch\|at epoch\)/\1/; s/ (step.*//')
  identical=yes
  cmp -s "$work/straight/model.safetensors" "$work/run/model.safetensors" || identical=no
  diff -q <(cut -d, -f1-7 "$work/straight/metrics.csv") <(cut -d, -f1-7 "$work/run/metrics.csv") > /dev/null ||
    identical=no
  diff -q "$work/straight/steps.csv" "$work/run/steps.csv" > /dev/null || identical=no
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  printf 'kill %2d: %-44s killed: %-3s resumed: %-28s identical: %s\n' "$i" "$how" "$killed" "$resumed_at" "$identical"
  [ -z "$csv" ] || echo "$i,\"$how\",$where,$killed,\"$resumed_at\",$identical,$secs" >> "$csv"
  [ $identical = yes ] || fail "kill $i ($how): the resumed run differs from the uninterrupted one"
done
echo "kill and resume: $kills of $kills runs ended identical to the uninterrupted run"
