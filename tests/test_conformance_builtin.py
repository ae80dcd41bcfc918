"""auracodec's own codecs pass the conformance suite it ships, and decode their
golden vectors (tests/golden, regenerated only by a deliberate format change)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import brotli

from auracodec.conformance import CodecConformance
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
