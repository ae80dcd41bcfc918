"""Streamed replies (auracodec.streams): real sessions, and a real websockets server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from auracodec import DecodeError, Pipeline
from auracodec.conformance import sample_messages
from auracodec.streams import (
    OpenAIEnvelope,
    ReplyAssembler,
    encode_reply,
    openai_chunk,
    receive_reply,
    split_deltas,
    stream_reply,
)

PIPE = Pipeline.from_config()
REPLY = (
    "Sure! Here's how Dijkstra's algorithm works:\n\n1. Start at node_A (distance 0).\n"
    "2. Relax   every edge, ¿vale? — 3,141 steps, 🎶 done.  "
)


def test_split_deltas_joins_back_and_is_token_sized() -> None:
    texts = [REPLY, *(m.decode("utf-8", "replace") for m in sample_messages())]
    for text in texts:
        deltas = split_deltas(text)
        assert "".join(deltas) == text
        assert all(deltas)
    deltas = split_deltas(REPLY)
    assert deltas[:6] == ["Sure", "!", " Here", "'", "s", " how"]
    assert " Dijk" in deltas and "stra" in deltas  # long words in pieces of 4 letters
    assert split_deltas("") == []


def test_openai_chunk_is_the_openai_shape() -> None:
    chunk = json.loads(openai_chunk(" hi", id="chatcmpl-1", created=7, model="m"))
    assert chunk == {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 7,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": " hi"}, "finish_reason": None}],
    }
    last = json.loads(OpenAIEnvelope("chatcmpl-1", created=7).finish)
    assert last["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}


@pytest.mark.parametrize("chunks", [False, True])
def test_a_reply_over_a_session_pair(chunks: bool) -> None:
    sender, receiver = PIPE.session(), PIPE.session()
    deltas = split_deltas(REPLY)
    envelope = OpenAIEnvelope("chatcmpl-9", created=1700000000) if chunks else None
    reply = ReplyAssembler(chunks=chunks)
    frames = list(encode_reply(sender, deltas, envelope=envelope))
    assert len(frames) == len(deltas) + chunks  # the closing chunk
    got = [reply.feed(receiver.decode(f)) for f in frames]
    assert reply.text == REPLY
    assert got[: len(deltas)] == deltas
    assert reply.done is chunks
    assert reply.finish_reason == ("stop" if chunks else None)
    # Two replies in a row over the same sessions: the context carries on.
    again = ReplyAssembler(chunks=chunks)
    for frame in encode_reply(sender, deltas, envelope=envelope):
        again.feed(receiver.decode_bytes(frame))
    assert again.text == REPLY


def test_a_chunk_that_is_not_one_is_a_decode_error() -> None:
    reply = ReplyAssembler(chunks=True)
    for bad in ["not json", "{}", '{"choices": []}', '{"choices": [{"delta": {"content": 3}}]}']:
        with pytest.raises(DecodeError, match="expected"):
            reply.feed(bad)
    assert reply.text == "" and reply.deltas == 0


def test_a_streamed_reply_over_a_real_server() -> None:
    pytest.importorskip("websockets", reason="the websocket extra is not installed")
    from auracodec.websocket import AuraConnection, connect, serve

    deltas = split_deltas(REPLY)

    async def tokens() -> AsyncIterator[str]:
        for delta in deltas:
            await asyncio.sleep(0)
            yield delta

    async def handler(conn: AuraConnection) -> None:
        prompt = await conn.recv()
        envelope = OpenAIEnvelope(f"chatcmpl-{len(prompt)}", created=1700000000)
        await stream_reply(conn, tokens(), envelope=envelope)  # as the model produces them
        await stream_reply(conn, deltas)  # raw deltas, from a list
        await conn.send("[DONE]")

    async def main() -> Any:
        async with serve(handler, "127.0.0.1", 0, pipeline=PIPE) as server:
            port = server.sockets[0].getsockname()[1]
            async with connect(f"ws://127.0.0.1:{port}", pipeline=PIPE) as conn:
                await conn.send("tell me")
                reply = await receive_reply(conn)
                raw = ReplyAssembler()
                while (message := await conn.recv()) != "[DONE]":
                    raw.feed(message)
                return reply, raw

    reply, raw = asyncio.run(asyncio.wait_for(main(), 60))
    assert reply.text == REPLY and reply.finish_reason == "stop"
    assert reply.deltas == len(deltas) + 1
    assert raw.text == REPLY and raw.deltas == len(deltas)
