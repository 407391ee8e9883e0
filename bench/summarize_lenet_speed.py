#!/usr/bin/env python3
"""bench/results/mnist-speed/<stem>.jsonl (from bench/lenet_speed.sh or
bench/cnn_speed.sh) -> <stem>.csv (one row per run and epoch) and <stem>.md
(the side-by-side table).

  python3 bench/summarize_lenet_speed.py bench/results/mnist-speed/lenet.jsonl [--trial 1]
  python3 bench/summarize_lenet_speed.py bench/results/mnist-speed/cnn.jsonl --model cnn

--model (lenet or cnn) defaults to the "model" the runs name (LeNet when
they name none, as lenet_speed.sh's Ember rows). samples/s of a run = the
median over epochs 2-5 for LeNet (its issue's definition), epochs 2-N for
the CNN (epoch 1 warms caches and the allocator). Tuned PyTorch = the
faster of its OpenBLAS + keep-freed-memory configurations. LeNet's aim:
Ember >= 2x tuned PyTorch at the same accuracy; the CNN's (issue 15):
Ember >= 1.5x tuned PyTorch. --aim sets another.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess

AIM = 2.0
SAME_ACCURACY_POINTS = 1.0  # one seed each: final accuracies within a point count as the same

# What differs between the models' tables. last_epoch: the window of epochs whose median is a run's
# samples/s ends here (None: at the last epoch).
MODELS = {
    "lenet": {"title": "LeNet", "recipe": "LeNet, Adam lr 1e-3, batch 64, no augmentation",
              "script": "bench/lenet_speed.sh", "last_epoch": 5, "aim": AIM,
              "footer": ["Where Ember's time goes: [profile.md](profile.md) (`bash bench/profile_lenet.sh`).", ""]},
    "cnn": {"title": "Default CNN", "recipe": "the default CNN (`--model cnn`: three 3x3 conv-BN-ReLU-maxpool stages of "
                                              "32, 64 and 128 channels, dropout 0.25, Linear 1152-128-10), AdamW lr 3e-3 "
                                              "weight decay 5e-4, batch 64, no augmentation",
            "script": "bench/cnn_speed.sh", "last_epoch": None, "aim": 1.5,
            "footer": ["Where Ember's time goes, op by op: `ember-mnist train --model cnn ... --profile` "
                       "(see `bash bench/backends_speed.sh`).", ""]},
}


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def training_mib(r):
    return r["peak_rss_mib"] - r["rss_ready_mib"]


def memory_cell(r):
    return f"{training_mib(r):.1f} (peak {r['peak_rss_mib']:.0f})" if "peak_rss_mib" in r else "—"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jsonl")
    ap.add_argument("--trial", default="0")
    ap.add_argument("--model", choices=sorted(MODELS), help="default: the model the runs name, else lenet")
    ap.add_argument("--aim", type=float, help="Ember / tuned PyTorch to aim for (default: lenet 2, cnn 1.5)")
    a = ap.parse_args()
    runs = [json.loads(line) for line in open(a.jsonl) if line.strip()]
    name = a.model or next((r["model"] for r in runs if r.get("model")), "lenet")
    m = MODELS[name]
    aim = a.aim if a.aim is not None else m["aim"]
    stem = os.path.splitext(a.jsonl)[0]
    with open(stem + ".csv", "w") as f:
        f.write("framework,config,dataset,threads,epoch,samples_per_second,epoch_seconds,test_accuracy\n")
        for r in runs:
            for e, (sps, secs, acc) in enumerate(zip(r["samples_per_second"], r["epoch_seconds"], r["test_accuracy"]), 1):
                f.write(f"{r['framework']},{r['config']},{r['dataset']},{r['threads']},{e},{sps:.1f},{secs:.3f},{acc:.4f}\n")

    def speed(r):  # median of epochs 2-5 (LeNet) or 2-N (CNN)
        return statistics.median(r["samples_per_second"][1:m["last_epoch"]])

    ember = next((r for r in runs if r["framework"] == "ember"), None)
    torch_runs = [r for r in runs if r["framework"] == "pytorch"]
    tuned = max((r for r in torch_runs if r["config"] != "stock"), key=speed, default=None)
    lscpu = sh("LC_ALL=C lscpu")
    model = (re.findall(r"^Model name:\s*(.*)$", lscpu, re.M) or ["?"])[0]
    flags = (re.findall(r"^Flags:\s*(.*)$", lscpu, re.M) or [""])[0].split()
    simd = [f for f in flags if re.match(r"(avx2|fma|avx512f|avx512bw|avx512vl|avx512_bf16|avx512_vnni)$", f)]
    facts = torch_runs[0]["facts"] if torch_runs else {}
    commit = sh("git rev-parse --short HEAD") + (" (modified)" if sh("git status --porcelain --untracked-files=no") else "")
    n_epochs = len(ember["samples_per_second"]) if ember else 0
    window = f"2-{m['last_epoch'] or max((len(r['samples_per_second']) for r in runs), default='N')}"
    out = [f"# {m['title']} training speed on {runs[0]['dataset'] if runs else '?'}: Ember and PyTorch in one run", ""]
    if a.trial == "1":
        out += [f"**Trial run** (`{m['script']} --quick`: 3 epochs on 2,048 images, on a shared machine): it",
                "checks that the pipeline works; its numbers are not measurements.", ""]
    out += [
        f"- CPU: {model}, {os.cpu_count()} logical CPUs; flags: {' '.join(simd)}",
        f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; Linux {platform.release()}; "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"- Ember at {commit}: `{ember['startup'] if ember else '?'}`",
        f"- PyTorch {facts.get('torch', '?')} (Debian); OpenBLAS: {next((r['facts'].get('openblas_config') for r in torch_runs if r['facts'].get('openblas_config')), '—')}",
        f"- recipe: {m['recipe']}, {n_epochs} epochs, "
        f"{torch_runs[0]['train_images'] if torch_runs else '?'} training images, "
        f"{runs[0]['threads'] if runs else '?'} threads asked for",
        "- samples/s = training images / seconds of the epoch's training loop (batches, forward, loss, backward, "
        f"optimizer step; not the test evaluation), median of epochs {window}",
    ]
    if name != "lenet" and torch_runs:  # convolutions dominate: say whether torch could run them through oneDNN
        mk = facts.get("mkldnn_available")
        out.append("- PyTorch's convolutions: " + (
            "oneDNN (mkldnn) is available, and torch 1.13 runs float32 convolutions like these through it whatever "
            "the BLAS; the BLAS column matters for the Linear layers" if mk else
            "oneDNN (mkldnn) is not available, so they run as im2col + the BLAS GEMM" if mk is False else "?"))
    out += [
        "",
        f"| framework | config | BLAS | threads | samples/s (median ep. {window}) | per-epoch samples/s | final test accuracy | Ember speed-up | training memory (MiB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        f = r.get("facts", {})
        gemm = re.search(r"GEMM ([\w-]+)", r.get("startup", ""))  # "SIMD AVX-512 (GEMM AVX-512)" since the packed GEMM
        ember_blas = f"Ember packed GEMM ({gemm.group(1)})" if gemm else "Eigen (built in)"
        blas = ember_blas if r["framework"] == "ember" else (
            f"OpenBLAS {f.get('openblas_core', '')}" if f.get("blas_in_use") == "openblas" else f.get("blas_in_use", "?"))
        up = f"{speed(ember) / speed(r):.2f}x" if ember and r is not ember else "—"
        threads = r["threads"]
        if r is ember:  # what ember-mnist says it used, which may be fewer than asked for
            used = re.search(r"threads (\d+)", r.get("startup", ""))
            threads = f"{used.group(1)} (asked {r['threads']})" if used and int(used.group(1)) != r["threads"] else threads
        out.append(f"| {r['framework']} | {r['config']}{' (tuned)' if r is tuned else ''} | {blas} | {threads} | "
                   f"{speed(r):.0f} | {' '.join(f'{x:.0f}' for x in r['samples_per_second'])} | "
                   f"{100 * r['test_accuracy'][-1]:.2f}% | {up} | {memory_cell(r)} |")
    out.append("")
    if ember and tuned:
        ratio = speed(ember) / speed(tuned)
        gap = 100 * (ember["test_accuracy"][-1] - tuned["test_accuracy"][-1])
        if aim is not None:
            fast, same = ratio >= aim, gap >= -SAME_ACCURACY_POINTS
            verdict = "**met**" if fast and same else "**missed**" + (" (speed)" if not fast else "") + (
                " (accuracy)" if not same else "")
            out += [f"Aim, Ember ≥ {aim:g}x tuned PyTorch ({tuned['config']}) at the same accuracy (within "
                    f"{SAME_ACCURACY_POINTS:.0f} point): {verdict} — {ratio:.2f}x, final test accuracy "
                    f"{100 * ember['test_accuracy'][-1]:.2f}% vs {100 * tuned['test_accuracy'][-1]:.2f}% ({gap:+.2f} points; "
                    "one seed each).", ""]
        else:
            out += [f"No speed aim is set for this model: Ember runs at {ratio:.2f}x tuned PyTorch ({tuned['config']}); "
                    f"final test accuracy {100 * ember['test_accuracy'][-1]:.2f}% vs "
                    f"{100 * tuned['test_accuracy'][-1]:.2f}% ({gap:+.2f} points; one seed each).", ""]
    if ember and tuned and "peak_rss_mib" in ember and "peak_rss_mib" in tuned:
        mine, theirs = training_mib(ember), training_mib(tuned)
        out += [f"Aim, training memory no higher than PyTorch's ({tuned['config']}): "
                f"{'**met**' if mine <= theirs else '**missed**'} — {mine:.1f} MiB vs {theirs:.1f} MiB. *Training "
                "memory*: peak RSS minus the RSS once the data and the model are ready (ember-mnist's `memory:` "
                "line, the same from /proc/self/status in the PyTorch script), so that importing torch (hundreds of "
                "MiB) and loading the images count on neither side; both include their test evaluations.", ""]
    out += m["footer"]
    open(stem + ".md", "w").write("\n".join(out))
    print(f"wrote {stem}.csv and {stem}.md")


if __name__ == "__main__":
    main()
