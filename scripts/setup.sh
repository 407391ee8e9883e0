#!/usr/bin/env bash
# Installs what Ember's build needs from Debian's archive. Idempotent: when
# everything is already installed it does nothing (and needs no network).
# Runs as root (these machines have no sudo); uses sudo if it is not root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config  # toolchain; ccache makes rebuilds fast
  libeigen3-dev        # CPU GEMM reference (core of the CPU backend)
  catch2               # the test framework (v2)
  nlohmann-json3-dev   # JSON: safetensors headers, run configs
  libcli11-dev         # command-line parsing for the programs in examples/
  zlib1g-dev           # reading .gz IDX files
  graphviz             # `dot`: renders autograd and model graphs to SVG
  libxml2-utils        # `xmllint`: tests check that every chart is well-formed XML
  librsvg2-bin         # `rsvg-convert`: tests render every chart to PNG with a real SVG renderer
  protobuf-compiler    # `protoc --decode_raw`: tests decode TensorBoard event files independently
  libopenmpi-dev openmpi-bin  # Open MPI: ember::distributed's CPU backend, mpirun, the distributed tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all build dependencies are installed"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
