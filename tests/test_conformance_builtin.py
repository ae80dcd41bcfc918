"""auracodec's own codecs and session contexts pass the conformance suites it
ships, and decode their golden vectors (tests/golden, regenerated only by a
deliberate format change).

BRIO's codec and the template codec are tested in their own modules
(tests/test_brio.py, tests/test_binary_semantic.py); their contexts here."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import brotli
import pytest
import zstandard

from auracodec.conformance import CodecConformance, ContextConformance
from auracodec.plugin import CodecContext
from auracodec.plugins import brio, zstd
from auracodec.plugins.brio import BrioCodec
from auracodec.plugins.brotli import BrotliCodec
from auracodec.plugins.identity import Identity
from auracodec.plugins.zstd import ZstdCodec
from golden.make import load

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> list[tuple[bytes, bytes]]:
    entries = json.loads((GOLDEN / f"{name}.json").read_text())
    return [(load(e["message"]), bytes.fromhex(e["payload"])) for e in entries]


def zstd_bombs() -> Iterable[bytes]:
    # Escape form, many RLE blocks of 128 KiB each: ~4 MiB from ~100 bytes.
    rle = ((128 * 1024) << 3 | 0b010).to_bytes(3, "little") + b"\x00"
    last = ((128 * 1024) << 3 | 0b011).to_bytes(3, "little") + b"\x00"
    yield b"\xff\x58" + rle * 31 + last
    # A window descriptor asking for a 2 GiB window.
    yield b"\xa8" + b"\x00" * 12
    # A compact block longer than zstd's block maximum.
    yield b"\x00" + b"\x00" * (128 * 1024 + 1)


class TestIdentity(CodecConformance):
    # The raw fallback: it promises to compress nothing (but to accept and
    # round-trip everything, which the suite still checks).
    min_compressed_share = 0.0

    def make_codec(self) -> Identity:
        return Identity()


class TestZstd(CodecConformance):
    golden = golden("zstd")

    def make_codec(self) -> ZstdCodec:
        return ZstdCodec(level=19)

    def crafted_bombs(self) -> Iterable[bytes]:
        return zstd_bombs()


class TestZstdDictionary(CodecConformance):
    golden = golden("zstd-dict")

    def make_codec(self) -> ZstdCodec:
        return ZstdCodec(level=19, dictionary=(GOLDEN / "zstd-sample.dict").read_bytes())

    def crafted_bombs(self) -> Iterable[bytes]:
        return zstd_bombs()


class TestZstdFast(CodecConformance):
    golden = golden("zstd")  # the level does not change the format

    def make_codec(self) -> ZstdCodec:
        return ZstdCodec(level=1)


class TestBrotli(CodecConformance):
    golden = golden("brotli")

    def make_codec(self) -> BrotliCodec:
        return BrotliCodec(quality=11)

    def crafted_bombs(self) -> Iterable[bytes]:
        yield brotli.compress(b"\x00" * (64 << 20), quality=5)
        yield brotli.compress(b"ab" * (4 << 20), quality=1)


# -- session contexts, made by each plugin's auracodec_codec_context hook ----------


class TestBrioContext(ContextConformance):
    # A context holds its adaptive tables (about 250 KB on the sample model,
    # 760 KB on the neutral one), never the messages.
    max_memory = 1 << 20

    def make_codec(self) -> BrioCodec:
        model = zstandard.ZstdDecompressor().decompress(
            (GOLDEN / "brio-sample.model.zst").read_bytes(), max_output_size=1 << 22
        )
        return BrioCodec(model)

    def make_context_pair(self) -> tuple[CodecContext, CodecContext]:
        codec = self.codec
        assert codec is not None
        send = brio.auracodec_codec_context(codec=codec, direction="out")
        recv = brio.auracodec_codec_context(codec=codec, direction="in")
        assert send is not None and recv is not None
        return send, recv

    @pytest.mark.slow  # 2 MiB of messages through both ends: several seconds
    def test_memory(self) -> None:
        super().test_memory()


class TestBrioStreamsContext(TestBrioContext):
    """BRIO's context with continuations (0x23): the same contract."""

    def make_codec(self) -> BrioCodec:
        model = zstandard.ZstdDecompressor().decompress(
            (GOLDEN / "brio-sample.model.zst").read_bytes(), max_output_size=1 << 22
        )
        return BrioCodec(model, streams=True)


class TestZstdContext(ContextConformance):
    # The context keeps the direction's last session_history bytes.
    max_memory = 16 * 1024

    def make_codec(self) -> ZstdCodec:
        dictionary = (GOLDEN / "zstd-sample.dict").read_bytes()
        return ZstdCodec(level=19, dictionary=dictionary, session_history=16 * 1024)

    def make_context_pair(self) -> tuple[CodecContext, CodecContext]:
        codec = self.codec
        assert isinstance(codec, ZstdCodec)
        send = zstd.auracodec_codec_context(codec=codec, direction="out")
        recv = zstd.auracodec_codec_context(codec=codec, direction="in")
        assert send is not None and recv is not None
        return send, recv


def test_zstd_codes_long_messages_at_the_long_level() -> None:
    codec = ZstdCodec(level=19, long_level=3, long_size=200)
    at3 = ZstdCodec(level=3, long_size=1 << 30)
    at19 = ZstdCodec(level=19, long_size=1 << 30)
    text = b" ".join(b"token%d and some words %d" % (i, i * 7 % 13) for i in range(400))
    short, long_ = text[:150], text[:5000]
    assert codec.encode(short) == at19.encode(short)
    assert codec.encode(long_) == at3.encode(long_) != at19.encode(long_)
    payload = codec.encode(long_)
    assert payload is not None and codec.decode(payload, len(long_)) == long_
