#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/ (committed; rerun only to
change them). Small valid files and edge cases per target: IDX slices of the
real MNIST digits when datasets/mnist-digits exists (else synthetic ones),
safetensors from the test fixtures plus a few made here, a metrics.csv and
config.json as ember-mnist writes them, and typical command lines.

    python3 tests/fuzz/make_corpus.py [--datasets DIR]
"""
import argparse, gzip, json, os, shutil, struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def idx(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_seeds(datasets):
    d = os.path.join(datasets, "mnist-digits")
    images = os.path.join(d, "train-images-idx3-ubyte")
    if os.path.exists(images):  # the real header, 3 images and 8 labels
        with open(images, "rb") as f:
            pixels = f.read(16 + 3 * 784)[16:]
        with open(os.path.join(d, "train-labels-idx1-ubyte"), "rb") as f:
            labels = f.read(8 + 8)[8:]
    else:
        pixels, labels = bytes(i % 251 for i in range(3 * 784)), bytes(range(8))
    put("idx", "images-3x28x28.idx", idx(0x08, [3, 28, 28], pixels))
    put("idx", "labels-8.idx", idx(0x08, [8], labels))
    put("idx", "images-3x28x28.idx.gz", gzip.compress(idx(0x08, [3, 28, 28], pixels), 6, mtime=0))
    put("idx", "labels-8.idx.gz", gzip.compress(idx(0x08, [8], labels), 9, mtime=0))
    two = gzip.compress(idx(0x08, [2], b"\x01")[:5], mtime=0) + gzip.compress(b"\x02", mtime=0)
    put("idx", "two-members.idx.gz", two)  # header and data split across two gzip members
    put("idx", "int8.idx", idx(0x09, [4], b"\x00\x7f\x80\xff"))
    put("idx", "int16.idx", idx(0x0B, [2], b"\x01\x02\xff\xfe"))
    put("idx", "int32.idx", idx(0x0C, [2, 1], struct.pack(">ii", 7, -7)))
    put("idx", "float32.idx", idx(0x0D, [2], struct.pack(">ff", 1.5, -0.25)))
    put("idx", "float64.idx", idx(0x0E, [1, 1, 1], struct.pack(">d", 3.25)))
    put("idx", "zero-dim.idx", idx(0x08, [0, 28, 28], b""))
    put("idx", "bad-magic.idx", b"\x12\x34\x08\x01\x00\x00\x00\x01\x05")
    put("idx", "huge-claim.idx.gz", gzip.compress(idx(0x08, [65536, 65536], b"\x01"), mtime=0))


def cifar_seeds():
    """One-record files: CIFAR-10 (3073 bytes) and CIFAR-100 (3074), as in
    tests/fixtures/cifar/, plus a bad label and a size off the record grid."""
    fixtures = os.path.join(ROOT, "tests", "fixtures", "cifar")
    with open(os.path.join(fixtures, "cifar-10-batches-bin", "test_batch.bin"), "rb") as f:
        c10 = f.read(3073)
    with open(os.path.join(fixtures, "cifar-100-binary", "test.bin"), "rb") as f:
        c100 = f.read(3074)
    put("cifar", "cifar10-1.bin", c10)
    put("cifar", "cifar100-1.bin", c100)
    put("cifar", "bad-label.bin", b"\x0a" + c10[1:])
    put("cifar", "short.bin", c10[:100])


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, bytes)], laid out in the given order."""
    header, offset, data = {}, 0, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    fixtures = os.path.join(ROOT, "tests", "fixtures", "safetensors")
    for name in ("from_ember.safetensors", "from_torch.safetensors"):
        shutil.copy(os.path.join(fixtures, name), os.path.join(CORPUS, "safetensors", name))
    put("safetensors", "every-dtype.safetensors", safetensors([
        ("f64", "F64", [1], struct.pack("<d", 2.5)), ("i64", "I64", [2], struct.pack("<qq", -1, 5)),
        ("f32", "F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)), ("u8", "U8", [3], b"\x00\x7f\xff"),
        ("mask", "BOOL", [2], b"\x00\x01")], {"format": "pt"}))
    put("safetensors", "empty-tensor.safetensors", safetensors([("e", "F32", [0, 3], b"")]))
    put("safetensors", "scalar.safetensors", safetensors([("s", "F32", [], struct.pack("<f", 1))]))
    config = json.dumps({"model": "cnn", "epochs": 1})
    put("safetensors", "checkpoint-like.safetensors", safetensors(
        [("model.fc.bias", "F32", [2], struct.pack("<2f", 0.5, -0.5))],
        {"format": "ember-mnist-checkpoint-1", "epoch": "1", "step": "125", "config": config}))
    put("safetensors", "metadata-only.safetensors", safetensors([], {"a": "b"}))


CSV_HEADER = "epoch,step,train_loss,train_accuracy,test_loss,test_accuracy,lr,epoch_seconds,samples_per_second\n"


def csv_seeds():
    rows = ["%d,%d,0.%d,0.9%d,0.1%d,0.95%d,0.003,8.3%d,95%d.1\n" % (e, 125 * e, 4 - e, e, e, e, e, e)
            for e in range(1, 5)]
    put("csv", "metrics.csv", CSV_HEADER + "".join(rows))
    put("csv", "metrics-torn.csv", CSV_HEADER + "".join(rows[:3]) + "4,500,0.")  # a crash mid-row
    put("csv", "metrics-crlf.csv", (CSV_HEADER + "".join(rows[:2])).replace("\n", "\r\n"))
    put("csv", "metrics-nan.csv", CSV_HEADER + "1,125,nan,inf,-inf,0x1p-3,1e-3,,\n\n")
    put("csv", "quoted.csv", 'shape,ratio\n"conv 3x3, s2",1.5\n"say ""hi""",x\n')
    put("csv", "header-only.csv", CSV_HEADER)


def config_seeds():
    c = {"augment": 2, "batch_size": 64, "cuda_graph": "auto", "data_dir": "", "dataset": "mnist", "detect_anomaly": False,
         "device": "cpu", "dtype": "float32", "epochs": 15, "flip": "auto", "kernels": "", "label_smoothing": 0.0,
         "lr": 0.003, "max_steps": 0, "model": "cnn", "momentum": 0.9, "optimizer": "adamw", "out": "runs/latest",
         "schedule": "onecycle", "seed": 0, "sync_every": 0, "tensorboard": "", "threads": 0, "train_limit": 0,
         "warmup_epochs": 0, "weight_decay": 0.0005}
    put("config", "config.json", json.dumps(c, indent=2) + "\n")
    put("config", "compact.json", json.dumps(dict(c, dataset="fashion", optimizer="sgd", schedule="cosine",
                                                  warmup_epochs=2, seed=18446744073709551615, dtype="float64")))
    put("config", "empty-object.json", "{}")
    put("config", "old-run.json", json.dumps({"model": "lenet", "epochs": 5, "lr": 1e-3}))
    put("config", "wrong-type.json", '{"epochs": "15", "lr": null}')
    put("config", "not-object.json", "[1, 2, 3]")


def cli_seeds():
    lines = {
        "train-default": ["train"],
        "train-full": ["train", "--model", "lenet", "--epochs", "3", "--batch-size", "32", "--optimizer", "sgd", "--lr",
                       "0.1", "--momentum", "0.9", "--schedule", "step", "--warmup-epochs", "1", "--seed", "7",
                       "--threads", "2", "--out", "runs/x", "--resume", "--max-steps", "10", "--sync-every", "5"],
        "train-fashion": ["train", "--dataset=fashion", "--flip", "on", "--augment", "0", "--dtype", "float64",
                          "--label-smoothing", "0.1", "--detect-anomaly", "--profile", "--cuda-graph", "off"],
        "eval": ["eval", "/dev/null", "--device", "cpu", "--kernels", "eigen", "--data-dir", "datasets/mnist-digits"],
        "help": ["train", "--help"],
        "bad-number": ["train", "--epochs", "-3", "--batch-size", "x"],
        "no-command": ["--device", "cuda:0"],
    }
    for name, words in lines.items():
        put("cli", name + ".txt", "\n".join(words) + "\n")


def checkpoint_seeds():
    """Metadata without tensors (every check up to the model's own load);
    lenet-sgd.safetensors, a real one, is written by ember-mnist (see main)."""
    config = json.dumps({"model": "lenet", "optimizer": "sgd", "momentum": 0.0, "epochs": 2, "batch_size": 64,
                         "schedule": "none"})
    v2 = {"format": "ember-mnist-checkpoint-2", "epoch": "1", "batch": "3", "step": "19",
          "epoch_sums": json.dumps({"loss": "4.25", "seconds": "0.5", "correct": "100", "seen": "192"}),
          "rng_seed": "0", "rng_offset": "4096", "optimizer_scalars": json.dumps({"step": "19"}),
          "scheduler_scalars": "{}", "config": config}
    put("checkpoint", "metadata-v2.safetensors", safetensors([], v2))
    v1 = {k: v for k, v in v2.items() if k not in ("batch", "epoch_sums")}
    v1["format"] = "ember-mnist-checkpoint-1"
    put("checkpoint", "metadata-v1.safetensors", safetensors([], v1))
    put("checkpoint", "stray-tensor.safetensors", safetensors([("extra", "F32", [1], struct.pack("<f", 1))], v2))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", default=os.path.join(ROOT, "datasets"))
    a = p.parse_args()
    for target in ("idx", "safetensors", "csv", "config", "cli", "checkpoint"):
        os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    idx_seeds(a.datasets)
    cifar_seeds()
    safetensors_seeds()
    csv_seeds()
    config_seeds()
    cli_seeds()
    checkpoint_seeds()
    # The real checkpoint, 246 KB (LeNet's weights; plain SGD keeps no state):
    #   ember-mnist train --model lenet --optimizer sgd --momentum 0 --schedule none --epochs 2 --train-limit 192 \
    #     --max-steps 4 --out /tmp/ck && cp /tmp/ck/checkpoint.safetensors tests/fuzz/corpus/checkpoint/lenet-sgd.safetensors


if __name__ == "__main__":
    main()
