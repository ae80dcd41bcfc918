"""The conformance suite: what every codec must do, as pytest tests.

A plugin author subclasses :class:`CodecConformance` in a test module, says how
to build the codec, and runs pytest::

    from auracodec.conformance import CodecConformance

    class TestMyCodec(CodecConformance):
        def make_codec(self):
            return MyCodec(level=3)

``auracodec conformance NAME`` runs the same suite on an installed codec. The
checks are listed in :mod:`auracodec.conformance.suite`.

The suite is loaded lazily so that auracodec's pytest plugin (registered
through the ``pytest11`` entry point) can enable pytest's assertion rewriting
for it first: failures then show the values involved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .suite import CodecConformance, edge_messages, sample_messages

__all__ = ["CodecConformance", "edge_messages", "sample_messages"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import suite

        return getattr(suite, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
