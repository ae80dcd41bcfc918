"""``brotli``: Brotli (RFC 7932), method id ``0x01`` as in the AURA design.

The payload is a plain brotli stream: it has no header to trim. Decoding is
bounded: ``brotli.decompress`` has no output limit, so the codec drives a
``Decompressor`` with ``output_buffer_limit`` and stops once the output passes
the limit (one call may overshoot it by about the buffer size). A brotli stream
ends with an explicit last meta-block, so truncation and appended bytes are
always detected.

The window is bounded too. The stream header declares the window (WBITS, RFC
7932 section 9.1), and the decoder fills a ring buffer of that size before it
hands output over, so a 52-byte stream declaring 16 MiB would cost 16 MB
whatever the limit. A message of at most ``limit`` bytes never reaches further
back than the smallest window that holds ``limit`` bytes: below that size,
every window decodes the same bytes (brotli's reach is the lesser of the
window and the output so far). So before decompressing, the decoder rewrites a
larger declared window to the smallest one of the same header length that
covers the limit: WBITS is coded in 1 bit (16), 4 bits (18 to 24) or 7 bits
(10 to 15 and 17), and only a same-length code can be swapped in place
without moving the rest of the stream off its byte alignment. The window held
is therefore at most that of the limit, or 256 KiB for a 4-bit header under a
limit of 128 KiB or less. Nothing a message within the limit needs is
refused: frames of earlier versions (WBITS 22) and of other encoders decode as
before. The large-window extension (WBITS up to 30) is not RFC 7932 and is
refused as corrupt.

The encoder declares the smallest window that holds the message, at least
WBITS 16 (its 1-bit code makes the stream shortest) and at most the
``window`` setting. Qualities 0 and 1 always declare at least WBITS 18 (a
limit of brotli's fast compressors); decoders accept that under any limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import brotli

from auracodec.plugin import (
    Codec,
    CodecType,
    CorruptPayload,
    CostModel,
    OutputLimitExceeded,
    Setting,
    TrailingData,
    TruncatedFrame,
    hookimpl,
)

NAME = "brotli"
METHOD_ID = 0x01

_MODES = {"generic": brotli.MODE_GENERIC, "text": brotli.MODE_TEXT, "font": brotli.MODE_FONT}

#: The WBITS each length of the stream header's window code can declare (RFC
#: 7932 section 9.1), by length in bits.
_WINDOW_CODES = {1: (16,), 4: (18, 19, 20, 21, 22, 23, 24), 7: (10, 11, 12, 13, 14, 15, 17)}
#: The smallest WBITS the encoder declares: the 1-bit code.
_MIN_ENCODED_WBITS = 16

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
        self.quality = quality
        self._quality = quality
        self._window = window
        self._mode = _MODES[mode]

    def encode(self, message: bytes) -> bytes:
        lgwin = min(self._window, max(_MIN_ENCODED_WBITS, _window_bits_for(len(message))))
        payload: bytes = brotli.compress(
            message, quality=self._quality, lgwin=lgwin, mode=self._mode
        )
        return payload

    def decode(self, payload: bytes, limit: int) -> bytes:
        payload = _bound_window(payload, limit)
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


def _window_bits_for(size: int) -> int:
    """The smallest WBITS whose window, ``(1 << WBITS) - 16`` bytes, holds ``size`` bytes."""
    return min(24, max(10, (size + 15).bit_length()))


def _declared_window(payload: bytes) -> tuple[int, int]:
    """``(WBITS, code length in bits)`` from the stream header (RFC 7932 section 9.1)."""
    if not payload:
        raise TruncatedFrame("brotli stream ends early (0 bytes)")
    first = payload[0]
    if not first & 1:
        return 16, 1
    if n := (first >> 1) & 0b111:
        return 17 + n, 4
    m = (first >> 4) & 0b111
    if m == 1:
        # Large-window brotli: a reserved bit, then WBITS in 6 bits.
        wbits = f"WBITS {payload[1] & 63}" if len(payload) > 1 else "WBITS unknown"
        raise CorruptPayload(
            f"brotli stream declares a large window ({wbits}): expected an RFC 7932 "
            "stream, whose window codes stop at WBITS 24"
        )
    return (8 + m if m else 17), 7


def _bound_window(payload: bytes, limit: int) -> bytes:
    """``payload`` declaring no more window than ``limit`` needs, where its code allows."""
    wbits, length = _declared_window(payload)
    needed = _window_bits_for(limit)
    codes = _WINDOW_CODES[length]
    target = min((w for w in codes if w >= needed), default=max(codes))
    if target >= wbits:
        return payload
    first = payload[0]
    if length == 4:
        first = (first & ~0b1110) | (target - 17) << 1
    else:  # 7 bits: 1, 000, then m (0 for WBITS 17, else WBITS - 8)
        first = (first & 0b1000_0001) | (0 if target == 17 else target - 8) << 4
    return bytes([first]) + payload[1:]


#: The error path feeds a failing stream this many bytes at a time to find
#: the chunk it fails in, then that chunk a byte at a time.
_DIAGNOSE_CHUNK = 4096


class _Feeder:
    """A decompressor fed piece by piece, counting its output up to ``limit + 1``."""

    def __init__(self, limit: int) -> None:
        self.d = brotli.Decompressor()
        self.limit = limit
        self.total = 0

    def feed(self, data: bytes) -> None:
        """Feed ``data`` and drain what the buffer limit held back (may raise brotli.error)."""
        self.total += len(self.d.process(data, output_buffer_limit=self.limit + 1))
        while self.total <= self.limit and not self.d.is_finished():
            if self.d.can_accept_more_data():
                break
            more = self.d.process(b"", output_buffer_limit=self.limit + 1)
            if not more:
                break
            self.total += len(more)


def _diagnose(payload: bytes, limit: int) -> Exception:
    """Tell trailing bytes and the limit from corruption (error path only).

    The decoder only says that it failed; where the stream ended tells which.
    Chunks find the chunk it fails in; a fresh decoder then takes everything
    before that chunk at once and the chunk a byte at a time: work linear in
    the payload, at most one chunk of single-byte steps.
    """
    start = 0
    f = _Feeder(limit)
    try:
        for start in range(0, len(payload), _DIAGNOSE_CHUNK):
            f.feed(payload[start : start + _DIAGNOSE_CHUNK])
            if f.total > limit:
                return OutputLimitExceeded(limit)
            if f.d.is_finished():
                break
    except brotli.error:
        pass
    f = _Feeder(limit)
    try:
        if start:
            f.feed(payload[:start])
        for end in range(start, min(start + _DIAGNOSE_CHUNK, len(payload))):
            f.feed(payload[end : end + 1])
            if f.total > limit:
                return OutputLimitExceeded(limit)
            if f.d.is_finished():
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


@hookimpl
def auracodec_cost_model(codec: Codec) -> CostModel | None:
    if not isinstance(codec, BrotliCodec):
        return None
    # Measured on chat messages (about 120 bytes) on a 2-core x86-64 VM: quality
    # 11 spends about 0.3 ms per message whatever its size, lower ones a
    # fraction of it; decoding is cheap.
    encode = 300_000.0 if codec.quality >= 10 else 20_000.0 if codec.quality >= 6 else 8_000.0
    return CostModel(
        ratio=0.7,
        encode_ns=encode,
        encode_ns_per_byte=400.0 if codec.quality >= 10 else 20.0,
        decode_ns=3_000.0,
        decode_ns_per_byte=3.0,
    )
