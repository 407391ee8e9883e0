#!/usr/bin/env python3
"""Write a synthetic dataset in CIFAR's binary format (standard library only).

CIFAR-10 and CIFAR-100 are in neither Debian's archive nor the npm registry,
and Ember downloads nothing, so the tests and the GPU timing train on images
this script makes. They are not photographs: each class is a striped colour
pattern that every image shows shifted and with a noisy patch, so that a
model can learn them and a falling loss means something. Accuracy on them
says nothing about CIFAR.

  python3 scripts/make_synthetic_cifar.py OUT [--kind cifar10|cifar100]
      [--train N] [--test N] [--seed S]

writes, in the layouts data/cifar.h reads,
  cifar10:  OUT/data_batch_1.bin .. data_batch_5.bin, OUT/test_batch.bin
            (records: label byte, 1024 R, 1024 G, 1024 B)
  cifar100: OUT/train.bin, OUT/test.bin
            (records: coarse label byte, fine label byte, 3072 pixels)
The training images are split over the five batches as evenly as they go.
"""
import argparse
import os
import random
import sys

SIDE = 32
PLANE = SIDE * SIDE


def template(k, classes):
    """Class k's pattern: three planes of SIDE rows, each row 2*SIDE wide
    (images take a SIDE-wide window of it). Stripes of a class's own
    direction and period over a class's own colour."""
    rng = random.Random(1000 + k)
    colour = [rng.randrange(40, 216) for _ in range(3)]
    period = 3 + k % 6
    diagonal = (k // 6) % 3 - 1  # -1, 0 or 1: the stripes' slant
    planes = []
    for c in range(3):
        rows = []
        for y in range(SIDE):
            row = bytearray(2 * SIDE)
            for x in range(2 * SIDE):
                on = ((x + diagonal * y) // period + c * (k % 2)) % 2
                row[x] = max(0, min(255, colour[c] + (60 if on else -60)))
            rows.append(bytes(row))
        planes.append(rows)
    return planes


def image(planes, rng):
    """One image: the pattern shifted by a random offset, with a random
    8x8 patch of noise in each plane."""
    dx = rng.randrange(SIDE)
    px, py = rng.randrange(SIDE - 8), rng.randrange(SIDE - 8)
    out = bytearray()
    for rows in planes:
        plane = bytearray(b"".join(r[dx:dx + SIDE] for r in rows))
        for y in range(py, py + 8):
            plane[y * SIDE + px:y * SIDE + px + 8] = rng.randbytes(8)
        out += plane
    return bytes(out)


def records(n, kind, classes, templates, rng):
    out = bytearray()
    for _ in range(n):
        label = rng.randrange(classes)
        if kind == "cifar100":
            out.append(label // 5)  # the coarse label: 20 superclasses of 5
        out.append(label)
        out += image(templates[label], rng)
    return bytes(out)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out")
    p.add_argument("--kind", choices=["cifar10", "cifar100"], default="cifar10")
    p.add_argument("--train", type=int, default=50000)
    p.add_argument("--test", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.train < 5 or a.test < 1:
        p.error("need at least 5 training images (one per batch file) and 1 test image")
    classes = 10 if a.kind == "cifar10" else 100
    templates = [template(k, classes) for k in range(classes)]
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)

    def write(name, data):
        with open(os.path.join(a.out, name), "wb") as f:
            f.write(data)

    if a.kind == "cifar10":
        for b in range(5):
            n = a.train // 5 + (1 if b < a.train % 5 else 0)
            write(f"data_batch_{b + 1}.bin", records(n, a.kind, classes, templates, rng))
        write("test_batch.bin", records(a.test, a.kind, classes, templates, rng))
    else:
        write("train.bin", records(a.train, a.kind, classes, templates, rng))
        write("test.bin", records(a.test, a.kind, classes, templates, rng))
    print(f"{a.kind}: {a.train} training and {a.test} test images in {a.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
