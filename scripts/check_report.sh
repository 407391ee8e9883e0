#!/usr/bin/env bash
# Opens a run's report.html in Debian's headless Chromium and fails if the
# page logs anything to its console (the report has no scripts, so any
# message is an error) or refers to a file that is not there; saves a
# screenshot. Not part of the CI test command: Chromium is large, so this
# script installs it on demand.
#
#   bash scripts/check_report.sh                  train LeNet 2 epochs into runs/report-check, check its report
#   bash scripts/check_report.sh RUN_DIR [PNG]    check RUN_DIR/report.html (screenshot: PNG, default RUN_DIR/report.png)
#   bash scripts/check_report.sh --selftest       prove the check fails on a page with console errors
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v chromium > /dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "check_report: installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium
fi

# Loads $1 (an HTML file), writes the screenshot $2; prints console messages
# and missing files, and returns 1 if there were any.
check_page() {
  local html=$1 png=$2 log status=0
  log=$(mktemp)
  # --no-sandbox: Chromium refuses to run as root otherwise.
  timeout 180 chromium --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
    --enable-logging=stderr --v=0 --hide-scrollbars --window-size=1440,3300 --screenshot="$png" \
    "file://$(realpath "$html")" > /dev/null 2> "$log" || { echo "FAIL: chromium failed on $html"; cat "$log"; rm -f "$log"; return 1; }
  if grep -q ':CONSOLE' "$log"; then
    echo "FAIL: $html logged to the console:"
    grep ':CONSOLE' "$log" | sed 's/^.*:CONSOLE[^]]*\] /  /'
    status=1
  fi
  # Every src/href that is not a data: URI, an anchor or a web address must exist beside the page.
  for ref in $(grep -o '\(src\|href\)="[^"#][^"]*"' "$html" | sed 's/^[a-z]*="//; s/"$//' | grep -v '^data:' | grep -v '^[a-z]*://' || true); do
    [ -e "$(dirname "$html")/$ref" ] || { echo "FAIL: $html refers to $ref, which is not there"; status=1; }
  done
  [ -s "$png" ] || { echo "FAIL: no screenshot written"; status=1; }
  rm -f "$log"
  return $status
}

if [ "${1:-}" = "--selftest" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  printf '<!DOCTYPE html><html><body><p>fine</p></body></html>\n' > "$work/good.html"
  printf '<!DOCTYPE html><html><body><script>console.error("boom"); undefined_fn();</script></body></html>\n' > "$work/console.html"
  printf '<!DOCTYPE html><html><body><img src="missing.svg"></body></html>\n' > "$work/missing.html"
  check_page "$work/good.html" "$work/good.png" > /dev/null || { echo "FAIL: selftest: a clean page was rejected"; exit 1; }
  for bad in console missing; do
    if check_page "$work/$bad.html" "$work/$bad.png" > /dev/null; then
      echo "FAIL: selftest: the broken page '$bad' passed"
      exit 1
    fi
  done
  echo "selftest: a clean page passes; console errors and a missing file fail"
  exit 0
fi

run=${1:-}
if [ -z "$run" ]; then
  run=$root/runs/report-check
  bin=$root/build/release/examples/ember-mnist
  [ -x "$bin" ] || { echo "FAIL: $bin not built (cmake --preset release && cmake --build build/release --target ember-mnist)"; exit 1; }
  "$bin" train --model lenet --epochs 2 --out "$run" --data-dir "$root/datasets/mnist-digits"
fi
png=${2:-$run/report.png}
[ -f "$run/report.html" ] || { echo "FAIL: $run/report.html not found"; exit 1; }
check_page "$run/report.html" "$png"
echo "ok: $run/report.html opened in headless Chromium without console errors; screenshot $png"
