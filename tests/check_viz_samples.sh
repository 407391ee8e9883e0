#!/usr/bin/env bash
# Writes every kind of viz output with viz_samples, then checks it with
# independent tools: each SVG with xmllint and rsvg-convert (check_svg.sh),
# each TensorBoard event file with tfevents_tool.py (CRCs recomputed, every
# record through protoc --decode_raw).
#   check_viz_samples.sh VIZ_SAMPLES_BINARY PYTHON
set -euo pipefail
bin=$1 python=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" "$work"
bash "$here/check_svg.sh" "$work"/*.svg
"$python" "$here/tfevents_tool.py" check "$work"/tensorboard/events.out.tfevents.*
grep -q '<img alt="line" src="data:image/svg+xml;base64,' "$work/report.html" || { echo "FAIL: report.html does not embed the charts"; exit 1; }
echo "all viz samples are well-formed, render, and decode"
