#!/usr/bin/env bash
# Issue 16's long campaigns, written under bench/results/reliability/:
#   kill-resume.csv   scripts/kill_resume.sh: N kills (default 20), each resumed
#   full-disk.csv     tests/full_disk_test.sh: every write step, every file kind, ulimit -f
#   summary.csv       cases and identical resumes per kind, charted in summary.svg
#   kills-and-disks.md  the tables, the machine and the date
# (The fuzzing campaigns are scripts/fuzz.sh's, in fuzz.md.)
#
#   bash scripts/reliability_figures.sh [KILLS]
#   bash scripts/reliability_figures.sh --tables-only   # redo summary and markdown from the CSVs
#
# Needs a release build (cmake --preset release && cmake --build build/release)
# and the prepared digits.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tables_only=0
[ "${1:-}" = --tables-only ] && { tables_only=1; shift; }
kills=${1:-20}
bin=$root/build/release/examples/ember-mnist
plot=$root/build/release/examples/ember-plot
out=$root/bench/results/reliability
mkdir -p "$out"

if [ $tables_only = 0 ]; then
bash "$root/scripts/kill_resume.sh" --bin "$bin" --kills "$kills" --seed 1 --csv "$out/kill-resume.csv" |
  tee "$out/kill-resume.log"
bash "$root/tests/full_disk_test.sh" "$bin" "$out/full-disk.csv" | sed "s|/tmp/tmp\.[A-Za-z0-9]*|<tmp>|g" |
  tee "$out/full-disk.log"

# Anomaly mode's planted cases (tests/test_anomaly.cpp, tests/anomaly_cli_test.sh):
# each names the op it must; a case passes only if the message does.
anomaly=$root/build/release/tests/test_anomaly
{
  echo "case,expected,named"
  while IFS='|' read -r name expected; do
    "$anomaly" "$name" > /dev/null 2>&1 && ok=yes || ok=no
    echo "\"$name\",$expected,$ok"
  done <<'CASES'
anomaly mode names log when it is given a negative number|log (forward)
anomaly mode names div for a 0/0 in a custom loss|div (forward)
anomaly mode names the first op to overflow after an exploding learning rate|the first op to overflow (forward)
anomaly mode names the backward node and its forward op when only the gradient breaks|the backward node and its forward op
CASES
  bash "$root/tests/anomaly_cli_test.sh" "$bin" > /dev/null 2>&1 && ok=yes || ok=no
  echo "\"ember-mnist --detect-anomaly with --lr 1e38\",conv2d and its input shapes (forward),$ok"
} > "$out/anomaly.csv"
fi

# Per kind: how many cases, how many resumed identical.
{
  echo "kind,cases,right"
  awk -F, 'NR > 1 { k = ($3 == "time") ? "kill at a random time" : "kill in " $3;
                    n[k]++; if ($6 == "yes") ok[k]++ }
           END { for (k in n) printf "%s,%d,%d\n", k, n[k], ok[k] }' "$out/kill-resume.csv" | sort
  awk -F, 'NR > 1 { n++; if ($6 == "yes") ok++ } END { printf "full disk (write faults),%d,%d\n", n, ok }' \
    "$out/full-disk.csv"
  awk -F'",' 'NR > 1 { n++; if ($2 ~ /,yes$/) ok++ } END { printf "anomaly mode (planted),%d,%d\n", n, ok }' \
    "$out/anomaly.csv"
} > "$out/summary.csv"
"$plot" "$out/summary.csv" --bars -x kind -y cases right -o "$out/summary.svg" \
  --title "Reliability cases, and how many came out right" --y-label "cases"

cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
{
  echo "# Kills and full disks: every run resumes to the uninterrupted run's weights"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $cpu ($(nproc) cores), $(gcc --version | head -1), Ember $(git -C "$root" \
    describe --always --dirty), release build. Written by \`scripts/reliability_figures.sh\`."
  echo
  echo "Each case trains the default CNN on 400 digits (3 epochs of 4 steps; 300 digits and 2 epochs for the disk"
  echo "cases), is killed or fails, then runs \`--resume\`; identical means the final \`model.safetensors\` is the"
  echo "same file, byte for byte, as an uninterrupted run's, and \`metrics.csv\` (but its timing columns) and"
  echo "\`steps.csv\` are the same too."
  echo
  echo "| kind | cases | right (resumed identical; anomaly: the op named) |"
  echo "| --- | ---: | ---: |"
  tail -n +2 "$out/summary.csv" | awk -F, '{ printf "| %s | %d | %d |\n", $1, $2, $3 }'
  echo
  echo "![summary](summary.svg)"
  echo
  echo "## Every kill"
  echo
  echo "| # | how | killed | resumed | identical | seconds |"
  echo "| ---: | --- | --- | --- | --- | ---: |"
  tail -n +2 "$out/kill-resume.csv" | awk -F'",|,"|,' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $4, $5,
                                                          $6, $7 }' | tr -d '"'
  echo
  echo "## Every full-disk case"
  echo
  echo "| case | exit status | error names the file and the reason | no temporary file left | resumed from |" \
    "resumed identical |"
  echo "| --- | ---: | --- | --- | --- | --- |"
  tail -n +2 "$out/full-disk.csv" | awk -F, '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }'
  echo
  echo "## Anomaly mode's planted cases"
  echo
  echo "| case | the message must name | named |"
  echo "| --- | --- | --- |"
  tail -n +2 "$out/anomaly.csv" | awk -F'",' '{ split($2, r, ","); printf "| %s | %s | %s |\n", substr($1, 2), r[1],
                                                 r[2] }'
  echo
  echo "The error messages are in \`full-disk.log\`; each kill's line in \`kill-resume.log\`."
} > "$out/kills-and-disks.md"
echo "wrote $out/kills-and-disks.md"
