"""Every public encode and decode entry point keeps one contract.

Pipeline.decode/decode_bytes (with and without observers) and
Session.decode/decode_bytes go through one decode core; Pipeline.encode,
encode_many and Session.encode (plain and isolated) through one encode path.
The same table of inputs runs through each, and each must give the same
result, the same error class and message, one event, and one count in the
stats of the pipeline or session it belongs to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auracodec import (
    CodecFault,
    DecodeError,
    EncodeError,
    InvalidUtf8,
    MessageTooLarge,
    OutputLimitExceeded,
    Pipeline,
    SessionError,
    TruncatedFrame,
    UnknownMethod,
)
from auracodec.core.config import Config
from auracodec.plugin import CodecType, CorruptPayload, MessageEvent, hookimpl

LIMIT = 4096


class Faulty:
    """A private codec with bugs: encode raises on b"boom", decode raises
    IndexError on payloads starting with b"!", and returns a str on b"?"."""

    name = "faulty"
    method_id = 0xC1
    thread_safe = True
    detects: frozenset[str] = frozenset()
    cost = 5

    def encode(self, message: bytes) -> bytes | None:
        if b"boom" in message:
            raise ValueError("boom")
        if b"str please" in message:
            return "not bytes"  # type: ignore[return-value]
        return None

    def decode(self, payload: bytes, limit: int) -> bytes:
        if payload.startswith(b"!"):
            return b""[5]  # type: ignore[return-value]  # IndexError
        if payload.startswith(b"?"):
            return "text"  # type: ignore[return-value]
        raise CorruptPayload("faulty: not a payload of mine")

    def max_payload_size(self, size: int) -> int:
        return size

    def fingerprint(self) -> dict[str, str | int]:
        return {}


class FaultyPlugin:
    @hookimpl
    def auracodec_codec_types(self) -> list[CodecType]:
        return [CodecType("faulty", 0xC1, lambda settings: Faulty())]


class Recorder:
    """Observes every event; a second instance can be told to raise."""

    def __init__(self, raising: bool = False) -> None:
        self.raising = raising
        self.events: list[tuple[str, Any]] = []

    def _seen(self, kind: str, what: Any) -> None:
        self.events.append((kind, what))
        if self.raising:
            raise RuntimeError("observer bug")

    @hookimpl
    def auracodec_message_encoded(self, event: MessageEvent) -> None:
        self._seen("encoded", event)

    @hookimpl
    def auracodec_message_decoded(self, event: MessageEvent) -> None:
        self._seen("decoded", event)

    @hookimpl
    def auracodec_decode_failed(self, frame_size: int, error: Exception) -> None:
        self._seen("failed", error)


CONFIG = Config.from_mapping({"pipeline": {"max_message_size": LIMIT}})
CODECS = ["zstd", "faulty"]


def make_pipeline(*observers: Recorder) -> Pipeline:
    plugins: list[tuple[str, object]] = [("faulty", FaultyPlugin())]
    plugins += [(f"observer{i}", o) for i, o in enumerate(observers)]
    return Pipeline.from_config(CONFIG, codecs=CODECS, plugins=plugins)


TEXT = "the same words, the same words, the same words again " * 3
ZSTD_FRAME = make_pipeline().encode(TEXT)
assert ZSTD_FRAME[0] == 0x02

#: (id, frame, expected from decode_bytes, expected from decode): an expected
#: value is the result, or (error class, message pattern).
DECODE_TABLE: list[tuple[str, object, Any, Any]] = [
    ("bytes", ZSTD_FRAME, TEXT.encode(), TEXT),
    ("bytearray", bytearray(ZSTD_FRAME), TEXT.encode(), TEXT),
    ("memoryview", memoryview(ZSTD_FRAME), TEXT.encode(), TEXT),
    ("memoryview-slice", memoryview(b"xx" + ZSTD_FRAME)[2:], TEXT.encode(), TEXT),
    ("raw", b"\x04hello", b"hello", "hello"),
    ("raw-empty", b"\x04", b"", ""),
    ("str", "\x04hello", (TypeError, "a frame is bytes, bytearray or memoryview, not str"), None),
    ("none", None, (TypeError, "a frame is bytes, bytearray or memoryview, not NoneType"), None),
    ("empty", b"", (TruncatedFrame, "empty frame"), None),
    ("unknown", b"\x99abc", (UnknownMethod, "unknown method id 0x99"), None),
    ("corrupt", b"\x02\x00\x01garbage", (DecodeError, ""), None),
    ("not-utf8", b"\x04\xff\xfe", b"\xff\xfe", (InvalidUtf8, "not UTF-8")),
    ("too-big", b"\x04" + b"a" * (LIMIT + 1), (OutputLimitExceeded, "4096 bytes"), None),
    ("plugin-decode-error", b"\xc1xyz", (CorruptPayload, "faulty: not a payload"), None),
    (
        "plugin-index-error",
        b"\xc1!",
        (CodecFault, "decoder of 'faulty' .*plugin 'faulty'.* raised IndexError"),
        None,
    ),
    ("plugin-returns-str", b"\xc1?", (CodecFault, "returned str, not bytes"), None),
]


def _pipeline_entry(observed: bool, text: bool) -> Callable[[object], tuple[Any, Any, list[Any]]]:
    def run(frame: object) -> tuple[Any, Any, list[Any]]:
        rec = Recorder()
        pipe = make_pipeline(rec) if observed else make_pipeline()
        decode = pipe.decode if text else pipe.decode_bytes
        return _outcome(lambda: decode(frame)), pipe.stats, rec.events  # type: ignore[arg-type]

    return run


def _session_entry(text: bool) -> Callable[[object], tuple[Any, Any, list[Any]]]:
    def run(frame: object) -> tuple[Any, Any, list[Any]]:
        rec = Recorder()
        session = make_pipeline(rec).session()
        decode = session.decode if text else session.decode_bytes
        return _outcome(lambda: decode(frame)), session.stats, rec.events  # type: ignore[arg-type]

    return run


def _outcome(call: Callable[[], object]) -> Any:
    try:
        return call()
    except (DecodeError, TypeError) as exc:
        return exc


#: entry point -> (run, returns text, observed)
DECODERS = {
    "pipeline.decode_bytes": (_pipeline_entry(False, False), False, False),
    "pipeline.decode": (_pipeline_entry(False, True), True, False),
    "observed pipeline.decode_bytes": (_pipeline_entry(True, False), False, True),
    "observed pipeline.decode": (_pipeline_entry(True, True), True, True),
    "session.decode_bytes": (_session_entry(False), False, True),
    "session.decode": (_session_entry(True), True, True),
}


@pytest.mark.parametrize("entry", list(DECODERS))
@pytest.mark.parametrize(
    ("frame", "as_bytes", "as_text"),
    [row[1:] for row in DECODE_TABLE],
    ids=[r[0] for r in DECODE_TABLE],
)
def test_every_decode_entry_point_keeps_one_contract(
    entry: str, frame: object, as_bytes: Any, as_text: Any
) -> None:
    run, text, observed = DECODERS[entry]
    expected = as_text if text and as_text is not None else as_bytes
    got, stats, events = run(frame)
    if isinstance(expected, tuple):
        error, pattern = expected
        assert isinstance(got, error), f"{entry} returned {got!r}, expected {error.__name__}"
        assert re.search(pattern, str(got)), f"{entry}: {got} does not match {pattern!r}"
        if error is TypeError:
            assert events == [] and stats.errors == {}  # not a frame at all: not counted
        else:
            # One failure, counted where the decoding happened, observed once.
            assert stats.errors == {type(got).__name__: 1}
            assert [k for k, _ in events] == (["failed"] if observed else [])
            assert sum(m.decoded for m in stats.methods.values()) == 0
    else:
        assert got == expected and type(got) is type(expected)
        assert stats.errors == {}
        if observed:
            ((kind, event),) = events
            assert kind == "decoded"
            assert event.message == (expected.encode() if isinstance(expected, str) else expected)
        assert sum(m.decoded for m in stats.methods.values()) == 1


def test_a_plugin_fault_is_chained_and_names_the_plugin() -> None:
    with pytest.raises(CodecFault) as info:
        make_pipeline().decode_bytes(b"\xc1!")
    assert isinstance(info.value.__cause__, IndexError)
    assert info.value.codec == "faulty" and info.value.method_id == 0xC1
    assert "auracodec-" not in str(info.value)  # an in-process plugin has no package


# -- encoding ----------------------------------------------------------------------


def _encoders() -> dict[str, Callable[[Pipeline, object], tuple[bytes, Any, Any]]]:
    def pipeline(p: Pipeline, m: object) -> tuple[bytes, Any, Any]:
        return p.encode(m), p.stats, p.decode_bytes  # type: ignore[arg-type]

    def many(p: Pipeline, m: object) -> tuple[bytes, Any, Any]:
        (frame,) = p.encode_many([m])  # type: ignore[list-item]
        return frame, p.stats, p.decode_bytes

    def session(p: Pipeline, m: object) -> tuple[bytes, Any, Any]:
        s = p.session()
        return s.encode(m), s.stats, p.session().decode_bytes  # type: ignore[arg-type]

    def isolated(p: Pipeline, m: object) -> tuple[bytes, Any, Any]:
        s = p.session()
        return s.encode(m, isolated=True), s.stats, p.session().decode_bytes  # type: ignore[arg-type]

    return {
        "pipeline.encode": pipeline,
        "pipeline.encode_many": many,
        "session.encode": session,
        "session.encode isolated": isolated,
    }


ENCODERS = _encoders()
MESSAGE = "hello hello hello hello hello boom"

ENCODE_TABLE: list[tuple[str, object, Any]] = [
    ("str", MESSAGE, MESSAGE.encode()),
    ("bytes", MESSAGE.encode(), MESSAGE.encode()),
    ("bytearray", bytearray(MESSAGE.encode()), MESSAGE.encode()),
    ("memoryview", memoryview(MESSAGE.encode()), MESSAGE.encode()),
    ("empty", b"", b""),
    ("codec-returns-str", "str please " * 4, ("str please " * 4).encode()),
    ("int", 42, (TypeError, "a message is str, bytes, bytearray or memoryview, not int")),
    ("surrogate", "lone \ud800", (EncodeError, "not encodable as UTF-8")),
    ("too-large", b"x" * (LIMIT + 1), (MessageTooLarge, "exceeds max_message_size of 4096")),
]


@pytest.mark.parametrize("entry", list(ENCODERS))
@pytest.mark.parametrize(
    ("message", "expected"), [row[1:] for row in ENCODE_TABLE], ids=[r[0] for r in ENCODE_TABLE]
)
def test_every_encode_entry_point_keeps_one_contract(
    entry: str, message: object, expected: Any
) -> None:
    rec = Recorder()
    pipe = make_pipeline(rec)
    if isinstance(expected, tuple):
        error, pattern = expected
        with pytest.raises(error, match=pattern):
            ENCODERS[entry](pipe, message)
        assert rec.events == []
        return
    frame, stats, decode = ENCODERS[entry](pipe, message)
    assert decode(frame) == expected
    encoded = [e for k, e in rec.events if k == "encoded"]
    assert len(encoded) == 1 and encoded[0].message == expected
    assert sum(m.encoded for m in stats.methods.values()) == 1
    if b"boom" in expected or b"str please" in expected:
        # The faulty codec raised or returned a str: skipped for this message, counted.
        assert stats.faults == {"codec 'faulty' encode": 1}
    else:
        assert stats.faults == {}


# -- observers, contexts and policies that fail --------------------------------------


def test_an_observer_that_raises_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    good, bad = Recorder(), Recorder(raising=True)
    pipe = make_pipeline(bad, good)
    frame = pipe.encode(TEXT)
    assert pipe.decode(frame) == TEXT
    with pytest.raises(UnknownMethod):
        pipe.decode(b"\x99")
    assert [k for k, _ in good.events] == ["encoded", "decoded", "failed"]
    assert [k for k, _ in bad.events] == ["encoded", "decoded", "failed"]
    assert pipe.stats.faults == {
        "observer 'observer0' in auracodec_message_encoded": 1,
        "observer 'observer0' in auracodec_message_decoded": 1,
        "observer 'observer0' in auracodec_decode_failed": 1,
    }
    assert "observer 'observer0' in auracodec_message_decoded raised RuntimeError" in caplog.text


def test_an_observer_of_sessions_that_raises_changes_nothing() -> None:
    opened: list[object] = []

    class Observer:
        def __init__(self, raising: bool) -> None:
            self.raising = raising

        @hookimpl
        def auracodec_session_opened(self, session: object) -> None:
            opened.append(session)
            if self.raising:
                raise RuntimeError("observer bug")

    plugins = [("bad", Observer(raising=True)), ("good", Observer(raising=False))]
    pipe = Pipeline.from_config(CONFIG, codecs=["zstd"], plugins=plugins)
    session = pipe.session("s-observed")
    assert opened == [session, session]
    assert session.decode(session.encode(TEXT)) == TEXT
    assert pipe.stats.faults == {"observer 'bad' in auracodec_session_opened": 1}


def test_a_context_hook_that_raises_leaves_sessions_working() -> None:
    class Broken:
        @hookimpl
        def auracodec_codec_context(self, codec: object, direction: str) -> None:
            raise RuntimeError("context hook bug")

    pipe = Pipeline.from_config(plugins=[("broken", Broken())])
    a, b = pipe.session(), pipe.session()
    assert a.contexts == ["brio"]  # BRIO's own hook still answers
    for m in ["first message", "second message", "a third one"]:
        assert b.decode(a.encode(m)) == m
    assert any("context hook of 'broken'" in k for k in a.stats.faults)


def test_a_policy_that_raises_sends_raw() -> None:
    from auracodec.plugin import PolicyType

    class Exploding:
        def select(self, message: bytes, codecs: object) -> object:
            raise ZeroDivisionError("policy bug")

    class Policies:
        @hookimpl
        def auracodec_selector_policies(self) -> list[PolicyType]:
            return [PolicyType("exploding", lambda s: Exploding())]

    config = Config.from_mapping({"selector": {"policy": "exploding"}})
    pipe = Pipeline.from_config(config, codecs=["zstd"], plugins=[("p", Policies())])
    frame = pipe.encode(TEXT)
    assert frame[0] == 0x04 and pipe.decode(frame) == TEXT
    assert pipe.stats.faults == {"selector policy": 1}


# -- sessions: isolated messages, text errors, the check -------------------------------


def test_an_isolated_message_gives_one_event_and_one_redacted_audit_line(tmp_path: Path) -> None:
    class Redact:
        @hookimpl
        def auracodec_redact(self, text: str) -> str:
            return text.replace("hunter2", "[secret]")

    config = Config.from_mapping(
        {"observers": {"audit": {"path": str(tmp_path / "audit.jsonl")}}}, base=tmp_path / "x"
    )
    rec = Recorder()
    with Pipeline.from_config(config, plugins=[("redact", Redact()), ("rec", rec)]) as pipe:
        a, b = pipe.session("a"), pipe.session("b")
        frame = a.encode("my password is hunter2", isolated=True)
        assert b.decode(frame) == "my password is hunter2"
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(x["session"], x["direction"]) for x in lines] == [("a", "out"), ("b", "in")]
    assert all(x["text"] == "my password is [secret]" for x in lines)
    assert "hunter2" not in (tmp_path / "audit.jsonl").read_text()
    assert [k for k, _ in rec.events] == ["encoded", "decoded"]
    assert sum(m.encoded for m in a.stats.methods.values()) == 1
    assert pipe.stats.methods == {}  # a session's messages are counted in the session


def test_invalid_utf8_stops_the_session() -> None:
    pipe = Pipeline.from_config(codecs=["zstd"])
    a, b = pipe.session(), pipe.session()
    with pytest.raises(InvalidUtf8):
        b.decode(a.encode(b"\xff\xfe not text"))
    assert isinstance(b.failed, InvalidUtf8)
    with pytest.raises(SessionError, match="refuses frames since an earlier one failed"):
        b.decode(a.encode("fine"))
    assert b.stats.errors == {"InvalidUtf8": 1, "SessionError": 1}


def _conversation(check_every: int) -> tuple[Any, Any, list[bytes]]:
    pipe = Pipeline.from_config(codecs=["zstd"])
    a = pipe.session(check_every=check_every)
    b = pipe.session()
    messages = [b"status %d of the same run" % i for i in range(12)]
    return a, b, messages


def test_the_session_check_catches_a_dropped_frame() -> None:
    a, b, messages = _conversation(check_every=1)
    frames = [a.encode(m) for m in messages]
    assert b.decode_bytes(frames[0]) == messages[0]
    with pytest.raises(SessionError, match="out of step"):
        b.decode_bytes(frames[2])  # frame 1 was lost
    a, b, _ = _conversation(check_every=1)
    frames = [a.encode(m) for m in messages]
    b.decode_bytes(frames[0])
    with pytest.raises(SessionError, match="out of step"):
        b.decode_bytes(frames[0])  # replayed


def test_the_session_check_costs_five_bytes_every_n_messages() -> None:
    plain, b0, messages = _conversation(check_every=0)
    checked, b1, _ = _conversation(check_every=4)
    for i, m in enumerate(messages, 1):
        f0, f1 = plain.encode(m), checked.encode(m)
        assert len(f1) - len(f0) == (5 if i % 4 == 0 else 0)
        assert b0.decode_bytes(f0) == b1.decode_bytes(f1) == m


def test_the_session_check_survives_resets_and_isolated_messages() -> None:
    pipe = Pipeline.from_config()  # BRIO contexts on both ends
    a, b = pipe.session(check_every=1), pipe.session(check_every=1)
    for i in range(6):
        assert b.decode(a.encode(f"message {i} from a")) == f"message {i} from a"
        assert b.decode(a.encode("token abc", isolated=True)) == "token abc"
        assert a.decode(b.encode(f"reply {i} from b")) == f"reply {i} from b"
        if i == 3:
            a.reset()
            assert b.decode(a.encode("after reset")) == "after reset"
            assert a.decode(b.encode("ack")) == "ack"
    assert a.failed is None and b.failed is None


# -- untrusted frames ------------------------------------------------------------------

_DEFAULT = Pipeline.from_config(Config.from_mapping({"pipeline": {"max_message_size": LIMIT}}))
_IDS = sorted({*_DEFAULT.wire.by_id, 0x13, 0xFF})


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_IDS), st.binary(max_size=300), st.booleans())
def test_untrusted_frames_give_bytes_or_a_decode_error(
    method: int, payload: bytes, in_session: bool
) -> None:
    # Every built-in codec (and BRIO's session context, 0x13, and the session
    # prefixes, 0xff) behind the one decode core: within the limit, or a
    # DecodeError subclass, and nothing else.
    frame = bytes((method,)) + payload
    decode = _DEFAULT.session().decode_bytes if in_session else _DEFAULT.decode_bytes
    try:
        out = decode(frame)
    except DecodeError:
        return
    assert type(out) is bytes and len(out) <= LIMIT


#: Session frames with the check, as the wire carries them: the digest (CRC-32
#: of each message's 8-byte big-endian length and its bytes, chained, low 16
#: bits) is wire format, so changing it must be a deliberate act.
GOLDEN_SESSION = [
    (b"hello", "0468656c6c6f"),
    (b"", "ffff0817b904"),
    (b"world!", "04776f726c6421"),
    ("é".encode(), "ffff089dfd04c3a9"),
]


def test_session_check_golden_frames() -> None:
    pipe = Pipeline.from_config(codecs=["identity"])
    sender, receiver = pipe.session(check_every=2), pipe.session()
    for message, frame in GOLDEN_SESSION:
        assert sender.encode(message).hex() == frame
        assert receiver.decode_bytes(bytes.fromhex(frame)) == message
    # The check covers the whole direction: the same last frame after a
    # different history is refused.
    other = pipe.session()
    other.decode_bytes(bytes.fromhex(GOLDEN_SESSION[0][1]))
    with pytest.raises(SessionError, match="out of step"):
        other.decode_bytes(bytes.fromhex(GOLDEN_SESSION[3][1]))
