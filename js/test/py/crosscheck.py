"""What Python's auracodec does, for the JavaScript tests to compare with.

    python crosscheck.py fingerprint [PROFILE]      fingerprint, built-in codecs only
    python crosscheck.py frames PROFILE OUT CORPUS  template payloads of every message
    python crosscheck.py fuzz PROFILE OUT           decode outcomes of damaged frames
    python crosscheck.py wire OUT                   the decode table, identity + templates
    python crosscheck.py utf8 OUT                   InvalidUtf8 messages of odd byte strings

Run with the Python whose auracodec the JavaScript must match (the caller fixes
PYTHONHASHSEED; template ties go to the lower template id either way).
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

from auracodec import DecodeError, Pipeline
from auracodec.core.config import Config
from auracodec.core.corpus import read_corpus

# The shared corpora: $AURACODEC_CORPUS, or ../shared/corpus beside the checkout.
CORPUS = Path(
    os.environ.get(
        "AURACODEC_CORPUS", Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
    )
)

BUILTIN = ["binary_semantic", "brio", "brotli", "identity", "zstd"]


def fingerprint(profile: str | None) -> None:
    # Only the built-in codecs (the venv may have third-party ones, such as
    # the example lz4 plugin, which the JavaScript client does not have).
    config = Config.defaults() if profile is None else Config.load(profile)
    pipe = Pipeline.from_config(config, codecs=[n for n in BUILTIN if n not in config.disable])
    print(
        json.dumps(
            {
                "fingerprint": pipe.fingerprint,
                "codecs": {n: dict(c.fingerprint()) for n, c in pipe.codecs.items()},
            }
        )
    )


def outcome(call) -> object:
    try:
        return call().hex()
    except DecodeError as exc:
        return [type(exc).__name__, str(exc)]


def frames(profile: str, out: str, corpus: list[str]) -> None:
    codec = Pipeline.from_config(profile, codecs=["binary_semantic"]).codecs["binary_semantic"]
    with open(out, "w") as f:
        for s in read_corpus(corpus):
            payload = codec.encode(s.data)
            f.write(
                json.dumps({"m": s.data.hex(), "p": None if payload is None else payload.hex()})
                + "\n"
            )


def damaged(rng: random.Random, p: bytes) -> bytes:
    kind = rng.randrange(6)
    if kind == 0 and p:
        return p[: rng.randrange(len(p))]
    if kind == 1:
        return p + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
    if kind == 2 and p:
        b = bytearray(p)
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
        return bytes(b)
    if kind == 3 and p:
        b = bytearray(p)
        b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if kind == 4:
        return p[:3] + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 24)))
    return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))


def fuzz(profile: str, out: str) -> None:
    pipe = Pipeline.from_config(profile, codecs=["binary_semantic"])
    codec = pipe.codecs["binary_semantic"]
    rng = random.Random(1234)
    sample = [s.data for s in read_corpus([CORPUS / "logs"])][::7]
    payloads = [p for p in (codec.encode(m) for m in sample) if p is not None]
    rows = []
    for i in range(6000):
        frame = b"\x00" + damaged(rng, payloads[i % len(payloads)])
        limit = rng.choice([4194304, 4194304, 64, 200])
        rows.append(
            {"f": frame.hex(), "limit": limit, "r": outcome(lambda: codec.decode(frame[1:], limit))}
        )
        rows[-1]["pipe"] = outcome(lambda: pipe.decode_bytes(frame)) if limit == 4194304 else None
    with open(out, "w") as f:
        json.dump(rows, f)


def wire(out: str) -> None:
    config = Config.from_mapping(
        {
            "pipeline": {"max_message_size": 4096},
            "codecs": {"binary_semantic": {"remainder_codec": "none"}},
        }
    )
    pipe = Pipeline.from_config(config, codecs=["binary_semantic"])
    table = {
        "raw": b"\x04hello",
        "raw-empty": b"\x04",
        "empty": b"",
        "unknown": b"\x99abc",
        "escape": b"\xffabc",
        "not-utf8": b"\x04\xff\xfe",
        "too-big": b"\x04" + b"a" * 4097,
        "at-limit": b"\x04" + b"a" * 4096,
        "template-empty": b"\x00",
        "template-unknown": b"\x00\x05",
        "template-trailing": b"\x00\x90\xec\x07\x00\x13\xc0\xbe\x02\xa8\xa7\x02\x00",
        "template-ok": bytes.fromhex("0090ec070013c0be02a8a702"),
    }
    rows = {}
    for name, frame in table.items():
        rows[name] = {
            "f": frame.hex(),
            "bytes": outcome(lambda: pipe.decode_bytes(frame)),
            "text": outcome(lambda: pipe.decode(frame).encode()),
        }
    with open(out, "w") as f:
        json.dump(rows, f)


def utf8(out: str) -> None:
    rng = random.Random(99)
    pipe = Pipeline.from_config(codecs=["identity"])
    alphabet = [
        0x41,
        0x7F,
        0x80,
        0xBF,
        0xC0,
        0xC1,
        0xC2,
        0xDF,
        0xE0,
        0xE1,
        0xED,
        0xEF,
        0xF0,
        0xF4,
        0xF5,
        0xFF,
        0x9F,
        0xA0,
        0x8F,
        0x90,
    ]
    rows = []
    for _ in range(3000):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 7)))
        rows.append({"m": data.hex(), "r": outcome(lambda: pipe.decode(b"\x04" + data).encode())})
    with open(out, "w") as f:
        json.dump(rows, f)


#: One template per slot type, and values for each, valid and not.
SLOT_TYPES = [
    "int",
    "dec",
    "hex",
    "uuid",
    "ipv4",
    "ipv6",
    "ts",
    "order",
    "ver",
    "word",
    "enum:GET|POST|*",
]
PATTERNS = {"order": "ORD-[0-9A-Z]{8}", "ver": "v\\d+\\.\\d{1,3}[a-z]?"}
VALUES = [
    "0",
    "7",
    "-3",
    "-0",
    "007",
    "1234567890123456789",
    "12345678901234567890",
    "9999999999999999999",
    "-9999999999999999999",
    "1.5",
    "-0.25",
    "3.000",
    "00.10",
    "1.",
    "deadbeef",
    "DEADBEEF",
    "DeadBeef",
    "abc",
    "0",
    "f" * 4096,
    "f" * 4097,
    "3f2b8c1e-5d4a-4f6b-9c7d-1e2f3a4b5c6d",
    "3F2B8C1E-5D4A-4F6B-9C7D-1E2F3A4B5C6D",
    "3f2b8c1e-5d4a-4f6b-9c7d-1E2F3A4B5C6D",
    "0.0.0.0",
    "255.255.255.255",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3.45",
    "1.2.3",
    "::",
    "::1",
    "2001:db8::1",
    "2001:DB8::1",
    "2001:db8:0:0:1:0:0:1",
    "2001:db8::1:0:0:1",
    "fe80::",
    "1:2:3:4:5:6:7:8",
    "1:0:0:4:5:0:0:8",
    "::ffff:102:304",
    "0:0:0:0:0:0:0:0",
    "2025-10-23",
    "2025-02-30",
    "2025-13-01",
    "2025-10-23T10:30:00Z",
    "2015-07-29 17:41:44,747",
    "2025-10-23T10:30:00.123456+02:00",
    "2025-10-23T10:30:00-0530",
    "2025-10-23T24:00:00",
    "0000-01-01",
    "9999-12-31T23:59:59.999999999Z",
    "Jun 14 15:16:01",
    "Nov  9 12:01:01",
    "Nov 9 12:01:01",
    "Nov 09 12:01:01",
    "Feb 30 00:00:00",
    "Sun Dec 04 04:47:44 2005",
    "Mon Dec 04 04:47:44 2005",
    "Thu Jan 01 00:00:00 1970",
    "ORD-AB12CD34",
    "ORD-ab12cd34",
    "v1.2",
    "v10.123b",
    "v1.2345",
    "GET",
    "POST",
    "PUT",
    "",
    "hello",
    "é",
    "a b",
]


def normalizers(out: str) -> None:
    from auracodec.plugins.binary_semantic import normalizers as N
    from auracodec.plugins.binary_semantic.library import parse_template
    from auracodec.plugins.binary_semantic.matcher import TemplateSet
    from auracodec.plugins.binary_semantic.patterns import make_patterns

    types = {name: cls() for name, cls in N.BUILTIN.items()}
    types.update(make_patterns(PATTERNS))
    templates = [parse_template(i, f"<{t}> is {{{t}}};", types) for i, t in enumerate(SLOT_TYPES)]
    ts = TemplateSet(templates, types, None, True)
    rows = []
    for i, t in enumerate(SLOT_TYPES):
        for v in VALUES:
            for m in (f"<{t}> is {v};", f"pre <{t}> is {v}; post", f"<{t}> is {v}"):
                data = m.encode()
                p = ts.encode(data)
                rows.append({"m": data.hex(), "p": None if p is None else p.hex()})
    with open(out, "w") as f:
        json.dump({"types": SLOT_TYPES, "patterns": PATTERNS, "rows": rows}, f)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "fingerprint":
        fingerprint(args[0] if args else None)
    elif cmd == "frames":
        frames(args[0], args[1], args[2:])
    elif cmd == "fuzz":
        fuzz(args[0], args[1])
    elif cmd == "wire":
        wire(args[0])
    elif cmd == "normalizers":
        normalizers(args[0])
    elif cmd == "utf8":
        utf8(args[0])
    else:
        raise SystemExit(__doc__)
