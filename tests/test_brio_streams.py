"""BRIO continuations (``[codecs.brio] streams = true``, context ``0x23``):
streamed replies, raw and in JSON envelopes, the cut, and damaged payloads."""

from __future__ import annotations

import json
import random

import pytest

from auracodec import DecodeError, Pipeline
from auracodec.core.config import Config
from auracodec.core.corpus import builtin_sample
from auracodec.plugins.brio import BrioCodec, _brio
from auracodec.streams import OpenAIEnvelope, split_deltas
from conftest import corpus_path

STREAMS = Config.from_mapping({"codecs": {"brio": {"streams": True}}})
LIMIT = 1 << 20


def streams_pipe(**kw: object) -> Pipeline:
    return Pipeline.from_config(STREAMS, **kw)  # type: ignore[arg-type]


def sample_replies() -> list[str]:
    chats = [s for s in builtin_sample() if s.conv and s.conv.startswith("sample-chat")]
    return [s.data.decode() for s in chats if len(s.data) > 80][:12]


def envelope_stream(reply: str, n: int = 0) -> list[bytes]:
    envelope = OpenAIEnvelope(f"chatcmpl-{n:08x}", 1_700_000_000 + n)
    return [envelope(d) for d in split_deltas(reply)] + [envelope.finish]


def test_the_setting_names_another_context_and_fingerprint() -> None:
    plain, streams = Pipeline.from_config(codecs=["brio"]), streams_pipe(codecs=["brio"])
    assert plain.session().contexts == streams.session().contexts == ["brio"]
    assert "streams" not in BrioCodec().fingerprint()  # earlier fingerprints stand
    assert BrioCodec(streams=True).fingerprint()["streams"] == 1
    assert plain.fingerprint != streams.fingerprint
    a, b = streams.session(), streams.session()
    for m in [b"Hello there, how can I help?", b" Sure", b",", b" here"]:
        frame = a.encode(m)
        assert b.decode_bytes(frame) == m
    assert frame[0] == 0x23


@pytest.mark.parametrize("chunks", [False, True])
def test_replies_round_trip_and_mostly_continue(chunks: bool) -> None:
    pipe = streams_pipe()
    for n, reply in enumerate(sample_replies()):
        deltas = envelope_stream(reply, n) if chunks else [d.encode() for d in split_deltas(reply)]
        tx, rx = pipe.session(), pipe.session()
        continued = 0
        for delta in deltas:
            frame = tx.encode(delta)
            assert rx.decode_bytes(frame) == delta
            continued += frame[0] == 0x23
        # untrained, most raw deltas go raw (their payload would not be
        # shorter); the trained figures are bench/streams.py's
        assert continued >= (len(deltas) * 0.9 if chunks else 1)


def test_a_json_delta_costs_a_few_bytes_once_the_cut_is_known() -> None:
    pipe = streams_pipe()
    reply = sample_replies()[0]
    deltas = envelope_stream(reply)
    tx, rx = pipe.session(), pipe.session()
    sizes = []
    for delta in deltas:
        frame = tx.encode(delta)
        assert rx.decode_bytes(frame) == delta
        sizes.append(len(frame))
    # the envelope (about 150 bytes) is copied, only the delta is coded, even
    # by the untrained model
    body = sizes[3:-1]
    assert sum(body) / len(body) < 8, sizes
    assert len(deltas[5]) > 140


def test_envelopes_that_change_and_long_messages_between() -> None:
    pipe = streams_pipe()
    rng = random.Random(7)
    reply = sample_replies()[1]
    messages: list[bytes] = []
    for n in range(6):
        messages += envelope_stream(reply[rng.randrange(40) :], n)[: rng.randrange(5, 40)]
        messages.append(json.dumps({"event": "usage", "tokens": n}).encode())
        messages.append(reply.encode() * rng.choice([1, 40]))  # past what a cut may copy
        messages += [d.encode() for d in split_deltas(reply)][:20]
    tx, rx = pipe.session(), pipe.session()
    for m in messages:
        assert rx.decode_bytes(tx.encode(m)) == m


def test_chat2_replies_as_deltas_cost_less_than_half_of_their_text() -> None:
    path = corpus_path("chat2", "test.jsonl")
    with path.open(encoding="utf-8") as f:
        replies = [json.loads(line)["text"] for line in f][:40]
    pipe = streams_pipe()
    raw = sent = 0
    for reply in replies:
        tx, rx = pipe.session(), pipe.session()
        for d in split_deltas(reply):
            frame = tx.encode(d)
            assert rx.decode(frame) == d
            raw, sent = raw + len(d.encode()), sent + len(frame)
    # untrained, method bytes included: the context learns within each reply
    assert sent < 0.95 * raw


def contexts(history: list[bytes]) -> tuple[_brio.Context, _brio.Context]:
    model = _brio.Model()
    tx, rx = model.context(streams=True), model.context(streams=True)
    for m in history:
        payload = tx.encode(m)
        assert payload is not None
        assert rx.decode(payload, LIMIT) == m
    return tx, rx


HISTORY = envelope_stream(
    "Streams continue: each token extends the text before it, and its envelope is copied."
)


def test_continues_says_what_encode_does() -> None:
    model = _brio.Model()
    ctx = model.context(streams=True)
    assert not ctx.continues(b"hi")  # nothing to continue yet
    assert ctx.encode(HISTORY[0]) is not None
    assert ctx.continues(b"hi")  # short
    assert ctx.continues(HISTORY[1])  # mostly the previous one
    assert not ctx.continues(b"x" * (_brio.STREAMS_SMALL + 1))  # neither
    assert not model.context().continues(b"hi")  # not a streams context


def test_a_truncated_payload_never_decodes_to_the_message() -> None:
    # BRIO frames carry no checksum (docs/wire-format.md): a truncated payload
    # is refused or decodes to another message, never to this one.
    refused = 0
    for n in range(4, len(HISTORY) - 1):
        tx, rx = contexts(HISTORY[:n])
        payload = tx.encode(HISTORY[n])
        assert payload is not None
        try:
            out = rx.decode(payload[:-1], LIMIT)
        except DecodeError:
            refused += 1
            with pytest.raises(DecodeError):  # and the context stays stopped
                rx.decode(payload, LIMIT)
        else:
            assert out != HISTORY[n]
    assert refused


def test_damaged_payloads_raise_decode_errors_and_stay_bounded() -> None:
    rng = random.Random(12)
    tx, _ = contexts(HISTORY[:8])
    payload = tx.encode(HISTORY[8])
    assert payload is not None
    errors = outputs = 0
    for trial in range(3000):
        _, rx = contexts(HISTORY[:8])
        damaged = bytearray(payload if trial % 3 else rng.randbytes(rng.randrange(1, 12)))
        if trial % 3:
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        limit = rng.choice([LIMIT, 100, 3])
        try:
            out = rx.decode(bytes(damaged), limit)
        except DecodeError:
            errors += 1
        else:
            outputs += 1
            budget = _brio.DEFAULT_MAX_RATIO * len(damaged) + _brio.RATIO_SLACK
            assert len(out) <= min(limit, budget + len(HISTORY[7]))
    assert errors and outputs


def test_a_cut_longer_than_the_previous_message_is_corrupt() -> None:
    # Payloads of every short length, decoded after a 3-byte message: those
    # that name a cut are refused whenever it would copy more than 3 bytes.
    refused = 0
    for first in range(256):
        for second in (0, 0x80, 0xFF):
            _, rx = contexts([b"abc"])
            try:
                out = rx.decode(bytes((first, second)), LIMIT)
            except DecodeError as exc:
                refused += "corrupt" in str(exc)
            else:
                assert len(out) <= 2 * _brio.DEFAULT_MAX_RATIO + _brio.RATIO_SLACK + 3
    assert refused


def test_the_output_limit_counts_the_copied_bytes() -> None:
    tx, rx = contexts(HISTORY[:5])
    payload = tx.encode(HISTORY[5])
    assert payload is not None and len(payload) < 8
    with pytest.raises(DecodeError, match="limit"):
        rx.decode(payload, 100)  # the message is about 150 bytes, all but a few copied


# -- the session's solo path ----------------------------------------------------------


def test_solo_frames_are_counted_observed_and_checked() -> None:
    pipe = streams_pipe()
    tx, rx = pipe.session(check_every=3), pipe.session()
    deltas = envelope_stream(sample_replies()[2])
    for d in deltas:
        assert rx.decode_bytes(tx.encode(d)) == d
    sent = tx.stats.methods["brio+context"].encoded
    assert sent >= len(deltas) - 2
    assert rx.stats.methods["brio+context"].decoded == sent
    # a frame dropped on the way is caught at the next check
    lost = [tx.encode(d) for d in deltas[:4]]
    with pytest.raises(DecodeError):
        for frame in lost[1:]:
            rx.decode_bytes(frame)


def test_isolated_messages_stay_out_of_a_streams_session() -> None:
    pipe = streams_pipe()
    tx, rx = pipe.session(), pipe.session()
    deltas = envelope_stream(sample_replies()[3])
    for d in deltas[:5]:
        assert rx.decode_bytes(tx.encode(d)) == d
    secret = deltas[5].replace(b"content", b"secret!")
    frame = tx.encode(secret, isolated=True)
    assert frame[0] == 0xFF and rx.decode_bytes(frame) == secret
    for d in deltas[6:]:  # continuing from deltas[4], at both ends
        frame = tx.encode(d)
        assert rx.decode_bytes(frame) == d
    assert frame[0] == 0x23


def test_a_solo_context_that_fails_is_dropped_and_the_message_still_goes() -> None:
    pipe = streams_pipe()
    tx, rx = pipe.session(), pipe.session()
    deltas = [d.encode() for d in split_deltas(sample_replies()[4])]
    for d in deltas[:3]:
        assert rx.decode_bytes(tx.encode(d)) == d

    def broken(message: bytes) -> bool:
        raise RuntimeError("a bug")

    (context,) = tx._out or []
    context.solo = broken  # type: ignore[attr-defined]
    for d in deltas[3:]:
        frame = tx.encode(d)
        assert frame[0] != 0x23
        assert rx.decode_bytes(frame) == d
    assert list(tx.stats.faults) == ["context 'brio' encode"]
    assert tx.contexts == []
