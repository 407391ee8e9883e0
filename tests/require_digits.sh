# Sourced by the end-to-end test scripts: sets $data to the prepared MNIST
# digits, or exits 77 (CTest's "skipped") when they are missing, 1 if
# EMBER_REQUIRE_DATA says they must be there (scripts/test.sh prepares them).
data=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/datasets/mnist-digits
if [ ! -e "$data/train-images-idx3-ubyte" ]; then
  echo "SKIPPED: prepared MNIST digits not found in $data (run bash scripts/prepare_data.sh)"
  [ -z "${EMBER_REQUIRE_DATA:-}" ] || { echo "FAIL: EMBER_REQUIRE_DATA is set (scripts/test.sh prepares the data)"; exit 1; }
  exit 77
fi
