#!/usr/bin/python3
"""Writes tests/fixtures/resnet/: what torchvision's ResNet-18/34 look like
and compute, for tests/test_resnet.cpp to check Ember's nn::ResNet against
without PyTorch. Run with Debian's /usr/bin/python3 (torch 1.13,
torchvision 0.14):

  /usr/bin/python3 tests/make_resnet_fixtures.py [build/release/tests/test_resnet]

keys.json      torchvision's state_dict (name, shape, dtype, in its order)
               for resnet18, resnet34 and the 10-class CIFAR-stem resnet18.
narrow.json    a narrow ResNet-18 (base width 8, 10 classes; both stems)
               with every parameter and buffer set by a formula, in float64:
               eval-mode logits, then training-mode logits, loss, gradients
               and the running statistics the training pass leaves.
narrow_torchvision.safetensors
               a narrow torchvision-written state_dict (float32), and in
               narrow.json a few of its values and its eval logits.
interchange.json  (only with the test binary's path) the outcome of
               loading Ember-written full-size resnet18 files into
               torchvision with strict=True, and torchvision's resnet18
               into Ember and back, compared exactly. The full-size files
               (45 MB each) live in a temporary folder only.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, ResNet

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "resnet")
sys.path.insert(0, HERE)
import safetensors_tool as st  # noqa: E402

DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.int64: "int64"}


class NarrowResNet(ResNet):
    """torchvision's ResNet with BasicBlocks and `width` channels in layer1
    (torchvision hard-codes 64): its own BasicBlock, _make_layer, forward and
    init loop; only the widths (and optionally the CIFAR stem) differ."""

    def __init__(self, layers, width, num_classes, cifar_stem):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
        self.conv1 = (nn.Conv2d(3, width, 3, 1, 1, bias=False) if cifar_stem
                      else nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False))
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if cifar_stem else nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(BasicBlock, width, layers[0])
        self.layer2 = self._make_layer(BasicBlock, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(BasicBlock, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(BasicBlock, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8, num_classes)


def cifar_resnet18(num_classes=10):
    m = torchvision.models.resnet18(num_classes=num_classes)
    m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    m.maxpool = nn.Identity()
    return m


def key_list(model):
    return [[k, list(v.shape), DTYPES[v.dtype]] for k, v in model.state_dict().items()]


# ---- formula weights: value[i] = offset + scale * sin(freq * i + phase) ----

def formula_rules(model):
    """[name, offset, scale, freq, phase] for every floating state_dict entry."""
    rules = []
    for k, (name, v) in enumerate(model.state_dict().items()):
        phase = 0.5 * k
        if not v.is_floating_point():
            continue  # num_batches_tracked stays 0
        leaf = name.rsplit(".", 1)[1]
        if v.dim() >= 2:  # conv or fc weight: std ~ 1.2 / sqrt(fan_in)
            rule = [0.0, 1.7 / math.sqrt(v[0].numel()), 0.37, phase]
        elif name.startswith("fc."):
            rule = [0.0, 0.1, 0.37, phase]
        else:
            rule = {"weight": [1.0, 0.25, 0.37, phase], "bias": [0.0, 0.1, 0.37, phase],
                    "running_mean": [0.0, 0.2, 0.37, phase], "running_var": [1.0, 0.5, 0.37, phase]}[leaf]
        rules.append([name] + rule)
    return rules


def formula(shape, offset, scale, freq, phase):
    i = torch.arange(math.prod(shape), dtype=torch.float64)
    return (offset + scale * torch.sin(freq * i + phase)).reshape(shape)


def values(t):
    return t.detach().reshape(-1).tolist()


def narrow_case(cifar_stem):
    model = NarrowResNet([2, 2, 2, 2], 8, 10, cifar_stem).double()
    rules = formula_rules(model)
    state = model.state_dict()
    with torch.no_grad():
        for name, *rule in rules:
            state[name].copy_(formula(state[name].shape, *rule))
    x_rule = [0.0, 1.5, 0.13, 0.2]
    # 64x64 for the ImageNet stem, so layer4's batch norms see 2x2x2 values per channel, not 2.
    x_shape = [2, 3, 32, 32] if cifar_stem else [2, 3, 64, 64]
    x = formula(x_shape, *x_rule)
    labels = torch.tensor([3, 7])
    model.eval()
    with torch.no_grad():
        eval_logits = model(x)
    model.train()
    xg = x.clone().requires_grad_(True)
    logits = model(xg)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    params = dict(model.named_parameters())
    shown = ["conv1.weight", "bn1.weight", "bn1.bias", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
             "layer2.0.downsample.1.weight", "layer4.1.bn2.weight", "layer4.1.bn2.bias", "fc.weight", "fc.bias"]
    return {
        "cifar_stem": cifar_stem,
        "formula": "value[i] = offset + scale * sin(freq * i + phase), i over the row-major elements",
        "rules": rules,
        "input_shape": x_shape, "input_rule": x_rule, "labels": labels.tolist(),
        "eval_logits": values(eval_logits),
        "train_logits": values(logits),
        "loss": loss.item(),
        # The ImageNet stem's input gradient is 24576 numbers: its first 6144 (and the sums) keep the file small.
        "grad_input": values(xg.grad)[:6144],
        "grad_input_sums": [xg.grad.sum().item(), xg.grad.abs().sum().item()],
        "grads": {n: values(params[n].grad) for n in shown},
        # Every parameter's gradient, summarised: its sum and its sum of |g|.
        "grad_sums": {n: [p.grad.sum().item(), p.grad.abs().sum().item()] for n, p in params.items()},
        "running_after": {n: values(b) for n, b in model.named_buffers()
                          if n.endswith(("running_mean", "running_var"))},
    }


def narrow_torchvision_file():
    """A torchvision-initialized narrow ResNet-18 (ImageNet stem, 10 classes)
    after one training-mode pass (so the running statistics are not 1s and
    0s), written as float32 safetensors."""
    torch.manual_seed(0)
    model = NarrowResNet([2, 2, 2, 2], 8, 10, cifar_stem=False)
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3, 32, 32) * 2 + 0.5)
    model.eval()
    path = os.path.join(OUT, "narrow_torchvision.safetensors")
    st.save_torch(path, model.state_dict(), {"written_by": f"torch {torch.__version__}, torchvision "
                                                           f"{torchvision.__version__}: make_resnet_fixtures.py"})
    x = formula([2, 3, 32, 32], 0.0, 1.5, 0.13, 0.2).float()
    with torch.no_grad():
        logits = model(x)
    sd = model.state_dict()
    shown = ["conv1.weight", "bn1.running_mean", "layer3.0.downsample.1.running_var", "layer4.1.bn2.weight", "fc.bias"]
    return {"file": "narrow_torchvision.safetensors", "base_width": 8, "num_classes": 10, "cifar_stem": False,
            "values": {n: values(sd[n])[:32] for n in shown},
            "num_batches_tracked": sd["bn1.num_batches_tracked"].item(),
            "input_rule": [0.0, 1.5, 0.13, 0.2], "eval_logits_float32": values(logits)}


def strict_load(model, tensors, what):
    result = model.load_state_dict(tensors, strict=True)
    assert not result.missing_keys and not result.unexpected_keys, (what, result)
    return f"{what}: strict=True load OK, {len(tensors)} tensors, no missing or unexpected keys"


def interchange(binary):
    """Ember -> torchvision and torchvision -> Ember -> torchvision, full size."""
    report = {}
    with tempfile.TemporaryDirectory() as d:
        torch.manual_seed(1)
        tv = torchvision.models.resnet18()
        with torch.no_grad():
            tv(torch.randn(2, 3, 64, 64))  # training mode: non-default running statistics
        st.save_torch(os.path.join(d, "torchvision_resnet18.safetensors"), tv.state_dict())
        run = subprocess.run([binary, "[.write_resnet]"], env=dict(os.environ, EMBER_RESNET_DIR=d),
                             capture_output=True, text=True)
        print(run.stdout[-2000:], run.stderr[-2000:])
        assert run.returncode == 0, "the test binary's [.write_resnet] case failed"
        for name, model in [("ember_resnet18", torchvision.models.resnet18()),
                            ("ember_resnet18_cifar10", cifar_resnet18())]:
            tensors, _ = st.load_torch(os.path.join(d, name + ".safetensors"))
            report[name] = strict_load(model, tensors, f"{name}.safetensors -> torchvision")
            # Ember's init seen from torch: conv weights N(0, 2 / fan_out), BN 1 and 0.
            w = model.layer4[0].conv2.weight
            ratio = w.std().item() / math.sqrt(2 / (w.shape[0] * w.shape[2] * w.shape[3]))
            assert abs(ratio - 1) < 0.02, ratio
            assert bool((model.bn1.weight == 1).all()) and bool((model.bn1.bias == 0).all())
            model.eval()
            with torch.no_grad():
                side = 32 if "cifar" in name else 224
                out = model(torch.randn(1, 3, side, side))
            report[name] += f"; layer4.0.conv2.weight std / sqrt(2/fan_out) = {ratio:.4f}; forward -> {list(out.shape)}"
        back, _ = st.load_torch(os.path.join(d, "ember_roundtrip_resnet18.safetensors"))
        original = tv.state_dict()
        assert list(back) == sorted(original), "the round trip changed the names"
        same = all(torch.equal(back[k], v) for k, v in original.items())
        assert same, "the round trip changed values"
        report["torchvision_resnet18"] = strict_load(torchvision.models.resnet18(), back,
                                                     "torchvision resnet18 -> Ember (strict) -> file -> torchvision")
        report["torchvision_resnet18"] += "; every tensor bit-identical after the round trip"
    return report


def main():
    os.makedirs(OUT, exist_ok=True)
    full18, full34 = torchvision.models.resnet18(), torchvision.models.resnet34()
    keys = {"torch_version": torch.__version__, "torchvision_version": torchvision.__version__,
            "resnet18": key_list(full18), "resnet34": key_list(full34), "resnet18_cifar10": key_list(cifar_resnet18()),
            "num_parameters": {"resnet18": sum(p.numel() for p in full18.parameters()),
                               "resnet34": sum(p.numel() for p in full34.parameters()),
                               "resnet18_cifar10": sum(p.numel() for p in cifar_resnet18().parameters())}}
    # The narrow model is torchvision's at width 64.
    assert key_list(NarrowResNet([2, 2, 2, 2], 64, 1000, False)) == keys["resnet18"]
    assert key_list(NarrowResNet([2, 2, 2, 2], 64, 10, True)) == keys["resnet18_cifar10"]
    with open(os.path.join(OUT, "keys.json"), "w") as f:
        json.dump(keys, f, indent=0)
    narrow = {"torch_version": torch.__version__, "torchvision_version": torchvision.__version__,
              "cases": [narrow_case(True), narrow_case(False)], "torchvision_file": narrow_torchvision_file()}
    with open(os.path.join(OUT, "narrow.json"), "w") as f:
        json.dump(narrow, f)
    print(f"wrote {OUT}/keys.json, narrow.json, narrow_torchvision.safetensors; parameters {keys['num_parameters']}")
    if len(sys.argv) > 1:
        report = interchange(sys.argv[1])
        report.update(torch_version=torch.__version__, torchvision_version=torchvision.__version__)
        with open(os.path.join(OUT, "interchange.json"), "w") as f:
            json.dump(report, f, indent=1)
        print("\n".join(f"{k}: {v}" for k, v in report.items()))
    else:
        print("no test binary given: interchange.json not rewritten")


if __name__ == "__main__":
    main()
