"""Python's side of the JavaScript client's streamed-reply tests (BRIO with
continuations, ``[codecs.brio] streams = true``, context 0x23).

    python streams.py encode PROFILE CORPUS OUT      Python encodes the streams
    python streams.py decode PROFILE IN OUT          Python decodes what JavaScript encoded
    python streams.py mutate PROFILE IN N OUT [SEED] N damaged 0x23 frames and Python's outcomes

One protocol on both sides: the first REPLIES assistant replies of CORPUS
(chat2/test.jsonl; built-in sample text when the file is absent) are cut by
``auracodec.streams.split_deltas``. Two streams, each over one pair of
sessions (a client "c<k>" and a server "s<k>"): ``raw`` (each delta a
message, check_every = 0) and ``json`` (each delta an OpenAI-style chunk of
``OpenAIEnvelope("chatcmpl-<i>", created=1700000000 + i)``, then its closing
chunk; check_every = 2). Before each reply the client sends one question.

Files are JSON: {"fingerprint", "streams": [{"name", "check", "events":
[{"d": "c" | "s", "m", "f"}]}]}, bytes in hex.
"""

from __future__ import annotations

import json
import os
import random
import sys

from sessions import outcome, pipeline

from auracodec.streams import OpenAIEnvelope, split_deltas

REPLIES = 6
SAMPLES = [
    "Sure! Here's a quick overview of how photosynthesis works: plants capture light "
    "with chlorophyll, split water into oxygen and hydrogen, and use the energy to turn "
    "carbon dioxide into sugars.\n\n1. **Light reactions** happen in the thylakoids.\n"
    "2. **The Calvin cycle** happens in the stroma.",
    "I'd recommend starting with 200 g of flour, 2 eggs and 300 ml of milk — whisk them "
    "until smooth, then rest the batter for 30 minutes. Cook each pancake for about 90 "
    "seconds per side. Enjoy! 🥞",
    "The error `KeyError: 'name'` means the dictionary has no key called `name`. Use "
    "`data.get('name')` to get None instead, or check `if 'name' in data:` first.",
]
CHECKS = {"raw": 0, "json": 2}


def replies(corpus: str) -> list[str]:
    if not os.path.exists(corpus):
        return SAMPLES
    texts = []
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("role") == "assistant" and row.get("text"):
                texts.append(row["text"])
            if len(texts) == REPLIES:
                break
    return texts


def messages(corpus: str, kind: str) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for i, text in enumerate(replies(corpus)):
        out.append(("c", f"question {i}: tell me more about that, please".encode()))
        deltas = split_deltas(text)
        if kind == "raw":
            out += [("s", d.encode()) for d in deltas]
        else:
            envelope = OpenAIEnvelope(f"chatcmpl-{i}", created=1700000000 + i)
            out += [("s", envelope(d)) for d in deltas]
            out.append(("s", envelope.finish))
    return out


def encode(profile: str, corpus: str, out: str) -> None:
    pipe = pipeline(profile)
    streams = []
    for k, (name, check) in enumerate(CHECKS.items()):
        a = pipe.session(f"c{k}", check_every=check)
        b = pipe.session(f"s{k}", check_every=check)
        events = []
        for d, m in messages(corpus, name):
            sender, receiver = (a, b) if d == "c" else (b, a)
            f = sender.encode(m)
            assert receiver.decode_bytes(f) == m
            events.append({"d": d, "m": m.hex(), "f": f.hex()})
        streams.append({"name": name, "check": check, "events": events})
    with open(out, "w") as fh:
        json.dump({"fingerprint": pipe.fingerprint, "streams": streams}, fh)


def decode(profile: str, path: str, out: str) -> None:
    pipe = pipeline(profile)
    with open(path) as fh:
        data = json.load(fh)
    report = {"fingerprint": pipe.fingerprint, "frames": 0, "mismatches": []}
    for k, s in enumerate(data["streams"]):
        a, b = pipe.session(f"pa{k}"), pipe.session(f"pb{k}")
        for e in s["events"]:
            receiver = b if e["d"] == "c" else a
            got = outcome(lambda: receiver.decode_bytes(bytes.fromhex(e["f"])))
            report["frames"] += 1
            if got != e["m"]:
                report["mismatches"].append({"stream": s["name"], "f": e["f"], "want": e["m"], "got": got})
    with open(out, "w") as fh:
        json.dump(report, fh)


def inner(f: bytes) -> int:
    """Where the inner frame (its method id) starts, after a session prefix."""
    if f[:2] == b"\xff\xff":
        return 5 if f[2] & 8 else 3  # SessionFrame.CHECK: two bytes of check
    return 1 if f[:1] == b"\xff" else 0


def damaged(rng: random.Random, f: bytes, at: int) -> bytes:
    """``f`` (a 0x23 frame whose method id is at ``at``) with its payload damaged."""
    head, p = f[: at + 1], f[at + 1 :]
    kind = rng.randrange(5)
    if kind == 0:
        return head + p[: rng.randrange(len(p))]  # truncated (possibly to nothing)
    if kind == 1:
        return head + p + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
    b = bytearray(p)
    for _ in range(1 if kind == 2 else rng.randrange(1, 4)):
        if kind == 4:
            b[rng.randrange(len(b))] = rng.randrange(256)
        else:
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    return head + bytes(b)


def mutate(profile: str, path: str, n: int, out: str, seed: int = 20251130) -> None:
    """n damaged 0x23 frames: a fresh receiver takes the frames of the
    direction before the damaged one, then the damaged one (text), then the
    next valid one (refused until the peer resets)."""
    pipe = pipeline(profile)
    with open(path) as fh:
        data = json.load(fh)
    rng = random.Random(seed)
    targets = []
    for s in data["streams"]:
        mine = [e for e in s["events"] if e["d"] == "s"]
        for pos, e in enumerate(mine):
            f = bytes.fromhex(e["f"])
            at = inner(f)
            if f[at] == 0x23 and len(f) > at + 1:
                targets.append((s["name"], mine, pos, at))
    rows = []
    for _ in range(n):
        name, mine, pos, at = rng.choice(targets)
        bad = damaged(rng, bytes.fromhex(mine[pos]["f"]), at)
        receiver = pipe.session("r")
        for e in mine[:pos]:
            assert receiver.decode_bytes(bytes.fromhex(e["f"])).hex() == e["m"]
        got = outcome(lambda: receiver.decode(bad).encode())
        after = (
            outcome(lambda: receiver.decode_bytes(bytes.fromhex(mine[pos + 1]["f"])))
            if pos + 1 < len(mine)
            else None
        )
        rows.append({"stream": name, "pos": pos, "f": bad.hex(), "r": got, "after": after})
    with open(out, "w") as fh:
        json.dump(rows, fh)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "encode":
        encode(args[0], args[1], args[2])
    elif cmd == "decode":
        decode(args[0], args[1], args[2])
    elif cmd == "mutate":
        mutate(args[0], args[1], int(args[2]), args[3], *(int(a) for a in args[4:5]))
    else:
        raise SystemExit(__doc__)
