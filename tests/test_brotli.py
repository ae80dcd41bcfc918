"""brotli's window: bounded by the output limit on decode, sized to the message on encode.

The conformance suite (tests/test_conformance_builtin.py) covers the codec's
contract; these tests cover the stream header's window (RFC 7932 section 9.1).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import brotli
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auracodec.plugin import CorruptPayload, OutputLimitExceeded, TrailingData, TruncatedFrame
from auracodec.plugins.brotli import (
    BrotliCodec,
    _bound_window,
    _declared_window,
    _window_bits_for,
)
from golden.make import load

GOLDEN = Path(__file__).parent / "golden" / "brotli.json"
#: 64 MiB of zeros at lgwin 24: a 52-byte stream declaring a 16 MiB window.
BOMB = brotli.compress(b"\x00" * (64 << 20), quality=5, lgwin=24)


def window_bytes(wbits: int) -> int:
    return (1 << wbits) - 16


def test_the_bomb_is_what_the_audit_describes() -> None:
    assert len(BOMB) == 52
    assert _declared_window(BOMB) == (24, 4)


@pytest.mark.parametrize("wbits", range(10, 25))
def test_header_codes_as_brotli_writes_them(wbits: int) -> None:
    payload = brotli.compress(b"", quality=11, lgwin=wbits)
    length = 1 if wbits == 16 else 4 if wbits >= 18 else 7
    assert _declared_window(payload) == (wbits, length)


def test_window_needed_by_a_size() -> None:
    assert [_window_bits_for(n) for n in (0, 1008, 1009, 65520, 65521, 4 << 20)] == [
        10,
        10,
        11,
        16,
        17,
        23,
    ]
    assert _window_bits_for(1 << 30) == 24  # RFC 7932's largest
    for n in range(0, 70_000, 97):
        w = _window_bits_for(n)
        assert window_bytes(w) >= n and (w == 10 or window_bytes(w - 1) < n)


@pytest.mark.parametrize("wbits", range(10, 25))
def test_the_declared_window_is_lowered_to_what_the_limit_needs(wbits: int) -> None:
    payload = brotli.compress(b"hello, hello, hello", quality=11, lgwin=wbits)
    for limit in (0, 100, 5000, 65520, 65521, 200_000, 300_000, 4 << 20, 64 << 20):
        bounded = _bound_window(payload, limit)
        got, length = _declared_window(bounded)
        assert length == _declared_window(payload)[1]  # the rest of the stream is untouched
        assert bounded[1:] == payload[1:]
        # The smallest window of the same code length that holds the limit.
        codes = {1: [16], 4: list(range(18, 25)), 7: [*range(10, 16), 17]}[length]
        fits = [w for w in codes if window_bytes(w) >= limit] or [max(codes)]
        assert got == min(wbits, min(fits))
        assert BrotliCodec().decode(payload, max(limit, 19)) == b"hello, hello, hello"


def test_a_crafted_16_mib_window_is_refused_within_the_limit_s_memory() -> None:
    """Peak RSS of a fresh interpreter around one decode: the 52-byte bomb at
    a 64 KiB limit. The unbounded decoder is measured the same way, to show
    the measurement sees a 16 MiB ring buffer. (VmHWM, not getrusage: a
    child's ru_maxrss starts at its parent's.)"""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc/self/status (Linux)")
    script = textwrap.dedent(
        """
        import json, re, sys
        import brotli
        from auracodec.plugin import DecodeError
        from auracodec.plugins.brotli import BrotliCodec

        bomb = bytes.fromhex(sys.argv[1])
        codec = BrotliCodec()
        def peak():
            status = open("/proc/self/status").read()
            return int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024
        base = peak()
        try:
            codec.decode(bomb, 65536)
            error = None
        except DecodeError as exc:
            error = type(exc).__name__
        bounded = peak() - base
        brotli.Decompressor().process(bomb, output_buffer_limit=65537)
        unbounded = peak() - base
        print(json.dumps([error, bounded, unbounded]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, BOMB.hex()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    error, bounded, unbounded = json.loads(out.stdout)
    assert error == "OutputLimitExceeded"
    assert bounded < 2 << 20  # a 256 KiB window and 64 KiB of output, not 16 MiB
    assert unbounded > 12 << 20


def test_bombs_raise_output_limit_exceeded() -> None:
    codec = BrotliCodec()
    for limit in (0, 1000, 65536, 300_000):
        with pytest.raises(OutputLimitExceeded, match=f"output limit of {limit} bytes"):
            codec.decode(BOMB, limit)


def test_large_window_brotli_is_refused_before_decompressing() -> None:
    # Window code 1, 000, 100 (large window), a reserved 0 bit, then WBITS 30.
    header = bytes([0b0001_0001, 30])
    with pytest.raises(CorruptPayload, match=r"large window \(WBITS 30\).*RFC 7932"):
        BrotliCodec().decode(header + b"\x00" * 40, 1 << 30)
    with pytest.raises(CorruptPayload, match=r"WBITS unknown"):
        BrotliCodec().decode(header[:1], 1000)
    with pytest.raises(TruncatedFrame, match="brotli stream ends early"):
        BrotliCodec().decode(b"", 1000)


def test_golden_vectors_decode_at_the_tightest_limit() -> None:
    """They declare WBITS 22 (the encoder's window before it was sized to the
    message); lowered to what the message's own size needs, they still decode."""
    entries = json.loads(GOLDEN.read_text())
    codec = BrotliCodec()
    for entry in entries:
        message, payload = load(entry["message"]), bytes.fromhex(entry["payload"])
        assert _declared_window(payload)[0] == 22
        assert codec.decode(payload, len(message)) == message
        if message:
            with pytest.raises(OutputLimitExceeded):
                codec.decode(payload, len(message) - 1)


def test_other_encoders_defaults_decode_under_a_small_limit() -> None:
    message = b"a short message from a peer that uses brotli's defaults " * 8
    for lgwin in (22, 24):
        assert BrotliCodec().decode(brotli.compress(message, lgwin=lgwin), 1024) == message


@given(
    message=st.one_of(st.binary(max_size=3000), st.text(max_size=1500).map(str.encode)),
    quality=st.integers(0, 11),
    window=st.integers(10, 24),
)
def test_every_message_declares_only_what_it_needs_and_decodes_at_its_size(
    message: bytes, quality: int, window: int
) -> None:
    codec = BrotliCodec(quality=quality, window=window)
    payload = codec.encode(message)
    wbits, _ = _declared_window(payload)
    floor = 18 if quality < 2 else 16  # brotli's fast qualities declare 18 at least
    assert wbits <= max(floor, _window_bits_for(len(message)))
    if quality >= 2:
        assert wbits <= window
    assert codec.decode(payload, len(message)) == message
    if message:
        with pytest.raises(OutputLimitExceeded):
            codec.decode(payload, len(message) - 1)


@pytest.mark.parametrize("size", [65520, 65521, 131056, 131057, 262128, 262129, 600_000])
def test_large_messages_at_window_boundaries(size: int) -> None:
    """A part repeated from the start, so copies reach as far back as the message allows."""
    head = bytes(range(256)) * 8
    body = (b"%d," % size) * (size // 2)
    message = (head + body[: size - 2 * len(head)] + head)[:size]
    assert len(message) == size
    codec = BrotliCodec(quality=5)
    payload = codec.encode(message)
    assert _declared_window(payload)[0] == max(16, _window_bits_for(size))
    assert codec.decode(payload, size) == message
    for limit in (size - 1, size // 2, 70_000, 1000):
        if limit < size:
            with pytest.raises(OutputLimitExceeded):
                codec.decode(payload, limit)


def test_the_error_path_is_linear_in_the_payload(monkeypatch: pytest.MonkeyPatch) -> None:
    # Telling trailing bytes from corruption used to feed the whole payload a
    # byte at a time (1.26 s of CPU for a 1 MB frame). Count the decoder's
    # calls instead of timing them: at most one chunk is fed byte by byte.
    calls = []

    class Counting(brotli.Decompressor):  # type: ignore[misc]
        def process(self, data: bytes, **kw: int) -> bytes:
            calls.append(len(data))
            return super().process(data, **kw)  # type: ignore[no-any-return]

    codec = BrotliCodec(quality=1, window=22, mode="generic")
    payload = codec.encode(random.Random(3).randbytes(1 << 20) + b"x" * 1000)
    monkeypatch.setattr(brotli, "Decompressor", Counting)
    with pytest.raises(TrailingData, match="2 bytes follow"):
        codec.decode(payload + b"\x00\x01", 4 << 20)
    assert len(calls) < 4096 + len(payload) // 4096 + 16, len(calls)
