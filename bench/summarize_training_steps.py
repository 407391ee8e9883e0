#!/usr/bin/env python3
"""The CPU training-speed changes, one interleaved before/after comparison
each (bench/training_steps.sh runs bench/backends_speed.sh per change into
bench/results/cpu/steps/<n>-<name>/), gathered into one table and chart.

Reads each step's speed.csv (one row per run), and writes
bench/results/cpu/steps.csv (step, model, before and after medians, ratio,
pairwise min-max, verdict against the issue's rule: kept if the median gain
is at least 3%), steps.md and, through ember-plot, steps.svg.

    python3 bench/summarize_training_steps.py [--dir bench/results/cpu] [--plot build/release/examples/ember-plot]
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys

RULE = 1.03  # a change is kept if its median speed-up is at least this, on the models it targets


def read_step(path):
    rows = list(csv.DictReader(open(os.path.join(path, "speed.csv"))))
    out = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        runs = {side: [float(r["samples_per_second"]) for r in rows if r["model"] == model and r["side"] == side]
                for side in ("before", "after")}
        commits = {side: next(r["label"] for r in rows if r["model"] == model and r["side"] == side)
                   for side in ("before", "after")}  # training_steps.sh labels each binary with its commit
        pairs = [a / b for a, b in zip(runs["after"], runs["before"])]
        out[model] = {
            "before": statistics.median(runs["before"]), "after": statistics.median(runs["after"]),
            "pair_min": min(pairs), "pair_max": max(pairs), "runs": len(pairs),
            "before_commit": commits["before"], "after_commit": commits["after"],
        }
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="bench/results/cpu")
    ap.add_argument("--plot", default="build/release/examples/ember-plot")
    args = ap.parse_args()
    steps_dir = os.path.join(args.dir, "steps")
    steps = sorted(d for d in os.listdir(steps_dir) if os.path.isfile(os.path.join(steps_dir, d, "speed.csv")))
    if not steps:
        sys.exit(f"summarize_training_steps.py: no steps under {steps_dir}")
    rows = []
    for step in steps:
        for model, r in read_step(os.path.join(steps_dir, step)).items():
            ratio = r["after"] / r["before"]
            rows.append({"step": step, "model": model, "before_commit": r["before_commit"],
                         "after_commit": r["after_commit"], "before_samples_per_s": round(r["before"], 1),
                         "after_samples_per_s": round(r["after"], 1), "ratio": round(ratio, 4),
                         "pairwise_min": round(r["pair_min"], 4), "pairwise_max": round(r["pair_max"], 4),
                         "runs_each": r["runs"], "verdict": "pays" if ratio >= RULE else "does not pay"})
    with open(os.path.join(args.dir, "steps.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    # One row per step, a column per model: the chart's input.
    models = list(dict.fromkeys(r["model"] for r in rows))
    chart = os.path.join(args.dir, "steps-ratios.csv")
    with open(chart, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step"] + models)
        for step in steps:
            by = {r["model"]: r["ratio"] for r in rows if r["step"] == step}
            w.writerow([step] + [by.get(m, "") for m in models])
    lines = ["# CPU training speed, change by change", "",
             "Each change against the commit before it, in one run: 5 runs of each binary interleaved "
             "(before, after, ...), 3 epochs of the 7,996 digits, batch 64, 2 threads "
             "(`bench/training_steps.sh`, which runs `bench/backends_speed.sh` per change; each step's folder in "
             "`steps/` has every run, the machine and both binaries). A run's samples/s is the median of its "
             "epochs 2-3; a binary's, the median of its runs.", "",
             f"The rule (issue 15): a change is kept if it gains at least {round((RULE - 1) * 100)}% "
             "(after / before >= 1.03) on the model it targets.", "",
             "| step | model | before | after | before samples/s | after samples/s | after / before | "
             "pairwise min-max | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['step']} | {r['model']} | `{r['before_commit']}` | `{r['after_commit']}` | "
                     f"{r['before_samples_per_s']:.0f} | {r['after_samples_per_s']:.0f} | **{r['ratio']:.3f}** | "
                     f"{r['pairwise_min']:.3f}-{r['pairwise_max']:.3f} | {r['verdict']} |")
    lines += ["", "Chart: `steps.svg` (after / before per step and model, dashed line at 1)."]
    open(os.path.join(args.dir, "steps.md"), "w").write("\n".join(lines) + "\n")
    if os.access(args.plot, os.X_OK):
        subprocess.run([args.plot, chart, "--bars", "-x", "step", "-y", *models, "--reference", "1",
                        "--title", "CPU training speed per change (after / before, median of 5 interleaved runs)",
                        "--y-label", "after / before", "-o", os.path.join(args.dir, "steps.svg")], check=True)
    print(f"wrote {args.dir}/steps.csv, steps.md" + (", steps.svg" if os.access(args.plot, os.X_OK) else ""))


if __name__ == "__main__":
    main()
