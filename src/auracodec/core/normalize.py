"""Normalizers: typed values found inside messages.

A normalizer recognises one kind of value in a message (a timestamp, a UUID,
an IPv4 address, a number...), packs it into a compact byte form, and restores
the exact original bytes from that form: leading zeros, letter case and
separators included. The template codec (``binary_semantic``) uses them for
typed slots: ``Deployment started at {ts}`` matches
``Deployment started at 2025-10-23T10:30:00Z`` and stores the timestamp in a
few bytes.

Normalizers are plugins, declared as :class:`NormalizerType` through the
``auracodec_normalizers`` hook; the name is the slot type templates write.

The contract:

``name``
    The slot type it provides (``uuid`` for ``{uuid}``).
``match(data, pos) -> end``
    The end of the longest value of this type that starts at ``data[pos]``,
    or ``-1`` if none does. Linear in the length of the value: no
    backtracking regular expressions over user-supplied text.
``pack(value) -> bytes | None``
    The packed form of one value (``value`` is what ``match`` delimited), or
    ``None`` if this value cannot be restored byte-exactly from a packed form.
``unpack(data, pos) -> (value, new_pos)``
    Read one packed value at ``data[pos]``. Raise a
    :class:`~auracodec.DecodeError` subclass on bad input and never read past
    ``len(data)``.

``unpack(pack(v))`` must return ``v`` for every ``v`` that ``pack`` accepts;
the conformance tests of the template codec check it with Hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from .settings import Setting

__all__ = ["Normalizer", "NormalizerType"]


class Normalizer(Protocol):
    """A configured normalizer; see the module docstring."""

    name: str

    def match(self, data: bytes, pos: int) -> int: ...

    def pack(self, value: bytes) -> bytes | None: ...

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]: ...


@attrs.frozen
class NormalizerType:
    """The declaration of a normalizer: its slot type name and a factory."""

    name: str
    factory: Callable[[Mapping[str, Any]], Normalizer] = attrs.field(repr=False)
    settings: Sequence[Setting] = ()
    summary: str = ""
