"""Regenerate the golden vectors: ``python tests/golden/make.py``.

Golden vectors pin the wire format: every test run decodes them. Regenerate
only for a deliberate format change, and say so in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import zstandard

from auracodec.conformance import sample_messages
from auracodec.plugins.brotli import BrotliCodec
from auracodec.plugins.zstd import ZstdCodec

HERE = Path(__file__).parent

MESSAGES = [
    b"",
    b"ok",
    b"Sure! Here's a quick summary of the steps.",
    "Café au lait ☕ costs 3,50 €".encode(),
    b'{"event":"order.created","id":"ord_1842","amount":4200,"currency":"eur"}',
    b"\x00\x01\x02\xff binary \xfe",
    b"a" * 300_000,  # several zstd blocks: the escape form
]


def describe(m: bytes) -> dict[str, object]:
    """A message as JSON; long runs of one byte are written as a run."""
    if len(m) > 1000 and m == m[:1] * len(m):
        return {"repeat": m[:1].hex(), "count": len(m)}
    return {"hex": m.hex()}


def load(entry: dict[str, object]) -> bytes:
    """The inverse of :func:`describe`."""
    if "repeat" in entry:
        return bytes.fromhex(str(entry["repeat"])) * int(entry["count"])  # type: ignore[call-overload]
    return bytes.fromhex(str(entry["hex"]))


def vectors(codec: object, messages: list[bytes]) -> list[dict[str, object]]:
    out = []
    for m in messages:
        payload = codec.encode(m)  # type: ignore[attr-defined]
        if payload is not None:
            out.append({"message": describe(m), "payload": payload.hex()})
    return out


TEMPLATED = [
    b"Deployment started at 2025-10-23T10:30:00Z",
    b"Request 3f2b8c1e-5d4a-4f6b-9c7d-1e2f3a4b5c6d completed in 42 ms",
    b"New sign-in from 203.0.113.7",
    b"Disk usage on db-2 is 91%",
    b"Payment of 12.50 EUR received.",
    b"Sure! Here's the plan for tomorrow morning. I hope this helps!",
    b"Reminder: stand-up at 09:30",
]


def brio_sample_model() -> bytes:
    """A small BRIO model trained on the sample, kept compressed beside the vectors.

    Trained per conversation and direction, as the plugin trains; its session
    map is the smallest allowed, so that session vectors of a few kilobytes
    already reach the map purges at message ends (docs/brio.md, section 7).
    """
    from auracodec.core.corpus import builtin_sample
    from auracodec.plugins.brio import _brio

    samples = builtin_sample()
    blob = _brio.train(
        [s.data for s in samples],
        sessions=[(s.conv, s.direction) for s in samples],
        model_size=400_000,
        apm2_bits=6,
        session_map_bits=11,
    )
    (HERE / "brio-sample.model.zst").write_bytes(zstandard.ZstdCompressor(level=19).compress(blob))
    return blob


def brio_session_messages(sample: list[bytes]) -> list[bytes]:
    """One connection's worth of messages: short ones, then a few kilobytes each."""
    short = sample[:12]
    long = [b"\n".join(sample[i : i + 14]) for i in range(40, 82, 14)]
    return [*short, b"", *long, sample[3]]


def session_vectors(context: object, messages: list[bytes]) -> list[dict[str, object]]:
    """Payloads of one session context, in order: each depends on all before it."""
    encode = context.encode  # type: ignore[attr-defined]
    return [{"message": describe(m), "payload": encode(m).hex()} for m in messages]


def main() -> None:
    from auracodec import Pipeline
    from auracodec.plugins.brio import _brio

    sample = sample_messages()
    extra = sample[::40]
    dictionary = zstandard.train_dictionary(16 * 1024, sample).as_bytes()
    (HERE / "zstd-sample.dict").write_bytes(dictionary)
    brio_model = brio_sample_model()
    sets = {
        "zstd": vectors(ZstdCodec(level=19), MESSAGES + extra),
        "zstd-dict": vectors(ZstdCodec(level=19, dictionary=dictionary), MESSAGES + extra),
        "brotli": vectors(BrotliCodec(quality=11), MESSAGES + extra),
        # BRIO's vectors pin its bitstream, so they are made without the
        # output-to-payload ratio cap (docs/brio.md, section 1.3), which would
        # decline the 300 KB run; tests/test_brio.py checks the cap on them.
        "brio": vectors(_brio.Model(None, max_ratio=0), MESSAGES + extra),
        "brio-sample": vectors(_brio.Model(brio_model, max_ratio=0), MESSAGES + extra),
        "brio-session": session_vectors(
            _brio.Model(brio_model, max_ratio=0).context(), brio_session_messages(sample)
        ),
        # The built-in library only, remainders with zstd: ids are forever.
        "binary_semantic": vectors(
            Pipeline.from_config(codecs=["binary_semantic", "zstd"]).codecs["binary_semantic"],
            TEMPLATED,
        ),
    }
    for name, vecs in sets.items():
        (HERE / f"{name}.json").write_text(json.dumps(vecs, indent=1) + "\n")
        print(f"{name}: {len(vecs)} vectors")


if __name__ == "__main__":
    main()
