"""Sessions: per-direction context, isolation, failure and reset."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest
import zstandard

from auracodec import DecodeError, Pipeline, Session, SessionError, TruncatedFrame
from auracodec.conformance import sample_messages
from auracodec.core.config import Config
from auracodec.core.corpus import builtin_sample
from auracodec.plugin import Codec, hookimpl


class RecordingContext:
    """A context that compresses against the start of the last message it absorbed.

    Good enough to test the session machinery: it only decodes right if both
    ends absorbed the same messages, once each.
    """

    cost = 1

    def __init__(self, codec: Codec, method_id: int, direction: str = "out") -> None:
        self.name = codec.name
        self.method_id = method_id
        self.direction = direction
        self.codec = codec
        self.absorbed: list[bytes] = []
        self.resets = 0

    def _key(self) -> bytes:
        return self.absorbed[-1][:8] if self.absorbed else b""

    def encode(self, message: bytes) -> bytes | None:
        key = self._key()
        self.absorb(message)
        if not message.startswith(key) or not key:
            return None
        return bytes((len(key),)) + message[len(key) :]

    def decode(self, payload: bytes, limit: int) -> bytes:
        key = self._key()
        if not payload or payload[0] != len(key):
            raise SessionError_("context out of step")
        message = key + payload[1:]
        self.absorb(message)
        return message

    def absorb(self, message: bytes) -> None:
        self.absorbed.append(message)

    def reset(self) -> None:
        self.absorbed.clear()
        self.resets += 1

    def memory(self) -> int:
        return sum(map(len, self.absorbed))


class SessionError_(DecodeError):
    pass


class ContextPlugin:
    def __init__(self) -> None:
        self.made: list[RecordingContext] = []

    @hookimpl
    def auracodec_codec_context(self, codec: Codec, direction: str) -> RecordingContext | None:
        if codec.name != "zstd":
            return None
        ctx = RecordingContext(codec, 0x1E, direction)
        self.made.append(ctx)
        return ctx

    def last(self, direction: str) -> RecordingContext:
        """The context made last for ``direction`` (a session makes each
        direction's contexts at that direction's first message)."""
        return [c for c in self.made if c.direction == direction][-1]


#: Without BRIO, whose own context would join the recording one.
NO_BRIO = Config.from_mapping({"plugins": {"disable": ["brio"]}})


@pytest.fixture
def pair() -> tuple[Session, Session, ContextPlugin]:
    plugin = ContextPlugin()
    pipe = Pipeline.from_config(NO_BRIO, plugins=[("ctx", plugin)])
    return pipe.session("a"), pipe.session("b"), plugin


def test_conversation_round_trips_both_ways(pair: tuple[Session, Session, ContextPlugin]) -> None:
    a, b, _ = pair
    messages = sample_messages()[:60]
    for i, m in enumerate(messages):
        sender, receiver = (a, b) if i % 2 else (b, a)
        frame = sender.encode(m)
        assert receiver.decode_bytes(frame) == m
    assert a.contexts == ["zstd"]
    assert a.memory() > 0
    assert sum(s.encoded for s in a.stats.methods.values()) == 30


def test_context_frames_are_used_and_stay_in_step(
    pair: tuple[Session, Session, ContextPlugin],
) -> None:
    a, b, plugin = pair
    prefix = b"status update 12345678: "
    for i in range(5):
        frame = a.encode(prefix + b"item %d" % i)
        assert b.decode_bytes(frame) == prefix + b"item %d" % i
        if i:
            assert frame[0] == 0x1E  # the context won
    # a only sent and b only received: the last contexts made are theirs
    out_a, in_b = plugin.last("out"), plugin.last("in")
    assert out_a.absorbed == in_b.absorbed


def test_isolated_messages_stay_out_of_context(
    pair: tuple[Session, Session, ContextPlugin],
) -> None:
    a, b, plugin = pair
    a.decode(b.encode("hello"))
    out_b, in_a = plugin.last("out"), plugin.last("in")  # made at the first message
    secret = "my password is hunter2, my password is hunter2"
    frame = b.encode(secret, isolated=True)
    assert frame[0] == 0xFF
    assert a.decode(frame) == secret
    assert in_a.absorbed == [b"hello"]
    assert out_b.absorbed == [b"hello"]


def test_failure_refuses_frames_until_reset(pair: tuple[Session, Session, ContextPlugin]) -> None:
    a, b, _ = pair
    assert b.decode(a.encode("first message of the conversation")) == (
        "first message of the conversation"
    )
    with pytest.raises(DecodeError):
        b.decode_bytes(b"\x99garbage")
    assert b.failed is not None
    good = a.encode("second message")
    with pytest.raises(SessionError, match="refuses frames since an earlier one failed"):
        b.decode(good)
    # b's next frame asks a to reset; a resets its outgoing side and marks its
    # next frame, which b accepts again.
    request = b.encode("can you say that again?")
    assert request[:2] == b"\xff\xff" and request[2] & 2
    assert a.decode(request) == "can you say that again?"
    again = a.encode("second message")
    assert again[:2] == b"\xff\xff" and again[2] & 1
    assert b.decode(again) == "second message"
    assert b.failed is None
    assert b.decode(a.encode("third")) == "third"


def test_explicit_reset(pair: tuple[Session, Session, ContextPlugin]) -> None:
    a, b, _ = pair
    for i in range(3):
        b.decode(a.encode(f"message {i}"))
        a.decode(b.encode(f"reply {i}"))
    a.reset()
    frame = a.encode("after reset")
    assert frame[2] == 3  # reset done, please reset
    assert b.decode(frame) == "after reset"
    with pytest.raises(SessionError, match="waiting for the peer's reset"):
        a.decode(b"\x04late frame from before the reset")
    back = b.encode("ack")
    assert back[:3] == b"\xff\xff\x01"
    assert a.decode(back) == "ack"


@pytest.mark.parametrize(
    ("frame", "error", "match"),
    [
        (b"", TruncatedFrame, "empty frame"),
        (b"\xff", TruncatedFrame, "ends after its escape byte"),
        (b"\xff\xff\x01", TruncatedFrame, "before its inner frame"),
        (b"\xff\xff\x10\x04x", SessionError, "unknown session control flags 0x10"),
        (b"\xff\xff\x08\x00", TruncatedFrame, "ends inside its check"),
        (b"\xff\xff\x00\x04x", SessionError, "unknown session control flags 0x00"),
        (b"\xff\xff\x04\xff\x04", SessionError, "nests escapes"),
    ],
)
def test_malformed_session_frames(frame: bytes, error: type[Exception], match: str) -> None:
    s = Pipeline.from_config().session()
    with pytest.raises(error, match=match):
        s.decode_bytes(frame)


def test_context_id_clash_is_contained(caplog: pytest.LogCaptureFixture) -> None:
    class Clash:
        @hookimpl
        def auracodec_codec_context(self, codec: Codec, direction: str) -> object:
            return RecordingContext(codec, 0x02) if codec.name == "zstd" else None

    pipe = Pipeline.from_config(NO_BRIO, plugins=[("clash", Clash())])
    a, b = pipe.session(), pipe.session()
    # Both ends refuse the context alike, so zstd works statelessly in step.
    assert a.contexts == b.contexts == []
    assert b.decode(a.encode("hello hello hello hello")) == "hello hello hello hello"
    (where,) = a.stats.faults
    assert "context of 'zstd' from 'clash'" in where
    assert "uses method id 0x02" in caplog.text


def test_sessions_without_contexts_match_the_pipeline() -> None:
    pipe = Pipeline.from_config(NO_BRIO)
    s = pipe.session()
    for m in sample_messages()[:40]:
        frame = s.encode(m)
        assert pipe.decode_bytes(frame) == m  # stateless frames are pipeline frames
        assert len(frame) <= len(m) + 1


@pytest.mark.parametrize("dictionary", [False, True])
def test_zstd_history_context(tmp_path: Path, dictionary: bool) -> None:
    """zstd's opt-in context: each message against the dictionary and the
    direction's recent messages, which both ends hold."""
    table: dict[str, object] = {"session_history": 4096, "session_level": 3}
    if dictionary:
        samples = [s.data for s in builtin_sample()]
        (tmp_path / "z.dict").write_bytes(zstandard.train_dictionary(8192, samples).as_bytes())
        table["dictionary"] = "z.dict"
    # `smallest`: whether the history pays in CPU too is the cost policy's call.
    cfg = Config.from_mapping(
        {"codecs": {"zstd": table}, "selector": {"policy": "smallest"}}, base=tmp_path / "x"
    )
    pipe = Pipeline.from_config(cfg, codecs=["zstd"])
    a, b = pipe.session(), pipe.session()
    assert a.contexts == ["zstd"]
    lines = [
        f'{{"event":"order.created","id":"ord_{i:04d}","amount":{i * 7}}}'.encode()
        for i in range(30)
    ]
    frames = [a.encode(m) for m in lines]
    assert [b.decode_bytes(f) for f in frames] == lines
    assert sum(f[0] == 0x12 for f in frames) > 20  # the history pays on repeats
    # the history (at most session_history), beside the session's own objects
    # and latency buffers
    assert 0 < a.memory() - pipe.session().memory() <= 2 * 4096 + 2048
    assert Pipeline.from_config(cfg).fingerprint != Pipeline.from_config().fingerprint


def test_memory_counts_what_an_idle_session_holds() -> None:
    """session.memory() against what tracemalloc sees sessions allocate."""
    pipe = Pipeline.from_config()
    pipe.session().decode_bytes(b"\xff\x04warm")  # first-use allocations elsewhere
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        sessions = [pipe.session() for _ in range(200)]
        gc.collect()
        idle = (tracemalloc.get_traced_memory()[0] - before) / len(sessions)
        assert 0.7 <= idle / sessions[0].memory() <= 1.3
        for s in sessions:
            s.decode_bytes(b"\xff\x04an isolated frame")
        gc.collect()
        used = (tracemalloc.get_traced_memory()[0] - before) / len(sessions)
        assert 0.7 <= used / sessions[0].memory() <= 1.3
    finally:
        tracemalloc.stop()
    # Contexts are allocated at their first message and counted then.
    s = sessions[0]
    idle_memory = s.memory()
    s.encode("hello there, a message for the context " * 4)
    assert s.memory() > idle_memory + 1000
