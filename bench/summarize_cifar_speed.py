#!/usr/bin/python3
"""Summarises bench/cifar_speed.sh's cpu-resnet18.jsonl (one record per run)
into, beside it, cpu-resnet18.csv (one row per repeat and framework),
cpu-resnet18.md (the machine, versions, method, table, medians and the
Ember/PyTorch ratio) and cpu-resnet18.svg (drawn by ember-plot --bars).

  /usr/bin/python3 bench/summarize_cifar_speed.py bench/results/cifar/cpu-resnet18.jsonl --steps 6
"""
import argparse
import csv
import datetime
import json
import os
import platform
import statistics
import subprocess
import tempfile


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jsonl")
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--plot", default="build/release/examples/ember-plot")
    a = ap.parse_args()
    runs = [json.loads(line) for line in open(a.jsonl) if line.strip()]
    stem = a.jsonl[:-len(".jsonl")]
    base = os.path.basename(stem)

    rows = []
    for r in runs:
        rows.append({"repeat": r["repeat"], "framework": r["framework"], "threads": r["threads"],
                     "batch_size": r["batch_size"], "steps": a.steps,
                     "warmup_seconds": f"{r['epoch_seconds'][0]:.3f}", "seconds": f"{r['epoch_seconds'][-1]:.3f}",
                     "samples_per_second": f"{a.steps * r['batch_size'] / r['epoch_seconds'][-1]:.2f}",
                     "train_loss": f"{r['train_loss'][-1]:.4f}"})
    rows.sort(key=lambda row: (row["repeat"], row["framework"]))
    with open(stem + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    rate = {fw: [float(x["samples_per_second"]) for x in rows if x["framework"] == fw] for fw in ("ember", "pytorch")}
    med = {fw: statistics.median(v) for fw, v in rate.items()}
    ratio = med["ember"] / med["pytorch"]
    torch_run = next(r for r in runs if r["framework"] == "pytorch")
    ember_run = next(r for r in runs if r["framework"] == "ember")
    facts = torch_run["facts"]
    threads, batch = torch_run["threads"], torch_run["batch_size"]
    gcc = sh("gcc -dumpfullversion") or "?"
    head = sh("git rev-parse --short HEAD")
    dirty = " (modified)" if sh("git status --porcelain --untracked-files=no") else ""
    load = open("/proc/loadavg").read().split()[:3]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    # the chart: one group per repeat and one for the medians, a bar per framework
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        f.write("repeat,ember,pytorch\n")
        for rep in sorted({x["repeat"] for x in rows}):
            by = {x["framework"]: x["samples_per_second"] for x in rows if x["repeat"] == rep}
            f.write(f"{rep},{by.get('ember', '')},{by.get('pytorch', '')}\n")
        f.write(f"median,{med['ember']:.2f},{med['pytorch']:.2f}\n")
    subprocess.run([a.plot, f.name, "--bars", "-x", "repeat", "-y", "ember", "pytorch", "-o", stem + ".svg",
                    "--title", f"ResNet-18 (CIFAR stem) training, CPU, {threads} threads, batch {batch}",
                    "--y-label", "samples/s"], check=True, stdout=subprocess.DEVNULL)
    os.unlink(f.name)

    md = [
        "# ResNet-18 training speed on the CPU: Ember and PyTorch in one run", "",
        f"- CPU: {cpu_model()}, {os.cpu_count()} logical CPUs",
        f"- date: {date}; Linux {platform.release()}; load average at the end {', '.join(load)}",
        f"- Ember at {head}{dirty}: gcc {gcc}; `{ember_run['startup']}`",
        f"- PyTorch {facts['torch']}, torchvision {torch_run['torchvision']} (Debian, Python {facts['python']}); "
        f"BLAS in use: {facts['blas_in_use']}; oneDNN (mkldnn) available: {facts['mkldnn_available']}, "
        f"enabled: {facts['mkldnn_enabled']}; CPU capability {facts['cpu_capability']}",
        f"- threads: {threads} for both (`--threads` and `EMBER_NUM_THREADS`; `torch.set_num_threads` and "
        f"`OMP_NUM_THREADS`); batch {batch}; float32",
        "- model: ResNet-18 with the CIFAR stem (3x3 stride-1 conv1, no max-pool), 10 classes; "
        "SGD nesterov momentum 0.9, weight decay 5e-4, lr 0.1 constant; random crop (padding 4) and flip",
        f"- method: each run trains two epochs of {a.steps} steps on the same synthetic CIFAR-10-format "
        "images; epoch 1 is warm-up, epoch 2 is timed from its start to its last optimizer step (batch "
        "assembly and augmentation, the per-step loss read-back included; the test-set evaluation after it "
        f"not). {len(rate['ember'])} repeat(s) per framework, alternating which runs first; samples/s "
        "below is the median over repeats.", "",
        "| repeat | framework | warm-up epoch s | timed epoch s | samples/s | train loss |",
        "|---|---|---|---|---|---|",
    ]
    md += [f"| {x['repeat']} | {x['framework']} | {x['warmup_seconds']} | {x['seconds']} | "
           f"{x['samples_per_second']} | {x['train_loss']} |" for x in rows]
    md += ["", f"Median samples/s: Ember **{med['ember']:.2f}**, PyTorch **{med['pytorch']:.2f}**; "
           f"Ember / PyTorch = **{ratio:.2f}**.", "",
           f"![samples/s per repeat and the medians]({base}.svg)", "",
           "Notes:", "",
           "- The images are synthetic (scripts/make_synthetic_cifar.py): striped class patterns, not "
           "photographs. Only speed is measured; the loss column is there to show that both trained, and "
           "says nothing about CIFAR accuracy. A few steps at lr 0.1 from scratch can give large losses.",
           "- Ember builds batches on its DataLoader's prefetch thread, one thread beyond `--threads`; "
           "PyTorch builds them on the main thread (no DataLoader workers). Batch assembly is a few "
           "milliseconds against steps of seconds.",
           "- The two runs start from different random weights (each framework's own initialisation); "
           "the work per step does not depend on them.",
           f"- Few steps per run ({a.steps}): a repeat's figure is a short window, so check the spread "
           "between repeats before reading much into a ratio near 1."]
    if batch != 128:
        md.insert(2, "**Trial settings (not the benchmark's batch 128): not a result.**\n")
    with open(stem + ".md", "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md[md.index("| repeat | framework | warm-up epoch s | timed epoch s | samples/s | train loss |"):]
                    [:len(rows) + 4]))
    print(f"wrote {stem}.csv, {stem}.md, {stem}.svg")


if __name__ == "__main__":
    main()
