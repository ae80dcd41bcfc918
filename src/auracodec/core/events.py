"""What observers see: one event per encoded or decoded message.

Observers implement ``auracodec_message_encoded`` / ``auracodec_message_decoded``
(see :mod:`auracodec.core.hookspecs`). The pipeline builds events only when at
least one observer is registered, so an unobserved pipeline pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from .settings import Setting

__all__ = ["MessageEvent", "ObserverType"]


# Not frozen: an observed pipeline builds one event per message, and a frozen
# attrs class sets each field through object.__setattr__ (about 0.4 µs of
# the 0.55 µs it took to build one, a third of the observers' whole cost on
# a small zstd message). Read-only by contract instead: slotted, so no field
# can be added, and compared and hashed by value as before.
@attrs.define(slots=True, unsafe_hash=True)
class MessageEvent:
    """One message that went through a pipeline.

    ``message`` is the plaintext (handle it as carefully as the traffic itself);
    ``frame_size`` includes the method byte. ``session`` is the session id for
    messages of a :class:`~auracodec.Session`, ``None`` for stateless ones, and
    ``direction`` is ``"out"`` for encoded and ``"in"`` for decoded messages.

    Every observer of a message gets the same event: treat it as read-only
    (the fields are not guarded, for speed; build a new one with
    ``attrs.evolve`` to change a field). Events compare and hash by value.
    """

    direction: str
    method: str
    method_id: int
    message: bytes = attrs.field(repr=False)
    frame_size: int
    elapsed_ns: int
    session: str | None = None

    @property
    def message_size(self) -> int:
        return len(self.message)


@attrs.frozen
class ObserverType:
    """A configurable observer, declared through ``auracodec_observer_types``.

    It runs only in pipelines whose config has an ``[observers.<name>]`` table
    (observers are off by default). ``factory(settings, hook)`` builds an
    object with hook implementations (``auracodec_message_encoded``...), which
    the pipeline registers; ``hook`` is the pipeline's hook relay, for
    observers that call other hooks (the audit log asks ``auracodec_redact``).
    """

    name: str
    factory: Callable[[Mapping[str, Any], Any], object] = attrs.field(repr=False)
    settings: Sequence[Setting] = ()
    summary: str = ""
