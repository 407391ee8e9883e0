#!/usr/bin/env bash
# Runs one libFuzzer campaign on a parser (docs/reliability.md, "Fuzzing the
# parsers"):
#
#   bash scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#   bash scripts/fuzz.sh idx 60
#   bash scripts/fuzz.sh csv 300 -jobs=1 -max_len=8192
#
# TARGET is a tests/fuzz/<TARGET>.cpp. Builds build/fuzz with Debian's
# clang-14 (libFuzzer, AddressSanitizer, UndefinedBehaviorSanitizer; CPU
# only, no CUDA), copies the seeds from tests/fuzz/corpus/TARGET/ into
# build/fuzz/work/TARGET/corpus/ (the committed corpus is never written),
# fuzzes for SECONDS and prints one summary line. Inputs that crash, leak or
# hang land in build/fuzz/work/TARGET/crashes/; the whole log in
# build/fuzz/work/TARGET/fuzz.log. FUZZ_KEEP_CORPUS=1 continues from the
# previous run's corpus instead of the seeds alone. Exit status: libFuzzer's
# (0: no crash). Nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ]; then
  echo "usage: bash scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]" >&2
  echo "targets: $(cd tests/fuzz && ls ./*.cpp | sed 's|./||; s|\.cpp$||' | grep -v replay_main | tr '\n' ' ')" >&2
  exit 2
fi
target=$1 seconds=$2
shift 2
if [ ! -f "tests/fuzz/$target.cpp" ] || [ "$target" = replay_main ]; then
  echo "fuzz.sh: no fuzz target '$target' (no tests/fuzz/$target.cpp)" >&2
  exit 2
fi
if ! command -v clang++-14 > /dev/null || ! command -v clang-14 > /dev/null ||
   [ ! -f "$(clang++-14 --print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer-x86_64.a" ]; then
  echo "fuzz.sh: clang-14 with libFuzzer is needed: apt-get install clang-14 libclang-rt-14-dev" >&2
  exit 1
fi

build=build/fuzz
mkdir -p build
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ember-ccache}"
# -O1 -g1 as the asan preset; assert() stays on (nlohmann's own checks).
cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DEMBER_FUZZ=ON -DEMBER_SANITIZE=ON -DEMBER_CUDA=OFF -DEMBER_NATIVE=OFF \
  -DEMBER_BUILD_TESTS=OFF -DEMBER_BUILD_BENCH=OFF > "$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
cmake --build "$build" --target "fuzz_$target" -j "${EMBER_FUZZ_JOBS:-2}"

work=$build/work/$target
mkdir -p "$work/crashes"
if [ "${FUZZ_KEEP_CORPUS:-0}" != 1 ]; then rm -rf "$work/corpus"; fi
mkdir -p "$work/corpus"
cp -n tests/fuzz/corpus/"$target"/* "$work/corpus/" 2>/dev/null || true
crashes_before=$(find "$work/crashes" -type f | wc -l)

echo "fuzzing $target for $seconds s (log: $work/fuzz.log)"
set +e
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$work/crashes/" "$@" "$work/corpus" > "$work/fuzz.log" 2>&1
rc=$?
set -e

# libFuzzer's last status line ("#N ... cov: E ft: F corp: C/...") and final stats.
last=$(grep -E '^#[0-9]+.*cov: ' "$work/fuzz.log" | tail -n 1 || true)
field() { sed -nE "s/.*$1: ([0-9]+).*/\\1/p" <<< "$last"; }
stat() { sed -nE "s/^stat::$1: *([0-9]+).*/\\1/p" "$work/fuzz.log" | tail -n 1; }
crashes=$(( $(find "$work/crashes" -type f | wc -l) - crashes_before ))
echo "fuzz.sh summary: target=$target seconds=$seconds execs=$(stat number_of_executed_units)" \
     "exec_per_s=$(stat average_exec_per_sec) edges=$(field cov) features=$(field ft) corpus=$(field corp)" \
     "crashes=$crashes crash_dir=$work/crashes"
if [ "$rc" != 0 ]; then
  echo "fuzz.sh: libFuzzer exited with $rc; the end of $work/fuzz.log:" >&2
  tail -n 40 "$work/fuzz.log" >&2
fi
exit "$rc"
