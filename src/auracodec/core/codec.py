"""The codec contract.

A *codec* turns one message (bytes) into a *payload* and back. The pipeline
puts the codec's method id in front of the payload to make a frame
(``[method id][payload]``, see :mod:`auracodec.core.framing`), so a payload
carries no id, no magic number and no length of its own unless the codec needs
one to decode: every byte counts on 30-byte messages.

The contract, which the conformance suite (:mod:`auracodec.conformance`)
checks for every codec:

``name``, ``method_id``
    A lower-case identifier (``[a-z][a-z0-9_]*``, at most 32 characters) and one
    byte. The id must fall in a range the codec may use: auracodec's own codecs
    in ``0x00``-``0x3f``, registered third-party codecs in ``0x40``-``0xbf``,
    private codecs in ``0xc0``-``0xfe`` (:mod:`auracodec.core.methods`).
    Both are checked when the plugin loads; two codecs with one id are a
    conflict, and a pipeline that would use either refuses to build.

``encode(message) -> bytes | None``
    Return the payload, or ``None`` to decline: the codec does not apply to
    this message, or would not make it smaller. Declining is cheap and normal;
    the selector then considers the other codecs, and raw is always available.
    ``encode`` must be deterministic: the same message gives the same payload
    from any instance with the same settings and artifacts. It must never
    return a payload that does not decode to the message.

``decode(payload, limit) -> bytes``
    Return the message. ``payload`` is untrusted. The output must never exceed
    ``limit`` bytes, and no more than about ``limit`` bytes may be allocated on
    the way, whatever sizes the payload declares. For any bad input, decode
    raises a subclass of :class:`~auracodec.DecodeError`
    (:class:`~auracodec.TruncatedFrame`, :class:`~auracodec.TrailingData`,
    :class:`~auracodec.CorruptPayload`, :class:`~auracodec.OutputLimitExceeded`)
    and nothing else, and it returns in time proportional to
    ``len(payload) + limit``: no loop that neither consumes input nor produces
    output.

``max_payload_size(size) -> int``
    The declared worst-case payload size for a message of ``size`` bytes.
    ``encode`` never returns more. The pipeline's own bound (a frame is never
    longer than the message plus one byte) does not rely on it: it falls back to
    raw whenever a payload is not smaller than the message.

``thread_safe``
    ``True`` if one instance may ``encode`` and ``decode`` from several threads
    at once. The pipeline's ``encode_many`` uses threads only when every codec
    of the pipeline is thread-safe.

``detects``
    Which damage to a valid payload ``decode`` is guaranteed to report as a
    :class:`~auracodec.DecodeError` rather than a wrong message: a subset of
    ``{"truncation", "extension", "bitflip"}``. Most compressed formats without
    a checksum cannot promise ``"bitflip"``; raw can promise nothing. The
    conformance suite checks what is declared and, for the rest, only that
    decode raises nothing but ``DecodeError`` and stays within the limit.

``cost``
    A rank for breaking ties between equally small payloads: lower is faster
    (identity 0, zstd 10, brotli 20, ...). It never changes the format.

``fingerprint() -> dict``
    Everything that decides whether a payload made by one instance decodes in
    another: format versions, settings that change the format, the content
    hashes of trained artifacts. Not settings that only steer the encoder (a
    compression level). Values are strings or ints. The pipeline reads it once,
    after binding, and it feeds ``Pipeline.fingerprint``.

Optional:

``bind(context)``
    Called after the pipeline has built every codec, with a
    :class:`BindContext`: the pipeline's codecs by name and the registered
    normalizers. A codec that composes others uses it (the template codec
    compresses free-text remainders with another codec and types its slots
    with normalizers). It may raise
    :class:`~auracodec.core.settings.SettingError` like a factory; what it
    binds to belongs in ``fingerprint()``. If a codec it looked up is then
    left out (its plugin failed), ``bind`` is called again with a context
    without that codec, so it must be safe to call more than once.

``stats() -> dict``
    Figures the codec keeps itself, as plain data (the template codec's hit
    rate and per-template hits); they appear under ``codecs`` in
    ``Pipeline.stats.to_dict()``.

When the pipeline builds a codec it checks the declared part of this contract
(:func:`contract_problem`, :func:`checked_fingerprint`); a codec that breaks
it is left out with a :class:`~auracodec.PluginWarning` naming its plugin and
package, or refused if the pipeline asks for it by name.

Codecs are declared to the plugin manager as :class:`CodecType` objects (a name,
an id, the settings they accept, and a factory) through the
``auracodec_codec_types`` hook; the pipeline calls the factory with the
validated settings of the codec's ``[codecs.<name>]`` table.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from .settings import Setting

if TYPE_CHECKING:
    from .normalize import NormalizerType

__all__ = [
    "DETECTABLE",
    "NAME_RE",
    "BindContext",
    "Codec",
    "CodecContext",
    "CodecType",
    "checked_fingerprint",
    "contract_problem",
]

#: What a codec may promise to detect.
DETECTABLE = frozenset({"truncation", "extension", "bitflip"})

#: The form of codec, policy and plugin names.
NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")


@runtime_checkable
class Codec(Protocol):
    """A codec instance. See the module docstring for the contract."""

    name: str
    method_id: int
    thread_safe: bool
    detects: frozenset[str]
    cost: int

    def encode(self, message: bytes) -> bytes | None: ...

    def decode(self, payload: bytes, limit: int) -> bytes: ...

    def max_payload_size(self, size: int) -> int: ...

    def fingerprint(self) -> Mapping[str, str | int]: ...


class CodecContext(Protocol):
    """A codec's state for one direction of one session.

    ``method_id`` names frames made with the context; it must differ from
    every codec id of the pipeline (auracodec's own contexts use 0x10-0x2f).
    ``encode`` and ``decode`` follow the codec contract and also absorb the
    message: afterwards the context is as if it had seen it. ``absorb``
    updates it with a message another codec carried. The session calls
    exactly one of the three per message of its direction (none for isolated
    messages). ``reset`` returns the context to its initial state; ``memory``
    is what it holds now, in bytes.

    Optionally, ``solo(message) -> bool``: the session codes the messages it
    returns true for with this context alone, without the selector policy,
    and never isolates a message on its own (BRIO's continuations,
    docs/plugins.md section 8).
    """

    name: str
    method_id: int
    cost: int

    def encode(self, message: bytes) -> bytes | None: ...

    def decode(self, payload: bytes, limit: int) -> bytes: ...

    def absorb(self, message: bytes) -> None: ...

    def reset(self) -> None: ...

    def memory(self) -> int: ...


@attrs.frozen
class CodecType:
    """The declaration of a codec, returned by ``auracodec_codec_types``.

    ``factory(settings)`` builds the codec from the validated settings of its
    ``[codecs.<name>]`` table (paths already resolved to absolute
    :class:`pathlib.Path` objects). It may raise
    :class:`~auracodec.core.settings.SettingError` naming the key, for an
    artifact that is missing or corrupt; the pipeline reports it as a
    :class:`~auracodec.ConfigError` with the file and the full key.
    """

    name: str
    method_id: int
    factory: Callable[[Mapping[str, Any]], Codec] = attrs.field(repr=False)
    settings: Sequence[Setting] = ()
    summary: str = ""


@attrs.frozen
class BindContext:
    """What :meth:`Codec.bind` receives: the pipeline's codecs and normalizers."""

    codecs: Mapping[str, Codec]
    normalizers: Mapping[str, NormalizerType]


# -- checking a built codec -----------------------------------------------------
#
# A codec comes from a plugin, so the pipeline checks what it declares before
# using it: a wrong declaration found here is reported with the codec's plugin
# and package, rather than failing later, far from its cause. Reading the
# attributes runs the plugin's code (properties), which may raise: the caller
# contains that too.

_METHODS = ("encode", "decode", "max_payload_size", "fingerprint")


def contract_problem(codec: object, ctype: CodecType) -> str | None:
    """Why ``codec``, built by ``ctype``'s factory, breaks the contract; ``None`` if it does not.

    Checks that ``name`` and ``method_id`` are those of the declaration,
    ``thread_safe`` is a bool, ``detects`` a frozenset within
    :data:`DETECTABLE`, ``cost`` a non-negative int, and that the methods
    (``bind`` too, if present) are callable. The answer says what was
    expected and what arrived.
    """
    name = getattr(codec, "name", None)
    if type(name) is not str or name != ctype.name:
        return f"its name is {shown(name)}, expected {ctype.name!r} as its CodecType declares"
    method_id = getattr(codec, "method_id", None)
    if type(method_id) is not int or method_id != ctype.method_id:
        return (
            f"its method_id is {shown(method_id)}, expected 0x{ctype.method_id:02x} "
            "as its CodecType declares"
        )
    thread_safe = getattr(codec, "thread_safe", None)
    if type(thread_safe) is not bool:
        return f"thread_safe is {shown(thread_safe)}, expected True or False"
    detects = getattr(codec, "detects", None)
    if not isinstance(detects, frozenset) or not detects <= DETECTABLE:
        return (
            f"detects is {shown(detects)}, expected a frozenset of "
            f"{', '.join(repr(d) for d in sorted(DETECTABLE))} (or an empty one)"
        )
    cost = getattr(codec, "cost", None)
    if type(cost) is not int or cost < 0:
        return f"cost is {shown(cost)}, expected a non-negative int"
    for method in _METHODS:
        value = getattr(codec, method, None)
        if not callable(value):
            return f"{method} is {shown(value)}, expected a method"
    bind = getattr(codec, "bind", None)
    if bind is not None and not callable(bind):
        return f"bind is {shown(bind)}, expected a method (or no bind at all)"
    return None


def checked_fingerprint(value: object) -> dict[str, str | int]:
    """What ``fingerprint()`` returned, as a dict; ``TypeError`` if it is not a fingerprint.

    A fingerprint is a mapping of str to str or int (see the module docstring).
    The mapping is read once, so a plugin's mapping cannot answer one way when
    checked and another when used. The error says what was expected and what
    arrived.
    """
    expected = "expected a mapping of str to str or int"
    if not isinstance(value, Mapping):
        raise TypeError(f"fingerprint() returned {shown(value)}, {expected}")
    try:
        items = list(value.items())
    # A plugin's own Mapping may raise anything while it is read.
    except Exception as exc:
        raise TypeError(
            f"fingerprint() returned a {type(value).__name__} that raised {oneline(exc)} "
            f"when read, {expected}"
        ) from exc
    for key, item in items:
        if type(key) is not str or not isinstance(item, (str, int)):
            raise TypeError(
                f"fingerprint() returned {shown(value)}, {expected} "
                f"(found {shown(key)}: {shown(item)})"
            )
    return dict(items)


_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60


def shown(value: object) -> str:
    """A short repr of a value a plugin gave, for a message; never raises."""
    try:
        return _REPR.repr(value)
    # A plugin's __repr__ may raise anything; a message must still be written.
    except Exception:  # noqa: BLE001
        return f"<{type(value).__name__} object>"


def oneline(exc: BaseException, width: int = 400) -> str:
    """``Type: message`` on one line, shortened; never raises."""
    try:
        said = str(exc)
    # A plugin's exception may have a __str__ that raises; the type still tells.
    except Exception:  # noqa: BLE001
        said = ""
    text = "; ".join(line.strip() for line in said.splitlines() if line.strip())
    if len(text) > width:
        text = text[: width - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
