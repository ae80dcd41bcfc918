"""Streamed replies: a reply sent delta by delta over one session.

AI replies travel token by token, each token (a *delta*, a few bytes) one
message, raw or in a small JSON envelope. Over a session the deltas of a reply
share one context, so each costs a few bytes (docs/sessions.md, "Streamed
replies")::

    from auracodec.streams import OpenAIEnvelope, ReplyAssembler, encode_reply

    envelope = OpenAIEnvelope("chatcmpl-42", created=1700000000)
    frames = list(encode_reply(sender, deltas, envelope=envelope))
    reply = ReplyAssembler(chunks=True)
    for frame in frames:
        reply.feed(receiver.decode(frame))
    assert reply.text == "".join(deltas)

Set ``[codecs.brio] streams = true`` in the profile (both ends): BRIO's
session context then codes each delta as the continuation of the text before
it, and copies the JSON envelope a chunk shares with the previous one, so a
delta costs about half of permessage-deflate's bytes raw and a quarter in an
OpenAI chunk (docs/sessions.md, "Streamed replies"; ``bench/streams.py``).

Over a WebSocket connection (``auracodec.websocket``, ``auracodec.asgi``),
``await stream_reply(conn, deltas, envelope=...)`` sends one message per delta
and ``await receive_reply(conn)`` reads chunks until one has a
``finish_reason``.

:func:`split_deltas` cuts text into token-sized deltas for tests, demos and
benchmarks: an approximation of a BPE tokenizer, not one.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from typing import Any, Protocol

import attrs

from .core.errors import DecodeError
from .core.session import Session

__all__ = [
    "OpenAIEnvelope",
    "ReplyAssembler",
    "encode_reply",
    "openai_chunk",
    "receive_reply",
    "split_deltas",
    "stream_reply",
]

#: A word with its leading space in pieces of at most 4 letters, up to 3
#: digits, one other character with its leading space, or a run of whitespace:
#: about 3 bytes a delta on chat replies (a GPT token of English is about 4).
_DELTA = re.compile(r" ?[^\W\d_]{1,4}| ?\d{1,3}| ?[^\w\s]| ?_|\s+")

Envelope = Callable[[str], "str | bytes"]


class _Sender(Protocol):
    async def send(self, message: str | bytes) -> int: ...


class _Receiver(Protocol):
    async def recv(self) -> str: ...


def split_deltas(text: str) -> list[str]:
    """``text`` cut into token-sized deltas that join back into it (deterministic)."""
    return _DELTA.findall(text)


def openai_chunk(
    content: str | None,
    *,
    id: str,
    created: int,
    model: str = "gpt-4o",
    finish_reason: str | None = None,
) -> bytes:
    """One OpenAI-style ``chat.completion.chunk`` as compact JSON (UTF-8);
    ``content=None`` gives the closing chunk's empty delta."""
    delta = {} if content is None else {"content": content}
    chunk = {
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode()


@attrs.frozen
class OpenAIEnvelope:
    """An ``envelope`` for one reply: each delta in an :func:`openai_chunk` with
    this ``id`` and ``created``; :attr:`finish` is the closing chunk."""

    id: str
    created: int
    model: str = "gpt-4o"

    def __call__(self, delta: str) -> bytes:
        return openai_chunk(delta, id=self.id, created=self.created, model=self.model)

    @property
    def finish(self) -> bytes:
        return openai_chunk(
            None, id=self.id, created=self.created, model=self.model, finish_reason="stop"
        )


def _finish(envelope: Envelope | None) -> bytes | None:
    return envelope.finish if isinstance(envelope, OpenAIEnvelope) else None


def encode_reply(
    session: Session, deltas: Iterable[str], *, envelope: Envelope | None = None
) -> Iterator[bytes]:
    """The frames of a reply, one per delta (each wrapped by ``envelope``), over
    ``session``; an :class:`OpenAIEnvelope` adds its closing chunk."""
    for delta in deltas:
        yield session.encode(envelope(delta) if envelope else delta)
    finish = _finish(envelope)
    if finish is not None:
        yield session.encode(finish)


async def stream_reply(
    conn: _Sender,
    deltas: Iterable[str] | AsyncIterable[str],
    *,
    envelope: Envelope | None = None,
) -> int:
    """Send a reply over a connection, ``await conn.send(...)`` per delta (as
    they come, for an async iterable), then an :class:`OpenAIEnvelope`'s
    closing chunk; returns the frame bytes sent."""
    sent = 0
    if isinstance(deltas, AsyncIterable):
        async for delta in deltas:
            sent += await conn.send(envelope(delta) if envelope else delta)
    else:
        for delta in deltas:
            sent += await conn.send(envelope(delta) if envelope else delta)
    finish = _finish(envelope)
    if finish is not None:
        sent += await conn.send(finish)
    return sent


class ReplyAssembler:
    """The receiving side: :meth:`feed` each decoded message; :attr:`text` is the
    reply so far. With ``chunks=True`` messages are ``chat.completion.chunk``
    JSON, and :attr:`finish_reason` is set by the closing chunk."""

    def __init__(self, *, chunks: bool = False) -> None:
        self.chunks = chunks
        self.finish_reason: str | None = None
        self.deltas = 0
        self._parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def done(self) -> bool:
        return self.finish_reason is not None

    def feed(self, message: str | bytes) -> str:
        """Take one message; returns its delta text."""
        if isinstance(message, bytes):
            message = message.decode()
        delta = message
        if self.chunks:
            delta, finish = _read_chunk(message)
            if finish is not None:
                self.finish_reason = finish
        self._parts.append(delta)
        self.deltas += 1
        return delta


def _read_chunk(message: str) -> tuple[str, str | None]:
    try:
        choice: Any = json.loads(message)["choices"][0]
        content = choice["delta"].get("content") or ""
        finish = choice.get("finish_reason")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise DecodeError(
            f"expected a chat.completion.chunk, got {message[:60]!r}: {exc!r}"
        ) from exc
    if not isinstance(content, str) or not (finish is None or isinstance(finish, str)):
        raise DecodeError(f"expected string content and finish_reason, got {message[:60]!r}")
    return content, finish


async def receive_reply(conn: _Receiver) -> ReplyAssembler:
    """Read ``chat.completion.chunk`` messages until one has a ``finish_reason``."""
    reply = ReplyAssembler(chunks=True)
    while not reply.done:
        reply.feed(await conn.recv())
    return reply
