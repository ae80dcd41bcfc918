"""Streamed replies, token by token, against permessage-deflate (issue 12).

Run ``python bench/streams.py [--profile DIR] [--replies N]``.

Every assistant reply of chat2/test is cut into token-sized deltas by
:func:`auracodec.streams.split_deltas` (a deterministic approximation of a BPE
tokenizer: a word with its leading space, in pieces of at most 4 letters; up
to 3 digits; one punctuation mark with its leading space; a run of
whitespace), and sent two ways, each delta one message:

* raw: the delta's UTF-8 text;
* JSON: the delta in an OpenAI-style ``chat.completion.chunk`` envelope
  (:func:`auracodec.streams.openai_chunk`), id and ``created`` stable per reply.

Per reply, one stream: one compressor/decompressor pair for permessage-deflate
with context takeover (websockets' defaults, as ``permessage_deflate_sizes``
emulates), one sender/receiver session pair for auracodec. Bytes per delta are
payload bytes (permessage-deflate) and frame bytes (auracodec, method byte
included); CPU per delta is the process time of encoding and decoding every
delta, in this process, on the same deltas. Pipelines:

* ``streams``: the profile (``auracodec train`` on chat2/train.jsonl into a
  temporary directory, or ``--profile``) with ``[codecs.brio] streams = true``,
  as a deployment that streams replies configures it: BRIO's continuations
  (context ``0x23``), each delta coded alone by the context (the targets are
  this pipeline's);
* ``trained``: the same profile as trained (``0x13``, default ``cost`` policy);
* ``zstd``: the same profile restricted to zstd (a cheap codec), stateless;
* ``zstd_context``: restricted to zstd with its session context (the last
  2 KB of the stream appended to the dictionary, level 3);
* ``raw_only``: no codec at all, every frame the method byte and the delta:
  the floor of a session's per-message CPU and the cost of the method byte.

Writes bench/results/streams.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import attrs
from _common import CORPUS, train_profile, write

from auracodec import Pipeline
from auracodec.benchmark import permessage_deflate_sizes
from auracodec.core.config import Config
from auracodec.core.corpus import Sample
from auracodec.streams import OpenAIEnvelope, split_deltas

#: The targets of issue 12: session bytes per delta at most this share of
#: permessage-deflate's, CPU per delta at most this multiple of its CPU.
TARGETS = {"raw_bytes": 0.6, "json_bytes": 0.4, "cpu": 3.0}
#: zstd's session context: each delta compressed against the dictionary and
#: the direction's last 2 KB.
ZSTD_CONTEXT = {"session_history": 2048, "session_level": 3}


def replies(path: Path) -> list[str]:
    out = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record.get("role") == "assistant" and record.get("text"):
                out.append(record["text"])
    return out


def deflate(streams: Sequence[Sequence[bytes]]) -> tuple[int, float]:
    """Payload bytes and CPU seconds of permessage-deflate, one stream per reply."""
    samples = [Sample(d, f"r{i}", "assistant") for i, s in enumerate(streams) for d in s]
    t0 = time.process_time()
    sizes, failures, _, _ = permessage_deflate_sizes(samples)
    cpu = time.process_time() - t0
    assert failures == 0
    return sum(sizes), cpu


def sessions(pipe: Pipeline, streams: Sequence[Sequence[bytes]]) -> tuple[int, float]:
    """Frame bytes and CPU seconds of one sender/receiver session pair per reply."""
    total = 0
    t0 = time.process_time()
    for stream in streams:
        sender, receiver = pipe.session(), pipe.session()
        for delta in stream:
            frame = sender.encode(delta)
            if receiver.decode_bytes(frame) != delta:
                raise SystemExit("a delta did not round-trip")
            total += len(frame)
    return total, time.process_time() - t0


def measure(
    pipes: dict[str, Pipeline], streams: Sequence[Sequence[bytes]], bytes_target: float
) -> dict[str, object]:
    n = sum(map(len, streams))
    raw = sum(len(d) for s in streams for d in s)
    d_bytes, d_cpu = deflate(streams)
    out: dict[str, object] = {
        "deltas": n,
        "bytes_per_delta": round(raw / n, 3),
        "permessage_deflate": {
            "bytes_per_delta": round(d_bytes / n, 3),
            "cpu_us_per_delta": round(d_cpu / n * 1e6, 2),
        },
    }
    for name, pipe in pipes.items():
        s_bytes, s_cpu = sessions(pipe, streams)
        out[name] = {
            "bytes_per_delta": round(s_bytes / n, 3),
            "cpu_us_per_delta": round(s_cpu / n * 1e6, 2),
            "bytes_vs_deflate": round(s_bytes / d_bytes, 3),
            "cpu_vs_deflate": round(s_cpu / d_cpu, 2),
            "bytes_target_met": s_bytes / d_bytes <= bytes_target,
            "cpu_target_met": s_cpu / d_cpu <= TARGETS["cpu"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=Path, help="a trained profile (default: train one)")
    parser.add_argument("--replies", type=int, default=0, help="only the first N replies")
    args = parser.parse_args()
    texts = replies(CORPUS / "chat2" / "test.jsonl")
    if args.replies:
        texts = texts[: args.replies]
    raw_streams = [[d.encode() for d in split_deltas(t)] for t in texts]
    envelopes = [OpenAIEnvelope(f"chatcmpl-{i:08x}", 1_700_000_000 + i) for i in range(len(texts))]
    json_streams = [[e(d) for d in split_deltas(t)] for e, t in zip(envelopes, texts, strict=True)]
    with tempfile.TemporaryDirectory() as tmp:
        profile = args.profile or train_profile(
            CORPUS / "chat2" / "train.jsonl", Path(tmp) / "chat2"
        )
        config = Config.load(profile)
        zstd_context = {
            **config.codec_tables,
            "zstd": {**config.codec_tables.get("zstd", {}), **ZSTD_CONTEXT},
        }
        streams = {
            **config.codec_tables,
            "brio": {**config.codec_tables.get("brio", {}), "streams": True},
        }
        pipes = {
            "streams": Pipeline.from_config(attrs.evolve(config, codec_tables=streams)),
            "trained": Pipeline.from_config(config),
            "zstd": Pipeline.from_config(attrs.evolve(config, codecs=["zstd"])),
            "zstd_context": Pipeline.from_config(
                attrs.evolve(config, codecs=["zstd"], codec_tables=zstd_context)
            ),
            "raw_only": Pipeline.from_config(attrs.evolve(config, codecs=[])),
        }
        results = {
            "replies": len(texts),
            "targets": TARGETS,
            "raw": measure(pipes, raw_streams, TARGETS["raw_bytes"]),
            "json": measure(pipes, json_streams, TARGETS["json_bytes"]),
        }
    for kind in ("raw", "json"):
        r: dict[str, object] = results[kind]  # type: ignore[assignment]
        base: dict[str, float] = r["permessage_deflate"]  # type: ignore[assignment]
        print(
            f"{kind}: {r['deltas']} deltas of {r['bytes_per_delta']} bytes; permessage-deflate "
            f"{base['bytes_per_delta']} B/delta, {base['cpu_us_per_delta']} µs/delta"
        )
        for name in pipes:
            p: dict[str, object] = r[name]  # type: ignore[assignment]
            print(
                f"  {name}: {p['bytes_per_delta']} B/delta (x{p['bytes_vs_deflate']}), "
                f"{p['cpu_us_per_delta']} µs/delta (x{p['cpu_vs_deflate']})"
            )
    print("wrote", write("streams.json", results))


if __name__ == "__main__":
    main()
