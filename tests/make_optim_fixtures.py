#!/usr/bin/python3
"""Writes the optimizer and scheduler parity fixtures, tests/fixtures/optim/*.json.

Each fixture is a few steps of one torch.optim optimizer (optionally driven by
an lr scheduler) in float64, from fixed initial parameters with scripted
gradients: no random numbers, every input is written into the file. After
each optimizer.step() (then scheduler.step()) it records every parameter's
values, every group's lr and, where OneCycleLR cycles it, the momentum or
beta1. tests/test_optim.cpp replays them with Ember and requires agreement
within 1e-12 relative; the test suite never imports torch.

Run with Debian's PyTorch 1.13:  /usr/bin/python3 tests/make_optim_fixtures.py
Option names in the files are Ember's (beta1/beta2 rather than betas).
"""
import json
import math
import os
import warnings

import torch

# SequentialLR calls step(0) on its later schedulers, which warns in 1.13.
warnings.filterwarnings("ignore", message="The epoch parameter")

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "optim")
SHAPES = [[2, 3], [4]]

# name, optimizer, defaults, per-group overrides (one group per parameter, or
# None for a single group), steps, {step: [params without a gradient]}, scheduler
OPTIMIZER_CASES = [
    ("sgd_plain", "SGD", dict(lr=0.1), None, 5, {}, None),
    ("sgd_momentum_dampening_wd", "SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01), None, 6,
     {}, None),
    ("sgd_nesterov", "SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3), None, 6, {}, None),
    ("sgd_maximize_groups_missing_grad", "SGD", dict(lr=0.01, momentum=0.5, weight_decay=0.1, maximize=True),
     [{}, dict(lr=0.2, momentum=0.0)], 6, {2: [0], 3: [1]}, None),
    ("adam_default", "Adam", dict(), None, 6, {}, None),
    ("adam_wd_amsgrad", "Adam", dict(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1, amsgrad=True), None,
     6, {}, None),
    ("adam_maximize_groups_missing_grad", "Adam", dict(lr=0.02, maximize=True),
     [dict(beta1=0.5), dict(lr=0.005, weight_decay=0.5)], 6, {1: [1], 4: [0]}, None),
    ("adamw_default", "AdamW", dict(), None, 6, {}, None),
    ("adamw_amsgrad_groups", "AdamW", dict(lr=0.02, beta1=0.5, beta2=0.9, weight_decay=0.05, amsgrad=True),
     [{}, dict(weight_decay=0.0, eps=1e-3)], 6, {3: [1]}, None),
]

SCHEDULER_CASES = [
    ("steplr", "SGD", dict(lr=0.1, momentum=0.9), [{}, dict(lr=0.01)], 10, {},
     dict(type="StepLR", step_size=3, gamma=0.5)),
    ("linearlr", "SGD", dict(lr=0.1), [{}, dict(lr=0.03)], 8, {},
     dict(type="LinearLR", start_factor=0.25, end_factor=1.0, total_iters=4)),
    ("cosine_past_tmax", "SGD", dict(lr=0.1), [{}, dict(lr=0.02)], 16, {},
     dict(type="CosineAnnealingLR", T_max=6, eta_min=1e-4)),
    ("onecycle_sgd", "SGD", dict(lr=0.1, momentum=0.9), [{}, dict(lr=0.02)], 12, {},
     dict(type="OneCycleLR", max_lr=[0.5, 0.1], total_steps=12)),
    ("onecycle_adam_three_phase_linear", "Adam", dict(lr=0.01), None, 10, {},
     dict(type="OneCycleLR", max_lr=[0.01], total_steps=10, pct_start=0.25, anneal_strategy="linear",
          three_phase=True, base_momentum=0.8, max_momentum=0.9, div_factor=10.0, final_div_factor=100.0)),
    ("onecycle_adamw_no_momentum", "AdamW", dict(lr=0.01), None, 9, {},
     dict(type="OneCycleLR", max_lr=[0.02], total_steps=9, cycle_momentum=False)),
    ("warmup_cosine", "Adam", dict(lr=0.01), [{}, dict(lr=0.001)], 12, {},
     dict(type="SequentialLR", milestones=[3], schedulers=[
         dict(type="LinearLR", start_factor=0.1, end_factor=1.0, total_iters=3),
         dict(type="CosineAnnealingLR", T_max=9, eta_min=0.0)])),
    ("warmup_step", "SGD", dict(lr=0.1, momentum=0.9, nesterov=True), None, 10, {},
     dict(type="SequentialLR", milestones=[4], schedulers=[
         dict(type="LinearLR", start_factor=0.5, end_factor=1.0, total_iters=4),
         dict(type="StepLR", step_size=2, gamma=0.7)])),
]


def initial_values(k, n):
    """Parameter k's starting values: magnitudes in [0.5, 2], signs mixed."""
    return [(-1) ** (i + k) * (0.5 + 0.137 * ((3 * i + 5 * k) % 11)) for i in range(n)]


def scripted_grad(step, k, n):
    """The gradient of parameter k at `step`: smooth, mixed signs, growing scale."""
    return [math.sin(1.3 * step + 0.7 * i + 2.1 * k) * (1 + 0.5 * step) + 0.1 * (i % 3) for i in range(n)]


def torch_kwargs(options):
    kw = dict(options)
    if "beta1" in kw or "beta2" in kw:
        kw["betas"] = (kw.pop("beta1", 0.9), kw.pop("beta2", 0.999))
    return kw


def make_optimizer(kind, defaults, groups, params):
    cls = getattr(torch.optim, kind)
    if groups is None:
        return cls(params, **torch_kwargs(defaults))
    return cls([dict(params=[p], **torch_kwargs(g)) for p, g in zip(params, groups)], **torch_kwargs(defaults))


def make_scheduler(opt, spec):
    s = dict(spec)
    kind = s.pop("type")
    if kind == "SequentialLR":
        children = [make_scheduler(opt, c) for c in s["schedulers"]]
        return torch.optim.lr_scheduler.SequentialLR(opt, children, milestones=s["milestones"])
    return getattr(torch.optim.lr_scheduler, kind)(opt, **s)


def momentum_of(opt, kind):
    if kind == "SGD":
        return [g["momentum"] for g in opt.param_groups]
    return [g["betas"][0] for g in opt.param_groups]


def run_case(name, kind, defaults, groups, steps, missing, scheduler):
    params = [torch.tensor(initial_values(k, math.prod(s)), dtype=torch.float64).reshape(s).requires_grad_()
              for k, s in enumerate(SHAPES)]
    fixture = dict(name=name, torch_version=torch.__version__,
                   optimizer=dict(type=kind, defaults=defaults),
                   groups=None if groups is None else [dict(params=[k], options=g) for k, g in enumerate(groups)],
                   scheduler=scheduler,
                   params=[dict(shape=s, init=p.detach().flatten().tolist()) for s, p in zip(SHAPES, params)],
                   steps=[])
    opt = make_optimizer(kind, defaults, groups, params)
    sched = make_scheduler(opt, scheduler) if scheduler else None
    if sched:
        fixture["initial_lr"] = sched.get_last_lr()
        fixture["initial_momentum"] = momentum_of(opt, kind)
    for step in range(steps):
        grads = []
        for k, p in enumerate(params):
            if k in missing.get(step, []):
                p.grad = None
                grads.append(None)
            else:
                g = scripted_grad(step, k, p.numel())
                p.grad = torch.tensor(g, dtype=torch.float64).reshape(p.shape)
                grads.append(g)
        opt.step()
        record = dict(grads=grads, params=[p.detach().flatten().tolist() for p in params])
        if sched:
            sched.step()
            record["lr"] = sched.get_last_lr()
            record["momentum"] = momentum_of(opt, kind)
        fixture["steps"].append(record)
    return fixture


def clip_cases():
    """torch.nn.utils.clip_grad_norm_ on three parameters, the last without a
    gradient: the returned total norm and the clipped gradients."""
    cases = []
    for max_norm, norm_type in [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0), (2.0, 3.0), (0.75, math.inf), (0.0, 2.0)]:
        params = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in SHAPES + [[2]]]
        grads = [scripted_grad(3, k, p.numel()) for k, p in enumerate(params[:2])] + [None]
        for p, g in zip(params, grads):
            p.grad = None if g is None else torch.tensor(g, dtype=torch.float64).reshape(p.shape)
        total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
        cases.append(dict(max_norm=max_norm, norm_type="inf" if norm_type == math.inf else norm_type, grads=grads,
                          total=total.item(),
                          clipped=[None if p.grad is None else p.grad.flatten().tolist() for p in params]))
    return dict(name="clip_grad_norm", torch_version=torch.__version__, cases=cases)


def write(name, fixture):
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(fixture, f, indent=None, separators=(",", ":"))
        f.write("\n")


def main():
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT, exist_ok=True)
    cases = OPTIMIZER_CASES + SCHEDULER_CASES
    for case in cases:
        write(case[0], run_case(*case))
    write("clip_grad_norm", clip_cases())
    print("wrote", len(cases) + 1, "fixtures to", OUT)


if __name__ == "__main__":
    main()
