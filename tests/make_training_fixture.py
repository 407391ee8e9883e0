#!/usr/bin/python3
"""Writes the end-to-end parity fixture (tests/fixtures/train/): PyTorch
trains LeNet with Adam (lr 1e-3, batch 64) on the prepared MNIST digits for
200 steps in float64, and 50 steps in float32, from one set of initial
weights. Ember replays the same batches from the same weights
(tests/test_train.cpp) and must match every step's loss and the final
weights.

Needs the prepared data (bash scripts/prepare_data.sh) and Debian's
python3-torch: run with /usr/bin/python3. Stores:
  lenet_init.safetensors   initial weights, float64 (torch's default init)
  lenet_final64.safetensors weights after 200 float64 steps
  lenet_steps.json          batch indices per step, the losses of both runs
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import safetensors_tool  # noqa: E402  (our stdlib reader/writer)

OUT = os.path.join(HERE, "fixtures", "train")
STEPS64, STEPS32, BATCH = 200, 50, 64
MEAN, STD = 0.130884, 0.308352


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc3(F.relu(self.fc2(x)))


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def batches(images, labels, order, dtype):
    for step in range(len(order)):
        idx = order[step]
        x = torch.from_numpy(images[idx].astype(np.float64)).to(dtype)
        # Ember's transform: x / 255, then (x - mean) / std, in the batch dtype
        x = ((x / 255) - torch.tensor(MEAN, dtype=dtype)) / torch.tensor(STD, dtype=dtype)
        yield x.reshape(-1, 1, 28, 28), torch.from_numpy(labels[idx].astype(np.int64))


def train(init, dtype, steps, images, labels, order):
    model = LeNet().to(dtype)
    model.load_state_dict({k: v.to(dtype) for k, v in init.items()}, strict=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for x, y in batches(images, labels, order[:steps], dtype):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, losses


def main():
    data = os.path.join(ROOT, "datasets", "mnist-digits")
    images = read_idx(os.path.join(data, "train-images-idx3-ubyte"))
    labels = read_idx(os.path.join(data, "train-labels-idx1-ubyte"))
    torch.manual_seed(0)
    init = {k: v.detach().to(torch.float64) for k, v in LeNet().state_dict().items()}
    rng = np.random.RandomState(1)
    order = [rng.choice(len(images), BATCH, replace=False).tolist() for _ in range(STEPS64)]
    model64, losses64 = train(init, torch.float64, STEPS64, images, labels, order)
    _, losses32 = train(init, torch.float32, STEPS32, images, labels, order)
    os.makedirs(OUT, exist_ok=True)
    safetensors_tool.save_torch(os.path.join(OUT, "lenet_init.safetensors"), init, {"what": "LeNet initial weights"})
    final = {k: v.detach() for k, v in model64.state_dict().items()}
    safetensors_tool.save_torch(os.path.join(OUT, "lenet_final64.safetensors"), final,
                                {"what": f"LeNet after {STEPS64} float64 Adam steps"})
    with open(os.path.join(OUT, "lenet_steps.json"), "w") as f:
        json.dump({"torch_version": torch.__version__, "batch_size": BATCH, "lr": 1e-3, "order": order,
                   "losses_float64": losses64, "losses_float32": losses32}, f)
    print(f"float64: loss {losses64[0]:.6f} -> {losses64[-1]:.6f}; float32 first 50 steps written")


if __name__ == "__main__":
    main()
