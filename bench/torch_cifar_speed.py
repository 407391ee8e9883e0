#!/usr/bin/python3
"""The PyTorch side of bench/cifar_speed.sh: torchvision's ResNet-18 with
the CIFAR stem (3x3 stride-1 conv1, no max-pool, 10 classes), SGD nesterov
momentum 0.9, weight decay 5e-4, constant lr, float32, trained on the
first --train-limit images of CIFAR-10-format files (data_batch_*.bin) with
torchvision's recipe augmentation (RandomCrop(32, padding=4), random
horizontal flip) and CIFAR-10's normalisation, built on the main thread.

It runs the same two epochs as ember-mnist does for the benchmark: epoch 1
is warm-up (first-touch allocations, thread start-up, oneDNN's primitive
caches), the test split is evaluated after each epoch, and epoch 2 is
timed exactly as trainer.cpp times an epoch:

  seconds from the epoch's start (before its permutation and first batch)
  to the end of its last optimizer step, including batch assembly and
  augmentation, the per-step loss and right-answer read-back, and
  excluding the evaluation that follows.

Prints one JSON line: both epochs' seconds and samples/s and the torch,
BLAS and oneDNN facts of the process.

  /usr/bin/python3 bench/torch_cifar_speed.py --data-dir DIR --train-limit 768 --threads 2
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_micro import info  # noqa: E402

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)  # data::Normalize::cifar10()


def load(data_dir, names, limit):
    """uint8 images (N, 3, 32, 32) and int64 labels from CIFAR-10 binaries."""
    raw = np.concatenate([np.fromfile(os.path.join(data_dir, n), dtype=np.uint8).reshape(-1, 3073) for n in names])
    if limit > 0:
        raw = raw[:limit]
    return torch.from_numpy(raw[:, 1:].reshape(-1, 3, 32, 32).copy()), torch.from_numpy(raw[:, 0].astype(np.int64))


def resnet18_cifar():
    model = torchvision.models.resnet18(num_classes=10)
    model.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    model.maxpool = nn.Identity()
    return model


def batch(images, labels, idx, augment, pad, gen):
    """Normalised float batch; with augment, a random crop of the zero-padded
    image and a random flip per image, as torchvision's transforms do."""
    x = images[idx].float().div_(255)
    if augment:
        x = F.pad(x, (pad, pad, pad, pad))
        offsets = torch.randint(0, 2 * pad + 1, (len(idx), 2), generator=gen).tolist()
        flips = torch.rand(len(idx), generator=gen).lt(0.5).tolist()
        out = torch.empty(len(idx), 3, 32, 32)
        for i, ((dy, dx), flip) in enumerate(zip(offsets, flips)):
            crop = x[i, :, dy:dy + 32, dx:dx + 32]
            out[i] = crop.flip(-1) if flip else crop
        x = out
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return x.sub_(mean).div_(std), labels[idx]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--train-limit", type=int, default=0, help="first N training images (0: all), as ember-mnist")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=2, help="the last is the timed one")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--augment", type=int, default=4, help="crop padding in pixels (0: no crop and no flip)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    xtr, ytr = load(a.data_dir, [f"data_batch_{i}.bin" for i in range(1, 6)], a.train_limit)
    xte, yte = load(a.data_dir, ["test_batch.bin"], 0)
    model = resnet18_cifar()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    seconds, rates, losses = [], [], []
    for epoch in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(xtr), generator=gen)
        seen, loss_sum, correct = 0, 0.0, 0
        for i in range(0, len(xtr), a.batch_size):
            x, y = batch(xtr, ytr, perm[i:i + a.batch_size], a.augment > 0, a.augment, gen)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(y)  # ember-mnist reads both every step on the CPU
            with torch.no_grad():
                correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
        secs = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            for i in range(0, len(xte), 256):
                model(batch(xte, yte, torch.arange(i, min(i + 256, len(xte))), False, 0, gen)[0])
        seconds.append(secs)
        rates.append(seen / secs)
        losses.append(loss_sum / seen)
        print(f"# pytorch epoch {epoch + 1}/{a.epochs}: {seen / secs:.1f} samples/s ({secs:.2f} s), "
              f"loss {loss_sum / seen:.4f}", file=sys.stderr, flush=True)
    print(json.dumps({"framework": "pytorch", "threads": torch.get_num_threads(), "batch_size": a.batch_size,
                      "train_images": len(xtr), "epoch_seconds": seconds, "samples_per_second": rates,
                      "train_loss": losses, "torchvision": torchvision.__version__,
                      "facts": dict(info(a.threads), mkldnn_available=torch.backends.mkldnn.is_available())}))


if __name__ == "__main__":
    main()
