#!/usr/bin/python3
"""Writes tests/fixtures/safetensors/from_torch.{safetensors,json} from PyTorch.

Run with Debian's /usr/bin/python3 (it has torch):
    /usr/bin/python3 tests/make_safetensors_fixtures.py

The .safetensors file holds tensors made by torch and written through
safetensors_tool.save_torch in the order below (insertion order, not Ember's
alignment order: the odd-sized U8 tensor first leaves the F32 and F64 data
unaligned, which a reader must handle). The .json holds the values Ember must
load, exactly: floats as JSON numbers (Python's repr round-trips every
float32 and float64), "nan"/"inf"/"-inf" as strings. tests/test_safetensors.cpp
compares them bit for bit.
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_tool as st  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "safetensors")


def tensors():
    inf, nan = float("inf"), float("nan")
    return {
        "pixels": torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8),
        "conv1.weight": torch.tensor([[0.1, -2.5, 3.4028234663852886e38, 1.401298464324817e-45],
                                      [-0.0, inf, -inf, nan]], dtype=torch.float32),
        "fc.bias": torch.tensor([0.1, -1e-300, 5e-324, 1.0 / 3.0], dtype=torch.float64),
        "labels": torch.tensor([[-2**63, 2**63 - 1], [0, -1]], dtype=torch.int64),
        "mask": torch.tensor([[True, False, False], [False, True, True]]),
        "bn1.num_batches_tracked": torch.tensor(7, dtype=torch.int64),
        "temperature": torch.tensor(0.5, dtype=torch.float64),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        "fc.weight": torch.arange(12, dtype=torch.float32).reshape(4, 3).t(),  # non-contiguous in torch
    }


METADATA = {"format": "pt", "epoch": "3", "note": "written by PyTorch " + torch.__version__ + " ✓"}


def plain(v):
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def main():
    ts = tensors()
    os.makedirs(OUT, exist_ok=True)
    st.save_torch(os.path.join(OUT, "from_torch.safetensors"), ts, METADATA)
    dtype_names = {v: k for k, v in st._torch_dtypes().items()}
    expected = {
        "metadata": METADATA,
        "tensors": {name: {"dtype": dtype_names[t.dtype], "shape": list(t.shape),
                           "values": [plain(v) for v in t.reshape(-1).tolist()]}
                    for name, t in ts.items()},
    }
    with open(os.path.join(OUT, "from_torch.json"), "w", encoding="utf-8") as f:  # one tensor a line
        dump = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731
        rows = [f"  {dump(name)}: {dump(v)}" for name, v in expected["tensors"].items()]
        f.write('{\n "metadata": ' + dump(METADATA) + ',\n "tensors": {\n' + ",\n".join(rows) + "\n }\n}\n")
    with open(os.path.join(OUT, "from_torch.json"), encoding="utf-8") as f:
        assert json.load(f) == expected
    # Read it back through torch: the file must give back torch's exact bytes.
    back, metadata = st.load_torch(os.path.join(OUT, "from_torch.safetensors"))
    assert metadata == METADATA and list(back) == sorted(ts)
    for name, t in ts.items():
        assert st._torch_bytes(back[name]) == st._torch_bytes(t) and back[name].shape == t.shape, name
    print(f"wrote {OUT}/from_torch.safetensors and from_torch.json ({len(ts)} tensors, torch {torch.__version__})")


if __name__ == "__main__":
    main()
