#!/usr/bin/env python3
"""The cases of bench/cuda_memory.cpp (ember-bench-cuda-memory) in PyTorch,
on the same GPU, timed the same way: warm-up, then `repeat` samples of
`inner` calls between two synchronizations, the median per call.

    python3 bench/torch_cuda_memory.py [--quick] [--csv FILE]

CSV rows: framework,device,case,shape,median_ms,gbps (as Ember's).
"""
import argparse
import statistics
import time

import torch


def cases(n, rows, dev):
    g = torch.Generator().manual_seed(0)

    def rnd(*shape):
        return (torch.rand(*shape, generator=g) * 4 - 2).to(dev)

    cols = n // rows
    flat, mat = str(n), f"{rows}x{cols}"
    x, y = rnd(n), rnd(n)
    m, row = rnd(rows, cols), rnd(cols)
    short = rnd(n // 1024, 1024)
    idx = torch.randint(0, rows, (rows,), generator=g).to(dev)
    f4 = 4
    return [
        ("copy", flat, 2 * f4 * n, lambda: x.clone()),
        ("copy transposed", mat, 2 * f4 * n, lambda: m.t().contiguous()),
        ("cast float32->float64", flat, 12 * n, lambda: x.to(torch.float64)),
        ("add", flat, 3 * f4 * n, lambda: x + y),
        ("add broadcast row", mat, 2 * f4 * n + f4 * cols, lambda: m + row),
        ("exp", flat, 2 * f4 * n, lambda: torch.exp(x)),
        ("where", flat, (3 * f4 + 1) * n, lambda: torch.where(x > 0, x, y)),
        ("sum all", flat, f4 * n, lambda: x.sum()),
        ("sum rows", mat, f4 * n + f4 * rows, lambda: m.sum(1)),
        ("sum cols", mat, f4 * n + f4 * cols, lambda: m.sum(0)),
        ("max rows", mat, f4 * n + f4 * rows, lambda: m.amax(1)),
        ("softmax rows of 1024", f"{n // 1024}x1024", 2 * f4 * n, lambda: torch.softmax(short, 1)),
        (f"log_softmax rows of {cols}", mat, 2 * f4 * n, lambda: torch.log_softmax(m, 1)),
        ("index_select rows", mat, 2 * f4 * n, lambda: torch.index_select(m, 0, idx)),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--inner", type=int, default=10)
    ap.add_argument("--csv")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("torch_cuda_memory.py: no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    n = 1 << 22 if a.quick else 1 << 24
    repeat, inner = (min(a.repeat, 5), min(a.inner, 3)) if a.quick else (a.repeat, a.inner)
    rows = []
    print(f"{'case':28} {'shape':14} {'ms':>10} {'GB/s':>10}")
    for name, shape, nbytes, fn in cases(n, 256, "cuda"):
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            torch.cuda.synchronize()
            samples.append((time.perf_counter() - t0) * 1e3 / inner)
        ms = statistics.median(samples)
        gbps = nbytes / (ms * 1e6)
        print(f"{name:28} {shape:14} {ms:10.4f} {gbps:10.1f}")
        rows.append(f"torch {torch.__version__},cuda,{name},{shape},{ms:.6f},{gbps:.3f}")
    if a.csv:
        with open(a.csv, "w") as f:
            f.write("framework,device,case,shape,median_ms,gbps\n")
            f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
