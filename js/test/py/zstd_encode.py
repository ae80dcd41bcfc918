"""Python's zstd payloads, for js/test/zstd-encode.test.mjs to compare byte for byte.

    python zstd_encode.py encode SPEC OUT

SPEC is JSON: {"corpus": DIR, "profiles": {NAME: {"config": FILE, "every": N,
"streams": K}}}. Each config is an auracodec.toml whose pipeline has zstd (and
binary_semantic, for the template codec with zstd remainders). The messages
and streams are :func:`messages`'. For each profile, Python encodes:

* "stateless": every N-th message (their indices in "subset"), with the
  pipeline's zstd codec;
* "streams": the first K streams, each through one ``ZstdContext`` of that
  codec when its ``session_history`` > 0: a message either encoded (its
  payload) or absorbed (null), as a session's context sees the messages other
  codecs carried;
* "templates": every N-th message through the pipeline's binary_semantic
  codec (null where it declines), when the pipeline has one.

OUT: {"messages": [hex], "streams": [[[index, absorbed]]], "profiles": {NAME:
{"fingerprint", "subset", "stateless", "streams", "templates"}}}; "subset"
also holds the nine edge cases at the end of the messages, whatever N.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from auracodec import Pipeline
from auracodec.core.config import Config
from auracodec.core.corpus import read_corpus
from auracodec.plugins.zstd import ZstdContext

LOGS = ["Android", "Apache", "BGL", "HDFS", "Linux", "OpenSSH", "Spark", "Zookeeper"]
DICT_MAGIC = bytes.fromhex("37a430ec")


def noise(n: int) -> bytes:
    """n incompressible bytes, the same on every run."""
    out = bytearray()
    block = b"auracodec"
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def messages(corpus: Path) -> tuple[list[bytes], list[list[tuple[int, bool]]]]:
    """The messages: corpus samples, short and long (runs of log lines), and
    edge cases; and the streams over them, as (index, absorbed) pairs.

    Streams: every log message in order (the history slides far past 64 KiB);
    one whose history starts with the dictionary magic; then the first 12
    conversations of chat/test, every 4th message absorbed, not encoded.
    """
    chat = read_corpus([corpus / "chat/test.jsonl"])[:300]
    out = [s.data for s in chat]
    out += [s.data for s in read_corpus([corpus / "chat2/test.jsonl"])][:60]
    out += [s.data for s in read_corpus([corpus / "json/messages.jsonl"])][:80]
    logs = len(out)
    for system in LOGS:
        lines = [s.data for s in read_corpus([corpus / f"logs/{system}/{system}_2k.log"])]
        out += lines[:20]
        # runs of lines: about 2 KB, 8 KB and 40 KB (long_level's messages)
        out += [b"\n".join(lines[a:b]) for a, b in ((20, 40), (40, 120), (120, 520))]
    edge = len(out)
    apache = (corpus / "logs/Apache/Apache_2k.log").read_bytes()
    out += [
        b"",
        b"x",
        DICT_MAGIC + b" a message that starts with the dictionary magic",
        apache[:1023],  # long_size - 1, long_size, long_size + 1
        apache[:1024],
        apache[:1025],
        noise(3000),
        noise(200_000),  # incompressible, beyond one block: the escape form
        (apache * 2)[:300_000],  # several compressed blocks: the escape form
    ]
    convs: dict[str, list[int]] = {}
    for i, s in enumerate(chat):
        convs.setdefault(str(s.conv), []).append(i)
    streams = [
        [(i, False) for i in range(logs, edge)],
        [(edge + 2, False), (0, False), (1, True), (2, False), (edge + 2, False)],
        *([(i, j % 4 == 3) for j, i in enumerate(v)] for v in list(convs.values())[:12]),
    ]
    return out, streams


def encode(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    msgs, all_streams = messages(Path(spec["corpus"]))
    edge = range(len(msgs) - 9, len(msgs))
    report: dict[str, object] = {}
    for name, p in spec["profiles"].items():
        pipe = Pipeline.from_config(Config.load(p["config"]))
        zstd = pipe.codecs["zstd"]
        subset = [i for i in range(len(msgs)) if i % p["every"] == 0 or i in edge]
        coded = []
        for stream in all_streams[: p["streams"]] if zstd.session_history else []:
            ctx = ZstdContext(zstd)
            row: list[str | None] = []
            for i, absorbed in stream:
                if absorbed:
                    ctx.absorb(msgs[i])
                    row.append(None)
                else:
                    row.append(ctx.encode(msgs[i]).hex())
            coded.append(row)
        templates = None
        if "binary_semantic" in pipe.codecs:
            codec = pipe.codecs["binary_semantic"]
            templates = [hex_or_none(codec.encode(msgs[i])) for i in subset]
        report[name] = {
            "fingerprint": pipe.fingerprint,
            "subset": subset,
            "stateless": [zstd.encode(msgs[i]).hex() for i in subset],
            "streams": coded,
            "templates": templates,
        }
    with open(out_path, "w") as fh:
        json.dump(
            {"messages": [m.hex() for m in msgs], "streams": all_streams, "profiles": report}, fh
        )


def hex_or_none(payload: bytes | None) -> str | None:
    return None if payload is None else payload.hex()


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "encode":
        encode(args[0], args[1])
    else:
        raise SystemExit(__doc__)
