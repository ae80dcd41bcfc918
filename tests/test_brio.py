"""BRIO: the conformance suite, golden vectors, the reference decoder,
model validation, training and session contexts."""

from __future__ import annotations

import hashlib
import json
import mmap
import random
import threading
from pathlib import Path

import brotli
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from auracodec import (
    ConfigError,
    CorruptPayload,
    DecodeError,
    OutputLimitExceeded,
    Pipeline,
    SessionError,
    TruncatedFrame,
)
from auracodec.conformance import CodecConformance, sample_messages
from auracodec.core.config import Config
from auracodec.core.corpus import Sample, builtin_sample
from auracodec.core.training import train
from auracodec.plugins.brio import BrioCodec, BrioContext, _brio
from brio_ref import DecodeError as RefDecodeError
from brio_ref import RefModel
from golden.make import load

GOLDEN = Path(__file__).parent / "golden"
SAMPLE_MODEL = zstandard.ZstdDecompressor().decompress(
    (GOLDEN / "brio-sample.model.zst").read_bytes(), max_output_size=1 << 22
)


def golden(name: str) -> list[tuple[bytes, bytes]]:
    entries = json.loads((GOLDEN / f"{name}.json").read_text())
    return [(load(e["message"]), bytes.fromhex(e["payload"])) for e in entries]


def beyond_cap(message: bytes, payload: bytes) -> bool:
    """Whether the default ratio cap refuses the payload (docs/brio.md, section 1.3)."""
    return len(message) > _brio.DEFAULT_MAX_RATIO * len(payload) + _brio.RATIO_SLACK


def within_cap(vectors: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [v for v in vectors if not beyond_cap(*v)]


class TestBrioNeutral(CodecConformance):
    golden = within_cap(golden("brio"))

    def make_codec(self) -> BrioCodec:
        return BrioCodec()

    def crafted_bombs(self) -> list[bytes]:
        # A megabyte of one letter in a few bytes (BRIO declines to make it:
        # an uncapped coder does); bit patterns that keep the end-of-message
        # decision at "continue".
        bomb = _brio.Model(None, max_ratio=0).encode(b"a" * 1_000_000)
        assert bomb is not None and self.codec.encode(b"a" * 1_000_000) is None
        return [bomb, b"\xff" * 32, b"\x00" * 32]


class TestBrioTrained(CodecConformance):
    golden = within_cap(golden("brio-sample"))

    def make_codec(self) -> BrioCodec:
        return BrioCodec(SAMPLE_MODEL)


@pytest.mark.parametrize(("name", "blob"), [("brio", None), ("brio-sample", SAMPLE_MODEL)])
def test_golden_vectors_beyond_the_cap(name: str, blob: bytes | None) -> None:
    """Vectors made without the cap (a 300 KB run of one letter) still pin the
    bitstream, which the cap does not change: an uncapped model makes and
    decodes them; the codec, capped, refuses them as corrupt."""
    beyond = [v for v in golden(name) if beyond_cap(*v)]
    assert beyond
    uncapped, codec = _brio.Model(blob, max_ratio=0), BrioCodec(blob)
    for message, payload in beyond:
        assert uncapped.encode(message) == payload
        assert uncapped.decode(payload, len(message)) == message
        assert codec.encode(message) is None
        with pytest.raises(CorruptPayload, match="max_ratio"):
            codec.decode(payload, len(message))


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
    # The file is mapped, and the model reads its buckets and APMs in place.
    model = pipe.codecs["brio"].model
    assert model.shared_size > len(SAMPLE_MODEL) // 2
    assert model.memory_size < len(SAMPLE_MODEL)


def test_a_model_reads_a_read_only_blob_in_place(tmp_path: Path) -> None:
    path = tmp_path / "brio.model"
    path.write_bytes(SAMPLE_MODEL)
    m = b"Sure! Here's a quick summary of the steps."
    expected = _brio.Model(bytearray(SAMPLE_MODEL)).encode(m)  # writable: copied
    with path.open("rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    model = _brio.Model(mapped)
    assert model.shared_size > 0 and _brio.Model(bytearray(SAMPLE_MODEL)).shared_size == 0
    assert model.encode(m) == expected
    with pytest.raises(BufferError):
        mapped.close()  # held as long as the model lives
    del model
    mapped.close()


def test_nonzero_padding_is_refused() -> None:
    # Format 3 pads with zeros up to APM1 and to the buckets (multiples of 64).
    small = 64 + 2 * (4096 + 4096 + 32) + 4 * (3 + 1108 * 15 + 16) + 2 * 3 * 5 * 16 * 64
    assert small % 64 != 0
    blob = bytearray(SAMPLE_MODEL)
    blob[small] = 1
    with pytest.raises(ValueError, match="nonzero padding"):
        _brio.Model(bytes(blob))
    with pytest.raises(Exception, match="padding"):
        RefModel(bytes(blob))


@pytest.mark.parametrize(
    ("model", "extra", "match"),
    [
        (b"not a model", {}, r"codecs\.brio\.model: .*invalid BRIO model"),
        # An empty file is not the untrained model (that is: no model key).
        (b"", {}, r"codecs\.brio\.model: .*brio\.model is empty"),
        (SAMPLE_MODEL[:10], {}, r"invalid BRIO model: model blob too short"),
        (SAMPLE_MODEL[:-100], {}, r"invalid BRIO model"),
        # A model of another format version (bytes 4-5): say what to do.
        (SAMPLE_MODEL[:4] + b"\x01\x00" + SAMPLE_MODEL[6:], {}, r"train the profile again"),
        # Format 2 (before the aligned layout of format 3): train again.
        (SAMPLE_MODEL[:4] + b"\x02\x00" + SAMPLE_MODEL[6:], {}, r"with `auracodec train`"),
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
    # Readable as the profile's other files are (by a web server that serves
    # it to clients): 0666 less the umask, not a temporary file's 0600.
    mode = (tmp_path / "brio.model").stat().st_mode & 0o777
    assert mode == (tmp_path / "zstd.dict").stat().st_mode & 0o777
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".brio.model.")]
    pipe = Pipeline.from_config(profile.config_path)
    text = "Sure! Here's a quick way to rename the photos by date."
    assert pipe.decode(pipe.encode(text)) == text
    assert any(r.codec == "brio" for r in profile.results)


def test_training_fits_the_ratio_cap_to_the_traffic(tmp_path: Path) -> None:
    # Chat-like traffic keeps the default cap (and its bound on decoding work);
    # large repetitive documents, which BRIO codes far beyond it, get a larger
    # one, so that BRIO keeps carrying them; a cap the config sets is kept.
    chat = builtin_sample()
    rng = random.Random(5)
    documents = [
        b'{"page": %d, "items": [' % i
        + b",".join(
            b'{"id": %d, "state": "ok", "tags": ["a", "b"]}' % rng.randrange(50) for _ in range(150)
        )
        + b"]}"
        for i in range(40)
    ]
    small = {
        "codecs": {"brio": {"model_size": 600_000}},
        "plugins": {"disable": ["binary_semantic"]},
    }
    fitted = {}
    for name, corpus in (("chat", chat), ("documents", [Sample(d) for d in documents])):
        profile = train(corpus, tmp_path / name, config=Config.from_mapping(small))
        fitted[name] = Config.load(profile.config_path).codec_tables["brio"]["max_ratio"]
    assert fitted["chat"] == _brio.DEFAULT_MAX_RATIO
    assert fitted["documents"] in (2 * _brio.DEFAULT_MAX_RATIO, 4 * _brio.DEFAULT_MAX_RATIO)
    # Under the fitted cap BRIO carries the documents; under the default it declines most.
    pipe = Pipeline.from_config(tmp_path / "documents", codecs=["brio"])
    assert sum(pipe.method_of(pipe.encode(d)) == "brio" for d in documents) >= 36
    default = BrioCodec((tmp_path / "documents" / "brio.model").read_bytes())
    assert sum(default.encode(d) is None for d in documents) >= 20
    chosen = {"codecs": {"brio": {"model_size": 600_000, "max_ratio": 16}}}
    profile = train(chat, tmp_path / "set", config=Config.from_mapping(chosen))
    assert Config.load(profile.config_path).codec_tables["brio"]["max_ratio"] == 16


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


def test_an_idle_context_holds_nothing() -> None:
    codec = BrioCodec(SAMPLE_MODEL)
    a, b = BrioContext(codec), BrioContext(codec)
    assert a.memory() == 0 and b.memory() == 0
    payload = a.encode(b"hello there")
    assert payload is not None and b.decode(payload, 100) == b"hello there"
    # everything the C context holds: history, map, match table, weights
    assert a.memory() > 36 << 11 and b.memory() > 36 << 11
    a.reset()
    assert a.memory() == 0
    again = a.encode(b"hello there")
    assert again == payload  # a reset context codes as a fresh one


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


def test_a_context_refuses_after_any_decode_error_until_reset() -> None:
    """A decode that raised did not absorb its message: the context is out of
    step with the peer's and refuses every later payload until reset()."""
    codec = BrioCodec(SAMPLE_MODEL)
    messages = [b"first message of the connection", b"and a second one", b"third"]
    for bad, limit in (
        (b"\xff" * 16, 1000),  # corrupt
        (None, 3),  # the first message, over the caller's limit
        ("not bytes", 1000),  # a wrong argument
    ):
        send, recv = BrioContext(codec), BrioContext(codec)
        first = send.encode(messages[0])
        assert first is not None
        with pytest.raises((DecodeError, TypeError)):
            recv.decode(first if bad is None else bad, limit)  # type: ignore[arg-type]
        for m in messages[1:]:
            payload = send.encode(m)
            assert payload is not None
            with pytest.raises(SessionError, match="unusable after an earlier error"):
                recv.decode(payload, 1000)
        send.reset()
        recv.reset()
        for m in messages:
            payload = send.encode(m)
            assert payload is not None
            assert recv.decode(payload, 1000) == m


# -- the empty payload (docs/brio.md, section 1.2) --------------------------------------


def test_the_empty_payload_is_the_empty_message_only_where_it_encodes_so() -> None:
    """An empty payload decodes to b"" exactly where the model codes b"" in no
    bytes (the neutral model, a golden vector); under a model that codes it in
    one byte (the sample model) it is truncated. The reference decoder agrees."""
    neutral, sample = BrioCodec(), BrioCodec(SAMPLE_MODEL)
    assert (b"", b"") in golden("brio") and (b"", b"\x00") in golden("brio-sample")
    assert neutral.encode(b"") == b"" and neutral.decode(b"", 100) == b""
    assert RefModel(_brio.neutral_blob()).decode(b"", 100) == b""
    assert sample.encode(b"") == b"\x00" and sample.decode(b"\x00", 100) == b""
    with pytest.raises(TruncatedFrame, match="ends before its message"):
        sample.decode(b"", 100)
    with pytest.raises(RefDecodeError, match="truncated"):
        RefModel(SAMPLE_MODEL).decode(b"", 100)


# -- the ratio cap (docs/brio.md, section 1.3) ------------------------------------------

SLACK = _brio.RATIO_SLACK
UNCAPPED = _brio.Model(SAMPLE_MODEL, max_ratio=0)


def ratio_messages() -> list[bytes]:
    """Messages from incompressible to very repetitive, so that each cap
    below declines some and codes others."""
    sample = sample_messages()
    rng = random.Random(9)
    out = [b"", b"ok", rng.randbytes(300), *sample[::25]]
    for n in (10, 60, 200, 1000, 5000):
        out.append(b"ok " * n)
        out.append(b"\n".join(rng.choices(sample[:30], k=max(1, n // 40))))
    return out


@pytest.mark.parametrize("max_ratio", [1, 4, 32])
def test_the_encoder_declines_exactly_beyond_the_cap(max_ratio: int) -> None:
    capped = _brio.Model(SAMPLE_MODEL, max_ratio=max_ratio)
    coded = declined = 0
    for m in ratio_messages():
        payload = UNCAPPED.encode(m)
        assert payload is not None
        beyond = len(m) > max_ratio * len(payload) + SLACK
        assert capped.encode(m) == (None if beyond else payload)
        declined += beyond
        coded += not beyond
    assert coded and declined


def test_the_decoder_refuses_exactly_beyond_the_cap() -> None:
    """A payload decodes with the smallest cap that allows its message and is
    a CorruptPayload (not the caller's limit) with one less; the reference
    decoder draws the same line."""
    checked = 0
    for m in ratio_messages():
        payload = UNCAPPED.encode(m)
        assert payload is not None
        if len(m) <= SLACK + len(payload):
            continue
        r = -(-(len(m) - SLACK) // len(payload))  # the smallest cap that allows m
        assert _brio.Model(SAMPLE_MODEL, max_ratio=r).decode(payload, 10**7) == m
        with pytest.raises(CorruptPayload, match=rf"max_ratio = {r - 1}\)"):
            _brio.Model(SAMPLE_MODEL, max_ratio=r - 1).decode(payload, 10**7)
        # The caller's limit, when smaller, is what the error names.
        with pytest.raises(OutputLimitExceeded, match=f"limit of {len(m) - 1} bytes"):
            _brio.Model(SAMPLE_MODEL, max_ratio=r).decode(payload, len(m) - 1)
        checked += 1
    assert checked > 3
    m = b"ok " * 60
    payload = UNCAPPED.encode(m)
    assert payload is not None
    r = -(-(len(m) - SLACK) // len(payload))
    assert RefModel(SAMPLE_MODEL).decode(payload, 1000, max_ratio=r) == m
    with pytest.raises(RefDecodeError, match="ratio cap"):
        RefModel(SAMPLE_MODEL).decode(payload, 1000, max_ratio=r - 1)


def test_a_bomb_stops_at_the_cap_not_at_the_limit() -> None:
    bomb = _brio.Model(None, max_ratio=0).encode(b"a" * 1_000_000)
    assert bomb is not None and len(bomb) < 1000
    budget = _brio.DEFAULT_MAX_RATIO * len(bomb) + SLACK
    with pytest.raises(CorruptPayload, match=f"= {budget} bytes"):
        BrioCodec().decode(bomb, 4 << 20)
    ctx = BrioCodec().model.context()
    with pytest.raises(CorruptPayload, match=f"= {budget} bytes"):
        ctx.decode(bomb, 4 << 20)


def test_a_declining_context_absorbs_the_message() -> None:
    """A context that declines a message (beyond its cap) has absorbed it all
    the same: its next payloads are those of a context that coded it, and a
    peer that absorbs the message from another codec decodes them."""
    capped = _brio.Model(SAMPLE_MODEL, max_ratio=4)
    send, recv, witness = capped.context(), capped.context(), UNCAPPED.context()
    sample = sample_messages()
    messages = [m for pair in zip(sample[:40], sample[:40] * 2, strict=False) for m in pair]
    declined = 0
    for m in messages:
        payload, expected = send.encode(m), witness.encode(m)
        assert expected is not None
        if payload is None:
            assert len(m) > 4 * len(expected) + SLACK
            recv.absorb(m)
            declined += 1
        else:
            assert payload == expected
            assert recv.decode(payload, len(m)) == m
    assert 0 < declined < len(messages)


def test_sessions_carry_declined_messages_with_another_codec(tmp_path: Path) -> None:
    """In a session, what the BRIO context declines goes by another codec and
    the peer's context absorbs it: both ends stay in step."""
    config = tmp_path / "auracodec.toml"
    config.write_text("[codecs.brio]\nmax_ratio = 2\n")
    pipe = Pipeline.from_config(config)
    a, b = pipe.session(), pipe.session()
    witness = _brio.Model(None, max_ratio=0).context()  # what a's context codes
    sample = sample_messages()
    longer = [b"\n".join(sample[i : i + 4]) for i in range(0, 40, 4)]
    declined = by_context = 0
    for m in [*longer, *sample[:20], *longer]:
        frame = a.encode(m)
        assert b.decode_bytes(frame) == m
        payload = witness.encode(m)
        assert payload is not None
        declined += len(m) > 2 * len(payload) + SLACK
        by_context += frame[0] == 0x13
    assert declined and by_context


def test_the_cap_is_a_setting_and_part_of_the_fingerprint(tmp_path: Path) -> None:
    assert BrioCodec(max_ratio=8).fingerprint() != BrioCodec().fingerprint()
    assert BrioCodec().fingerprint()["max_ratio"] == _brio.DEFAULT_MAX_RATIO
    config = tmp_path / "auracodec.toml"
    config.write_text("[codecs.brio]\nmax_ratio = 8\n")
    pipe = Pipeline.from_config(config)
    assert pipe.codecs["brio"].fingerprint()["max_ratio"] == 8
    assert pipe.fingerprint != Pipeline.from_config().fingerprint
    config.write_text("[codecs.brio]\nmax_ratio = 0\n")
    with pytest.raises(ConfigError, match=r"codecs\.brio\.max_ratio: expected an integer from 1"):
        Pipeline.from_config(config)


def test_rounding_a_model_keeps_its_layout_and_coarsens_its_tables() -> None:
    messages = [s.data for s in builtin_sample()[:150]]
    full = _brio.train(messages, model_size=420_000, apm2_bits=6)
    assert _brio.train(messages, model_size=420_000, apm2_bits=6, apm_precision=16) == full
    coarse = _brio.train(
        messages, model_size=420_000, apm2_bits=6, apm_precision=5, node_precision=4
    )
    assert len(coarse) == len(full) and coarse[:64] == full[:64]
    # APM1 and APM2 (u16, from the first multiple of 64 after the small
    # tables) are multiples of 2^11; the bucket nodes of 16.
    apm = 113_792
    apms = [int.from_bytes(coarse[i : i + 2], "little") for i in range(apm, apm + 2 * 33 * 4160, 2)]
    assert all(v % 2048 == 0 for v in apms) and len(set(apms)) > 8
    buckets = coarse[388_352:]
    nodes = [b for i, b in enumerate(buckets) if i % 17 >= 2]
    assert any(nodes) and all(b % 16 == 0 for b in nodes)
    assert len(brotli.compress(coarse, quality=11)) < len(brotli.compress(full, quality=11)) / 2
    model = _brio.Model(coarse)
    for m in messages:
        payload = model.encode(m)
        assert payload is None or model.decode(payload, len(m)) == m
    bad = r"apm_precision must be 1\.\.16 and node_precision 1\.\.8"
    with pytest.raises(ValueError, match=bad):
        _brio.train(messages, model_size=420_000, node_precision=9)
