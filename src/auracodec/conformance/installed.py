"""Test classes for installed codecs, built as a pipeline builds them.

``auracodec conformance NAME`` writes a test module that only does::

    from auracodec.conformance import suite_classes

    globals().update(suite_classes(["lz4"], config="/path/auracodec.toml"))

and runs pytest on it. Each named codec gets a :class:`CodecConformance`
class (``Test_<name>``) and, where a plugin gives it a session context, a
:class:`ContextConformance` class (``Test_<name>_context``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from auracodec.core.codec import Codec, CodecContext
from auracodec.core.config import Config

__all__ = ["suite_classes"]


def suite_classes(
    names: Iterable[str] | None = None,
    *,
    config: str | os.PathLike[str] | Config | None = None,
    accepted: Mapping[str, Iterable[bytes]] | None = None,
    max_memory: Mapping[str, int] | None = None,
) -> dict[str, type]:
    """Conformance test classes for codecs of the pipeline ``config`` builds.

    :param names: the codecs to test (a name or several); all the pipeline's
        codecs by default.
        ``KeyError`` names an unknown one.
    :param config: what :meth:`Pipeline.from_config` accepts; the defaults
        when ``None``.
    :param accepted: for special-purpose codecs, by name, the messages each
        promises to encode (see :meth:`CodecConformance.accepted_messages`);
        the others are held to the general-purpose rule. The pipeline's raw
        fallback is declared as promising no compression.
    :param max_memory: by codec name, the bound for its context's
        ``memory()``; :attr:`ContextConformance.max_memory` otherwise.
    :return: ``{class name: class}``, to put into a test module's globals.
    """
    from auracodec.core.pipeline import Pipeline

    from .context import ContextConformance
    from .suite import CodecConformance

    pipe = Pipeline.from_config(config)
    chosen = (
        list(pipe.codecs) if names is None else [names] if isinstance(names, str) else list(names)
    )
    unknown = [n for n in chosen if n not in pipe.codecs]
    if unknown:
        raise KeyError(f"no such codec {unknown[0]!r} (the pipeline has {', '.join(pipe.codecs)})")
    hook = pipe.registry.pm.hook.auracodec_codec_context
    accepted = accepted or {}
    max_memory = max_memory or {}
    out: dict[str, type] = {}
    for name in chosen:
        codec = pipe.codecs[name]
        body: dict[str, Any] = {
            "make_codec": _returning(codec),
            "__doc__": f"The conformance suite on the installed codec {name!r}.",
        }
        if codec is pipe.raw:
            body["min_compressed_share"] = 0.0
        if name in accepted:
            body["accepted_messages"] = _returning(tuple(accepted[name]))
        out[f"Test_{name}"] = type(f"Test_{name}", (CodecConformance,), body)
        if hook(codec=codec, direction="out") is None:
            continue
        body = {
            "make_codec": _returning(codec),
            "make_context_pair": _pair(hook, codec),
            "__doc__": f"The context conformance suite on the installed codec {name!r}.",
        }
        if name in max_memory:
            body["max_memory"] = max_memory[name]
        out[f"Test_{name}_context"] = type(f"Test_{name}_context", (ContextConformance,), body)
    return out


def _returning(value: Any) -> Any:
    def method(self: object) -> Any:
        return value

    return method


def _pair(hook: Any, codec: Codec) -> Any:
    def make_context_pair(self: object) -> tuple[CodecContext, CodecContext]:
        return hook(codec=codec, direction="out"), hook(codec=codec, direction="in")

    return make_context_pair
