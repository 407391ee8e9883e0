#!/usr/bin/python3
"""The PyTorch side of bench/cpu_micro.sh: the CPU cases of ember-bench
(bench/ember_bench/cpu_problems.cpp), written as the CSV rows its --micro-csv writes.

Run it with Debian's interpreter, /usr/bin/python3 (torch 1.13 lives there):

  /usr/bin/python3 bench/torch_micro.py --threads 1 --config stock --csv out.csv
  /usr/bin/python3 bench/torch_micro.py --info    # torch, BLAS and allocator facts as JSON

Each case is checked once against a float64 reference, warmed up, then
timed `repeat` times; a sample repeats the call until it lasts
--min-sample-ms and the per-call median is reported. GFLOP/s = 2MNK/median
(matmul); GB/s = (bytes read + bytes written)/median (add: 12 B, sum: 4 B,
softmax: 8 B per element). torch.add(a, b, out=c) is the preallocated add.
"""
import argparse
import ctypes
import json
import os
import re
import statistics
import sys
import time

import torch

STREAM_N = 1 << 24  # 16M floats, as in ember-bench (cpu_problems.cpp)
CSV_HEADER = "framework,config,case,shape,threads,median_ms,gflops,gbps"


def uniform(shape, lo, hi, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g) * (hi - lo) + lo


def matmul_case(name, m, k, n, b_transposed):
    def prepare():
        a = uniform((m, k), -1, 1, 1)
        b = uniform((n, k), -1, 1, 2).t() if b_transposed else uniform((k, n), -1, 1, 2)

        def check():
            c = torch.matmul(a, b).double()
            ref = a.double() @ b.double()
            scale = a.double().abs() @ b.double().abs()
            bad = (c - ref).abs() > 1e-5 * scale + 1e-6
            return "" if not bad.any() else f"{int(bad.sum())} entries off the float64 reference"

        return (lambda: torch.matmul(a, b)), check, 2.0 * m * n * k, 0.0

    return name, f"{m}x{k}x{n}", prepare


def add_alloc():
    a, b = uniform(STREAM_N, -1, 1, 3), uniform(STREAM_N, -1, 1, 4)
    return (lambda: torch.add(a, b)), (lambda: "" if torch.equal(torch.add(a, b), a + b) else "mismatch"), 0.0, 12.0 * STREAM_N


def add_out():
    a, b, c = uniform(STREAM_N, -1, 1, 3), uniform(STREAM_N, -1, 1, 4), torch.zeros(STREAM_N)

    def check():
        torch.add(a, b, out=c)
        return "" if torch.equal(c, (a.double() + b.double()).float()) else "mismatch"

    return (lambda: torch.add(a, b, out=c)), check, 0.0, 12.0 * STREAM_N


def sum_case():
    a = uniform(STREAM_N, 0, 1, 5)

    def check():
        got, want = torch.sum(a).item(), a.double().sum().item()
        return "" if abs(got - want) <= 1e-5 * want else f"sum = {got}, float64 reference {want}"

    return (lambda: torch.sum(a)), check, 0.0, 4.0 * STREAM_N + 4


def softmax_case():
    a = uniform((4096, 1000), -5, 5, 6)

    def check():
        y, ref = torch.softmax(a, 1).double(), torch.softmax(a.double(), 1)
        return "" if ((y - ref).abs() <= 1e-6 + 1e-4 * ref).all() else "mismatch"

    return (lambda: torch.softmax(a, 1)), check, 0.0, 8.0 * 4096 * 1000


def all_cases():
    cases = [matmul_case(f"matmul_{n}", n, n, n, False) for n in (64, 128, 256, 512, 1024, 2048)]
    cases += [
        matmul_case("lenet_conv1", 64 * 28 * 28, 25, 6, True),
        matmul_case("lenet_conv2", 64 * 10 * 10, 150, 16, True),
        matmul_case("lenet_fc1", 64, 400, 120, True),
        matmul_case("lenet_fc2", 64, 120, 84, True),
        matmul_case("lenet_fc3", 64, 84, 10, True),
    ]
    cases += [("add_alloc", str(STREAM_N), add_alloc), ("add_out", str(STREAM_N), add_out),
              ("sum", str(STREAM_N), sum_case), ("softmax", "4096x1000", softmax_case)]
    return cases


def time_case(run, warmup, repeat, min_sample_s, max_case_s):
    """(median, min, max, inner, repeats) per call; as the retired ember-bench-micro timed."""
    t0 = time.perf_counter()
    run()
    once = max(time.perf_counter() - t0, 1e-9)
    inner = int(min(max(-(-min_sample_s // once), 1), 1e6))
    affordable = int(max_case_s / (once * inner))
    warmup = min(warmup, max(1, affordable // 4))
    repeat = min(max(affordable - warmup, min(3, repeat)), repeat)
    for _ in range(warmup):
        for _ in range(inner):
            run()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            run()
        samples.append((time.perf_counter() - t0) / inner)
    return statistics.median(samples), min(samples), max(samples), inner, repeat


def loaded_libraries(pattern):
    """Paths of the shared objects mapped into this process whose name matches pattern."""
    seen = []
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if re.search(pattern, os.path.basename(path)) and path not in seen:
                seen.append(path)
    return seen


def openblas_facts():
    """openblas_get_config()/get_corename() when OpenBLAS is loaded, else {}."""
    for path in loaded_libraries(r"openblas"):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return {"openblas_config": lib.openblas_get_config().decode(),
                    "openblas_core": lib.openblas_get_corename().decode(), "openblas_path": path}
        except (OSError, AttributeError):
            continue
    return {}


def info(threads):
    torch.set_num_threads(threads)
    torch.matmul(torch.ones(64, 64), torch.ones(64, 64))  # make sure BLAS is loaded and initialized
    blas = loaded_libraries(r"^lib(blas|openblas|mkl|blis)")
    facts = {
        "torch": torch.__version__, "python": sys.version.split()[0], "threads": torch.get_num_threads(),
        "blas_info": re.search(r"BLAS_INFO=([^,]*)", torch.__config__.show()).group(1),
        "cpu_capability": (re.findall(r"CPU capability usage: (\S+)", torch.__config__.show()) or [""])[0],
        "mkldnn_enabled": torch.backends.mkldnn.enabled, "openmp": torch.backends.openmp.is_available(),
        "blas_libraries_loaded": [os.path.realpath(p) for p in blas],
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES", ""),
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE", ""),
        "ld_library_path": os.environ.get("LD_LIBRARY_PATH", ""),
    }
    facts.update(openblas_facts())
    facts["blas_in_use"] = "openblas" if any("openblas" in p for p in facts["blas_libraries_loaded"]) else (
        "reference (netlib libblas3)" if any("/blas/libblas" in p for p in facts["blas_libraries_loaded"]) else "other")
    return facts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--filter", default="", help="regex on case names")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-sample-ms", type=float, default=20)
    ap.add_argument("--max-case-s", type=float, default=30, help="fewer repeats (at least 3) for slower cases")
    ap.add_argument("--csv", default="", help="append CSV rows here (header if the file is new)")
    ap.add_argument("--config", default="stock", help="the CSV's config column")
    ap.add_argument("--info", action="store_true", help="print torch/BLAS/allocator facts as JSON and exit")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.info:
        print(json.dumps(dict(info(a.threads), config=a.config)))
        return 0
    torch.set_num_threads(a.threads)
    cases = [c for c in all_cases() if re.search(a.filter, c[0])]
    if a.list:
        for name, shape, _ in cases:
            print(f"{name:<12} {shape}")
        return 0
    if not cases:
        print(f"error: no case matches --filter '{a.filter}'", file=sys.stderr)
        return 2
    csv = None
    if a.csv:
        fresh = not os.path.exists(a.csv) or os.path.getsize(a.csv) == 0
        csv = open(a.csv, "a")
        if fresh:
            csv.write(CSV_HEADER + "\n")
    facts = info(a.threads)
    print(f"torch {torch.__version__}, config {a.config}, threads {torch.get_num_threads()}, BLAS {facts['blas_in_use']}"
          f"{' (' + facts['openblas_core'] + ')' if 'openblas_core' in facts else ''}, warmup {a.warmup}, repeat {a.repeat}")
    print(f"{'case':<12} {'shape':<14} {'reps':>5} {'inner':>6} {'median_ms':>10} {'min_ms':>10} {'max_ms':>10} {'GFLOP/s':>9} {'GB/s':>8}")
    failures = 0
    with torch.no_grad():
        for name, shape, prepare in cases:
            run, check, flops, nbytes = prepare()
            err = check()
            if err:
                print(f"FAILED {name} ({shape}): {err}", file=sys.stderr)
                failures += 1
                continue
            med, lo, hi, inner, reps = time_case(run, a.warmup, a.repeat, a.min_sample_ms / 1e3, a.max_case_s)
            gflops = flops / med / 1e9 if flops else 0
            gbps = nbytes / med / 1e9 if nbytes else 0
            gf, gb = (f"{gflops:.1f}" if gflops else ""), (f"{gbps:.1f}" if gbps else "")
            print(f"{name:<12} {shape:<14} {reps:>5} {inner:>6} {med * 1e3:>10.4f} {lo * 1e3:>10.4f} {hi * 1e3:>10.4f} {gf:>9} {gb:>8}",
                  flush=True)
            if csv:
                csv.write(f"pytorch,{a.config},{name},{shape},{torch.get_num_threads()},{med * 1e3:.6f},"
                          f"{f'{gflops:.3f}' if gflops else ''},{f'{gbps:.3f}' if gbps else ''}\n")
                csv.flush()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
