"""auracodec's own codecs pass the conformance suite it ships."""

from __future__ import annotations

from auracodec.conformance import CodecConformance
from auracodec.plugins.brotli import BrotliCodec
from auracodec.plugins.identity import Identity
from auracodec.plugins.zstd import ZstdCodec


class TestIdentity(CodecConformance):
    def make_codec(self) -> Identity:
        return Identity()


class TestZstd(CodecConformance):
    def make_codec(self) -> ZstdCodec:
        return ZstdCodec(level=19)


class TestZstdFast(CodecConformance):
    def make_codec(self) -> ZstdCodec:
        return ZstdCodec(level=1)


class TestBrotli(CodecConformance):
    def make_codec(self) -> BrotliCodec:
        return BrotliCodec(quality=11)
