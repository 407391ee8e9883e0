#!/usr/bin/env python3
"""TensorBoard event files, checked independently of Ember (stdlib only).

  tfevents_tool.py fixture OUT      write the expected bytes of a small event
                                    file (tests/fixtures/viz/scalar_events.bin)
                                    with this file's own encoder
  tfevents_tool.py check FILE...    split each file into TFRecords, recompute
                                    both masked CRC-32Cs of every record, and
                                    decode each record with `protoc --decode_raw`
  tfevents_tool.py selftest         prove that `check` fails on a corrupted
                                    CRC, a truncated record and non-protobuf data

The encoder here is a second implementation written from the format's
description (TFRecord framing, protobuf wire format), not a port of
viz/src/tensorboard.cpp; protoc is a third, from Debian's protobuf-compiler.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(payload: bytes) -> bytes:
    length = struct.pack("<Q", len(payload))
    return length + struct.pack("<I", masked(length)) + payload + struct.pack("<I", masked(payload))


def varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def field(number: int, wire: int, body: bytes) -> bytes:
    key = varint((number << 3) | wire)
    if wire == 2:
        return key + varint(len(body)) + body
    return key + body


def event_version(wall_time: float) -> bytes:
    return field(1, 1, struct.pack("<d", wall_time)) + field(3, 2, b"brain.Event:2")


def event_scalar(wall_time: float, step: int, tag: str, value: float) -> bytes:
    v = field(1, 2, tag.encode()) + field(2, 5, struct.pack("<f", value))
    summary = field(1, 2, v)
    return field(1, 1, struct.pack("<d", wall_time)) + field(2, 0, varint(step)) + field(5, 2, summary)


# The fixture's content; tests/test_viz.cpp builds the same events with Ember.
FIXTURE = [("version", 1700000000.5), ("scalar", 1700000000.5, 42, "loss/train", 0.25),
           ("scalar", 1700000001.25, 300, "accuracy/test", 0.9875)]


def fixture_bytes() -> bytes:
    out = b""
    for e in FIXTURE:
        out += record(event_version(e[1]) if e[0] == "version" else event_scalar(*e[1:]))
    return out


def records(data: bytes, name: str):
    """Yields each record's payload; raises ValueError on any framing defect."""
    pos = 0
    while pos < len(data):
        if pos + 12 > len(data):
            raise ValueError(f"{name}: truncated record header at byte {pos}")
        length_bytes = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if length_crc != masked(length_bytes):
            raise ValueError(f"{name}: bad length CRC at byte {pos}")
        end = pos + 12 + length
        if end + 4 > len(data):
            raise ValueError(f"{name}: record at byte {pos} says {length} bytes but the file ends first")
        payload = data[pos + 12:end]
        (data_crc,) = struct.unpack("<I", data[end:end + 4])
        if data_crc != masked(payload):
            raise ValueError(f"{name}: bad data CRC for the record at byte {pos}")
        yield payload
        pos = end + 4


def decode_raw(payload: bytes) -> str:
    r = subprocess.run(["protoc", "--decode_raw"], input=payload, capture_output=True)
    if r.returncode != 0:
        raise ValueError("protoc --decode_raw rejected a record: " + r.stderr.decode(errors="replace").strip())
    return r.stdout.decode()


def check(path: str) -> None:
    with open(path, "rb") as f:
        data = f.read()
    payloads = list(records(data, path))
    if not payloads:
        raise ValueError(f"{path}: no records")
    first = decode_raw(payloads[0])
    if 'brain.Event:2' not in first:
        raise ValueError(f"{path}: the first record is not file_version brain.Event:2:\n{first}")
    for p in payloads[1:]:
        text = decode_raw(p)
        # Event.summary (5) > Summary.value (1) > tag (1) and simple_value (2, fixed32)
        if not ("5 {" in text and "1 {" in text and "2: 0x" in text):
            raise ValueError(f"{path}: a record is not a scalar summary event:\n{text}")
    print(f"{path}: {len(payloads)} records, CRCs and protobuf OK")


def need_protoc() -> None:
    if shutil.which("protoc") is None:
        sys.exit("FAIL: protoc not found (bash scripts/setup.sh installs Debian's protobuf-compiler)")


def selftest() -> None:
    good = fixture_bytes()
    bad_crc = bytearray(good)
    bad_crc[20] ^= 0x01  # a payload byte of the first record: its data CRC no longer matches
    truncated = good[:-3]
    garbage = record(b"\xff\xff\xff")  # valid framing, not a protobuf message
    with tempfile.TemporaryDirectory() as d:
        for name, data in [("good", good), ("bad_crc", bytes(bad_crc)), ("truncated", truncated), ("garbage", garbage)]:
            path = os.path.join(d, name)
            with open(path, "wb") as f:
                f.write(data)
            try:
                check(path)
                ok = True
            except ValueError as e:
                print(f"  rejected as expected: {e}".splitlines()[0])
                ok = False
            if ok != (name == "good"):
                sys.exit(f"FAIL: selftest: '{name}' was {'accepted' if ok else 'rejected'}")
    print("selftest: the checker accepts a good file and rejects a bad CRC, a truncated record and garbage")


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "fixture":
        with open(sys.argv[2], "wb") as f:
            f.write(fixture_bytes())
    elif len(sys.argv) >= 3 and sys.argv[1] == "check":
        need_protoc()
        try:
            for p in sys.argv[2:]:
                check(p)
        except ValueError as e:
            sys.exit(f"FAIL: {e}")
    elif len(sys.argv) == 2 and sys.argv[1] == "selftest":
        need_protoc()
        selftest()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
