"""Normalizers: typed values found inside messages.

A normalizer recognises one kind of value in a message (a timestamp, a UUID,
an IPv4 address, a number...), packs it into a compact byte form, and restores
the exact original bytes from that form: leading zeros, letter case and
separators included. The template codec (``binary_semantic``) uses them to turn
``Deployment started at 2025-10-23T10:30:00Z`` into the template
``Deployment started at {ts}`` plus a packed timestamp.

Normalizers are plugins, declared as :class:`NormalizerType` through the
``auracodec_normalizers`` hook.

The contract:

``name``
    The slot type it provides, as templates write it (``{uuid}``).
``scan(message) -> iterable of (start, end)``
    Non-overlapping spans, in order, of values it can pack. Linear in the length
    of the message; no backtracking regular expressions over user-supplied
    patterns.
``pack(value) -> bytes | None``
    The packed form of one value, or ``None`` if this value cannot be restored
    byte-exactly from a packed form (then the template codec stores it as text).
``unpack(data, pos) -> (value, new_pos)``
    Read one packed value starting at ``data[pos]``; raise
    :class:`~auracodec.DecodeError` subclasses on bad input, and never read
    past ``len(data)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from .settings import Setting

__all__ = ["Normalizer", "NormalizerType"]


class Normalizer(Protocol):
    """A configured normalizer; see the module docstring."""

    name: str

    def scan(self, message: bytes) -> Iterable[tuple[int, int]]: ...

    def pack(self, value: bytes) -> bytes | None: ...

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]: ...


@attrs.frozen
class NormalizerType:
    """The declaration of a normalizer: its slot type name and a factory."""

    name: str
    factory: Callable[[Mapping[str, Any]], Normalizer] = attrs.field(repr=False)
    settings: Sequence[Setting] = ()
    summary: str = ""
