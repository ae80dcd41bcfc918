"""LEB128 varints, as payloads use them: canonical, bounded, checked.

``read_varint`` refuses what ``varint`` never writes (a non-minimal encoding,
more than ``max_bytes`` bytes), so every value has exactly one encoding and a
hostile payload cannot make a reader loop or allocate.
"""

from __future__ import annotations

from .errors import CorruptPayload, TruncatedFrame

__all__ = ["read_varint", "unzigzag", "varint", "zigzag"]


def varint(n: int) -> bytes:
    """The LEB128 encoding of ``n >= 0``."""
    if n < 0x80:
        if n < 0:
            raise ValueError(f"varint of a negative number: {n}")
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_varint(
    data: bytes, pos: int, max_bytes: int = 10, what: str = "varint"
) -> tuple[int, int]:
    """Read a varint at ``data[pos]``; return ``(value, position after it)``."""
    end = len(data)
    if pos >= end:
        raise TruncatedFrame(f"payload ends where a {what} should start (byte {pos})")
    byte = data[pos]
    if byte < 0x80:
        return byte, pos + 1
    value = byte & 0x7F
    shift = 7
    i = pos + 1
    while True:
        if i >= end:
            raise TruncatedFrame(f"payload ends inside a {what} (byte {i})")
        if i - pos >= max_bytes:
            raise CorruptPayload(f"{what} at byte {pos} is longer than {max_bytes} bytes")
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i += 1
        if byte < 0x80:
            if byte == 0:
                raise CorruptPayload(f"{what} at byte {pos} is not in its shortest form")
            return value, i
        shift += 7


def zigzag(n: int) -> int:
    """Map signed to unsigned: 0, -1, 1, -2... to 0, 1, 2, 3..."""
    return (n << 1) if n >= 0 else ((-n << 1) - 1)


def unzigzag(n: int) -> int:
    return (n >> 1) if not n & 1 else -((n + 1) >> 1)
