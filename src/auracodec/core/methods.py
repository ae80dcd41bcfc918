"""Method ids: the first byte of every frame.

A frame is ``[method id][payload]``; the id names the codec that decodes the
payload. The table below is the registry. It is data, published in
``docs/method-ids.md``, and checked when plugins load (see
:func:`check_method_id`).

====================  =========================================================
id                    use
====================  =========================================================
``0x00``              ``binary_semantic``: templates with typed slots (AURA design)
``0x01``              ``brotli`` (AURA design)
``0x02``              ``zstd``, minimal frame, optional trained dictionary
``0x03``              ``brio``, trained context-model entropy coder
``0x04``              ``identity``: the raw message, the fallback of every pipeline
``0x05``-``0x0f``     reserved for auracodec's own codecs
``0x10``-``0x1f``     session contexts of auracodec's codecs (``0x10`` + the codec's
                      id: ``0x13`` is BRIO carrying its adaptation across messages,
                      ``0x12`` zstd against the session's recent history)
``0x20``-``0x2f``     session contexts with continuations (``0x20`` + the codec's id:
                      ``0x23`` is BRIO's with ``streams = true``, coding a short
                      message as the continuation of the one before, for replies
                      streamed token by token)
``0x30``-``0x3f``     reserved for auracodec's own codecs
``0x40``-``0xbf``     registered third-party codecs: ask for an id (docs/method-ids.md)
``0xc0``-``0xfe``     private use: never registered, for codecs that stay in-house
``0xff``              reserved: never a method, kept for a future frame format
====================  =========================================================
"""

from __future__ import annotations

import enum

__all__ = [
    "BUILTIN_IDS",
    "REGISTERED_IDS",
    "IdRange",
    "check_method_id",
    "id_range",
]


class IdRange(enum.Enum):
    """The ranges of the method id space."""

    BUILTIN = (0x00, 0x3F)
    REGISTERED = (0x40, 0xBF)
    PRIVATE = (0xC0, 0xFE)
    RESERVED = (0xFF, 0xFF)

    @property
    def first(self) -> int:
        return self.value[0]

    @property
    def last(self) -> int:
        return self.value[1]


#: auracodec's own codecs. Only plugins shipped in the ``auracodec``
#: distribution may claim these ids, and only under these names.
BUILTIN_IDS: dict[int, str] = {
    0x00: "binary_semantic",
    0x01: "brotli",
    0x02: "zstd",
    0x03: "brio",
    0x04: "identity",
}

#: Third-party codecs with a registered id.
REGISTERED_IDS: dict[int, tuple[str, str]] = {
    0x40: ("lz4", "auracodec-lz4 (examples/auracodec-lz4 in this repository)"),
}


def id_range(method_id: int) -> IdRange:
    """Return the range a method id falls in; ``ValueError`` if it is not a byte."""
    if not 0 <= method_id <= 0xFF:
        raise ValueError(f"method id must be a byte (0-255), got {method_id}")
    for r in IdRange:
        if r.first <= method_id <= r.last:
            return r
    raise AssertionError("unreachable: the ranges cover 0-255")  # pragma: no cover


def check_method_id(method_id: object, name: str, *, builtin: bool) -> str | None:
    """Why a codec may not claim ``method_id`` under ``name``, or ``None`` if it may.

    ``builtin`` says whether the codec ships in the auracodec distribution.
    """
    if not isinstance(method_id, int) or isinstance(method_id, bool):
        return f"method_id must be an int, got {method_id!r}"
    if not 0 <= method_id <= 0xFF:
        return f"method_id must be a byte (0x00-0xff), got {method_id}"
    where = id_range(method_id)
    if where is IdRange.RESERVED:
        return "method id 0xff is reserved and never names a method"
    if where is IdRange.BUILTIN:
        if not builtin:
            return (
                f"method id 0x{method_id:02x} is in auracodec's own range "
                "0x00-0x3f; third-party codecs use a registered id (0x40-0xbf) "
                "or a private one (0xc0-0xfe)"
            )
        expected = BUILTIN_IDS.get(method_id)
        if expected != name:
            return (
                f"method id 0x{method_id:02x} belongs to {expected!r} in the "
                f"method id table, not {name!r}"
                if expected
                else f"method id 0x{method_id:02x} is reserved for a future built-in codec"
            )
    return None
