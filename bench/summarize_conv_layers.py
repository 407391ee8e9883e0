#!/usr/bin/env python3
"""ember-conv-layers (bench/conv_layers.cpp) for two builds, before and after, side by side.

Each input CSV is one run of one build (`ember-conv-layers --csv FILE`, each primitive's fastest round).
Runs of the same build are combined by taking each primitive's fastest run (interference on a shared
VM only ever adds time). Writes DIR/conv-layers.csv, conv-layers.md and, through ember-plot,
conv-layers.svg (after / before per layer and primitive).

    python3 bench/summarize_conv_layers.py --before old-1.csv old-2.csv --after new-1.csv new-2.csv \\
        --before-label 03bb1a5 --after-label HEAD --out bench/results/cpu [--plot build/release/examples/ember-plot]
"""
import argparse
import csv
import datetime
import os
import platform
import subprocess


def fastest(paths):
    best = {}
    for p in paths:
        for r in csv.DictReader(open(p)):
            key = (r["layer"], r["primitive"])
            if key not in best or float(r["mean_us"]) < best[key][0]:
                best[key] = (float(r["mean_us"]), float(r["gflops"]), int(r["threads"]))
    return best


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", nargs="+", required=True)
    ap.add_argument("--after", nargs="+", required=True)
    ap.add_argument("--before-label", default="before")
    ap.add_argument("--after-label", default="after")
    ap.add_argument("--out", default="bench/results/cpu")
    ap.add_argument("--plot", default="build/release/examples/ember-plot")
    a = ap.parse_args()
    before, after = fastest(a.before), fastest(a.after)
    rows = []
    for key in after:
        if key not in before:
            continue
        (bu, bg, threads), (au, ag, _) = before[key], after[key]
        rows.append({"layer": key[0], "primitive": key[1], "threads": threads, "before_us": round(bu, 1),
                     "after_us": round(au, 1), "before_gflops": round(bg, 1), "after_gflops": round(ag, 1),
                     "speedup": round(bu / au, 3)})
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "conv-layers.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    chart = os.path.join(a.out, "conv-layers-speedup.csv")
    with open(chart, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "speedup"])
        for r in rows:
            w.writerow([f"{r['layer']} {r['primitive'].replace('conv2d_', '')}", r["speedup"]])
    lines = [
        "# The training convolutions of LeNet and the default CNN, before and after issue 15",
        "",
        f"- CPU: {cpu_name()}, {os.cpu_count()} logical CPUs; date: "
        f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; {platform.system()} {platform.release()}",
        f"- before: `{a.before_label}`, after: `{a.after_label}`; both `ember-conv-layers` (bench/conv_layers.cpp, "
        "built against each commit's library), batch 64, 2 threads, float32",
        "- each primitive's time is its fastest round (7 rounds of 10 forward+backward passes) over "
        f"{len(a.before)} runs of each build, interleaved; GFLOP/s = 2 * N * C_out * L * C_in * kh * kw / time",
        "- the first layers have no input gradient (their input is the images), as in training",
        "",
        "| layer | primitive | before µs | after µs | before GFLOP/s | after GFLOP/s | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['layer']} | {r['primitive']} | {r['before_us']:.0f} | {r['after_us']:.0f} | "
                     f"{r['before_gflops']:.1f} | {r['after_gflops']:.1f} | **{r['speedup']:.2f}x** |")
    lines += ["", "Chart: `conv-layers.svg`. What changed: docs/cpu-performance.md section 5; "
              "bench/results/cpu/training-notes.md."]
    open(os.path.join(a.out, "conv-layers.md"), "w").write("\n".join(lines) + "\n")
    if os.access(a.plot, os.X_OK):
        subprocess.run([a.plot, chart, "--bars", "-x", "case", "-y", "speedup", "--reference", "1",
                        "--title", "Training convolutions: after / before (time), batch 64, 2 threads",
                        "--y-label", "speed-up", "-o", os.path.join(a.out, "conv-layers.svg")], check=True)
    print(f"wrote {a.out}/conv-layers.csv, conv-layers.md" + (", conv-layers.svg" if os.access(a.plot, os.X_OK) else ""))


if __name__ == "__main__":
    main()
