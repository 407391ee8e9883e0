#!/usr/bin/python3
"""Loads an Ember-written LeNet model file into the equivalent torch.nn
model with strict=True and evaluates it on the prepared test split, so one
can compare with what ember-mnist reported for the same weights.

  /usr/bin/python3 tests/torch_load_check.py runs/lenet-mnist-seed0/model.safetensors [mnist|fashion]
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench"))
import safetensors_tool  # noqa: E402
import torch_mnist  # noqa: E402  (the same LeNet and data loading as the PyTorch recipe runs)

path = sys.argv[1]
dataset = sys.argv[2] if len(sys.argv) > 2 else "mnist"
tensors, metadata = safetensors_tool.load_torch(path)
model = torch_mnist.LeNet()
missing_unexpected = model.load_state_dict(tensors, strict=True)
x, y = torch_mnist.load(dataset, "test")
model.eval()
with torch.no_grad():
    correct = sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000))
print(f"{path}: loaded into torch.nn LeNet with strict=True; {dataset} test accuracy {100 * correct / len(x):.2f}%")
