"""``lz4``: LZ4 blocks for auracodec, method id ``0x40`` (registered).

Payload: ``[message size as a LEB128 varint][LZ4 block]``. The size comes
first because an LZ4 block does not record it; the decoder checks it against
the output limit before allocating anything, and the decoded size against it
afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lz4.block

from auracodec.plugin import (
    CodecType,
    CorruptPayload,
    CostModel,
    OutputLimitExceeded,
    Setting,
    TruncatedFrame,
    hookimpl,
)

__all__ = ["Lz4Codec"]

NAME = "lz4"
METHOD_ID = 0x40
_MAX_VARINT = 5  # 5 LEB128 bytes hold any size up to 2**35

SETTINGS = (
    Setting.integer("level", 9, 1, 12, "LZ4 HC level (1-2: fast mode); not part of the format."),
)


class Lz4Codec:
    """LZ4 block codec. Thread-safe: python-lz4's block functions keep no state."""

    name = NAME
    method_id = METHOD_ID
    thread_safe = True
    detects = frozenset({"truncation", "extension"})
    cost = 5

    def __init__(self, level: int = 9) -> None:
        self._mode = "high_compression" if level > 2 else "default"
        self._level = level

    def encode(self, message: bytes) -> bytes:
        block = lz4.block.compress(
            message, store_size=False, mode=self._mode, compression=self._level
        )
        return _varint(len(message)) + block

    def decode(self, payload: bytes, limit: int) -> bytes:
        size, pos = _read_varint(payload)
        if size > limit:
            raise OutputLimitExceeded(limit)
        if size == 0:
            if pos + 1 != len(payload) or payload[pos] != 0:
                raise CorruptPayload("an empty message's LZ4 block is one zero byte")
            return b""
        try:
            out = lz4.block.decompress(payload[pos:], uncompressed_size=size)
        except lz4.block.LZ4BlockError as exc:
            raise CorruptPayload(f"LZ4 block is corrupt, truncated or extended: {exc}") from exc
        if len(out) != size:
            raise CorruptPayload(f"LZ4 block decodes to {len(out)} bytes, not the {size} declared")
        return out

    def max_payload_size(self, size: int) -> int:
        return _MAX_VARINT + size + size // 255 + 16  # LZ4_COMPRESSBOUND, plus the size

    def fingerprint(self) -> Mapping[str, str | int]:
        return {"format": 1}


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes) -> tuple[int, int]:
    value = 0
    for i in range(min(len(data), _MAX_VARINT)):
        byte = data[i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if i and byte == 0:
                raise CorruptPayload("message size is not in its shortest form")
            if i + 1 >= len(data):
                raise TruncatedFrame("LZ4 payload ends after the message size")
            return value, i + 1
    if len(data) < _MAX_VARINT:
        raise TruncatedFrame("LZ4 payload ends inside the message size")
    raise CorruptPayload("message size takes more than 5 bytes")


def _factory(settings: Mapping[str, Any]) -> Lz4Codec:
    return Lz4Codec(level=settings["level"])


@hookimpl
def auracodec_codec_types() -> list[CodecType]:
    return [CodecType(NAME, METHOD_ID, _factory, SETTINGS, "LZ4 block, size first")]


@hookimpl
def auracodec_cost_model(codec: object) -> CostModel | None:
    """What lz4 costs, for the ``cost`` selector policy (a prior: training
    measures the real figures). HC levels spend more per byte encoding."""
    if not isinstance(codec, Lz4Codec):
        return None
    return CostModel(
        ratio=0.8,
        encode_ns=1_000.0,
        encode_ns_per_byte=30.0 if codec._level > 2 else 5.0,
        decode_ns=500.0,
        decode_ns_per_byte=1.0,
    )
