#!/usr/bin/env python3
"""bench/results/cpu/micro.csv (from bench/cpu_micro.sh) -> micro.md.

  python3 bench/summarize_cpu.py [bench/results/cpu]

Speed ratios are Ember's throughput over PyTorch's, i.e. t_torch / t_ember
from medians of the same run: above 1 Ember is faster. "Best torch" is the
fastest PyTorch configuration for that case and thread count; "best
OpenBLAS" the fastest of the configurations running OpenBLAS. Needs only
the standard library.
"""
import csv
import json
import os
import sys
from collections import defaultdict

EMBER_MAIN = "cache-on"
TORCH_ORDER = ["stock", "stock-keepmem", "openblas", "openblas-keepmem", "openblas-skx", "openblas-skx-keepmem"]
GOALS = [  # (cases, against, minimum speed ratio, wording)
    (["matmul_1024", "matmul_2048"], "openblas", 0.9, "matmul 1024³–2048³ ≥ 0.9x the best OpenBLAS kernel"),
    (["add_alloc", "add_out", "sum", "softmax"], "torch", 1.0, "add, sum, softmax ≥ 1.0x tuned PyTorch"),
]


def load(folder):
    rows = list(csv.DictReader(open(os.path.join(folder, "micro.csv"))))
    meta_path = os.path.join(folder, "meta.json")
    meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    configs_path = os.path.join(folder, "torch_configs.jsonl")
    configs = [json.loads(line) for line in open(configs_path)] if os.path.exists(configs_path) else []
    return rows, meta, configs


def fmt_ms(ms):
    return f"{ms:.3f}" if ms < 10 else f"{ms:.1f}"


def rate(row):
    if row["gflops"]:
        return f"{float(row['gflops']):.1f} GFLOP/s"
    return f"{float(row['gbps']):.1f} GB/s" if row["gbps"] else ""


def header(meta, configs):
    out = ["# CPU micro-benchmarks: Ember and PyTorch in one run", ""]
    if meta.get("trial"):
        out += ["**Trial run** (`bench/cpu_micro.sh --quick`: few cases, 3 repeats, on a shared machine): it checks",
                "that the pipeline works end to end; its numbers are not measurements.", ""]
    e = meta.get("ember", {})
    out += [
        f"- CPU: {meta.get('cpu_model', '?')}, {meta.get('cpus', '?')} logical CPUs; flags: "
        f"{' '.join(meta.get('simd_flags', [])) or '?'}",
        f"- date: {meta.get('date', '?')}; Linux {meta.get('kernel', '?')}, glibc {meta.get('glibc', '?')}; "
        f"load average at the end {', '.join(f'{x:.1f}' for x in meta.get('load_average_at_end', []))}",
        f"- Ember {e.get('ember_version', '?')} at {meta.get('git_commit', '?')}: {e.get('build_type', '?')}, "
        f"{e.get('compiler', '?')}, SIMD {e.get('simd', '?')}, Eigen {e.get('eigen', '?')}, "
        f"thread pool {'yes' if e.get('thread_pool') else 'no (threads > 1 skipped)'}",
        f"- PyTorch {meta.get('torch', '?')} (Debian), OpenBLAS from libopenblas0-openmp {meta.get('openblas_deb', '?')} "
        "swapped in through `LD_LIBRARY_PATH` (not installed)",
        f"- method: median of {meta.get('repeat', '?')} timed samples after {meta.get('warmup', '?')} warm-up sample(s) "
        "(fewer, at least 3, for calls over the per-case time budget); each result checked against a float64 "
        "reference first. GFLOP/s = 2MNK / median; GB/s = (bytes read + bytes written) / median.",
        "",
        "What each PyTorch configuration really ran (from the process's own memory map):",
        "",
        "| config | threads | BLAS loaded | OpenBLAS core | GLIBC_TUNABLES |",
        "|---|---|---|---|---|",
    ]
    for c in configs:
        out.append(f"| {c['config']} | {c['threads']} | {c['blas_in_use']} "
                   f"({', '.join(os.path.basename(p) for p in c['blas_libraries_loaded'])}) | "
                   f"{c.get('openblas_core', '—')} | {'keep freed memory' if c['glibc_tunables'] else 'default'} |")
    return out + [""]


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "cpu")
    rows, meta, configs = load(folder)
    by = {(r["framework"], r["config"], r["case"], int(r["threads"])): r for r in rows}
    cases = list(dict.fromkeys(r["case"] for r in rows))
    threads = sorted({int(r["threads"]) for r in rows})
    t = lambda fw, cfg, case, th: float(by[(fw, cfg, case, th)]["median_ms"]) if (fw, cfg, case, th) in by else None

    def best(case, th, only_openblas=False):
        cands = [(t("pytorch", c, case, th), c) for c in TORCH_ORDER if (not only_openblas or c.startswith("openblas"))]
        cands = [x for x in cands if x[0] is not None]
        return min(cands) if cands else (None, None)

    out = header(meta, configs)
    out += ["## Summary", "",
            "Speed ratio = t_torch / t_ember (above 1: Ember faster), Ember with its caching allocator on.", "",
            "| case | shape | threads | Ember ms | best torch (config) ms | vs best torch | best OpenBLAS ms | vs best OpenBLAS |",
            "|---|---|---|---|---|---|---|---|"]
    for case in cases:
        for th in threads:
            e = t("ember", EMBER_MAIN, case, th)
            if e is None:
                continue
            bt, bc = best(case, th)
            bo, oc = best(case, th, True)
            shape = next(r["shape"] for r in rows if r["case"] == case)
            out.append(f"| {case} | {shape} | {th} | {fmt_ms(e)} | "
                       f"{fmt_ms(bt) + ' (' + bc + ')' if bt else '—'} | {f'{bt / e:.2f}x' if bt else '—'} | "
                       f"{fmt_ms(bo) if bo and case.startswith(('matmul', 'lenet')) else '—'} | "
                       f"{f'{bo / e:.2f}x' if bo and case.startswith(('matmul', 'lenet')) else '—'} |")
    out += ["", "## Goals", ""]
    for goal_cases, against, minimum, wording in GOALS:
        for th in threads:
            worst, missing = None, []
            for case in goal_cases:
                e = t("ember", EMBER_MAIN, case, th)
                ref, _ = best(case, th, against == "openblas")
                if e is None or ref is None:
                    missing.append(case)
                    continue
                ratio = ref / e
                if worst is None or ratio < worst[0]:
                    worst = (ratio, case)
            if worst is None:
                out.append(f"- {wording}, {th} thread(s): not measured in this run")
                continue
            verdict = "**met**" if worst[0] >= minimum and not missing else "**missed**"
            note = f"; not measured: {', '.join(missing)}" if missing else ""
            out.append(f"- {wording}, {th} thread(s): {verdict} (lowest {worst[0]:.2f}x, {worst[1]}{note})")
    out += ["", "## The caching allocator's effect", "",
            "Ember with the cache on and off (`EMBER_CPU_CACHE=0`: every tensor's memory comes fresh from the "
            "system); ratio = t_off / t_on.", "",
            "| case | threads | cache on ms | cache off ms | off / on |", "|---|---|---|---|---|"]
    for case in cases:
        for th in threads:
            on, off = t("ember", "cache-on", case, th), t("ember", "cache-off", case, th)
            if on is not None and off is not None:
                out.append(f"| {case} | {th} | {fmt_ms(on)} | {fmt_ms(off)} | {off / on:.2f}x |")
    out += ["", "## Every case, every configuration", ""]
    for case in cases:
        shape = next(r["shape"] for r in rows if r["case"] == case)
        out += [f"### {case} ({shape})", "", "| framework | config | " + " | ".join(f"{th} thr ms | {th} thr rate" for th in threads) + " |",
                "|---|---|" + "---|---|" * len(threads)]
        for fw, cfgs in (("ember", ["cache-on", "cache-off"]), ("pytorch", TORCH_ORDER)):
            for cfg in cfgs:
                cells = []
                for th in threads:
                    r = by.get((fw, cfg, case, th))
                    cells += [fmt_ms(float(r["median_ms"])), rate(r)] if r else ["—", ""]
                if any(c != "—" and c for c in cells):
                    out.append(f"| {fw} | {cfg} | " + " | ".join(cells) + " |")
        out.append("")
    # The summary's ratios as a CSV for a grouped bar chart (cpu_micro.sh
    # draws ratios.svg from it with ember-plot --bars --reference 1).
    with open(os.path.join(folder, "ratios.csv"), "w") as f:
        f.write("case," + ",".join(f"{th} thread{'s' if th > 1 else ''}" for th in threads) + "\n")
        for case in cases:
            cells = []
            for th in threads:
                e, (bt, _) = t("ember", EMBER_MAIN, case, th), best(case, th)
                cells.append(f"{bt / e:.4f}" if e and bt else "")
            if any(cells):
                f.write(case + "," + ",".join(cells) + "\n")
    out[out.index("## Summary") + 2:out.index("## Summary") + 2] = [
        "![Ember's speed relative to the best PyTorch configuration, per case (1 = as fast)](ratios.svg)", ""]
    path = os.path.join(folder, "micro.md")
    open(path, "w").write("\n".join(out))
    print(f"wrote {path} and ratios.csv")


if __name__ == "__main__":
    main()
