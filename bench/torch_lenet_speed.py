#!/usr/bin/python3
"""The PyTorch side of bench/lenet_speed.sh and bench/cnn_speed.sh: trains
bench/torch_mnist.py's replica of an ember-mnist model on the same prepared
IDX files, batch 64, no augmentation, with the model's speed recipe
(--model lenet: LeNet, Adam lr 1e-3; --model cnn: the default CNN, AdamW
lr 3e-3 weight decay 5e-4), and times each epoch's training loop exactly as
ember-mnist does (trainer.cpp):

  samples/s = training images seen / seconds from the epoch's first batch
              to the end of its last optimizer step, including batch
              assembly, the loss read-back and the running accuracy, and
              excluding the test-set evaluation that follows.

Prints one JSON line: per-epoch samples/s, epoch seconds, test accuracy,
and what BLAS and allocator settings the process really ran with.

  /usr/bin/python3 bench/torch_lenet_speed.py --threads 2 --config stock
  /usr/bin/python3 bench/torch_lenet_speed.py --model cnn --threads 2 --config stock
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_micro import info  # noqa: E402
from torch_mnist import MODELS, load  # noqa: E402

# Each model's speed recipe, as the bench scripts pass it to ember-mnist.
RECIPES = {"lenet": {"optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0},
           "cnn": {"optimizer": "adamw", "lr": 3e-3, "weight_decay": 5e-4}}


def memory_mib():
    """(RSS now, peak RSS so far) in MiB, from /proc/self/status: as ember-mnist's "memory:" line
    (examples/mnist/memory_use.h), training memory = the peak minus the RSS with the data and model ready."""
    got = {}
    try:
        for line in open("/proc/self/status"):
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                got[key] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return got.get("VmRSS", 0.0), got.get("VmHWM", 0.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="lenet", choices=sorted(MODELS))
    ap.add_argument("--dataset", default="mnist", choices=["mnist", "fashion"])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--optimizer", choices=["adam", "adamw"], help="default: the model's recipe (lenet adam, cnn adamw)")
    ap.add_argument("--lr", type=float, help="default: the model's recipe (lenet 1e-3, cnn 3e-3)")
    ap.add_argument("--weight-decay", type=float, help="default: the model's recipe (lenet 0, cnn 5e-4)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-limit", type=int, default=0, help="first N training images only (0: all), as ember-mnist")
    ap.add_argument("--config", default="stock", help="label for the results")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda: the data on the GPU, TF32 off, and the loss "
                    "and accuracy kept on the device (read once per epoch), as ember-mnist does there")
    a = ap.parse_args()
    for k, v in RECIPES[a.model].items():
        if getattr(a, k) is None:
            setattr(a, k, v)

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load(a.dataset, "train")
    xte, yte = load(a.dataset, "test")
    if a.train_limit > 0:
        xtr, ytr = xtr[:a.train_limit], ytr[:a.train_limit]
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cudnn.allow_tf32 = False  # it defaults to True
        torch.backends.cuda.matmul.allow_tf32 = False
        xtr, ytr, xte, yte = xtr.to(dev), ytr.to(dev), xte.to(dev), yte.to(dev)
    model = MODELS[a.model]().to(dev)
    optimizer = torch.optim.AdamW if a.optimizer == "adamw" else torch.optim.Adam  # AdamW: decoupled decay, as Ember's
    opt = optimizer(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    rates, seconds, accs = [], [], []
    rss_ready = memory_mib()[0]
    for epoch in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(xtr)).to(dev)
        correct = torch.zeros((), dtype=torch.int64, device=dev)
        seen = 0
        for i in range(0, len(xtr), a.batch_size):
            idx = perm[i:i + a.batch_size]
            x, y = xtr[idx], ytr[idx]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            if dev.type == "cpu":
                loss.item()  # ember-mnist reads the loss every step on the CPU (to stop on divergence)
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                correct += (logits.argmax(1) == y).sum()
            seen += len(y)
        correct = correct.item()  # waits for the device: the epoch's time includes all its work
        secs = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            hits = sum((model(xte[i:i + 200]).argmax(1) == yte[i:i + 200]).sum().item() for i in range(0, len(xte), 200))
        rates.append(seen / secs)
        seconds.append(secs)
        accs.append(hits / len(xte))
        print(f"# {a.config} epoch {epoch + 1}/{a.epochs}: {seen / secs:.0f} samples/s, test accuracy {100 * hits / len(xte):.2f}%",
              file=sys.stderr, flush=True)
    print(json.dumps({"framework": "pytorch", "config": a.config, "model": a.model, "dataset": a.dataset,
                      "recipe": {"optimizer": a.optimizer, "lr": a.lr, "weight_decay": a.weight_decay,
                                 "batch_size": a.batch_size}, "threads": torch.get_num_threads(),
                      "train_images": len(xtr), "samples_per_second": rates, "epoch_seconds": seconds,
                      "test_accuracy": accs, "rss_ready_mib": round(rss_ready, 1),
                      "peak_rss_mib": round(memory_mib()[1], 1),
                      "facts": dict(info(a.threads), mkldnn_available=torch.backends.mkldnn.is_available())}))


if __name__ == "__main__":
    main()
