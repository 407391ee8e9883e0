#!/usr/bin/env bash
# The per-call cost of dispatch, before and after a change: the small_* cases
# of ember-bench (ops on a few hundred elements, where the time is the
# checks, the allocation and the Backend call, not the arithmetic), run by
# two ember-bench binaries interleaved (before, after, before, ...),
# --repeats times each, one thread. A case's figure is the median over the
# runs of each run's median; the rule of the dispatch refactor is that
# these stay within 2% (after <= 1.02 x before). Writes
# bench/results/backends/dispatch.csv (every run) and dispatch.md.
#
#   # a before binary with the same small_* cases: an ember-bench built at the
#   # old commit (one that has bench/ember_bench/; older commits had
#   # ember-bench-micro, whose options differ)
#   git worktree add /tmp/ember-old <old-commit>
#   (cd /tmp/ember-old && cmake --preset release && cmake --build build/release --target ember-bench)
#   bash bench/dispatch_overhead.sh --before /tmp/ember-old/build/release/bench/ember-bench \
#                                   --after build/release/bench/ember-bench
#
# Options: --repeats 5, --before-label/--after-label, --out DIR. Run it on a
# quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "dispatch_overhead.sh: $*" >&2; exit 1; }
before='' after='' repeats=5 before_label=before after_label=after out=bench/results/backends
while [ $# -gt 0 ]; do
  case "$1" in
    --before) before=$2; shift ;;
    --after) after=$2; shift ;;
    --repeats) repeats=$2; shift ;;
    --before-label) before_label=$2; shift ;;
    --after-label) after_label=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1'" ;;
  esac
  shift
done
[ -x "$before" ] && [ -x "$after" ] || die "need --before and --after ember-bench binaries (see --help)"
"$before" --list | grep -q ' small_' || die "$before has no small_* cases (an ember-bench from bench/ember_bench/)"

mkdir -p "$out" bench/.cache/dispatch
cp "$before" bench/.cache/dispatch/before && cp "$after" bench/.cache/dispatch/after  # safe from rebuilds
csv=$out/dispatch.csv
rm -f "$csv"
for r in $(seq 1 "$repeats"); do
  for side in before after; do
    label=$([ "$side" = before ] && echo "$before_label" || echo "$after_label")
    echo "== run $r: $label"
    env -u EMBER_BACKEND -u EMBER_PROFILE -u EMBER_CPU_CACHE bench/.cache/dispatch/$side --device cpu --hot --filter '^small_' \
      --threads 1 --micro-csv "$csv" --config "$label/run$r"
  done
done

/usr/bin/python3 - "$csv" "$before_label" "$after_label" "$out/dispatch.md" <<'PY'
import csv, datetime, platform, statistics, subprocess, sys
path, before, after, md = sys.argv[1:5]
runs = {}
for row in csv.DictReader(open(path)):
    side = row["config"].split("/")[0]
    runs.setdefault((row["case"], side), []).append(float(row["median_ms"]) * 1000)
cases = sorted({c for c, _ in runs})
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
lines = [f"# Dispatch cost of small ops: {before} vs {after}", "",
         f"{datetime.date.today()}, {cpu}, 1 thread; each figure is the median over the interleaved runs of each "
         "run's median time per call (bench/dispatch_overhead.sh, ember-bench small_* cases).", "",
         f"| case | {before} us/call | {after} us/call | after / before | within 2% |", "|---|---|---|---|---|"]
worst = 0
for c in cases:
    b, a = statistics.median(runs[(c, before)]), statistics.median(runs[(c, after)])
    worst = max(worst, a / b)
    lines.append(f"| {c} | {b:.3f} | {a:.3f} | {a / b:.3f} | {'yes' if a <= 1.02 * b else '**no**'} |")
lines += ["", f"Slowest ratio: {worst:.3f} ({'met' if worst <= 1.02 else 'missed'}: the rule is after <= 1.02 x before).",
          "", "Every run (us/call):", ""]
for c in cases:
    lines.append(f"- {c}: {before} " + ", ".join(f"{x:.3f}" for x in runs[(c, before)]) +
                 f"; {after} " + ", ".join(f"{x:.3f}" for x in runs[(c, after)]))
open(md, "w").write("\n".join(lines) + "\n")
print("\n".join(lines[:len(cases) + 8]))
PY
