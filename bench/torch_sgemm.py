#!/usr/bin/env python3
"""The square SGEMM problems of ember-bench's sgemm family in PyTorch, that
is cuBLAS, on the same GPU, with TF32 off (torch.backends.cuda.matmul.
allow_tf32 = False), timed the same way: a warm-up, then `repeat` samples of
one call between two synchronizations, the median reported.

    python3 bench/torch_sgemm.py [--quick] [--sizes N ...] [--csv FILE]

CSV rows: framework,device,variant,size,median_ms,tflops (as Ember's, with
variant "cublas").
"""
import argparse
import statistics
import time

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sizes 1024 and 4096, 3 samples")
    ap.add_argument("--sizes", type=int, nargs="*")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--csv")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("torch_sgemm.py: no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    sizes = a.sizes or ([1024, 4096] if a.quick else [1024, 2048, 4096, 8192])
    repeat = min(a.repeat, 3) if a.quick else a.repeat
    g = torch.Generator().manual_seed(0)
    rows = []
    print(f"{'variant':14} {'size':>6} {'ms':>10} {'TFLOP/s':>8}")
    for n in sizes:
        x = (torch.rand(n, n, generator=g) * 2 - 1).cuda()
        y = (torch.rand(n, n, generator=g) * 2 - 1).cuda()
        torch.matmul(x, y)
        torch.cuda.synchronize()
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            torch.matmul(x, y)
            torch.cuda.synchronize()
            samples.append((time.perf_counter() - t0) * 1e3)
        ms = statistics.median(samples)
        tflops = 2.0 * n * n * n / (ms * 1e9)
        print(f"{'cublas':14} {n:6} {ms:10.3f} {tflops:8.2f}")
        rows.append(f"torch {torch.__version__},cuda,cublas,{n},{ms:.6f},{tflops:.4f}")
    if a.csv:
        with open(a.csv, "w") as f:
            f.write("framework,device,variant,size,median_ms,tflops\n")
            f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
