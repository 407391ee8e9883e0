#!/usr/bin/env bash
# ember-bench end to end, in seconds: a smoke run (tiny shapes and
# ceilings) of a few problems writes every output, each well-formed: the
# CSV's header and rows, JSON that parses, the markdown's tables, and SVGs
# that xmllint and rsvg-convert accept (check_svg.sh). A wrong result must
# make the program fail (exit 1) with the row marked FAILED: proven with
# EMBER_BENCH_CORRUPT, which adds 1 to every checked result.
#   bench_smoke.sh EMBER_BENCH_BINARY DEVICE FILTER PYTHON
set -euo pipefail
bin=$1 device=$2 filter=$3 python=$4
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" --device "$device" --smoke --filter "$filter" --out "$work/out" > "$work/log"
for f in bench.csv bench.json bench.md roofline.svg; do
  [ -s "$work/out/$f" ] || { echo "FAIL: $f missing or empty"; cat "$work/log"; exit 1; }
done
head -1 "$work/out/bench.csv" | grep -q '^family,case,shape,impl,vendor,status,median_ms,' ||
  { echo "FAIL: bench.csv header"; exit 1; }
[ "$(grep -c ',ok,' "$work/out/bench.csv")" -ge 3 ] || { echo "FAIL: fewer than 3 timed rows"; cat "$work/out/bench.csv"; exit 1; }
"$python" - "$work/out/bench.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["rows"] and all("status" in r for r in j["rows"]), "rows"
assert j["ceilings"]["copy_gbps"] and j["ceilings"]["sgemm_tflops"], j["ceilings"]
assert "date" in j["meta"], j["meta"]
PY
grep -q '^## ceiling' "$work/out/bench.md" || { echo "FAIL: bench.md has no ceiling table"; exit 1; }
bash "$here/check_svg.sh" "$work"/out/*.svg > /dev/null
# The check bites: corrupted results fail, are marked, and are not timed.
if EMBER_BENCH_CORRUPT=1 "$bin" --device "$device" --smoke --filter "$filter" --out "$work/bad" > "$work/bad.log"; then
  echo "FAIL: corrupted results did not fail the run"; exit 1
fi
grep -q 'FAILED: max relative error' "$work/bad/bench.csv" || { echo "FAIL: no FAILED row"; exit 1; }
if grep -v '^ceiling' "$work/bad/bench.csv" | grep -q ',ok,'; then echo "FAIL: a corrupted row was timed"; exit 1; fi
echo "ember-bench smoke run: every output well-formed, and wrong results fail"
