"""BRIO: the conformance suite, golden vectors, the reference decoder,
model validation, training and session contexts."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from pathlib import Path

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from auracodec import ConfigError, DecodeError, Pipeline, SessionError
from auracodec.conformance import CodecConformance, sample_messages
from auracodec.core.config import Config
from auracodec.core.corpus import builtin_sample
from auracodec.core.training import train
from auracodec.plugins.brio import BrioCodec, _brio
from brio_ref import RefModel
from golden.make import load

GOLDEN = Path(__file__).parent / "golden"
SAMPLE_MODEL = zstandard.ZstdDecompressor().decompress(
    (GOLDEN / "brio-sample.model.zst").read_bytes(), max_output_size=1 << 22
)


def golden(name: str) -> list[tuple[bytes, bytes]]:
    entries = json.loads((GOLDEN / f"{name}.json").read_text())
    return [(load(e["message"]), bytes.fromhex(e["payload"])) for e in entries]


class TestBrioNeutral(CodecConformance):
    golden = golden("brio")

    def make_codec(self) -> BrioCodec:
        return BrioCodec()

    def crafted_bombs(self) -> list[bytes]:
        # A megabyte of one letter in a few bytes; bit patterns that keep
        # the end-of-message decision at "continue".
        return [self.codec.encode(b"a" * 1_000_000), b"\xff" * 32, b"\x00" * 32]


class TestBrioTrained(CodecConformance):
    golden = golden("brio-sample")

    def make_codec(self) -> BrioCodec:
        return BrioCodec(SAMPLE_MODEL)


def test_reference_decoder_agrees() -> None:
    """The pure-Python decoder, written from docs/brio.md, decodes the C
    coder's payloads bit-exactly: neutral model, trained model, a session."""
    rng = random.Random(5)
    short = [m for m in sample_messages() if 0 < len(m) < 90]
    picked = [*rng.sample(short, 12), b"", b"\x00\xff binary", "ünïcødé 🙂".encode()]
    for blob in (None, SAMPLE_MODEL):
        c_model = _brio.Model(blob)
        ref = RefModel(blob if blob else _brio.neutral_blob())
        for m in picked:
            assert ref.decode(c_model.encode(m), len(m)) == m
    c_ctx, ref_ctx = _brio.Model(SAMPLE_MODEL).context(), RefModel(SAMPLE_MODEL).context()
    for m in picked[:5]:
        assert ref_ctx.decode(c_ctx.encode(m), len(m)) == m


def test_short_chat_messages_compress_well() -> None:
    codec = BrioCodec(SAMPLE_MODEL)
    chat = [s.data for s in builtin_sample() if s.conv and s.conv.startswith("sample-chat")]
    assert sum(len(codec.encode(m)) for m in chat) < sum(map(len, chat)) / 2


@given(st.binary(max_size=300))
def test_hostile_payloads(payload: bytes) -> None:
    model = _brio.Model(SAMPLE_MODEL)
    try:
        out = model.decode(payload, 1000)
    except DecodeError:
        return
    assert len(out) <= 1000


def test_errors_are_auracodec_errors() -> None:
    codec = BrioCodec(SAMPLE_MODEL)
    payload = codec.encode(b"hello there, how are you today?")
    with pytest.raises(DecodeError, match="ends before"):
        codec.decode(payload[:-2], 100)
    with pytest.raises(DecodeError, match="output limit of 5 bytes"):
        codec.decode(payload, 5)
    with pytest.raises(DecodeError):
        codec.decode(payload + b"\x01\x02", 100)


def test_threads_share_one_model() -> None:
    codec = BrioCodec(SAMPLE_MODEL)
    messages = sample_messages()[:100]
    expected = [codec.encode(m) for m in messages]
    results: list[list[bytes]] = [[], []]

    def work(k: int) -> None:
        results[k] = [codec.encode(m) for m in messages]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected, expected]


# -- models in a pipeline ------------------------------------------------------------


def write_config(tmp_path: Path, model: bytes, **extra: str) -> Path:
    (tmp_path / "brio.model").write_bytes(model)
    lines = ["[codecs.brio]", 'model = "brio.model"'] + [f"{k} = {v}" for k, v in extra.items()]
    path = tmp_path / "auracodec.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_models_load_from_config(tmp_path: Path) -> None:
    sha = hashlib.sha256(SAMPLE_MODEL).hexdigest()
    pipe = Pipeline.from_config(write_config(tmp_path, SAMPLE_MODEL, model_sha256=f'"{sha}"'))
    assert pipe.codecs["brio"].fingerprint()["model"] == sha
    assert pipe.fingerprint != Pipeline.from_config().fingerprint


@pytest.mark.parametrize(
    ("model", "extra", "match"),
    [
        (b"not a model", {}, r"codecs\.brio\.model: .*invalid BRIO model"),
        (SAMPLE_MODEL[:-100], {}, r"invalid BRIO model"),
        # A model of another format version (bytes 4-5): say what to do.
        (SAMPLE_MODEL[:4] + b"\x01\x00" + SAMPLE_MODEL[6:], {}, r"train the profile again"),
        (SAMPLE_MODEL, {"model_sha256": '"00"'}, r"does not match model_sha256"),
        (SAMPLE_MODEL, {"model_size": "524288"}, r"more than model_size = 524288"),
    ],
)
def test_bad_models_are_config_errors(
    tmp_path: Path, model: bytes, extra: dict[str, str], match: str
) -> None:
    if "model_size" in extra:
        model = model + b"\x00" * 200_000  # bigger than the cap
    with pytest.raises(ConfigError, match=match):
        Pipeline.from_config(write_config(tmp_path, model, **extra))


@given(st.integers(0, len(SAMPLE_MODEL) - 1), st.integers(1, 255))
def test_corrupted_models_are_refused_or_usable(position: int, flip: int) -> None:
    blob = bytearray(SAMPLE_MODEL)
    blob[position] ^= flip
    try:
        model = _brio.Model(bytes(blob))
    except ValueError as exc:
        assert "invalid BRIO model" in str(exc)
        return
    m = b"a model with one changed byte still codes every message exactly"
    assert model.decode(model.encode(m), len(m)) == m


def test_training_writes_a_model(tmp_path: Path) -> None:
    profile = train(
        builtin_sample(),
        tmp_path,
        config=Config.from_mapping({"codecs": {"brio": {"model_size": 600_000}}}),
    )
    assert (tmp_path / "brio.model").stat().st_size <= 600_000
    pipe = Pipeline.from_config(profile.config_path)
    text = "Sure! Here's a quick way to rename the photos by date."
    assert pipe.decode(pipe.encode(text)) == text
    assert any(r.codec == "brio" for r in profile.results)


# -- sessions -------------------------------------------------------------------------


def test_brio_contexts_in_sessions() -> None:
    pipe = Pipeline.from_config(codecs=["brio"])
    a, b = pipe.session(), pipe.session()
    assert a.contexts == ["brio"]
    chats = [s.data for s in builtin_sample() if s.conv and s.conv.startswith("sample-chat")]
    used = 0
    for m in chats[:80]:
        frame = a.encode(m)
        used += frame[0] == 0x13
        assert b.decode_bytes(frame) == m
    assert used > 10
    assert 0 < a.memory() < 2 * 0.76 * 2**20


def test_session_golden_vectors() -> None:
    """Session payloads pin the carried state: a context reproduces them in
    order, and another decodes them."""
    model = _brio.Model(SAMPLE_MODEL)
    enc, dec = model.context(), model.context()
    for message, payload in golden("brio-session"):
        assert enc.encode(message) == payload
        assert dec.decode(payload, len(message)) == message


def counting_purges(ctx: object) -> list[int]:
    """Record the reference context's map purges (docs/brio.md, section 7)."""
    decoder = ctx.d  # type: ignore[attr-defined]
    purge = decoder.purge
    seen: list[int] = []

    def counted(rmax: int) -> None:
        seen.append(rmax)
        purge(rmax)

    decoder.purge = counted
    return seen


def test_reference_decoder_agrees_on_sessions() -> None:
    """docs/brio.md, section 7, in pure Python: the reference context decodes
    the golden session, purging its small map at message ends as C does."""
    ctx = RefModel(SAMPLE_MODEL).context()
    purges = counting_purges(ctx)
    for message, payload in golden("brio-session"):
        assert ctx.decode(payload, len(message)) == message
    assert purges, "the golden session no longer reaches a purge; lengthen it"


@pytest.mark.slow
def test_reference_decoder_agrees_across_a_history_cut() -> None:
    """Past 64 KiB of history a context keeps the last 32 KiB and rebuilds its
    match table; the reference decoder follows it bit-exactly."""
    sample = sample_messages()
    messages = [b"\n".join(sample[i : i + 40]) for i in range(0, 240, 40)]
    assert sum(map(len, messages)) > 64 << 10
    c_ctx, ref_ctx = _brio.Model(SAMPLE_MODEL).context(), RefModel(SAMPLE_MODEL).context()
    for m in messages:
        assert ref_ctx.decode(c_ctx.encode(m), len(m)) == m
    assert len(ref_ctx.d.buf) < 64 << 10


def test_context_memory_is_bounded_between_messages() -> None:
    """docs/brio.md, section 7: at most 0.76 MiB per context with the default
    session map, however much the connection has carried."""
    ctx = _brio.Model(None).context()
    sample = sample_messages()
    largest = 0
    for round_ in range(3):
        for m in sample:
            ctx.encode(m + b" %d" % round_)
            largest = max(largest, ctx.memory_size)
    ctx.encode(b"\n".join(sample))  # one message of 140 KB
    largest = max(largest, ctx.memory_size)
    assert 0.5 * 2**20 < largest <= 0.76 * 2**20


def test_a_failed_context_frame_stops_the_session() -> None:
    pipe = Pipeline.from_config(codecs=["brio"])
    a, b = pipe.session(), pipe.session()
    for i in range(3):
        b.decode(a.encode(f"warm up message number {i} for the context"))
    frame = a.encode("the context has seen three messages already")
    assert frame[0] == 0x13
    # Zero bytes after a payload decode the same bits (the decoder reads
    # missing bytes as zeros), then the length check refuses them.
    with pytest.raises(DecodeError, match="follow the end"):
        b.decode_bytes(frame + b"\x00" * 8)
    with pytest.raises(SessionError, match="refuses frames"):
        b.decode_bytes(a.encode("next"))
