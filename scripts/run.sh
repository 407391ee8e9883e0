#!/usr/bin/env bash
# The main command (README quick start). Installs the build dependencies,
# builds the release preset and runs Ember's main program.
#
# Today that program is the tour (examples/tour.cpp): it builds a small
# expression, backpropagates through it and writes its autograd graph to
# out/tour/graph.dot (and graph.svg through Graphviz). The MNIST trainer
# replaces it here when it lands (issue: "Train CNNs on MNIST end to end").
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ember-ccache}"
cmake --preset release >/dev/null
cmake --build --preset release --target ember-tour

mkdir -p out/tour
./build/release/examples/ember-tour | tee out/tour/tour.txt
sed -n '/^digraph/,$p' out/tour/tour.txt > out/tour/graph.dot
if command -v dot >/dev/null; then
  dot -Tsvg out/tour/graph.dot -o out/tour/graph.svg
  echo "wrote out/tour/graph.svg"
else
  echo "Graphviz 'dot' is not installed: out/tour/graph.dot was written but not rendered"
fi
