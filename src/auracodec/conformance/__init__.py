"""The conformance suite: what every codec and session context must do, as pytest tests.

Install it with the extra ``auracodec[conformance]`` (pytest and Hypothesis;
a server needs neither). A plugin author subclasses :class:`CodecConformance`
(and :class:`ContextConformance` for a session context) in a test module, says
how to build the codec, and runs pytest::

    from auracodec.conformance import CodecConformance

    class TestMyCodec(CodecConformance):
        def make_codec(self):
            return MyCodec(level=3)

``auracodec conformance NAME`` runs the same suites on an installed codec
(:func:`suite_classes`). The rules are listed in
:mod:`auracodec.conformance.rules` and ``docs/conformance.md``; the checks in
:mod:`~auracodec.conformance.suite` and :mod:`~auracodec.conformance.context`.

Names are loaded lazily: importing this package imports neither pytest nor
Hypothesis, and auracodec's pytest plugin (``pytest11`` entry point) can
enable assertion rewriting for the suites before they load. The message sets
(:func:`sample_messages` ...) need neither.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import ContextConformance
    from .installed import suite_classes
    from .messages import compressible_messages, conversation, edge_messages, sample_messages
    from .rules import RULES, Rule
    from .suite import CodecConformance

__all__ = [
    "RULES",
    "CodecConformance",
    "ContextConformance",
    "Rule",
    "compressible_messages",
    "conversation",
    "edge_messages",
    "sample_messages",
    "suite_classes",
]

_WHERE = {
    "CodecConformance": "suite",
    "ContextConformance": "context",
    "suite_classes": "installed",
    "compressible_messages": "messages",
    "conversation": "messages",
    "edge_messages": "messages",
    "sample_messages": "messages",
    "RULES": "rules",
    "Rule": "rules",
}

#: What the suites need beyond auracodec's own dependencies.
_EXTRA = ("pytest", "hypothesis")


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        loaded = importlib.import_module(f"{__name__}.{module}")
    except ModuleNotFoundError as exc:
        if exc.name not in _EXTRA:
            raise
        raise ModuleNotFoundError(
            f"auracodec's conformance suite needs {exc.name}: pip install 'auracodec[conformance]'",
            name=exc.name,
        ) from exc
    return getattr(loaded, name)
