"""Selector policies: which codec encodes a message.

A policy sees the message and the pipeline's codecs (raw excluded: the
pipeline itself falls back to raw) and returns the chosen codec with its
payload, or ``None`` for raw. The pipeline keeps the promise that a frame is
never longer than the message plus one byte whatever a policy returns: a
payload that is not smaller than the message is sent raw instead.

Policies are plugins, declared as :class:`PolicyType` through the
``auracodec_selector_policies`` hook and chosen in the ``[selector]`` table:
``policy = "smallest"``; the rest of that table is the policy's settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from .codec import Codec
from .settings import Setting

__all__ = ["Choice", "Policy", "PolicyType"]

#: What a policy returns: the codec and the payload it made, or ``None`` (raw).
Choice = tuple[Codec, bytes] | None


class Policy(Protocol):
    """A configured selector policy.

    ``select`` is called once per message, possibly from several threads at
    once (``encode_many``); a policy keeps no per-message state. ``codecs`` is
    ordered by cost, cheapest first.
    """

    def select(self, message: bytes, codecs: Sequence[Codec]) -> Choice: ...


@attrs.frozen
class PolicyType:
    """The declaration of a policy: its name, settings, and a factory."""

    name: str
    factory: Callable[[Mapping[str, Any]], Policy] = attrs.field(repr=False)
    settings: Sequence[Setting] = ()
    summary: str = ""
