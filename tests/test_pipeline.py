"""The pipeline: framing guarantees, strict decoding, stats, fingerprint, API."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

import auracodec
from auracodec import (
    DecodeError,
    EncodeError,
    InvalidUtf8,
    MessageTooLarge,
    OutputLimitExceeded,
    Pipeline,
    TruncatedFrame,
    UnknownMethod,
)
from auracodec.conformance import sample_messages
from auracodec.core.config import Config
from auracodec.core.methods import BUILTIN_IDS

RAW = 0x04


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return Pipeline.from_config()


def test_round_trip_text_and_bytes(pipe: Pipeline) -> None:
    text = "Deployment started at 2025-10-23T10:30:00Z, all checks green. " * 3
    frame = pipe.encode(text)
    assert pipe.decode(frame) == text
    assert pipe.decode_bytes(frame) == text.encode()
    blob = bytes(range(256)) * 4
    assert pipe.decode_bytes(pipe.encode(blob)) == blob
    assert pipe.decode_bytes(pipe.encode(bytearray(b"abc"))) == b"abc"
    assert pipe.decode_bytes(pipe.encode(memoryview(b"xyz"))) == b"xyz"


@given(st.binary(max_size=3000))
def test_frame_never_longer_than_message_plus_one(data: bytes) -> None:
    pipe = _shared()
    frame = pipe.encode(data)
    assert len(frame) <= len(data) + 1
    assert pipe.decode_bytes(frame) == data


@given(st.text(max_size=1500))
def test_text_round_trip(text: str) -> None:
    pipe = _shared()
    assert pipe.decode(pipe.encode(text)) == text


def test_sample_round_trip_and_bound(pipe: Pipeline) -> None:
    for m in sample_messages():
        frame = pipe.encode(m)
        assert len(frame) <= len(m) + 1
        assert pipe.decode_bytes(frame) == m


def test_short_messages_go_raw(pipe: Pipeline) -> None:
    for m in (b"", b"a", b"ok", b"yes!"):
        frame = pipe.encode(m)
        assert frame == bytes([RAW]) + m
        assert pipe.method_of(frame) == "identity"


def test_compressible_message_uses_a_codec(pipe: Pipeline) -> None:
    m = b'{"event":"order.created","id":1,"status":"ok"}' * 20
    frame = pipe.encode(m)
    assert pipe.method_of(frame) in {"zstd", "brotli"}
    assert len(frame) < len(m) // 5


def test_empty_frame(pipe: Pipeline) -> None:
    with pytest.raises(TruncatedFrame, match="empty frame"):
        pipe.decode(b"")
    with pytest.raises(TruncatedFrame, match="empty frame"):
        pipe.decode_bytes(b"")


@pytest.mark.parametrize("method_id", [0x05, 0x3F, 0xBE, 0xFF])
def test_unknown_method(pipe: Pipeline, method_id: int) -> None:
    with pytest.raises(UnknownMethod, match=f"unknown method id 0x{method_id:02x}") as info:
        pipe.decode(bytes([method_id]) + b"payload")
    assert info.value.method_id == method_id
    assert "0x02 zstd" in str(info.value)


def test_decode_errors_are_value_errors(pipe: Pipeline) -> None:
    with pytest.raises(ValueError):
        pipe.decode(b"\x02\xff")


def test_truncated_and_trailing_frames(pipe: Pipeline) -> None:
    m = b"a message that brotli and zstd both shrink, a message that shrinks " * 4
    brotli = pipe.codecs["brotli"]
    frame = bytes([0x01]) + brotli.encode(m)
    with pytest.raises(TruncatedFrame, match="brotli stream ends early"):
        pipe.decode_bytes(frame[:-3])
    with pytest.raises(auracodec.TrailingData, match="follow the end of the brotli stream"):
        pipe.decode_bytes(frame + b"\x00")


def test_output_limit_on_decode() -> None:
    big = Pipeline.from_config()
    small = Pipeline.from_config(Config.from_mapping({"pipeline": {"max_message_size": 1000}}))
    frame = big.encode(b"x" * 5000)
    assert big.method_of(frame) != "identity"
    with pytest.raises(OutputLimitExceeded, match="output limit of 1000 bytes"):
        small.decode_bytes(frame)
    raw = bytes([RAW]) + b"y" * 1001
    with pytest.raises(OutputLimitExceeded):
        small.decode_bytes(raw)


def test_message_too_large() -> None:
    small = Pipeline.from_config(Config.from_mapping({"pipeline": {"max_message_size": 10}}))
    assert small.decode(small.encode("0123456789")) == "0123456789"
    with pytest.raises(MessageTooLarge, match="11 bytes exceeds max_message_size of 10"):
        small.encode("0123456789X")


def test_encode_rejects_non_text(pipe: Pipeline) -> None:
    with pytest.raises(
        TypeError, match="a message is str, bytes, bytearray or memoryview, not int"
    ):
        pipe.encode(42)  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match="not encodable as UTF-8"):
        pipe.encode("lone \ud800 surrogate")
    with pytest.raises(TypeError, match="a frame is bytes, bytearray or memoryview, not str"):
        pipe.decode("text")  # type: ignore[arg-type]


def test_decode_of_non_utf8(pipe: Pipeline) -> None:
    frame = pipe.encode(b"\xff\xfe binary")
    assert pipe.decode_bytes(frame) == b"\xff\xfe binary"
    with pytest.raises(InvalidUtf8, match=r"not UTF-8 text.*use decode_bytes"):
        pipe.decode(frame)


def test_restrict_codecs() -> None:
    pipe = Pipeline.from_config(codecs=["zstd"])
    assert set(pipe.codecs) == {"zstd", "identity"}
    for m in sample_messages()[:50]:
        assert pipe.method_of(pipe.encode(m)) in {"zstd", "identity"}
    with pytest.raises(UnknownMethod):
        pipe.decode(bytes([0x01]) + b"\x0b\x02\x80hi\x03")
    with pytest.raises(auracodec.ConfigError, match="no such codec 'nope'"):
        Pipeline.from_config(codecs=["nope"])


def test_fingerprint() -> None:
    a = Pipeline.from_config()
    assert a.fingerprint == Pipeline.from_config().fingerprint
    assert len(a.fingerprint) == 16
    # The codec set changes it; settings that do not change the format do not.
    assert Pipeline.from_config(codecs=["zstd"]).fingerprint != a.fingerprint
    level = Config.from_mapping({"codecs": {"zstd": {"level": 3}, "brotli": {"quality": 5}}})
    assert Pipeline.from_config(level).fingerprint == a.fingerprint


def test_fingerprint_follows_dictionary(tmp_path) -> None:
    import zstandard

    samples = [f"user {i} logged in from 10.0.0.{i % 250}".encode() for i in range(3000)]
    d = zstandard.train_dictionary(4096, samples)
    (tmp_path / "a.dict").write_bytes(d.as_bytes())
    cfg = Config.from_mapping({"codecs": {"zstd": {"dictionary": "a.dict"}}}, base=tmp_path / "x")
    with_dict = Pipeline.from_config(cfg)
    assert with_dict.fingerprint != Pipeline.from_config().fingerprint


def test_stats(pipe: Pipeline) -> None:
    p = Pipeline.from_config()
    messages = sample_messages()[:100]
    frames = [p.encode(m) for m in messages]
    for f in frames:
        p.decode_bytes(f)
    with pytest.raises(DecodeError):
        p.decode(b"")
    stats = p.stats
    methods = stats.methods
    assert sum(s.encoded for s in methods.values()) == 100
    assert sum(s.decoded for s in methods.values()) == 100
    assert sum(s.bytes_in for s in methods.values()) == sum(map(len, messages))
    assert sum(s.bytes_out for s in methods.values()) == sum(map(len, frames))
    raw = methods.get("identity")
    assert raw is None or raw.expansions == raw.encoded
    for s in methods.values():
        assert 0 < s.encode_us.p50 <= s.encode_us.p95 <= s.encode_us.p99
        assert s.decode_us.samples == s.decoded
    d = stats.to_dict()
    json.dumps(d)
    assert d["decode_errors"] == {"TruncatedFrame": 1}
    assert d["total"]["encoded"] == 100
    assert d["total"]["ratio"] == pytest.approx(
        sum(map(len, messages)) / sum(map(len, frames)), rel=1e-3
    )
    stats.reset()
    assert stats.methods == {} and stats.errors == {}


def test_stats_under_threads() -> None:
    p = Pipeline.from_config(codecs=["zstd"])
    messages = sample_messages()[:50]

    def work() -> None:
        for m in messages:
            p.decode_bytes(p.encode(m))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    methods = p.stats.methods.values()
    assert sum(s.encoded for s in methods) == 200
    assert sum(s.decoded for s in methods) == 200


def test_encode_many_matches_encode() -> None:
    # `smallest` is deterministic; the default `cost` policy adapts as it
    # learns, so its frames may differ between calls (each decodes the same).
    p = Pipeline.from_config(Config.from_mapping({"selector": {"policy": "smallest"}}))
    messages = sample_messages() * 3  # large enough to go parallel
    assert sum(map(len, messages)) > 256 * 1024
    frames = p.encode_many(messages)
    assert frames == [p.encode(m) for m in messages]
    assert p.encode_many(["a", "b"]) == [p.encode("a"), p.encode("b")]


def test_encode_many_with_the_cost_policy_round_trips() -> None:
    p = Pipeline.from_config()
    messages = sample_messages() * 3
    frames = p.encode_many(messages)
    assert [p.decode_bytes(f) for f in frames] == messages
    assert all(len(f) <= len(m) + 1 for f, m in zip(frames, messages, strict=True))


def test_verify_on_encode_counts_and_falls_back() -> None:
    """A codec whose output does not decode is caught by verify and sent raw."""
    from auracodec.plugin import CodecType, hookimpl

    class Liar:
        name = "liar"
        method_id = 0xC1
        thread_safe = True
        detects: frozenset[str] = frozenset()
        cost = 0

        def encode(self, message: bytes) -> bytes:
            return message[: len(message) // 2]

        def decode(self, payload: bytes, limit: int) -> bytes:
            return payload

        def max_payload_size(self, size: int) -> int:
            return size

        def fingerprint(self) -> dict[str, str]:
            return {}

    class Plugin:
        @hookimpl
        def auracodec_codec_types(self) -> list[CodecType]:
            return [CodecType("liar", 0xC1, lambda s: Liar())]

    cfg = Config.from_mapping({"selector": {"verify": True}})
    p = Pipeline.from_config(cfg, codecs=["liar"], plugins=[("liar", Plugin())])
    m = b"verify me please, verify me please"
    frame = p.encode(m)
    assert frame == bytes([RAW]) + m
    assert p.stats.verify_failures == 1
    unverified = Pipeline.from_config(codecs=["liar"], plugins=[("liar", Plugin())])
    assert unverified.decode_bytes(unverified.encode(m)) != m  # what verify prevents


def test_observers_see_messages() -> None:
    from auracodec.plugin import MessageEvent, hookimpl

    seen: list[MessageEvent] = []
    failures: list[str] = []

    class Observer:
        @hookimpl
        def auracodec_message_encoded(self, event: MessageEvent) -> None:
            seen.append(event)

        @hookimpl
        def auracodec_message_decoded(self, event: MessageEvent) -> None:
            seen.append(event)

        @hookimpl
        def auracodec_decode_failed(self, error: Exception) -> None:
            failures.append(type(error).__name__)

    p = Pipeline.from_config(plugins=[("observer", Observer())])
    frame = p.encode("observe this message, observe this message")
    assert p.decode(frame) == "observe this message, observe this message"
    with pytest.raises(UnknownMethod):
        p.decode(b"\xee")
    assert [e.direction for e in seen] == ["out", "in"]
    assert seen[0].frame_size == len(frame) and seen[1].message_size == 42
    assert seen[0].method == p.method_of(frame)
    assert failures == ["UnknownMethod"]


def test_builtin_ids_are_the_published_table() -> None:
    p = Pipeline.from_config()
    for codec in p.codecs.values():
        if p.registry.codec_owner(codec.name).builtin:
            assert BUILTIN_IDS[codec.method_id] == codec.name
    assert BUILTIN_IDS[0x00] == "binary_semantic" and BUILTIN_IDS[0x01] == "brotli"


_PIPE: list[Pipeline] = []


def _shared() -> Pipeline:
    if not _PIPE:
        _PIPE.append(Pipeline.from_config())
    return _PIPE[0]
