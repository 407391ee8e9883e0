#!/usr/bin/env python3
"""Writes tests/fixtures/cifar/: tiny CIFAR-10 and CIFAR-100 sets in the binary
format, and expected.json, what tests/test_cifar.cpp must find in them, taken
from torchvision. Committed; rerun only to change them (numpy, torch 1.13 and
torchvision 0.14; the test suite itself needs no Python).

    /usr/bin/python3 tests/make_cifar_fixtures.py

The binary files are written here from the format's description (one label
byte, or coarse then fine for CIFAR-100, then 3072 pixels R, G, B planes).
The expectations are independent of that writer: the same records are also
written as torchvision's Python version (pickles) into a temporary folder and
read back by torchvision.datasets.CIFAR10/CIFAR100 itself, whose images and
labels (in torchvision's order: batches 1..5) give the expected values; the
transforms are torchvision's ToTensor, Normalize, and functional pad, crop
and hflip applied to those PIL images.
"""
import base64, json, os, pickle, tempfile

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as TF

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "cifar")
CIFAR10_STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
TRAIN_SIZES = [2, 2, 3, 2, 2]  # records in data_batch_1..5
TEST_SIZE = 2
C100_TRAIN, C100_TEST = 3, 1


def images(rng, n):
    """uint8 [n, 3072], random but with a few extremes (0 and 255) in each."""
    x = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    x[:, 0], x[:, 3071] = 255, 0
    return x


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


class Unchecked:
    """torchvision's CIFAR loading, less its md5 checks (our pickles are not the real files)."""

    def _check_integrity(self):
        return True

    def _load_meta(self):
        with open(os.path.join(self.root, self.base_folder, self.meta["filename"]), "rb") as f:
            self.classes = pickle.load(f, encoding="latin1")[self.meta["key"]]


class Unchecked10(Unchecked, torchvision.datasets.CIFAR10):
    pass


class Unchecked100(Unchecked, torchvision.datasets.CIFAR100):
    pass


def pickle_to(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def chw(pil):
    return np.asarray(pil).transpose(2, 0, 1)  # HWC -> CHW uint8


def main():
    rng = np.random.default_rng(18)
    # ---- CIFAR-10: five train batches and a test batch ----
    labels10 = [list(rng.integers(0, 10, size=n)) for n in TRAIN_SIZES + [TEST_SIZE]]
    labels10[0][0], labels10[-1][-1] = 9, 0  # the extreme class ids appear
    pix10 = [images(rng, n) for n in TRAIN_SIZES + [TEST_SIZE]]
    names10 = [f"data_batch_{b}" for b in range(1, 6)] + ["test_batch"]
    tmp = tempfile.mkdtemp()
    py10 = os.path.join(tmp, "cifar-10-batches-py")
    os.makedirs(py10)
    for name, lab, pix in zip(names10, labels10, pix10):
        rec = np.concatenate([np.array(lab, dtype=np.uint8)[:, None], pix], axis=1)
        write(os.path.join(OUT, "cifar-10-batches-bin", name + ".bin"), rec.tobytes())
        pickle_to(os.path.join(py10, name), {"data": pix, "labels": [int(v) for v in lab]})
    pickle_to(os.path.join(py10, "batches.meta"), {"label_names": ["c%d" % i for i in range(10)]})
    train10 = Unchecked10(tmp, train=True)
    test10 = Unchecked10(tmp, train=False)

    # ---- CIFAR-100: train.bin and test.bin ----
    py100 = os.path.join(tmp, "cifar-100-python")
    os.makedirs(py100)
    c100 = {}
    for name, n in (("train", C100_TRAIN), ("test", C100_TEST)):
        coarse = rng.integers(0, 20, size=n).astype(np.uint8)
        fine = rng.integers(0, 100, size=n).astype(np.uint8)
        if name == "train":
            coarse[0], fine[0] = 19, 99
        pix = images(rng, n)
        rec = np.concatenate([coarse[:, None], fine[:, None], pix], axis=1)
        write(os.path.join(OUT, "cifar-100-binary", name + ".bin"), rec.tobytes())
        pickle_to(os.path.join(py100, name), {"data": pix, "fine_labels": [int(v) for v in fine],
                                              "coarse_labels": [int(v) for v in coarse]})
        c100[name] = {"coarse": [int(v) for v in coarse]}
    pickle_to(os.path.join(py100, "meta"), {"fine_label_names": ["f%d" % i for i in range(100)]})
    train100, test100 = Unchecked100(tmp, train=True), Unchecked100(tmp, train=False)

    def summary(ds):
        """Labels, per-image pixel sums and a few pixels, as torchvision's dataset gives them."""
        ims = [chw(ds[i][0]) for i in range(len(ds))]
        return {"labels": [int(ds[i][1]) for i in range(len(ds))],
                "sums": [int(im.astype(np.int64).sum()) for im in ims],
                "pixels": [[i, c, y, x, int(ims[i][c, y, x])] for i in range(len(ds))
                           for (c, y, x) in ((0, 0, 0), (0, 0, 1), (1, 5, 7), (2, 31, 30), (2, 31, 31))]}

    expected = {"cifar10": {"train": summary(train10), "test": summary(test10)},
                "cifar100": {"train": summary(train100), "test": summary(test100)}}
    for split in ("train", "test"):
        expected["cifar100"][split]["coarse"] = c100[split]["coarse"]

    # ---- ToTensor + Normalize(cifar10 stats), float32, on train image 3 ----
    img = train10[3][0]
    norm = T.Compose([T.ToTensor(), T.Normalize(*CIFAR10_STATS)])(img)
    assert norm.dtype == torch.float32
    at = [(c, y, x) for c in range(3) for (y, x) in ((0, 0), (0, 31), (13, 17), (31, 0), (31, 31), (16, 2))]
    raw = chw(img)
    expected["normalize_cifar10"] = {
        "image": 3, "values": [[c, y, x, int(raw[c, y, x]), float(norm[c, y, x])] for (c, y, x) in at],
        "sum": float(norm.double().sum())}
    # The same two ops on every pixel value of every channel: the whole table,
    # each float32 as its bit pattern in hex (exact, and a third of the digits).
    ramp = torch.arange(256, dtype=torch.uint8).repeat(3, 1).reshape(3, 1, 256).permute(1, 2, 0).numpy()
    table = T.Compose([T.ToTensor(), T.Normalize(*CIFAR10_STATS)])(ramp)  # ramp is HWC [1, 256, 3]
    expected["normalize_cifar10"]["table_bits"] = [
        ["%08x" % b for b in table[c, 0].numpy().view(np.uint32)] for c in range(3)]

    # ---- RandomCrop(32, padding=4) at forced offsets, then (maybe) hflip ----
    crops = []
    for index, top, left, flip in ((0, 0, 0, True), (4, 8, 3, False), (7, 5, 8, True)):
        pil = train10[index][0]
        out = TF.crop(TF.pad(pil, 4), top, left, 32, 32)
        if flip:
            out = TF.hflip(out)
        crops.append({"image": index, "top": top, "left": left, "flip": flip,
                      "base64": base64.b64encode(chw(out).tobytes()).decode()})  # CHW uint8
    expected["crops"] = crops

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(OUT) for n in ns)
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
