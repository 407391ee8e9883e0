#!/usr/bin/env bash
# Training speed before and after a code change, in one run on one machine
# (the dispatch refactor's rule: training must not get slower; the median of
# 5 interleaved runs may be at most 3% slower). Takes two ember-mnist
# binaries, e.g. one built at the old commit and one at the new, and for each
# model (lenet, cnn) runs them interleaved, before, after, before, after, ...,
# --repeats times each, with the speed recipes of bench/lenet_speed.sh and
# bench/cnn_speed.sh (batch 64, no augmentation, no schedule, seed 0). A
# run's samples/s is the median of its epochs 2..N; a binary's figure is the
# median of its runs; the verdict asks after >= 0.97 x before for every
# model. Then one more run per model with --profile (the after binary, and
# the before one too if it has the option) gives the op profiler's table.
# Writes bench/results/backends/speed.csv (one row per run), speed.md (the
# machine, both binaries, the medians, ratios and verdict, every run, the
# profile tables), speed.svg (after/before per model, reference line at 1),
# speed.jsonl, ratios.csv and profile-<model>-<side>.csv.
#
#   # build the old commit somewhere else, e.g. a worktree:
#   git worktree add /tmp/ember-old <old-commit>
#   (cd /tmp/ember-old && cmake --preset release && cmake --build build/release --target ember-mnist)
#   bash bench/backends_speed.sh --before /tmp/ember-old/build/release/examples/ember-mnist \
#                                --after build/release/examples/ember-mnist
#   bash bench/backends_speed.sh --before A --after B --before-label dispatch-old --after-label dispatch-new \
#                                --before-commit d422038 --after-commit HEAD
#   bash bench/backends_speed.sh --before B --after B --after-args '--kernels eigen'   # two backends, one binary
#   bash bench/backends_speed.sh --before A --after B --quick    # a trial: 2 repeats, 2 epochs on 1,024 images
#
# Options: --models 'lenet cnn', --repeats 5, --order abab (before, after,
# before, after, ...; abba: before, after, after, before, ... so that a
# steady drift of the machine cancels), --epochs 3, --train-limit 0 (all
# 7,996 digits), --threads 2, --dataset mnist, --before-args/--after-args
# 'ARGS' (extra ember-mnist train arguments for one side), --no-profile,
# --out DIR, --plot PATH (ember-plot; built if missing). Both binaries are
# copied into bench/.cache/backends/ first, so a rebuild during the run
# cannot swap them. The commits are taken from --before-commit/--after-commit,
# else from the git checkout whose build tree (CMakeCache.txt) holds the
# binary. Run it on a quiet machine: nothing building, no other benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "backends_speed.sh: $*" >&2; exit 1; }
before='' after='' before_label=before after_label=after before_commit='' after_commit=''
before_args='' after_args='' models='lenet cnn' repeats=5 order_kind=abab epochs=3 limit=0 threads=2 dataset=mnist
profile=1 quick=0 out=bench/results/backends plot=build/release/examples/ember-plot
while [ $# -gt 0 ]; do
  case "$1" in
    --before) before=$2; shift ;;
    --after) after=$2; shift ;;
    --before-label) before_label=$2; shift ;;
    --after-label) after_label=$2; shift ;;
    --before-commit) before_commit=$2; shift ;;
    --after-commit) after_commit=$2; shift ;;
    --before-args) before_args=$2; shift ;;
    --after-args) after_args=$2; shift ;;
    --models) models=$2; shift ;;
    --repeats) repeats=$2; shift ;;
    --order) order_kind=$2; shift ;;
    --epochs) epochs=$2; shift ;;
    --train-limit) limit=$2; shift ;;
    --threads) threads=$2; shift ;;
    --dataset) dataset=$2; shift ;;
    --no-profile) profile=0 ;;
    --quick) quick=1 ;;
    --out) out=$2; shift ;;
    --plot) plot=$2; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;  # the comment above
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done
[ "$quick" = 0 ] || { repeats=2; epochs=2; limit=1024; }
if [ -z "$before" ] || [ -z "$after" ]; then
  die "need --before PATH and --after PATH (two ember-mnist binaries; see --help)"
fi
[ -x "$before" ] || die "--before: no executable at $before"
[ -x "$after" ] || die "--after: no executable at $after"
[ "$epochs" -ge 2 ] || die "need at least 2 epochs (epoch 1 is warm-up)"
[ "$repeats" -ge 1 ] || die "need at least 1 repeat"
case "$order_kind" in abab|abba) ;; *) die "--order: abab or abba" ;; esac
for m in $models; do
  case "$m" in lenet|cnn) ;; *) die "unknown model '$m' (lenet or cnn)" ;; esac
done
for l in "$before_label" "$after_label"; do
  [[ "$l" =~ ^[A-Za-z0-9._+-]+$ ]] || die "label '$l': use letters, digits and . _ + - only"
done
[ "$before_label" != "$after_label" ] || die "the two labels must differ"
folder=$([ "$dataset" = fashion ] && echo fashion-mnist || echo mnist-digits)
ls datasets/"$folder"/train-images* >/dev/null 2>&1 || die "no datasets/$folder (run: bash scripts/prepare_data.sh)"
# The commits, resolved now (HEAD moves if someone commits during the run).
resolve() { git rev-parse --short "$1" 2>/dev/null || echo "$1"; }
[ -z "$before_commit" ] || before_commit=$(resolve "$before_commit")
[ -z "$after_commit" ] || after_commit=$(resolve "$after_commit")
PY=${PYTHON:-python3}  # the summarizer needs only the standard library
summ=bench/summarize_backends_speed.py
trial=$quick
if [ "$repeats" -lt 5 ] || [ "$limit" != 0 ] || [ "$epochs" -lt 3 ]; then trial=1; fi  # below the defaults: a trial

# Snapshots of both binaries, safe from rebuilds.
cache=bench/.cache/backends
rm -rf "$cache"
mkdir -p "$cache/before" "$cache/after" "$cache/runs" "$cache/logs" "$out"
cp "$before" "$cache/before/ember-mnist"
cp "$after" "$cache/after/ember-mnist"
jsonl=$out/speed.jsonl
rm -f "$out"/profile-*.csv
"$PY" "$summ" meta --threads "$threads" --dataset "$dataset" --order "$order_kind" > "$jsonl"
"$PY" "$summ" describe --side before --label "$before_label" --bin "$before" --snapshot "$cache/before/ember-mnist" \
  --commit "$before_commit" --args "$before_args" >> "$jsonl"
"$PY" "$summ" describe --side after --label "$after_label" --bin "$after" --snapshot "$cache/after/ember-mnist" \
  --commit "$after_commit" --args "$after_args" >> "$jsonl"

# What each binary's train command offers (older binaries may lack --flip or --profile).
declare -A opts
for side in before after; do
  opts[$side]=$("$cache/$side/ember-mnist" train --help 2>&1 || true)
  [[ "${opts[$side]}" == *--model* ]] || die "$side: $cache/$side/ember-mnist train --help does not look like ember-mnist"
done
has() { [[ "${opts[$1]}" == *"$2"* ]]; }  # side option

lim=()
[ "$limit" = 0 ] || lim=(--train-limit "$limit")
recipe() {  # model -> the speed recipe's arguments
  case "$1" in
    lenet) echo "--optimizer adam --lr 1e-3 --weight-decay 0" ;;
    cnn) echo "--optimizer adamw --lr 3e-3 --weight-decay 5e-4" ;;
  esac
}
# ember-mnist train for one side: side model run-dir log [extra args...]
train() {
  local side=$1 model=$2 dir=$3 log=$4
  shift 4
  local bin=$cache/$side/ember-mnist extra flip=()
  extra=$([ "$side" = before ] && echo "$before_args" || echo "$after_args")
  # no augmentation: the digits never flip, Fashion-MNIST does by default where the option exists
  if has "$side" --flip; then flip=(--flip off); fi
  rm -rf "$dir"
  # shellcheck disable=SC2046,SC2086  # the recipe and the extra arguments are word lists
  env -u EMBER_BACKEND -u EMBER_CPU_CACHE -u EMBER_GEMM_BLOCKS -u EMBER_NUM_THREADS -u EMBER_PROFILE \
    "$bin" train --model "$model" --dataset "$dataset" $(recipe "$model") --batch-size 64 --schedule none \
    --augment 0 "${flip[@]}" --epochs "$epochs" --threads "$threads" --seed 0 --out "$dir" "${lim[@]}" $extra "$@" \
    > "$log" 2>&1 || { tail -20 "$log" >&2; die "ember-mnist ($side, $model) failed; log: $log"; }
}
label_of() { [ "$1" = before ] && echo "$before_label" || echo "$after_label"; }

order=0
total=$(( $(wc -w <<< "$models") * repeats * 2 ))
for model in $models; do
  for ((i = 1; i <= repeats; i++)); do
    sides='before after'  # abba: every second pair the other way round, so a steady drift cancels
    [ "$order_kind" = abab ] || [ $((i % 2)) = 1 ] || sides='after before'
    for side in $sides; do
      order=$((order + 1))
      dir=$cache/runs/$model-$side-$i log=$cache/logs/$model-$side-$i.log
      t0=$(date +%s%N)
      train "$side" "$model" "$dir" "$log"
      wall=$(( ($(date +%s%N) - t0) / 1000000 ))e-3
      "$PY" "$summ" record --model "$model" --side "$side" --label "$(label_of "$side")" --repeat "$i" \
        --order "$order" --run-dir "$dir" --log "$log" --wall "$wall" >> "$jsonl"
      printf '[%d/%d] %-5s %-6s %-12s run %d: %s samples/s per epoch\n' "$order" "$total" "$model" "$side" \
        "$(label_of "$side")" "$i" "$(awk -F, 'NR == 1 { for (c = 1; c <= NF; c++) if ($c == "samples_per_second") k = c; next } { printf "%s ", $k }' "$dir/metrics.csv")"
      rm -rf "$dir"
    done
  done
done

if [ "$profile" = 1 ]; then
  for model in $models; do
    for side in before after; do
      has "$side" --profile || { echo "($side binary has no --profile: not profiled)"; continue; }
      dir=$cache/runs/$model-$side-profile log=$cache/logs/$model-$side-profile.log
      echo "profiling $model, $side ($(label_of "$side"))"
      train "$side" "$model" "$dir" "$log" --profile
      [ -f "$dir/profile.csv" ] || die "no $dir/profile.csv after --profile"
      cp "$dir/profile.csv" "$out/profile-$model-$side.csv"
      "$PY" "$summ" profile --model "$model" --side "$side" --label "$(label_of "$side")" --run-dir "$dir" \
        --log "$log" --csv "$out/profile-$model-$side.csv" >> "$jsonl"
      rm -rf "$dir"
    done
  done
fi

"$PY" "$summ" report "$jsonl" --trial "$trial"

if [ ! -x "$plot" ] && [ "$plot" = build/release/examples/ember-plot ] && [ -f build/release/CMakeCache.txt ]; then
  cmake --build build/release --target ember-plot -j"${EMBER_BUILD_JOBS:-2}" >/dev/null || true
fi
if [ -x "$plot" ]; then
  col=$(head -1 "$out/ratios.csv" | cut -d, -f2)
  "$plot" "$out/ratios.csv" --bars -x model -y "$col" --reference 1 \
    --title "Training samples/s, after / before (median of $repeats runs)" \
    --y-label "$after_label / $before_label" -o "$out/speed.svg" || die "ember-plot failed"
else
  echo "backends_speed.sh: no ember-plot at $plot: speed.svg not drawn" >&2
fi
echo "wrote $out/speed.csv, $out/speed.md and $out/speed.svg"
