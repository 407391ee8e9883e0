#!/usr/bin/python3
"""Writes tests/fixtures/data/distributed_sampler.json: the shards of
torch.utils.data.DistributedSampler (shuffle=False, so each shard lists
positions of the epoch's order) for a few (N, num_replicas, drop_last).
tests/test_data.cpp checks DataLoader's distributed sampling against them,
for the unshuffled order and, position for position, for a shuffled one;
the test suite never imports torch.

Run with Debian's PyTorch 1.13:  /usr/bin/python3 tests/make_sampler_fixture.py
"""
import json
import os

from torch.utils.data import DistributedSampler

CASES = [(10, 3, False), (10, 3, True), (12, 4, False), (12, 4, True), (7, 4, False), (7, 4, True),
         (2, 5, False), (1, 3, False), (64, 2, False), (65, 2, False), (65, 2, True)]

out = []
for n, r, drop_last in CASES:
    shards = [list(DistributedSampler(range(n), num_replicas=r, rank=k, shuffle=False, drop_last=drop_last))
              for k in range(r)]
    out.append({"n": n, "num_replicas": r, "drop_last": drop_last, "shards": shards})

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "data", "distributed_sampler.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print("wrote", path)
