#!/usr/bin/python3
"""Writes tests/fixtures/nn/*.json: inputs, outputs and gradients that
PyTorch computes for Ember's neural-network ops (conv2d, pooling,
batch_norm, losses), in float64. Run with Debian's /usr/bin/python3 (it has
torch); the test suite only reads the committed JSON.

Each case holds named input tensors (values + shape), the op's options, the
output, and the gradient of sum(output * cotangent) for each input that
requires grad, with a random cotangent (also stored).
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "nn")


def t(x):
    return {"shape": list(x.shape), "values": x.detach().reshape(-1).tolist()}


def case(name, fn, inputs, options, grad_inputs):
    """fn(**inputs) -> output; gradients for the names in grad_inputs."""
    leaves = {k: (v.clone().requires_grad_(k in grad_inputs) if v.is_floating_point() else v.clone())
              for k, v in inputs.items()}
    out = fn(**leaves)
    cot = torch.randn(out.shape, dtype=torch.float64)
    grads = torch.autograd.grad((out * cot).sum(), [leaves[k] for k in grad_inputs])
    return {
        "name": name,
        "options": options,
        "inputs": {k: t(v) for k, v in inputs.items()},
        "input_dtypes": {k: ("int64" if v.dtype == torch.int64 else "float64") for k, v in inputs.items()},
        "output": t(out),
        "cotangent": t(cot),
        "grads": {k: t(g) for k, g in zip(grad_inputs, grads)},
    }


def randn(*s):
    return torch.randn(*s, dtype=torch.float64)


cases = []
# conv2d over a grid of options
for (stride, padding, dilation, groups, bias) in [
    ((1, 1), (0, 0), (1, 1), 1, True),
    ((2, 1), (1, 2), (1, 1), 1, False),
    ((1, 1), (2, 2), (2, 1), 1, True),
    ((2, 2), (1, 1), (1, 1), 2, True),
]:
    x, w = randn(2, 4, 7, 6), randn(6, 4 // groups, 3, 3)
    b = randn(6)
    inputs = {"x": x, "weight": w} | ({"bias": b} if bias else {})
    opts = {"stride": list(stride), "padding": list(padding), "dilation": list(dilation), "groups": groups}
    cases.append(case(f"conv2d s{stride} p{padding} d{dilation} g{groups} bias{bias}",
                      lambda x, weight, bias=None: F.conv2d(x, weight, bias, stride, padding, dilation, groups),
                      inputs, opts, list(inputs)))
# pooling
x = randn(2, 3, 7, 8)
for (k, s, p, d) in [((2, 2), (2, 2), (0, 0), (1, 1)), ((3, 2), (2, 1), (1, 1), (1, 1)), ((2, 2), (1, 1), (0, 0), (2, 2))]:
    cases.append(case(f"max_pool2d k{k} s{s} p{p} d{d}", lambda x: F.max_pool2d(x, k, s, p, d), {"x": x},
                      {"kernel": list(k), "stride": list(s), "padding": list(p), "dilation": list(d)}, ["x"]))
for (k, s, p) in [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1))]:
    cases.append(case(f"avg_pool2d k{k} s{s} p{p}", lambda x: F.avg_pool2d(x, k, s, p), {"x": x},
                      {"kernel": list(k), "stride": list(s), "padding": list(p)}, ["x"]))
for o in [(1, 1), (7, 4), (3, 5)]:
    cases.append(case(f"adaptive_avg_pool2d {o}", lambda x: F.adaptive_avg_pool2d(x, o), {"x": x},
                      {"output_size": list(o)}, ["x"]))
# batch norm: training (with the running statistics it leaves) and eval
for shape in [(4, 3, 5, 5), (6, 3)]:
    x, w, b = randn(*shape) * 2 + 1, randn(3), randn(3)
    rm, rv = randn(3), torch.rand(3, dtype=torch.float64) + 0.5
    rm_t, rv_t = rm.clone(), rv.clone()
    c = case(f"batch_norm train {shape}",
             lambda x, weight, bias: F.batch_norm(x, rm_t, rv_t, weight, bias, True, 0.1, 1e-5),
             {"x": x, "weight": w, "bias": b}, {"training": True, "momentum": 0.1, "eps": 1e-5},
             ["x", "weight", "bias"])
    c["running_before"] = {"mean": t(rm), "var": t(rv)}
    c["running_after"] = {"mean": t(rm_t), "var": t(rv_t)}
    cases.append(c)
    c = case(f"batch_norm eval {shape}",
             lambda x, weight, bias: F.batch_norm(x, rm, rv, weight, bias, False, 0.1, 1e-5),
             {"x": x, "weight": w, "bias": b}, {"training": False, "momentum": 0.1, "eps": 1e-5},
             ["x", "weight", "bias"])
    c["running_before"] = {"mean": t(rm), "var": t(rv)}
    c["running_after"] = {"mean": t(rm), "var": t(rv)}
    cases.append(c)
# losses
logits, target = randn(5, 7) * 3, torch.randint(0, 7, (5,))
for ls in [0.0, 0.1]:
    for red in ["mean", "sum", "none"]:
        cases.append(case(f"cross_entropy ls{ls} {red}",
                          lambda logits, target: F.cross_entropy(logits, target, reduction=red, label_smoothing=ls),
                          {"logits": logits, "target": target}, {"label_smoothing": ls, "reduction": red}, ["logits"]))
logp = F.log_softmax(randn(5, 7), 1)
cases.append(case("nll_loss mean", lambda logp, target: F.nll_loss(logp, target), {"logp": logp, "target": target},
                  {"reduction": "mean"}, ["logp"]))
a, b = randn(4, 5), randn(4, 5)
for red in ["mean", "sum"]:
    cases.append(case(f"mse_loss {red}", lambda a, b: F.mse_loss(a, b, reduction=red), {"a": a, "b": b},
                      {"reduction": red}, ["a", "b"]))
for beta in [1.0, 0.5]:
    cases.append(case(f"smooth_l1_loss beta{beta}", lambda a, b: F.smooth_l1_loss(a, b, beta=beta), {"a": a, "b": b},
                      {"beta": beta, "reduction": "mean"}, ["a", "b"]))
y = torch.rand(4, 5, dtype=torch.float64)
cases.append(case("binary_cross_entropy_with_logits", lambda a, y: F.binary_cross_entropy_with_logits(a * 4, y),
                  {"a": a, "y": y}, {"reduction": "mean", "scale": 4}, ["a", "y"]))

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "functional.json"), "w") as f:
    json.dump({"torch_version": torch.__version__, "cases": cases}, f)
print(f"wrote {len(cases)} cases to {OUT}/functional.json")
