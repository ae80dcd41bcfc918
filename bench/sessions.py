"""Sessions against permessage-deflate and stateless coding (issue 5): ``python bench/sessions.py``.

Profile: ``auracodec train`` on chat/train.jsonl. For every conversation of
chat/test, a client and a server session, one context per direction (the
human's turns go client to server, the assistant's server to client):

* session bytes: the frames the sessions produce;
* stateless bytes: the same pipeline's ``encode`` of each message alone;
* permessage-deflate: websockets' defaults with context takeover, one
  compressor per conversation and direction (the emulation the tests check
  byte for byte against a real websockets connection).

The same for long streams: chat2/test grouped by answering model, and the
json corpus grouped by source. Memory held by an idle session (after its
conversation) for the trained and the default profile. Finally 40
conversations go through real WebSocket connections on 127.0.0.1
(``auracodec.loopback``), whose frame bytes must equal the in-process figure.

Writes bench/results/sessions.json.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path

from _common import CORPUS, corpus, exhaustive, train_profile, write

from auracodec import Pipeline
from auracodec.benchmark import permessage_deflate_sizes
from auracodec.core.config import Config
from auracodec.core.corpus import Sample
from auracodec.loopback import Turn, stress


def conversations(samples: list[Sample], key: object = None) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        out[key(s) if key else s.conv].append(s)  # type: ignore[operator]
    return out


def length_class(messages: int) -> str:
    return f"{messages}" if messages < 8 else "8+"


def gain(session: int, stateless: int) -> float:
    return round(1 - session / stateless, 4) if stateless else 0.0


def run(pipe: Pipeline, convs: dict[str, list[Sample]]) -> dict[str, object]:
    session = stateless = raw = 0
    memory: list[int] = []
    context_frames = 0
    # (session, stateless) bytes by conversation length, and of the messages
    # that have an earlier one in their direction (the first cannot gain).
    by_length: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    later = [0, 0]
    for msgs in convs.values():
        client, server = pipe.session(), pipe.session()
        seen: set[str] = set()
        totals = by_length[length_class(len(msgs))]
        for s in msgs:
            sender, receiver = (client, server) if s.direction == "in" else (server, client)
            frame = sender.encode(s.data)
            assert receiver.decode_bytes(frame) == s.data
            alone = len(pipe.encode(s.data))
            session += len(frame)
            stateless += alone
            raw += len(s.data)
            context_frames += frame[0] in (0x12, 0x13)
            totals[0] += len(frame)
            totals[1] += alone
            if s.direction in seen:
                later[0] += len(frame)
                later[1] += alone
            seen.add(s.direction)
        memory += [client.memory(), server.memory()]
    samples = [s for msgs in convs.values() for s in msgs]
    deflate = sum(permessage_deflate_sizes(samples)[0])
    return {
        "conversations": len(convs),
        "messages": len(samples),
        "bytes": raw,
        "session_bytes": session,
        "stateless_bytes": stateless,
        "deflate_bytes": deflate,
        "session_ratio": round(raw / session, 4),
        "stateless_ratio": round(raw / stateless, 4),
        "deflate_ratio": round(raw / deflate, 4),
        "session_gain_over_stateless": gain(session, stateless),
        "gain_by_conversation_length": {
            k: {
                "conversations": sum(length_class(len(m)) == k for m in convs.values()),
                "gain": gain(*v),
            }
            for k, v in sorted(by_length.items(), key=lambda kv: (len(kv[0]), kv[0]))
        },
        "gain_after_the_first_message_of_a_direction": gain(*later),
        "session_over_deflate": round(session / deflate, 4),
        "frames_with_context": context_frames,
        "idle_session_bytes_max": max(memory),
        "idle_session_bytes_median": int(statistics.median(memory)),
    }


def over_websockets(pipe: Pipeline, convs: dict[str, list[Sample]], count: int) -> dict[str, int]:
    """Real connections: each conversation replayed by one client on 127.0.0.1."""
    scripts = [[Turn(s.direction == "in", s.data) for s in msgs] for msgs in convs.values()]
    scripts = scripts[:count]
    result = asyncio.run(
        stress(pipe, scripts, users=len(scripts), messages=min(map(len, scripts)), warmup=0)
    )
    # Each user replays its own script (user i starts at script i) for as
    # many messages as the shortest script has.
    n = min(map(len, scripts))
    expected = 0
    for script in scripts:
        client, server = pipe.session(), pipe.session()
        for turn in script[:n]:
            sender, receiver = (client, server) if turn.from_client else (server, client)
            frame = sender.encode(turn.data)
            receiver.decode_bytes(frame)
            expected += len(frame)
    return {
        "messages": result.messages,
        "frame_bytes_on_the_wire": result.frame_bytes,
        "frame_bytes_in_process": expected,
        "lost": result.lost,
        "altered": result.altered,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        profile = train_profile(CORPUS / "chat" / "train.jsonl", Path(tmp) / "chat")
        trained = Pipeline.from_config(exhaustive(profile))
        chat = conversations(corpus("chat", "test.jsonl"))
        results: dict[str, object] = {"chat_test": run(trained, chat)}
        replies = corpus("chat2", "test.jsonl")
        results["chat2_by_model"] = run(
            trained, conversations(replies, key=lambda s: s.conv.split("-", 3)[-1])
        )
        results["json_by_source"] = run(
            trained, conversations([Sample(s.data, "j", None) for s in corpus("json")])
        )
        default = Config.from_mapping({"selector": {"policy": "smallest"}})
        results["default_profile_chat_test"] = run(Pipeline.from_config(default), chat)
        results["websockets_check"] = over_websockets(trained, chat, 40)
    for name, r in results.items():
        if "session_gain_over_stateless" in r:  # type: ignore[operator]
            print(
                f"{name}: session {r['session_ratio']} stateless {r['stateless_ratio']} "
                f"deflate {r['deflate_ratio']}; gain {r['session_gain_over_stateless']:.2%}; "
                f"x{r['session_over_deflate']} of deflate's bytes; idle session max "
                f"{r['idle_session_bytes_max'] / 1e6:.2f} MB, median "
                f"{r['idle_session_bytes_median'] / 1e6:.2f} MB"
            )
            lengths = r["gain_by_conversation_length"]  # type: ignore[index]
            print(
                "  gain by messages per conversation: "
                + ", ".join(
                    f"{k}: {v['gain']:.2%} ({v['conversations']})" for k, v in lengths.items()
                )
                + f"; after the first message of a direction: "
                f"{r['gain_after_the_first_message_of_a_direction']:.2%}"
            )
        else:
            print(name, r)
    print("wrote", write("sessions.json", results))


if __name__ == "__main__":
    main()
