"""``brotli``: Brotli (RFC 7932), method id ``0x01`` as in the AURA design.

The payload is a plain brotli stream: it has no header to trim. Decoding is
bounded: ``brotli.decompress`` has no output limit, so the codec drives a
``Decompressor`` with ``output_buffer_limit`` and stops once the output passes
the limit (one call may overshoot it by about the buffer size, so peak memory
is about twice the limit). A brotli stream ends with an explicit last
meta-block, so truncation and appended bytes are always detected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import brotli

from auracodec.plugin import (
    CodecType,
    CorruptPayload,
    OutputLimitExceeded,
    Setting,
    TrailingData,
    TruncatedFrame,
    hookimpl,
)

NAME = "brotli"
METHOD_ID = 0x01

_MODES = {"generic": brotli.MODE_GENERIC, "text": brotli.MODE_TEXT, "font": brotli.MODE_FONT}

SETTINGS = (
    Setting.integer("quality", 11, 0, 11, "Compression quality; does not change the format."),
    Setting.integer("window", 22, 10, 24, "Window size as log2 (lgwin)."),
    Setting.choice("mode", "text", list(_MODES), "Encoder hint for the kind of input."),
)


class BrotliCodec:
    """Brotli with a bounded decoder. Thread-safe: no shared state."""

    name = NAME
    method_id = METHOD_ID
    thread_safe = True
    detects = frozenset({"truncation", "extension"})
    cost = 20

    def __init__(self, *, quality: int = 11, window: int = 22, mode: str = "text") -> None:
        self._options = {"quality": quality, "lgwin": window, "mode": _MODES[mode]}

    def encode(self, message: bytes) -> bytes:
        payload: bytes = brotli.compress(message, **self._options)
        return payload

    def decode(self, payload: bytes, limit: int) -> bytes:
        d = brotli.Decompressor()
        try:
            parts = [d.process(payload, output_buffer_limit=limit + 1)]
            total = len(parts[0])
            # Drain what the buffer limit held back; each round produces output
            # or ends the loop, so it is bounded by the limit.
            while total <= limit and not d.is_finished() and not d.can_accept_more_data():
                more = d.process(b"", output_buffer_limit=limit + 1 - total)
                if not more:
                    break
                parts.append(more)
                total += len(more)
        except brotli.error as exc:
            raise _diagnose(payload, limit) from exc
        if total > limit:
            raise OutputLimitExceeded(limit)
        if not d.is_finished():
            raise TruncatedFrame(f"brotli stream ends early ({len(payload)} bytes)")
        return b"".join(parts)

    def max_payload_size(self, size: int) -> int:
        # Uncompressed meta-blocks: 3 bytes of header per 64 KiB, plus the stream header.
        return size + 4 + 3 * (size >> 16)

    def fingerprint(self) -> Mapping[str, str | int]:
        return {}


def _diagnose(payload: bytes, limit: int) -> Exception:
    """Tell trailing bytes from corruption (error path only): feed bytes one at a time."""
    d = brotli.Decompressor()
    total = 0
    try:
        for end in range(len(payload)):
            total += len(d.process(payload[end : end + 1], output_buffer_limit=limit + 1))
            while total <= limit and not d.is_finished() and not d.can_accept_more_data():
                more = d.process(b"", output_buffer_limit=limit + 1)
                if not more:
                    break
                total += len(more)
            if total > limit:
                return OutputLimitExceeded(limit)
            if d.is_finished():
                extra = len(payload) - end - 1
                return TrailingData(f"{extra} bytes follow the end of the brotli stream")
    except brotli.error:
        pass
    return CorruptPayload("brotli stream is corrupt")


def _factory(settings: Mapping[str, Any]) -> BrotliCodec:
    return BrotliCodec(
        quality=settings["quality"], window=settings["window"], mode=settings["mode"]
    )


@hookimpl
def auracodec_codec_types() -> list[CodecType]:
    return [CodecType(NAME, METHOD_ID, _factory, SETTINGS, "Brotli (RFC 7932)")]
