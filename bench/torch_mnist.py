#!/usr/bin/python3
"""The PyTorch side of the recipe-parity runs: trains the same LeNet with
the same recipe on the same prepared IDX files (datasets/...), and prints
one JSON line per run with the per-epoch test accuracy.

  /usr/bin/python3 bench/torch_mnist.py --dataset mnist --epochs 5 --seeds 0 1 2
"""
import argparse
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATS = {"mnist": (0.130884, 0.308352, "mnist-digits"), "fashion": (0.286041, 0.353024, "fashion-mnist")}


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))))


def _cbr(cin, cout):  # conv-bn-relu, as cbr() in examples/mnist/models.cpp
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class CNN(nn.Sequential):
    """ember-mnist's default model (`--model cnn`, examples/mnist/models.cpp), layer for layer: three 3x3
    conv-bn-relu-pool stages of 32, 64 and 128 channels (28 -> 14 -> 7 -> 3 pixels), then dropout 0.25,
    Linear(1152, 128), ReLU, dropout 0.25, Linear(128, 10); 241,770 parameters, as Ember's model summary says.
    BatchNorm's eps (1e-5) and momentum (0.1) are the same in both."""

    def __init__(self):
        super().__init__(*_cbr(1, 32), nn.MaxPool2d(2), *_cbr(32, 64), nn.MaxPool2d(2), *_cbr(64, 128), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.25), nn.Linear(128 * 3 * 3, 128), nn.ReLU(), nn.Dropout(0.25),
                         nn.Linear(128, 10))


MODELS = {"lenet": LeNet, "cnn": CNN}


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        import gzip
        data = gzip.decompress(data)
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(folder, stem):
    for name in (stem, stem.replace("-idx", ".idx")):
        for ext in ("", ".gz"):
            p = os.path.join(folder, name + ext)
            if os.path.exists(p):
                return p
    raise FileNotFoundError(os.path.join(folder, stem))


def load(dataset, split):
    mean, std, folder = STATS[dataset]
    folder = os.path.join(ROOT, "datasets", folder)
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(find(folder, f"{prefix}-images-idx3-ubyte")).astype(np.float32) / 255
    y = read_idx(find(folder, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy((x - mean) / std).reshape(-1, 1, 28, 28), torch.from_numpy(y)


def run(dataset, epochs, seed, batch, lr):
    torch.manual_seed(seed)
    xtr, ytr = load(dataset, "train")
    xte, yte = load(dataset, "test")
    model = LeNet()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    accs, t0 = [], time.time()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            correct = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
                          for i in range(0, len(xte), 1000))
        accs.append(correct / len(xte))
    return {"framework": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
            "dataset": dataset, "seed": seed, "epochs": epochs, "test_accuracy": accs,
            "seconds": round(time.time() - t0, 1)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="mnist", choices=STATS)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    a = ap.parse_args()
    for s in a.seeds:
        print(json.dumps(run(a.dataset, a.epochs, s, a.batch_size, a.lr)), flush=True)
