#!/usr/bin/env bash
# Checks SVG files with two independent tools: each must be well-formed XML
# (xmllint from libxml2-utils; --nonet: no DTD fetched) and a real renderer
# (rsvg-convert from librsvg2-bin) must turn it into a non-empty PNG.
#
#   check_svg.sh FILE.svg...   check the files (PNGs go beside them)
#   check_svg.sh --selftest    prove the check fails on a broken SVG
#
# A missing tool is a failure, never a skip: scripts/setup.sh installs both.
set -euo pipefail

for tool in xmllint:libxml2-utils rsvg-convert:librsvg2-bin; do
  if ! command -v "${tool%%:*}" > /dev/null; then
    echo "FAIL: ${tool%%:*} not found (bash scripts/setup.sh installs Debian's ${tool#*:})"
    exit 1
  fi
done

check() {
  local svg=$1 png=${1%.svg}.png
  xmllint --nonet --noout "$svg" || { echo "FAIL: $svg is not well-formed XML"; return 1; }
  grep -q '<svg' "$svg" || { echo "FAIL: $svg has no <svg> element"; return 1; }
  rsvg-convert -o "$png" "$svg" || { echo "FAIL: rsvg-convert could not render $svg"; return 1; }
  [ -s "$png" ] || { echo "FAIL: rsvg-convert wrote an empty PNG for $svg"; return 1; }
  echo "ok: $svg -> $(basename "$png") ($(stat -c %s "$png") bytes)"
}

if [ "${1:-}" = "--selftest" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  printf '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>\n' > "$work/good.svg"
  printf '<svg xmlns="http://www.w3.org/2000/svg"><text>a < b</text></svg>\n' > "$work/unescaped.svg"
  printf '<svg xmlns="http://www.w3.org/2000/svg"><g><rect/></svg>\n' > "$work/unclosed.svg"
  check "$work/good.svg" > /dev/null || { echo "FAIL: selftest: a good SVG was rejected"; exit 1; }
  for bad in unescaped unclosed; do
    if check "$work/$bad.svg" > /dev/null 2>&1; then
      echo "FAIL: selftest: the broken SVG '$bad' passed the check"
      exit 1
    fi
  done
  echo "selftest: a good SVG passes; an unescaped '<' and an unclosed element fail"
  exit 0
fi

[ $# -gt 0 ] || { echo "usage: check_svg.sh FILE.svg... | --selftest"; exit 2; }
status=0
for f in "$@"; do check "$f" || status=1; done
exit $status
