"""The Python side of the wasm cross-check (js/test/wasm-crosscheck.test.mjs).

Run by the Node test with a Python whose ``auracodec`` has its C extensions
built; messages and payloads travel as JSON (hex), so the two sides share no
code. Three commands:

    encode PROFILE CORPUS N OUT.json
        the first N messages of a JSONL corpus ({"conv", "role", "text"}),
        encoded with the profile's BRIO model (stateless, and in one context
        per conversation and role, in order), zstd with its dictionary and
        brotli; plus what each decoder says about damaged payloads
        (truncated, one byte appended, one bit flipped): the message, another
        message, or the DecodeError's class.
    decode PROFILE IN.json
        decode the payloads another encoder wrote (same layout as encode's
        "brio" and "sessions"); print {"checked": n, "mismatches": [...]}.
    bench PROFILE IN.json ROUNDS
        time BRIO's C extension decoding the stateless payloads; print
        {"ns_per_byte": ..., "us_per_message": ...} (message bytes).
"""

from __future__ import annotations

import json
import sys
import time
import tomllib
from pathlib import Path

from auracodec.plugin import DecodeError
from auracodec.plugins.brio import _brio
from auracodec.plugins.brotli import BrotliCodec
from auracodec.plugins.zstd import ZstdCodec

LIMIT = 4 << 20


def profile(path: str) -> tuple[bytes, int, bytes]:
    """The BRIO model, its max_ratio and the zstd dictionary of a trained profile."""
    root = Path(path)
    config = tomllib.loads((root / "auracodec.toml").read_text())
    brio = config["codecs"]["brio"]
    zstd = config["codecs"]["zstd"]
    return (
        (root / brio["model"]).read_bytes(),
        int(brio["max_ratio"]),
        (root / zstd["dictionary"]).read_bytes(),
    )


def outcome(decode, payload: bytes, message: bytes) -> str:  # type: ignore[no-untyped-def]
    try:
        out = decode(payload, LIMIT)
    except DecodeError as exc:
        return type(exc).__name__
    return "same" if out == message else "other"


def damaged(payload: bytes) -> dict[str, bytes]:
    """Deterministic damage: the last byte cut, 0x55 appended, one bit flipped."""
    flipped = bytearray(payload)
    if flipped:
        flipped[len(flipped) // 2] ^= 1 << (len(flipped) % 8)
    return {"truncated": payload[:-1], "appended": payload + b"\x55", "flipped": bytes(flipped)}


def encode(path: str, corpus: str, n: int, out: str) -> None:
    blob, max_ratio, dictionary = profile(path)
    model = _brio.Model(blob, max_ratio=max_ratio)
    zstd = ZstdCodec(level=19, dictionary=dictionary)
    brotli = BrotliCodec(quality=11)
    rows = [json.loads(line) for line in Path(corpus).read_text().splitlines()[:n]]
    contexts: dict[tuple[str, str], object] = {}
    records = []
    for row in rows:
        message = row["text"].encode()
        key = (row["conv"], row["role"])
        if key not in contexts:
            contexts[key] = model.context()
        payload = model.encode(message)
        session = contexts[key].encode(message)  # type: ignore[attr-defined]
        record = {
            "message": message.hex(),
            "stream": f"{key[0]}/{key[1]}",
            "brio": None if payload is None else payload.hex(),
            "session": None if session is None else session.hex(),
            "zstd": zstd.encode(message).hex(),
            "brotli": brotli.encode(message).hex(),
        }
        record["damage"] = {
            codec: {
                kind: {"payload": d.hex(), "python": outcome(decode, d, message)}
                for kind, d in damaged(bytes.fromhex(record[codec])).items()
            }
            for codec, decode in (("brio", model.decode), ("zstd", zstd.decode), ("brotli", brotli.decode))
            if record[codec] is not None
        }
        records.append(record)
    Path(out).write_text(json.dumps({"max_ratio": max_ratio, "records": records}))


def decode(path: str, infile: str) -> None:
    blob, max_ratio, _ = profile(path)
    model = _brio.Model(blob, max_ratio=max_ratio)
    data = json.loads(Path(infile).read_text())
    contexts: dict[str, object] = {}
    checked, mismatches = 0, []
    for i, r in enumerate(data["records"]):
        message = bytes.fromhex(r["message"])
        if r["stream"] not in contexts:
            contexts[r["stream"]] = model.context()
        ctx = contexts[r["stream"]]
        for kind in ("brio", "session"):
            payload = r[kind]
            try:
                if payload is None:  # declined: a session absorbs it, as the peer's did
                    if kind == "session":
                        ctx.absorb(message)  # type: ignore[attr-defined]
                    continue
                p = bytes.fromhex(payload)
                got = model.decode(p, LIMIT) if kind == "brio" else ctx.decode(p, LIMIT)  # type: ignore[attr-defined]
                ok = got == message
            except DecodeError as exc:
                ok = False
                got = type(exc).__name__.encode()
            checked += 1
            if not ok:
                mismatches.append({"index": i, "kind": kind, "got": got[:80].hex()})
    print(json.dumps({"checked": checked, "mismatches": mismatches}))


def bench(path: str, infile: str, rounds: int) -> None:
    blob, max_ratio, _ = profile(path)
    model = _brio.Model(blob, max_ratio=max_ratio)
    data = json.loads(Path(infile).read_text())
    payloads = [bytes.fromhex(r["brio"]) for r in data["records"] if r["brio"] is not None]
    size = sum(len(model.decode(p, LIMIT)) for p in payloads)
    decode = model.decode
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter_ns()
        for p in payloads:
            decode(p, LIMIT)
        best = min(best, time.perf_counter_ns() - t)
    print(json.dumps({"ns_per_byte": best / size, "us_per_message": best / len(payloads) / 1000,
                      "messages": len(payloads), "bytes": size}))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "encode":
        encode(args[0], args[1], int(args[2]), args[3])
    elif command == "decode":
        decode(args[0], args[1])
    elif command == "bench":
        bench(args[0], args[1], int(args[2]))
    else:
        raise SystemExit(__doc__)
