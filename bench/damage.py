"""What each codec reports when a valid payload is damaged: ``python bench/damage.py``.

For every message of the built-in sample, encode it, then decode every
truncation, four appended bytes and 16 random single-bit flips of the payload.
A damaged payload either raises a DecodeError (reported), decodes to the
original (harmless), or decodes to something else (silently wrong). Any other
exception would be a bug and stops the script.

Writes bench/results/damage.json.
"""

from __future__ import annotations

import random

from _common import write

from auracodec import DecodeError, Pipeline
from auracodec.conformance import sample_messages


def damage(payload: bytes, rng: random.Random) -> dict[str, list[bytes]]:
    flips = []
    for _ in range(16):
        bit = rng.randrange(len(payload) * 8)
        b = bytearray(payload)
        b[bit >> 3] ^= 1 << (bit & 7)
        flips.append(bytes(b))
    return {
        "truncation": [payload[:i] for i in range(len(payload))],
        "extension": [payload + bytes([b]) for b in (0x00, 0x01, 0x41, 0xFF)],
        "bitflip": flips,
    }


def main() -> None:
    pipe = Pipeline.from_config()
    messages = [m for m in sample_messages() if m]
    rng = random.Random(2026)
    report: dict[str, dict[str, dict[str, float]]] = {}
    for name, codec in pipe.codecs.items():
        if name == "identity":
            continue
        counts: dict[str, list[int]] = {}
        for m in messages:
            payload = codec.encode(m)
            if payload is None:
                continue
            for kind, variants in damage(payload, rng).items():
                c = counts.setdefault(kind, [0, 0, 0])
                for v in variants:
                    try:
                        out = codec.decode(v, 1 << 20)
                    except DecodeError:
                        c[0] += 1
                        continue
                    c[1 if out == m else 2] += 1
        report[name] = {
            kind: {
                "cases": sum(c),
                "reported": round(c[0] / sum(c), 4),
                "harmless": round(c[1] / sum(c), 4),
                "silently_wrong": round(c[2] / sum(c), 4),
            }
            for kind, c in counts.items()
        }
    path = write("damage.json", report)
    for name, kinds in report.items():
        line = ", ".join(
            f"{k} {v['reported']:.1%} reported / {v['silently_wrong']:.1%} wrong"
            for k, v in kinds.items()
        )
        print(f"{name}: {line}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
