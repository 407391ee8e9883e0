#!/usr/bin/env bash
# Issue 15's rule, change by change: each CPU training-speed change against
# the commit before it, 5 interleaved runs of each binary (bench/
# backends_speed.sh), then one table and chart (bench/
# summarize_training_steps.py -> bench/results/cpu/steps.{csv,md,svg}).
# Each commit's ember-mnist is built in a temporary git worktree (ccache
# makes that quick) and kept under bench/.cache/steps/<commit>/.
#
#   bash bench/training_steps.sh                 # every step below
#   bash bench/training_steps.sh 4-relu-backward # one step, by name
#
# Run it on a quiet machine: nothing building, no other benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

# name before after models
steps=(
  "1-conv-blocked-gemm 03bb1a5 f4ca9b6 lenet,cnn"
  "2-maxpool-2x2 f4ca9b6 48cfcb3 lenet,cnn"
  "3-batchnorm-lanes 48cfcb3 cd1e7cd cnn"
  "4-relu-backward cd1e7cd 02e7ed3 lenet,cnn"
  "5-maxpool-vector 02e7ed3 0e48600 lenet,cnn"
  "6-direct-conv-1ch 0e48600 65a5ed9 lenet,cnn"
  "7-direct-conv-8ch 65a5ed9 f5f1841 lenet"
  "8-review-fixes de7c304 e812c38 lenet,cnn"
)
cache=bench/.cache/steps
mkdir -p "$cache"

binary_at() {  # commit -> path of its ember-mnist, built if missing
  local c=$1 bin=$cache/$1/ember-mnist
  if [ ! -x "$bin" ]; then
    local wt
    wt=$(mktemp -d)
    git worktree add -f -q "$wt" "$c"
    (cd "$wt" && export CCACHE_BASEDIR=$PWD && cmake --preset release >/dev/null &&
      cmake --build build/release --target ember-mnist -j"${EMBER_BUILD_JOBS:-2}" >/dev/null)
    mkdir -p "$cache/$c" && cp "$wt/build/release/examples/ember-mnist" "$bin"
    git worktree remove --force "$wt"
  fi
  echo "$bin"
}

plot=build/release/examples/ember-plot
[ -x "$plot" ] || cmake --build build/release --target ember-plot -j"${EMBER_BUILD_JOBS:-2}" >/dev/null
for s in "${steps[@]}"; do
  read -r name before after models <<<"$s"
  [ $# -eq 0 ] || [[ " $* " == *" $name "* ]] || continue
  b=$(binary_at "$before") a=$(binary_at "$after")
  echo "== $name: $before -> $after (${models//,/ })"
  bash bench/backends_speed.sh --before "$b" --after "$a" --before-commit "$before" --after-commit "$after" \
    --before-label "$before" --after-label "$after" --models "${models//,/ }" --repeats 5 --epochs 3 --no-profile \
    --plot "$plot" --out "bench/results/cpu/steps/$name"
done
python3 bench/summarize_training_steps.py --dir bench/results/cpu --plot "$plot"
