#!/usr/bin/env python3
"""The bookkeeping of bench/backends_speed.sh (standard library only): each
step appends one JSON line to speed.jsonl, and `report` turns the lines into
speed.csv (one row per run), ratios.csv (what speed.svg charts) and speed.md.

  summarize_backends_speed.py meta --threads N --dataset D [--order abab|abba]
      the first line: date, load average, what was asked for
  summarize_backends_speed.py describe --side before --label L --bin PATH --snapshot COPY [--commit C] [--args A]
      one "binary" line: where the binary came from, its sha256, the commit
      and compiler of the build tree it sits in (when it sits in one)
  summarize_backends_speed.py record --model M --side S --label L --repeat I --order K --run-dir D --log F --wall W
      one "run" line from the run's metrics.csv and startup line
  summarize_backends_speed.py profile --model M --side S --label L --run-dir D --log F --csv COPY
      one "profile" line: the run's profile.csv
  summarize_backends_speed.py report speed.jsonl [--trial 1] [--limit 0.97]
      speed.csv, ratios.csv, speed.md beside speed.jsonl

A run's samples/s is the median of epochs 2..N of its metrics.csv (epoch 1
warms caches and the allocator); a binary's figure for a model is the median
over its runs; ratio = after / before. The rule (issue: the dispatch
refactor): training must not get slower, the median of 5 interleaved runs at
most 3% slower, i.e. ratio >= 0.97 for every model.
"""
import argparse
import csv
import datetime
import hashlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys

LIMIT = 0.97  # after >= 0.97 x before: at most 3% slower
TOP = 20  # profile rows shown per table


def sh(cmd, cwd=None):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=cwd, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def emit(obj):
    print(json.dumps(obj), flush=True)


# ---------------------------------------------------------------- describe

def find_cmake_cache(path):
    d = os.path.dirname(os.path.abspath(path))
    while True:
        if os.path.isfile(os.path.join(d, "CMakeCache.txt")):
            return os.path.join(d, "CMakeCache.txt")
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def cache_entries(path):
    out = {}
    for line in open(path, errors="replace"):
        m = re.match(r"^([A-Za-z_][\w-]*):[A-Z]+=(.*)$", line.rstrip("\n"))
        if m:
            out[m.group(1)] = m.group(2)
    return out


def describe(a):
    info = {"kind": "binary", "side": a.side, "label": a.label, "bin": a.bin, "snapshot": a.snapshot,
            "args": a.args, "commit": a.commit, "commit_source": "given" if a.commit else ""}
    info["sha256"] = hashlib.sha256(open(a.snapshot, "rb").read()).hexdigest()
    info["mtime"] = datetime.datetime.fromtimestamp(os.path.getmtime(a.bin), datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")
    cache = find_cmake_cache(a.bin)
    if cache:
        e = cache_entries(cache)
        info["build_dir"] = os.path.dirname(cache)
        info["build_type"] = e.get("CMAKE_BUILD_TYPE", "")
        cxx = e.get("CMAKE_CXX_COMPILER", "")
        info["compiler"] = (sh(f"'{cxx}' --version").splitlines() or [cxx])[0] if cxx else ""
        src = e.get("CMAKE_HOME_DIRECTORY", "")
        if not a.commit and src and sh("git rev-parse --is-inside-work-tree", cwd=src) == "true":
            head = sh("git rev-parse --short HEAD", cwd=src)
            dirty = sh("git status --porcelain --untracked-files=no", cwd=src)
            info["commit"] = head + (" (modified)" if dirty else "")
            info["commit_source"] = f"HEAD of {src}, the binary's source tree, when this ran: the binary matches it " \
                                    "only if it was rebuilt after the last change"
    if not info.get("compiler"):  # not in a build tree: the compiler's note in the ELF .comment section
        m = re.search(rb"(GCC: \([^)\x00]*\) [\w.]+|clang version [\w.]+)", open(a.snapshot, "rb").read())
        info["compiler"] = m.group(1).decode(errors="replace") + " (from the binary's .comment)" if m else ""
    help_text = sh(f"'{a.snapshot}' train --help")
    info["has_profile"] = "--profile" in help_text
    info["has_flip"] = "--flip" in help_text
    emit(info)


# ---------------------------------------------------------------- record, profile

def read_metrics(run_dir):
    rows = list(csv.DictReader(open(os.path.join(run_dir, "metrics.csv"))))
    return ([float(r["samples_per_second"]) for r in rows], [float(r["test_accuracy"]) for r in rows],
            [float(r["epoch_seconds"]) for r in rows])


def first_line(path):
    with open(path, errors="replace") as f:
        return f.readline().strip()


def train_images(log):
    m = re.search(r"^data: (\d+) train", open(log, errors="replace").read(), re.M)
    return int(m.group(1)) if m else None


def record(a):
    sps, acc, secs = read_metrics(a.run_dir)
    emit({"kind": "run", "model": a.model, "side": a.side, "label": a.label, "repeat": a.repeat, "order": a.order,
          "samples_per_second": sps, "test_accuracy": acc, "epoch_seconds": secs, "wall_seconds": a.wall,
          "train_images": train_images(a.log), "startup": first_line(a.log)})


def profile(a):
    sps, acc, _ = read_metrics(a.run_dir)
    rows = list(csv.DictReader(open(a.csv)))
    emit({"kind": "profile", "model": a.model, "side": a.side, "label": a.label, "csv": a.csv,
          "samples_per_second": sps, "test_accuracy": acc, "startup": first_line(a.log),
          "rows": [{"kind": r["kind"], "name": r["name"], "calls": int(r["calls"]), "total_ms": float(r["total_ms"]),
                    "mean_us": float(r["mean_us"])} for r in rows]})


# ---------------------------------------------------------------- report

def run_speed(r):  # median of epochs 2..N
    return statistics.median(r["samples_per_second"][1:] or r["samples_per_second"])


def cpu_facts():
    lscpu = sh("LC_ALL=C lscpu")
    model = (re.findall(r"^Model name:\s*(.*)$", lscpu, re.M) or [""])[0]
    if not model and os.path.exists("/proc/cpuinfo"):
        model = (re.findall(r"^model name\s*:\s*(.*)$", open("/proc/cpuinfo").read(), re.M) or ["?"])[0]
    flags = (re.findall(r"^Flags:\s*(.*)$", lscpu, re.M) or [""])[0].split()
    simd = [f for f in flags if re.match(r"(avx2|fma|avx512f|avx512bw|avx512vl|avx512_bf16|avx512_vnni)$", f)]
    return model or "?", simd


def fmt_acc(values):
    vals = sorted(set(values))
    return " / ".join(f"{100 * v:.2f}%" for v in vals) if vals else "?"


def report(a):
    lines = [json.loads(line) for line in open(a.jsonl) if line.strip()]
    meta = next((x for x in lines if x.get("kind") == "meta"), {})
    bins = {x["side"]: x for x in lines if x.get("kind") == "binary"}
    runs = [x for x in lines if x.get("kind") == "run"]
    profs = [x for x in lines if x.get("kind") == "profile"]
    label = {s: bins.get(s, {}).get("label", s) for s in ("before", "after")}
    models = list(dict.fromkeys(r["model"] for r in runs))
    out_dir = os.path.dirname(os.path.abspath(a.jsonl))

    with open(os.path.join(out_dir, "speed.csv"), "w") as f:
        f.write("model,side,label,repeat,order,threads,train_images,samples_per_second,epoch_samples_per_second,"
                "final_test_accuracy,wall_seconds\n")
        for r in runs:
            used = re.search(r"threads (\d+)", r["startup"])
            f.write(f"{r['model']},{r['side']},{r['label']},{r['repeat']},{r['order']},{used.group(1) if used else ''},"
                    f"{r['train_images'] or ''},{run_speed(r):.1f},{' '.join(f'{x:.1f}' for x in r['samples_per_second'])},"
                    f"{r['test_accuracy'][-1]:.4f},{r['wall_seconds']:.1f}\n")

    summary = {}
    for m in models:
        side_runs = {s: [r for r in runs if r["model"] == m and r["side"] == s] for s in ("before", "after")}
        med = {s: statistics.median(run_speed(r) for r in rs) if rs else None for s, rs in side_runs.items()}
        pairs = [run_speed(y) / run_speed(x) for x, y in zip(side_runs["before"], side_runs["after"])]
        ratio = med["after"] / med["before"] if med["before"] and med["after"] else None
        summary[m] = {"runs": side_runs, "median": med, "ratio": ratio, "pairs": pairs}

    ratio_col = re.sub(r"[^\w.+/-]", "_", f"{label['after']}/{label['before']}")
    with open(os.path.join(out_dir, "ratios.csv"), "w") as f:
        f.write(f"model,{ratio_col}\n")
        for m in models:
            if summary[m]["ratio"] is not None:
                f.write(f"{m},{summary[m]['ratio']:.4f}\n")

    cpu, simd = cpu_facts()
    n_rep = max((len(s["runs"]["before"]) for s in summary.values()), default=0)
    epochs = max((len(r["samples_per_second"]) for r in runs), default=0)
    window = f"2-{epochs}" if epochs > 1 else "1"
    order_text = "before, after, after, before, ...: a steady drift cancels" if meta.get("order") == "abba" else \
        "before, after, before, after, ..."
    o = [f"# Training speed before and after: `{label['before']}` vs `{label['after']}`, in one run", ""]
    if a.trial == "1":
        o += ["**Trial run** (`bench/backends_speed.sh --quick`, or settings smaller than the defaults, on a shared "
              "machine): it checks that the pipeline works; its numbers are not measurements.", ""]
    o += [f"- CPU: {cpu}, {os.cpu_count()} logical CPUs; flags: {' '.join(simd)}",
          f"- date: {meta.get('date') or datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; "
          f"Linux {platform.release()}; load average at the start {meta.get('load_start', '?')}, at the end "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"]
    for s in ("before", "after"):
        b = bins.get(s)
        if not b:
            continue
        commit = b.get("commit") or "unknown (pass --%s-commit)" % s
        o.append(f"- {s} = `{b['label']}`: `{b['bin']}` (sha256 {b['sha256'][:12]}, built {b['mtime']}), "
                 f"commit {commit}" + (f" [{b['commit_source']}]" if b.get("commit_source") and b["commit_source"] != "given"
                                       else "") +
                 (f"; {b['build_type']} build" if b.get("build_type") else "")
                 + (f"; {b['compiler']}" if b.get("compiler") else "; compiler unknown")
                 + (f"; extra arguments `{b['args']}`" if b.get("args") else ""))
        startup = next((r["startup"] for r in runs if r["side"] == s), "")
        if startup:
            o.append(f"  - startup line: `{startup}`")
    if bins.get("before") and bins.get("after") and bins["before"]["sha256"] == bins["after"]["sha256"] and \
            bins["before"].get("args", "") == bins["after"].get("args", ""):
        o.append("- **the two binaries are the same file with the same arguments**: an A/A run, which measures the "
                 "method's own noise, not a change")
    o += [f"- threads: {meta.get('threads', '?')} asked for (each run's startup line says how many it used; speed.csv "
          "has them); EMBER_BACKEND, EMBER_CPU_CACHE, EMBER_GEMM_BLOCKS, EMBER_NUM_THREADS and EMBER_PROFILE cleared",
          f"- data: {meta.get('dataset', '?')}, {next((r['train_images'] for r in runs if r.get('train_images')), '?')} "
          f"training images, {epochs} epochs per run, batch 64, no augmentation, no schedule, seed 0; "
          "lenet: Adam lr 1e-3 (as bench/lenet_speed.sh); cnn: AdamW lr 3e-3 weight decay 5e-4 (as bench/cnn_speed.sh)",
          f"- method: per model, {n_rep} runs of each binary, interleaved ({order_text}); a run's "
          f"samples/s is the median of its epochs {window} (ember-mnist's metrics.csv: training images / seconds of the "
          "epoch's training loop, without the test evaluation); a binary's figure is the median of its runs; "
          "ratio = after / before (above 1: after is faster)",
          ""]

    o += ["## Result", "",
          f"The rule: training must not get slower; the median of {n_rep} interleaved runs may be at most 3% slower "
          f"(after ≥ {a.limit:g} × before), for every model.", "",
          f"| model | before `{label['before']}` samples/s | after `{label['after']}` samples/s | after / before | "
          "pairwise after/before (min–max) | spread of before runs | final test accuracy before / after | verdict |",
          "|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for m in models:
        s = summary[m]
        if s["ratio"] is None:
            o.append(f"| {m} | {s['median']['before'] or '—'} | {s['median']['after'] or '—'} | — | — | — | — | no data |")
            verdicts.append((m, None))
            continue
        ok = s["ratio"] >= a.limit
        verdicts.append((m, ok))
        before_speeds = [run_speed(r) for r in s["runs"]["before"]]
        spread = (max(before_speeds) - min(before_speeds)) / s["median"]["before"] if before_speeds else 0
        acc = {side: [r["test_accuracy"][-1] for r in s["runs"][side]] for side in ("before", "after")}
        o.append(f"| {m} | {s['median']['before']:.0f} | {s['median']['after']:.0f} | **{s['ratio']:.3f}** | "
                 f"{min(s['pairs']):.3f}–{max(s['pairs']):.3f} | {100 * spread:.1f}% | "
                 f"{fmt_acc(acc['before'])} / {fmt_acc(acc['after'])} | {'met' if ok else '**missed**'} |")
    o.append("")
    if verdicts:
        all_ok = all(ok for _, ok in verdicts)
        o.append(f"Verdict: **{'met' if all_ok else 'missed'}** — " + "; ".join(
            f"{m} {'no data' if ok is None else ('met' if ok else 'missed')}"
            + (f" ({summary[m]['ratio']:.3f}x)" if summary[m]["ratio"] is not None else "") for m, ok in verdicts) + ".")
        o += ["", "*spread of before runs*: (max − min) / median of the before binary's runs, the noise a ratio has to "
                  "be read against. *final test accuracy*: the distinct values over the runs (one value: the runs "
                  "were identical).", ""]

    o += ["## Every run", "", f"In the order they ran. samples/s = median of epochs {window}.", "",
          "| # | model | binary | repeat | samples/s | per-epoch samples/s | final test accuracy | wall s |",
          "|---|---|---|---|---|---|---|---|"]
    for r in sorted(runs, key=lambda r: r["order"]):
        o.append(f"| {r['order']} | {r['model']} | {r['side']} `{r['label']}` | {r['repeat']} | {run_speed(r):.0f} | "
                 f"{' '.join(f'{x:.0f}' for x in r['samples_per_second'])} | {100 * r['test_accuracy'][-1]:.2f}% | "
                 f"{r['wall_seconds']:.1f} |")
    o.append("")

    o += ["## Where the time goes: the op profiler", ""]
    if profs:
        o += ["One more run per model with `--profile` (ember-mnist's op profiler: every `prim::` call and every "
              "backward node timed). It covers training and the test evaluation of all epochs; a node's time "
              "includes the primitives it calls, so the two kinds are shared out separately (*% of kind*). The "
              "profiler's own cost shows in the profiled run's samples/s beside the unprofiled median. The whole "
              "table is in the profile-*.csv files beside this one.", ""]
    else:
        o += ["No profile was taken (`--no-profile`, or neither binary has `--profile`).", ""]
    for side in ("before", "after"):
        if profs and bins.get(side) and not bins[side].get("has_profile"):
            o += [f"The {side} binary `{label[side]}` has no `--profile` option: no profile of it.", ""]
    for p in profs:
        s = summary.get(p["model"], {})
        unprof = (s.get("median") or {}).get(p["side"])
        sps = run_speed(p)
        o += [f"### {p['model']}, {p['side']} `{p['label']}`", "",
              f"Profiled run: {sps:.0f} samples/s (median of epochs {window})" +
              (f"; the unprofiled runs' median {unprof:.0f} ({100 * (sps / unprof - 1):+.1f}%: the profiler's cost, "
               "and noise)" if unprof else "")
              + f". `{os.path.basename(p['csv'])}`.", ""]
        kind_total = {}
        for r in p["rows"]:
            kind_total[r["kind"]] = kind_total.get(r["kind"], 0.0) + r["total_ms"]
        o += ["| kind | name | calls | total ms | mean µs | % of kind |", "|---|---|---|---|---|---|"]
        for r in sorted(p["rows"], key=lambda r: -r["total_ms"])[:TOP]:
            share = 100 * r["total_ms"] / kind_total[r["kind"]] if kind_total[r["kind"]] else 0
            o.append(f"| {r['kind']} | {r['name']} | {r['calls']} | {r['total_ms']:.1f} | {r['mean_us']:.1f} | "
                     f"{share:.1f}% |")
        rest = len(p["rows"]) - TOP
        o += (["", f"({rest} more rows in the CSV.)"] if rest > 0 else []) + [
            "", "Totals: " + "; ".join(f"{k} {v:.0f} ms" for k, v in sorted(kind_total.items())), ""]

    open(os.path.join(out_dir, "speed.md"), "w").write("\n".join(o))
    print(f"wrote {out_dir}/speed.csv, speed.md and ratios.csv")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("describe")
    d.add_argument("--side", required=True)
    d.add_argument("--label", required=True)
    d.add_argument("--bin", required=True)
    d.add_argument("--snapshot", required=True)
    d.add_argument("--commit", default="")
    d.add_argument("--args", default="")
    r = sub.add_parser("record")
    for k in ("model", "side", "label", "run-dir", "log"):
        r.add_argument("--" + k, required=True)
    r.add_argument("--repeat", type=int, required=True)
    r.add_argument("--order", type=int, required=True)
    r.add_argument("--wall", type=float, default=0.0)
    p = sub.add_parser("profile")
    for k in ("model", "side", "label", "run-dir", "log", "csv"):
        p.add_argument("--" + k, required=True)
    m = sub.add_parser("meta")
    m.add_argument("--threads", required=True)
    m.add_argument("--dataset", required=True)
    m.add_argument("--order", default="abab")
    rep = sub.add_parser("report")
    rep.add_argument("jsonl")
    rep.add_argument("--trial", default="0")
    rep.add_argument("--limit", type=float, default=LIMIT)
    a = ap.parse_args()
    if a.cmd == "describe":
        describe(a)
    elif a.cmd == "record":
        record(a)
    elif a.cmd == "profile":
        profile(a)
    elif a.cmd == "meta":
        emit({"kind": "meta", "threads": a.threads, "dataset": a.dataset, "order": a.order,
              "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "load_start": ", ".join(f"{x:.1f}" for x in os.getloadavg())})
    else:
        return report(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
