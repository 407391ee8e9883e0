#!/usr/bin/env python3
"""The forward cases of ember-bench's conv2d family in PyTorch, that is
cuDNN, on the same GPU, with TF32 off (torch.backends.cudnn.allow_tf32 =
False; it defaults to True) and cudnn.benchmark on (cuDNN picks its fastest
algorithm per shape during the warm-up), timed the same way: a warm-up,
then `repeat` samples of one call between two synchronizations, the median.

    python3 bench/torch_conv.py [--quick] [--csv FILE]

CSV rows: framework,device,algorithm,case,shape,median_ms,tflops (as
Ember's, with algorithm "cudnn").
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

# name, c_in, c_out, hw, k, pad, batch: as ember-bench's conv shapes (bench/ember_bench/cuda_problems.cpp).
CASES = [("lenet.conv1", 1, 6, 28, 5, 2, 64), ("lenet.conv2", 6, 16, 14, 5, 0, 64),
         ("resnet18.layer1", 64, 64, 56, 3, 1, 32), ("resnet18.layer2", 128, 128, 28, 3, 1, 32),
         ("resnet18.layer3", 256, 256, 14, 3, 1, 32), ("resnet18.layer4", 512, 512, 7, 3, 1, 32)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 samples per case")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--csv")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("torch_conv.py: no CUDA device")
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    repeat = min(a.repeat, 3) if a.quick else a.repeat
    g = torch.Generator().manual_seed(0)
    rows = []
    print(f"{'case':16} {'algorithm':14} {'ms':>10} {'TFLOP/s':>8}")
    for name, c_in, c_out, hw, k, pad, n in CASES:
        x = (torch.rand(n, c_in, hw, hw, generator=g) * 2 - 1).cuda()
        w = (torch.rand(c_out, c_in, k, k, generator=g) * 2 - 1).cuda()
        b = (torch.rand(c_out, generator=g) * 2 - 1).cuda()
        for _ in range(3):  # warm-up, and cudnn.benchmark's search
            F.conv2d(x, w, b, padding=pad)
        torch.cuda.synchronize()
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            F.conv2d(x, w, b, padding=pad)
            torch.cuda.synchronize()
            samples.append((time.perf_counter() - t0) * 1e3)
        ms = statistics.median(samples)
        out_hw = hw + 2 * pad - k + 1
        tflops = 2.0 * n * c_out * out_hw * out_hw * c_in * k * k / (ms * 1e9)
        shape = f"{n}x{c_in}x{hw}^2 k{k} ->{c_out}"
        print(f"{name:16} {'cudnn':14} {ms:10.3f} {tflops:8.2f}")
        rows.append(f"torch {torch.__version__},cuda,cudnn,{name},{shape},{ms:.6f},{tflops:.4f}")
    if a.csv:
        with open(a.csv, "w") as f:
            f.write("framework,device,algorithm,case,shape,median_ms,tflops\n")
            f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
