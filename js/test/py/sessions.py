"""Python's side of the JavaScript client's cross-language tests: frames and sessions.

    python sessions.py encode PROFILE CORPUS N OUT   Python encodes the first N messages
                                                     (stateless, and as sessions)
    python sessions.py decode PROFILE IN OUT         Python decodes what JavaScript encoded
    python sessions.py mutate PROFILE IN N OUT [SEED]  N damaged frames and Python's outcomes

One protocol on both sides (the JavaScript test follows the same rules): the
k-th conversation gets a client session ("c<k>", sends what human roles say)
and a server session ("s<k>"), both with check_every = (0, 1, 3)[k % 3];
the j-th message of a conversation is isolated when j % 5 == 4; in every
conversation with k % 4 == 1 the client resets before its second message.

Files are JSON: {"fingerprint", "stateless": [{"m", "f"}], "extra": [{"m",
"f"}] (zstd and brotli frames, for the decoders the selector rarely picks),
"sessions": [{"conv", "check", "events": [{"d": "c" | "s", "m", "f", "iso",
"reset"}]}]}, bytes in hex.
"""

from __future__ import annotations

import json
import random
import sys

from auracodec import DecodeError, Pipeline
from auracodec.core.config import Config
from auracodec.core.corpus import read_corpus

CHECKS = (0, 1, 3)
#: The built-in codecs only: the venv may have third-party ones (the example
#: lz4 plugin) that the JavaScript client does not have.
BUILTIN = ["binary_semantic", "brio", "brotli", "identity", "zstd"]


def pipeline(profile: str) -> Pipeline:
    config = Config.load(profile)
    return Pipeline.from_config(config, codecs=[n for n in BUILTIN if n not in config.disable])


def isolated(j: int) -> bool:
    return j % 5 == 4


def resets(k: int, client_sent: int) -> bool:
    return k % 4 == 1 and client_sent == 1


def conversations(corpus: str, n: int) -> list[tuple[str, list[tuple[str, bytes]]]]:
    convs: dict[str, list[tuple[str, bytes]]] = {}
    for s in read_corpus([corpus])[:n]:
        convs.setdefault(s.conv or "", []).append(("c" if s.direction == "in" else "s", s.data))
    return list(convs.items())


def encode(profile: str, corpus: str, n: int, out: str) -> None:
    pipe = pipeline(profile)
    samples = [s.data for s in read_corpus([corpus])[:n]]
    stateless = []
    for m in samples:
        f = pipe.encode(m)
        assert pipe.decode_bytes(f) == m
        stateless.append({"m": m.hex(), "f": f.hex()})
    extra = []
    for name in ("zstd", "brotli"):
        codec = pipe.codecs[name]
        for m in samples[:200]:
            payload = codec.encode(m)
            if payload is not None:
                f = bytes((codec.method_id,)) + payload
                assert pipe.decode_bytes(f) == m
                extra.append({"m": m.hex(), "f": f.hex()})
    sessions = []
    for k, (conv, messages) in enumerate(conversations(corpus, n)):
        check = CHECKS[k % 3]
        a = pipe.session(f"c{k}", check_every=check)
        b = pipe.session(f"s{k}", check_every=check)
        events = []
        client_sent = 0
        for j, (d, m) in enumerate(messages):
            reset = d == "c" and resets(k, client_sent)
            if reset:
                a.reset()
            sender, receiver = (a, b) if d == "c" else (b, a)
            f = sender.encode(m, isolated=isolated(j))
            assert receiver.decode_bytes(f) == m
            client_sent += d == "c"
            events.append({"d": d, "m": m.hex(), "f": f.hex(), "iso": isolated(j), "reset": reset})
        sessions.append({"conv": conv, "check": check, "events": events})
    with open(out, "w") as fh:
        json.dump(
            {
                "fingerprint": pipe.fingerprint,
                "stateless": stateless,
                "extra": extra,
                "sessions": sessions,
            },
            fh,
        )


def outcome(call) -> object:
    try:
        return call().hex()
    except DecodeError as exc:
        return [type(exc).__name__, str(exc)]


def decode(profile: str, path: str, out: str) -> None:
    pipe = pipeline(profile)
    with open(path) as fh:
        data = json.load(fh)
    report = {"fingerprint": pipe.fingerprint, "stateless": 0, "sessions": 0, "mismatches": []}
    for row in data["stateless"] + data["extra"]:
        got = outcome(lambda: pipe.decode_bytes(bytes.fromhex(row["f"])))
        report["stateless"] += 1
        if got != row["m"]:
            report["mismatches"].append({"f": row["f"], "want": row["m"], "got": got})
    for s in data["sessions"]:
        k = s["conv"]
        a, b = pipe.session(f"pa-{k}"), pipe.session(f"pb-{k}")
        for e in s["events"]:
            receiver = b if e["d"] == "c" else a
            got = outcome(lambda: receiver.decode_bytes(bytes.fromhex(e["f"])))
            report["sessions"] += 1
            if got != e["m"]:
                report["mismatches"].append({"conv": k, "f": e["f"], "want": e["m"], "got": got})
    with open(out, "w") as fh:
        json.dump(report, fh)


def damaged(rng: random.Random, p: bytes) -> bytes:
    kind = rng.randrange(8)
    if kind == 0 and p:
        return p[: rng.randrange(len(p))]
    if kind == 1:
        return p + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
    if kind in (2, 3) and p:
        b = bytearray(p)
        for _ in range(1 if kind == 2 else rng.randrange(1, 4)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        return bytes(b)
    if kind == 4 and p:
        b = bytearray(p)
        b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if kind == 5 and p:  # another method id, or a session prefix
        head = rng.choice([0x00, 0x01, 0x02, 0x03, 0x04, 0x12, 0x13, 0xFF, rng.randrange(256)])
        return bytes((head,)) + p[1:]
    if kind == 6:
        return p[:3] + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 24)))
    return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))


def mutate(profile: str, path: str, n: int, out: str, seed: int = 20251130) -> None:
    """n damaged frames: 45% stateless (pipeline and, with a small limit, the
    codec), 55% in sessions (a fresh receiver takes the conversation's frames
    before the damaged one, then the damaged one, then the next valid one)."""
    pipe = pipeline(profile)
    with open(path) as fh:
        data = json.load(fh)
    rng = random.Random(seed)
    frames = [bytes.fromhex(r["f"]) for r in data["stateless"] + data["extra"]]
    convs = [s for s in data["sessions"] if s["events"]]
    rows = []
    for _ in range(n):
        if rng.random() < 0.45:
            f = damaged(rng, rng.choice(frames))
            row = {
                "kind": "stateless",
                "f": f.hex(),
                "r": outcome(lambda: pipe.decode_bytes(f)),
                "text": outcome(lambda: pipe.decode(f).encode()),
            }
            codec = pipe.wire.by_id.get(f[0]) if f else None
            if codec is not None:
                limit = rng.choice([0, 16, 100, 1000])
                row["limit"] = limit
                row["codec"] = outcome(lambda: codec.decode(f[1:], limit))
            rows.append(row)
            continue
        s = rng.choice(convs)
        events = s["events"]
        i = rng.randrange(len(events))
        d = events[i]["d"]
        mine = [
            e for e in events[: i + 2] if e["d"] == d
        ]  # this direction's frames, up to one after
        pos = sum(1 for e in events[:i] if e["d"] == d)
        bad = damaged(rng, bytes.fromhex(mine[pos]["f"]))
        receiver = pipe.session("r")
        history = []
        for e in mine[:pos]:
            history.append(outcome(lambda: receiver.decode_bytes(bytes.fromhex(e["f"]))))
        got = outcome(lambda: receiver.decode(bad).encode())
        after = (
            outcome(lambda: receiver.decode_bytes(bytes.fromhex(mine[pos + 1]["f"])))
            if pos + 1 < len(mine)
            else None
        )
        rows.append(
            {
                "kind": "session",
                "conv": s["conv"],
                "d": d,
                "pos": pos,
                "f": bad.hex(),
                "history_ok": all(h == e["m"] for h, e in zip(history, mine)),
                "r": got,
                "after": after,
            }
        )
    with open(out, "w") as fh:
        json.dump(rows, fh)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "encode":
        encode(args[0], args[1], int(args[2]), args[3])
    elif cmd == "decode":
        decode(args[0], args[1], args[2])
    elif cmd == "mutate":
        mutate(args[0], args[1], int(args[2]), args[3], *(int(a) for a in args[4:5]))
    else:
        raise SystemExit(__doc__)
