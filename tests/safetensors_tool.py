#!/usr/bin/env python3
"""Read, check and write safetensors files with the Python standard library.

Debian has no `safetensors` package, so this is a small independent reader
and writer (json + struct) that applies the same rules as Ember's
nn/src/safetensors.cpp. It is a second opinion on Ember's files and the
bridge to PyTorch (see docs/serialization.md).

  python3 tests/safetensors_tool.py check FILE...
      validate each file; print its tensors (name, dtype, shape, offsets,
      sha256 of the bytes) and metadata. Exit status 1 if any is invalid.
  /usr/bin/python3 tests/safetensors_tool.py check --torch FILE...
      also load every tensor into torch and check it holds the file's bytes.
  [/usr/bin/]python3 tests/safetensors_tool.py copy [--torch] IN OUT
      rewrite IN as OUT in name order (through torch tensors with --torch).
  python3 tests/safetensors_tool.py selftest
      show that the checks reject corrupt files.

As a module (torch parts need /usr/bin/python3, which has torch):
  import safetensors_tool as st
  tensors, metadata = st.load_torch(path)   # {name: torch.Tensor}, {str: str}
  st.save_torch(path, tensors, metadata)
"""
import hashlib
import json
import os
import struct
import sys

MAX_HEADER = 100_000_000  # the reference implementation's limit, as in Ember
DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "I32": 4, "U32": 4, "I64": 8,
               "U64": 8, "F16": 2, "BF16": 2, "F32": 4, "F64": 8, "F8_E4M3": 1, "F8_E5M2": 1}
INT64_MAX = 2**63 - 1


class FormatError(Exception):
    """The file breaks a rule of the format."""


def _no_duplicate_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise FormatError(f"duplicate key {json.dumps(key)}")
        obj[key] = value
    return obj


def _not_json(name):
    raise FormatError(f"the header is not valid JSON: {name} is not a JSON value")


def _nesting_depth(text):
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "}]":
            depth -= 1
    return deepest


def _uint(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT64_MAX


def _entry(name, info, buffer_size):
    who = f"tensor {json.dumps(name)}: "
    if not isinstance(info, dict):
        raise FormatError(who + "expected an object with dtype, shape and data_offsets")
    for key in ("dtype", "shape", "data_offsets"):
        if key not in info:
            raise FormatError(who + f'missing "{key}"')
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if dtype not in DTYPE_SIZES:
        raise FormatError(who + f"unknown dtype {json.dumps(dtype)}")
    if not isinstance(shape, list) or not all(_uint(d) for d in shape):
        raise FormatError(who + f"shape must hold non-negative integers, got {shape}")
    bound = DTYPE_SIZES[dtype]  # same overflow rule as Ember: non-zero dims * size < 2**63
    for d in shape:
        bound *= d or 1
    if bound > INT64_MAX:
        raise FormatError(who + f"shape {shape} is too large")
    nbytes = 0 if 0 in shape else bound
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_uint(o) for o in offsets):
        raise FormatError(who + f"data_offsets must be [begin, end], got {offsets}")
    begin, end = offsets
    if begin > end:
        raise FormatError(who + f"data_offsets {offsets} end before they begin")
    if end > buffer_size:
        raise FormatError(who + f"data_offsets {offsets} run past the data buffer ({buffer_size} bytes)")
    if end - begin != nbytes:
        raise FormatError(who + f"{dtype} {shape} needs {nbytes} bytes, data_offsets span {end - begin}")
    return (name, dtype, shape, begin, end)


def parse(data):
    """Validates a whole file held in `data` (bytes).

    Returns (entries, metadata, data_start): entries are (name, dtype, shape,
    begin, end) sorted by name, offsets relative to the data buffer, which
    starts at data[data_start]."""
    if len(data) < 8:
        raise FormatError(f"the file is {len(data)} bytes long, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER:
        raise FormatError(f"header length {n} exceeds the {MAX_HEADER}-byte limit")
    if n > len(data) - 8:
        raise FormatError(f"header length {n} runs past the end of the file")
    raw = data[8:8 + n]
    if not raw.startswith(b"{"):
        raise FormatError("the header must start with '{'")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"the header is not UTF-8: {e}") from None
    if _nesting_depth(text) > 3:
        raise FormatError("the header nests JSON deeper than a safetensors header can")
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_not_json)
    except json.JSONDecodeError as e:
        raise FormatError(f"the header is not valid JSON: {e}") from None
    buffer_size = len(data) - 8 - n
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise FormatError('"__metadata__" must be an object of strings')
    entries = sorted(_entry(name, info, buffer_size) for name, info in header.items())
    covered = 0
    for name, _, _, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin != covered:
            raise FormatError(f"tensor {json.dumps(name)} starts at {begin}, expected {covered} "
                              f"({'overlap' if begin < covered else 'gap'})")
        covered = end
    if covered != buffer_size:
        raise FormatError(f"trailing garbage: {buffer_size - covered} bytes after the last tensor")
    start = 8 + n
    for name, dtype, _, begin, end in entries:
        if dtype == "BOOL" and any(b > 1 for b in data[start + begin:start + end]):
            raise FormatError(f"tensor {json.dumps(name)}: BOOL bytes must be 0 or 1")
    return entries, metadata, start


def read(path):
    """Returns ({name: (dtype, shape, bytes)}, metadata), validated."""
    with open(path, "rb") as f:
        data = f.read()
    entries, metadata, start = parse(data)
    return {e[0]: (e[1], e[2], data[start + e[3]:start + e[4]]) for e in entries}, metadata


def encode(tensors, metadata=None):
    """The bytes of a file holding {name: (dtype, shape, bytes)} in the given order."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = dict(metadata)
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(d for _, _, d in tensors.values())


def write(path, tensors, metadata=None):
    """Writes atomically: a temporary file renamed into place."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(encode(tensors, metadata))
    os.replace(tmp, path)


# ---- torch (run with /usr/bin/python3) ----

def _torch_dtypes():
    import torch
    return {"BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8, "I16": torch.int16, "I32": torch.int32,
            "I64": torch.int64, "F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32,
            "F64": torch.float64}


def load_torch(path):
    """Returns ({name: torch.Tensor}, metadata)."""
    import torch
    assert sys.byteorder == "little"
    to_torch = _torch_dtypes()
    tensors, metadata = read(path)
    out = {}
    for name, (dtype, shape, data) in tensors.items():
        if dtype not in to_torch:
            raise FormatError(f"tensor {name}: torch has no {dtype}")
        if not data:  # frombuffer refuses an empty buffer
            out[name] = torch.empty(shape, dtype=to_torch[dtype])
        else:
            out[name] = torch.frombuffer(bytearray(data), dtype=to_torch[dtype]).reshape(shape)
    return out, metadata


def _torch_bytes(t):
    t = t.detach().cpu().contiguous()
    return t.reshape(-1).view(__import__("torch").uint8).numpy().tobytes()


def save_torch(path, tensors, metadata=None):
    """Writes {name: torch.Tensor} in the dict's order."""
    from_torch = {v: k for k, v in _torch_dtypes().items()}
    write(path, {name: (from_torch[t.dtype], list(t.shape), _torch_bytes(t)) for name, t in tensors.items()},
          metadata)


# ---- command line ----

def check(path, with_torch):
    with open(path, "rb") as f:
        data = f.read()
    entries, metadata, start = parse(data)
    print(f"{path}: OK: {start - 8}-byte header, {len(data) - start}-byte data buffer, {len(entries)} tensors")
    if metadata:
        print("  __metadata__:", json.dumps(metadata, ensure_ascii=False, sort_keys=True))
    for name, dtype, shape, begin, end in sorted(entries, key=lambda e: e[3:]):
        digest = hashlib.sha256(data[start + begin:start + end]).hexdigest()[:16]
        print(f"  {name:28} {dtype:5} {str(shape):14} [{begin}, {end}] sha256 {digest}")
    if with_torch:
        tensors, _ = load_torch(path)
        for name, _, _, begin, end in entries:
            t = tensors[name]
            assert _torch_bytes(t) == data[start + begin:start + end], name
            shown = t.tolist() if t.numel() <= 6 else f"sum {t.double().sum().item():.6g}"
            print(f"  torch {name:22} {str(t.dtype):14} {str(list(t.shape)):14} {shown}")
        print(f"  torch: {len(tensors)} tensors loaded, each holds exactly the file's bytes")


def selftest():
    data = struct.pack("<2f", 1, 2) + b"\x01"
    header = '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' \
             '"m":{"dtype":"BOOL","shape":[1],"data_offsets":[8,9]}}'

    def make(h=header, d=data):
        return struct.pack("<Q", len(h.encode())) + h.encode() + d

    parse(make())
    bad = {"short": make()[:5], "truncated": make()[:-1], "trailing": make() + b"\0",
           "length": struct.pack("<Q", 1 << 40) + make()[8:], "json": make(header[:-1]),
           "start": make(" " + header), "dup": make(header.replace('"m":', '"w":')),
           "dtype": make(header.replace("F32", "F33")), "size": make(header.replace("[2]", "[3]")),
           "overlap": make(header.replace("[8,9]", "[7,8]")), "bool": make(d=data[:8] + b"\x02"),
           "meta": make(header.replace('"v"', "1")), "nan": make(header.replace('"v"', "NaN"))}
    for what, corrupt in bad.items():
        try:
            parse(corrupt)
        except FormatError as e:
            print(f"selftest: {what}: rejected: {e}")
            continue
        sys.exit(f"selftest: {what}: a corrupt file was accepted")
    print("selftest: OK")


def main(argv):
    with_torch = "--torch" in argv
    args = [a for a in argv if a != "--torch"]
    if args[:1] == ["selftest"]:
        return selftest()
    if args[:1] == ["copy"] and len(args) == 3:
        if with_torch:
            tensors, metadata = load_torch(args[1])
            return save_torch(args[2], tensors, metadata)
        tensors, metadata = read(args[1])
        return write(args[2], tensors, metadata)
    if args[:1] != ["check"] or len(args) < 2:
        sys.exit(__doc__)
    failed = False
    for path in args[1:]:
        try:
            check(path, with_torch)
        except (FormatError, FileNotFoundError, IsADirectoryError, PermissionError) as e:
            print(f"{path}: INVALID: {e}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
