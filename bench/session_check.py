"""The session check (issue 8): its cost and what it catches.

Run ``python bench/session_check.py``.

Profile: ``auracodec train`` on chat/train.jsonl; messages: the conversations
of chat/test, one session per end, one context per direction (as
bench/sessions.py).

1. Bytes: every conversation coded with ``check_every`` = 0 (off), 1, 4, 8,
   16 and 32; the extra bytes against 0, in total and per message.
2. Desync: for every conversation with at least two messages in a direction,
   one frame of that direction (chosen at random, seeded) is damaged (one bit
   flipped past the method byte), replayed (delivered twice), reordered
   (swapped with the next frame of its direction) or dropped, and the
   receiver decodes what arrives. A conversation is *silent* when some frame
   decoded, without error, to text other than the message it was made from,
   and nothing raised afterwards either; *late* when such wrong text was
   delivered and a later frame raised; *caught* when a frame raised a
   ``DecodeError`` (the check's ``SessionError`` among them) before any wrong
   text was delivered; *harmless* when every frame that decoded gave its own
   message (a replayed or reordered frame coded statelessly, for example) and
   nothing raised.

Writes bench/results/session_check.json.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from _common import CORPUS, corpus, exhaustive, train_profile, write

from auracodec import DecodeError, Pipeline
from auracodec.core.corpus import Sample

EVERY = (0, 1, 4, 8, 16, 32)
SCENARIOS = ("damaged", "replayed", "reordered", "dropped")


def grouped(samples: list[Sample]) -> list[list[Sample]]:
    out: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        out[str(s.conv)].append(s)
    return list(out.values())


def frames_of(pipe: Pipeline, conv: list[Sample], every: int) -> list[tuple[str, bytes, bytes]]:
    """(direction, message, frame) in conversation order, both ends checking."""
    client, server = pipe.session(check_every=every), pipe.session(check_every=every)
    out = []
    for s in conv:
        sender, receiver = (client, server) if s.direction == "in" else (server, client)
        frame = sender.encode(s.data)
        assert receiver.decode_bytes(frame) == s.data
        out.append((s.direction, s.data, frame))
    return out


def cost(pipe: Pipeline, convs: list[list[Sample]]) -> dict[str, object]:
    messages = sum(map(len, convs))
    sizes = {e: sum(len(f) for c in convs for _, _, f in frames_of(pipe, c, e)) for e in EVERY}
    return {
        "messages": messages,
        "bytes": {str(e): n for e, n in sizes.items()},
        "extra_bytes_per_message": {
            str(e): round((n - sizes[0]) / messages, 3) for e, n in sizes.items() if e
        },
        "extra_share": {str(e): round(n / sizes[0] - 1, 4) for e, n in sizes.items() if e},
    }


def disturbed(
    frames: list[tuple[str, bytes, bytes]], scenario: str, rng: random.Random
) -> list[tuple[bytes, bytes]] | None:
    """The (frame, its message) pairs one direction's receiver gets, or None."""
    direction = rng.choice(sorted({d for d, _, _ in frames}))
    mine = [(m, f) for d, m, f in frames if d == direction]
    if len(mine) < 2:
        return None
    i = (
        rng.randrange(len(mine) - 1)
        if scenario in ("reordered", "dropped")
        else rng.randrange(len(mine))
    )
    sent = [(f, m) for m, f in mine]
    if scenario == "damaged":
        f, m = sent[i]
        if len(f) < 2:
            return None
        bit = rng.randrange(8, len(f) * 8)
        damaged = bytearray(f)
        damaged[bit >> 3] ^= 1 << (bit & 7)
        sent[i] = (bytes(damaged), m)
    elif scenario == "replayed":
        sent.insert(i + 1, sent[i])
    elif scenario == "reordered":
        sent[i], sent[i + 1] = sent[i + 1], sent[i]
    else:
        del sent[i]
    return sent


def outcome(pipe: Pipeline, arriving: list[tuple[bytes, bytes]]) -> str:
    receiver = pipe.session()
    wrong = False
    for frame, message in arriving:
        try:
            got = receiver.decode_bytes(frame)
        except DecodeError:
            return "late" if wrong else "caught"
        wrong |= got != message
    return "silent" if wrong else "harmless"


def desync(pipe: Pipeline, convs: list[list[Sample]], every: int) -> dict[str, dict[str, int]]:
    results: dict[str, dict[str, int]] = {}
    for scenario in SCENARIOS:
        rng = random.Random(f"{scenario}-{every}")
        counts: Counter[str] = Counter()
        for conv in convs:
            arriving = disturbed(frames_of(pipe, conv, every), scenario, rng)
            if arriving is not None:
                counts[outcome(pipe, arriving)] += 1
        results[scenario] = {k: counts[k] for k in ("silent", "late", "caught", "harmless")}
    return results


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        profile = train_profile(CORPUS / "chat" / "train.jsonl", Path(tmp) / "chat")
        pipe = Pipeline.from_config(exhaustive(profile))
        convs = grouped(corpus("chat", "test.jsonl"))
        results: dict[str, object] = {"cost": cost(pipe, convs)}
        results["desync"] = {str(e): desync(pipe, convs, e) for e in (0, 1, 4, 8)}
    print("cost:", results["cost"])
    for every, scenarios in results["desync"].items():  # type: ignore[attr-defined]
        print(f"check_every={every}:", scenarios)
    print("wrote", write("session_check.json", results))


if __name__ == "__main__":
    main()
