"""Python's side of the all-corpora cross-check (js/test/corpora.test.mjs).

    python corpora.py logs-head CORPUS N OUT     the first N lines of every loghub
                                                 system, one text file (training)
    python corpora.py encode SPEC OUT            Python encodes every set of SPEC
    python corpora.py decode SPEC IN OUT         Python decodes what JavaScript encoded

SPEC is JSON: {"corpus": DIR, "profiles": {"chat": DIR, "logs": DIR,
"logs-templates": FILE, "chat-zstd": FILE, "logs-zstd": FILE}, "policy":
"smallest", "sample": true | false} (a profile is a directory or its config
file; "logs-templates" is the logs profile with ``[pipeline] codecs =
["binary_semantic"]``, so that every log line goes through the template
codec, whose remainders BRIO codes; "chat-zstd" and "logs-zstd" are the chat
and logs profiles with ``codecs = ["zstd"]`` and ``session_history = 65536``,
so that zstd codes every message, stateless (0x02) and in its session context
(0x12)). The sets, and which profile codes each, are :data:`SETS`; both
sides take the messages from the frames file this script writes, so they
code the same ones.

Streams: a set's messages with a ``conv`` are one stream per conversation
(one session pair), in corpus order; the messages without one are one stream
per file. Human roles go client to server ("c"), the rest server to client
("s"). The session protocol is test/py/sessions.py's: the k-th stream's two
sessions check every (0, 1, 3)[k % 3] frames, its j-th message is isolated
when j % 5 == 4, and in streams with k % 4 == 1 the client resets before its
second message.

``"sample": false`` (the default in ``npm test``) takes every message;
``true`` a deterministic sample: every 4th conversation of chat/test, every
conversation of chat2/test, the first 200 messages of json and the first 150
lines of every log.

The frames file: {"sets": [{"name", "profile", "fingerprint", "stateless":
[{"m", "f"}], "streams": [{"id", "check", "events": [{"d", "m", "f", "iso",
"reset"}]}]}]}, bytes in hex. decode's report: {"sets": [{"name",
"stateless", "sessions", "mismatches": [...]}]}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import attrs

from auracodec import DecodeError, Pipeline
from auracodec.core.config import Config
from auracodec.core.corpus import corpus_files, read_corpus

CHECKS = (0, 1, 3)
#: The built-in codecs only: the venv may have third-party ones (the example
#: lz4 plugin) that the JavaScript client does not have.
BUILTIN = ["binary_semantic", "brio", "brotli", "identity", "zstd"]
LOG_SYSTEMS = [
    "Android",
    "Apache",
    "BGL",
    "HDFS",
    "HealthApp",
    "Linux",
    "OpenSSH",
    "Spark",
    "Thunderbird",
    "Zookeeper",
]

#: The logs zstd codes alone as well (three kinds of line; every system would
#: add half a minute to a full run for little more).
ZSTD_LOG_SYSTEMS = ["HDFS", "Linux", "OpenSSH"]

#: (name, files under the corpus directory, profile, sample: keep every n-th
#: conversation, or the first n messages of a stream without conversations).
SETS = [
    ("chat/test", ["chat/test.jsonl"], "chat", ("every", 4)),
    ("chat2/test", ["chat2/test.jsonl"], "chat", ("every", 1)),
    ("json", ["json/messages.jsonl"], "chat", ("first", 200)),
    *((f"logs/{s}", [f"logs/{s}/{s}_2k.log"], "logs", ("first", 150)) for s in LOG_SYSTEMS),
    *(
        (f"logs/{s} templates", [f"logs/{s}/{s}_2k.log"], "logs-templates", ("first", 150))
        for s in LOG_SYSTEMS
    ),
    ("chat/test zstd", ["chat/test.jsonl"], "chat-zstd", ("every", 4)),
    ("chat2/test zstd", ["chat2/test.jsonl"], "chat-zstd", ("every", 1)),
    ("json zstd", ["json/messages.jsonl"], "chat-zstd", ("first", 200)),
    *(
        (f"logs/{s} zstd", [f"logs/{s}/{s}_2k.log"], "logs-zstd", ("first", 150))
        for s in ZSTD_LOG_SYSTEMS
    ),
]


def isolated(j: int) -> bool:
    return j % 5 == 4


def resets(k: int, client_sent: int) -> bool:
    return k % 4 == 1 and client_sent == 1


def pipeline(profile: str, policy: str | None) -> Pipeline:
    config = Config.load(profile)
    if policy is not None:
        config = attrs.evolve(config, policy=policy)
    wanted = BUILTIN if config.codecs is None else config.codecs
    return Pipeline.from_config(config, codecs=[n for n in wanted if n not in config.disable])


def streams(corpus: Path, files: list[str], sample: tuple[str, int] | None):
    """[(id, [(direction, message)])]: conversations in order of first message."""
    out: dict[str, list[tuple[str, bytes]]] = {}
    for path in corpus_files([corpus / f for f in files]):
        for s in read_corpus([path]):
            key = f"conv:{s.conv}" if s.conv is not None else f"file:{path.relative_to(corpus)}"
            out.setdefault(key, []).append(("c" if s.direction == "in" else "s", s.data))
    items = list(out.items())
    if sample is not None:
        how, n = sample
        if how == "every":
            items = items[::n]
        else:
            items = [(k, v[:n]) for k, v in items]
    return items


def encode_set(pipe: Pipeline, stream_list) -> tuple[list, list]:
    stateless = []
    for _, messages in stream_list:
        for _, m in messages:
            stateless.append({"m": m.hex(), "f": pipe.encode(m).hex()})
    out = []
    for k, (sid, messages) in enumerate(stream_list):
        check = CHECKS[k % 3]
        a = pipe.session(f"c{k}", check_every=check)
        b = pipe.session(f"s{k}", check_every=check)
        events = []
        client_sent = 0
        for j, (d, m) in enumerate(messages):
            reset = d == "c" and resets(k, client_sent)
            if reset:
                a.reset()
            sender = a if d == "c" else b
            f = sender.encode(m, isolated=isolated(j))
            client_sent += d == "c"
            events.append({"d": d, "m": m.hex(), "f": f.hex(), "iso": isolated(j), "reset": reset})
        out.append({"id": sid, "check": check, "events": events})
    return stateless, out


def encode(spec_path: str, out: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    corpus = Path(spec["corpus"])
    pipes = {name: pipeline(p, spec.get("policy")) for name, p in spec["profiles"].items()}
    sets = []
    for name, files, profile, sample in SETS:
        pipe = pipes[profile]
        stream_list = streams(corpus, files, tuple(sample) if spec["sample"] else None)
        stateless, stream_rows = encode_set(pipe, stream_list)
        sets.append(
            {
                "name": name,
                "profile": profile,
                "fingerprint": pipe.fingerprint,
                "stateless": stateless,
                "streams": stream_rows,
            }
        )
    with open(out, "w") as fh:
        json.dump({"sets": sets}, fh)


def outcome(call) -> object:
    try:
        return call().hex()
    except DecodeError as exc:
        return [type(exc).__name__, str(exc)]


def decode(spec_path: str, path: str, out: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    pipes = {name: pipeline(p, spec.get("policy")) for name, p in spec["profiles"].items()}
    data = json.loads(Path(path).read_text())
    report = []
    for s in data["sets"]:
        pipe = pipes[s["profile"]]
        row = {
            "name": s["name"],
            "fingerprint": pipe.fingerprint,
            "stateless": 0,
            "sessions": 0,
            "mismatches": [],
        }
        for r in s["stateless"]:
            got = outcome(lambda: pipe.decode_bytes(bytes.fromhex(r["f"])))
            row["stateless"] += 1
            if got != r["m"]:
                row["mismatches"].append(
                    {"kind": "stateless", "f": r["f"], "want": r["m"], "got": got}
                )
        for st in s["streams"]:
            a, b = pipe.session(f"pa-{st['id']}"), pipe.session(f"pb-{st['id']}")
            for e in st["events"]:
                receiver = b if e["d"] == "c" else a
                got = outcome(lambda: receiver.decode_bytes(bytes.fromhex(e["f"])))
                row["sessions"] += 1
                if got != e["m"]:
                    row["mismatches"].append(
                        {
                            "kind": "session",
                            "stream": st["id"],
                            "f": e["f"],
                            "want": e["m"],
                            "got": got,
                        }
                    )
        report.append(row)
    with open(out, "w") as fh:
        json.dump({"sets": report}, fh)


def logs_head(corpus: str, n: int, out: str) -> None:
    with open(out, "wb") as fh:
        for system in LOG_SYSTEMS:
            for s in read_corpus([Path(corpus) / "logs" / system / f"{system}_2k.log"])[:n]:
                fh.write(s.data + b"\n")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "encode":
        encode(args[0], args[1])
    elif cmd == "decode":
        decode(args[0], args[1], args[2])
    elif cmd == "logs-head":
        logs_head(args[0], int(args[1]), args[2])
    else:
        raise SystemExit(__doc__)
