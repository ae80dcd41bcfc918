"""The one path every message takes, for pipelines and sessions alike.

Encoding (:meth:`Wire.encode`), for a message and the candidates at hand:

    select    the policy picks a codec and its payload among the candidates
    fallback  raw, when no payload is smaller than the message
    verify    (``[selector] verify``) the payload decodes to the message, or raw
    record    the stats of the pipeline or session the message belongs to
    observe   one ``auracodec_message_encoded`` event

Decoding (:meth:`Wire.decoder`) is compiled (``_speedups.FrameDecoder``):
split, dispatch to the method id's decoder, bound the output by
``max_message_size``, check UTF-8 for text, record, observe; a failure is
recorded and reported to ``auracodec_decode_failed`` instead. A pipeline has
one decoder; a session has one per kind of incoming frame (plain and
isolated), whose entries also keep its contexts in step.

Plugins are contained here. A codec whose ``encode`` raises or returns
something other than bytes or ``None`` is skipped for that message; a policy
that raises leaves the message raw; a decoder that raises anything but a
:class:`~auracodec.DecodeError` gives a :class:`~auracodec.CodecFault` naming
it; an observer that raises is skipped for that event; a context hook that
raises leaves its codec without a session context. Each is counted in
``stats.faults`` and logged once (logger ``auracodec``), never propagated.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from time import perf_counter_ns
from typing import Any

from ._speedups import FrameDecoder
from .codec import Codec, CodecContext
from .cost import DEFAULT_COST_MODEL, CostModel
from .errors import (
    CONTAINED,
    CodecFault,
    DecodeError,
    MessageTooLarge,
    OutputLimitExceeded,
    UnknownMethod,
)
from .events import MessageEvent
from .framing import ESCAPE, empty_frame, invalid_utf8
from .selector import Choice, Policy
from .stats import Stats

__all__ = ["Observers", "Wire", "report_fault"]

log = logging.getLogger("auracodec")

_BYTE = [bytes((i,)) for i in range(256)]

_logged: set[tuple[str, str]] = set()
_logged_lock = threading.Lock()
_LOGGED_MAX = 4096


def report_fault(stats: Stats, where: str, exc: BaseException | None, what: str) -> None:
    """Count a contained plugin failure in ``stats`` and log it the first time.

    ``where`` names the plugin and the step (``"codec 'lz4' encode"``); the
    log line is written once per ``where`` and exception class per process.
    """
    stats.record_fault(where)
    key = (where, type(exc).__name__ if exc is not None else what)
    with _logged_lock:
        if key in _logged or len(_logged) >= _LOGGED_MAX:
            return
        _logged.add(key)
    log.warning(
        "auracodec: %s %s; contained (counted in stats.faults, logged once)",
        where,
        what,
        exc_info=exc if exc is not None else None,
    )


def _raised(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"raised {type(exc).__name__}: {text}" if text else f"raised {type(exc).__name__}"


class Observers:
    """The observer hooks of one pipeline, each implementation called on its own.

    The implementations are read from the hook once, when the pipeline is
    built (its observers are registered by then), and called directly: the
    per-message hooks run on every encode and decode, where pluggy's call
    machinery would cost more than a small message's coding. An
    implementation that raises is skipped for that event and counted in the
    stats of the message's pipeline or session: observing never changes what
    ``encode`` or ``decode`` return.
    """

    def __init__(self, hook: Any) -> None:
        #: ``(plugin name, function(event))`` per implementation of
        #: ``auracodec_message_encoded``, in pluggy's call order; empty when
        #: nothing observes (then no event is built).
        self.encoded = _event_calls(hook.auracodec_message_encoded)
        #: The same for ``auracodec_message_decoded``.
        self.decoded = _event_calls(hook.auracodec_message_decoded)
        self._failed = _implementations(hook.auracodec_decode_failed)
        self._opened = _implementations(hook.auracodec_session_opened)

    def decode_failed(
        self, frame_size: int, error: BaseException, session: str | None, stats: Stats
    ) -> None:
        _call(
            self._failed,
            "auracodec_decode_failed",
            stats,
            {"frame_size": frame_size, "error": error, "session": session},
        )

    def session_opened(self, session: Any, stats: Stats) -> None:
        _call(self._opened, "auracodec_session_opened", stats, {"session": session})


_Impl = tuple[str, Callable[..., object], tuple[str, ...]]
_EventCall = tuple[str, Callable[[MessageEvent], object]]


def _implementations(caller: Any) -> list[_Impl]:
    """(plugin name, function, argument names) in pluggy's call order."""
    impls = caller.get_hookimpls()
    if any(i.hookwrapper or i.wrapper for i in impls):
        # Wrappers need pluggy's machinery: call the hook as a whole, contained.
        return [("<hook wrappers>", lambda **kw: caller(**kw), ("*",))]
    return [(i.plugin_name, i.function, tuple(i.argnames)) for i in reversed(impls)]


def _event_calls(caller: Any) -> tuple[_EventCall, ...]:
    """:func:`_implementations` of a per-message hook, whose one argument is
    ``event``, each made a function of the event (no keywords per message)."""
    calls: list[_EventCall] = []
    for plugin, function, argnames in _implementations(caller):
        if argnames == ("*",):

            def call(event: MessageEvent, f: Callable[..., object] = function) -> object:
                return f(event=event)

        elif argnames == ("event",):
            call = function
        else:  # an implementation may take fewer arguments than the spec

            def call(event: MessageEvent, f: Callable[..., object] = function) -> object:
                return f()

        calls.append((plugin, call))
    return tuple(calls)


def _observer_fault(stats: Stats, plugin: str, hook: str, exc: BaseException) -> None:
    report_fault(stats, f"observer {plugin!r} in {hook}", exc, _raised(exc))


def _call(impls: list[_Impl], hook: str, stats: Stats, kwargs: Mapping[str, object]) -> None:
    for plugin, function, argnames in impls:
        try:
            if argnames == ("*",):
                function(**kwargs)
            else:
                function(*[kwargs[a] for a in argnames])
        except CONTAINED as exc:
            _observer_fault(stats, plugin, hook, exc)


class _Guarded:
    """A candidate whose ``encode`` cannot raise or return a wrong type.

    Used only after a policy's fast path failed: the policy sees the same
    codec, with its faults turned into declining (and counted).
    """

    __slots__ = ("codec", "cost", "method_id", "name", "stats")

    def __init__(self, codec: Any, stats: Stats) -> None:
        self.codec = codec
        self.name = codec.name
        self.method_id = codec.method_id
        self.cost = codec.cost
        self.stats = stats

    def __getattr__(self, name: str) -> Any:
        return getattr(self.codec, name)

    def encode(self, message: bytes) -> bytes | None:
        try:
            payload = self.codec.encode(message)
        except CONTAINED as exc:
            report_fault(self.stats, f"codec {self.name!r} encode", exc, _raised(exc))
            return None
        if payload is not None and type(payload) is not bytes:
            report_fault(
                self.stats,
                f"codec {self.name!r} encode",
                None,
                f"returned {type(payload).__name__}, expected bytes or None",
            )
            return None
        return payload


def _chosen(choice: object, candidates: Sequence[Any]) -> bool:
    """Whether a policy's result is ``None`` or (one of the candidates, bytes)."""
    if choice is None:
        return True
    return (
        type(choice) is tuple
        and len(choice) == 2
        and type(choice[1]) is bytes
        and any(c is choice[0] for c in candidates)
    )


class Wire:
    """The encode and decode path of one pipeline; see the module docstring.

    :param codecs: the pipeline's codecs by name, raw included.
    :param raw: the raw codec, the fallback of every message.
    :param origins: per method id, the plugin and package a codec comes from,
        for the errors that name a faulty plugin.
    :param context_hook: the ``auracodec_codec_context`` hook caller.
    """

    def __init__(
        self,
        *,
        codecs: Mapping[str, Codec],
        raw: Codec,
        policy: Policy,
        limit: int,
        verify: bool,
        observers: Observers,
        context_hook: Any,
        origins: Mapping[int, str],
        cost_hook: Any = None,
    ) -> None:
        self.codecs = dict(codecs)
        self.raw = raw
        self.policy = policy
        self.limit = limit
        self.verify = verify
        self.observers = observers
        self.origins = dict(origins)
        self._context_hook = context_hook
        self._context_impls = self._context_impl_list() if context_hook is not None else []
        self._context_names: dict[int, str] | None = None
        self._codec_list = list(codecs.values())
        self._taken = frozenset(c.method_id for c in codecs.values()) | {ESCAPE}
        self._cost_hook = cost_hook
        self._cost_models: dict[int, CostModel] = {}
        #: Faults met while asking for cost models: (where, what), reported by
        #: the pipeline or session that asked.
        self.cost_faults: list[tuple[str, str]] = []
        #: The stateless codecs a policy chooses among, cheapest first (raw excluded).
        self.candidates: tuple[Codec, ...] = tuple(
            sorted(
                (c for c in codecs.values() if c is not raw), key=lambda c: (c.cost, c.method_id)
            )
        )
        #: Method id -> codec.
        self.by_id: dict[int, Codec] = {c.method_id: c for c in codecs.values()}
        #: Method id -> name, for stats and errors.
        self.names: dict[int, str] = {c.method_id: c.name for c in codecs.values()}

    # -- encoding ----------------------------------------------------------------

    def encode(
        self,
        data: bytes,
        candidates: Sequence[Any],
        stats: Stats,
        *,
        prefix: bytes = b"",
        raw_prefix: bytes | None = None,
        session: str | None = None,
    ) -> bytes:
        """Encode one message: ``prefix + [method id] + payload``.

        ``candidates`` are codecs (or a session's coded contexts) offered to
        the policy; the frame past ``prefix`` is never longer than the message
        plus one byte. ``raw_prefix``, if given, replaces ``prefix`` when the
        message goes raw. Recorded in ``stats``, observed once.
        """
        size = len(data)
        if size > self.limit:
            raise MessageTooLarge(size, self.limit)
        start = perf_counter_ns()
        method, payload = self._choose(data, candidates, stats)
        if raw_prefix is not None and method == self.raw.method_id:
            prefix = raw_prefix
        return self.framed(data, prefix, method, payload, start, stats, session)

    def framed(
        self,
        data: bytes,
        prefix: bytes,
        method: int,
        payload: bytes,
        start: int,
        stats: Stats,
        session: str | None,
    ) -> bytes:
        """The frame ``prefix + [method] + payload`` of ``data``, whose coding
        started at ``start`` (``perf_counter_ns``): recorded in ``stats``,
        observed once. The messages a session's solo context codes come here
        directly (``Session._encode_solo``)."""
        frame = prefix + _BYTE[method] + payload
        elapsed = perf_counter_ns() - start
        stats.encoded.add(stats.slot[method], len(data), len(frame), elapsed)
        calls = self.observers.encoded
        if calls:  # written out here: it runs for every message of an observed pipeline
            event = MessageEvent(
                "out", stats.names[method], method, data, len(frame), elapsed, session
            )
            for plugin, call in calls:
                try:
                    call(event)
                except CONTAINED as exc:
                    _observer_fault(stats, plugin, "auracodec_message_encoded", exc)
        return frame

    def _choose(self, data: bytes, candidates: Sequence[Any], stats: Stats) -> tuple[int, bytes]:
        choice: Any
        try:
            choice = self.policy.select(data, candidates)
        except CONTAINED:
            choice = self._choose_contained(data, candidates, stats)
        else:
            if not _chosen(choice, candidates):
                choice = self._choose_contained(data, candidates, stats)
        if choice is None or len(choice[1]) >= len(data):
            return self.raw.method_id, data
        codec, payload = choice
        # verify-on-encode checks stateless frames; a session context's frame
        # decodes only at the peer's state, which this end does not keep.
        stateless = self.by_id.get(codec.method_id)
        if (
            self.verify
            and stateless is codec
            and not self._verified(stateless, payload, data, stats)
        ):
            return self.raw.method_id, data
        return int(codec.method_id), payload

    def _choose_contained(self, data: bytes, candidates: Sequence[Any], stats: Stats) -> Choice:
        """The policy again, over candidates whose faults are contained."""
        guarded = [_Guarded(c, stats) for c in candidates]
        try:
            choice: Any = self.policy.select(data, guarded)
        except CONTAINED as exc:
            report_fault(stats, "selector policy", exc, _raised(exc) + "; the message went raw")
            return None
        if not _chosen(choice, guarded):
            report_fault(
                stats,
                "selector policy",
                None,
                f"returned {choice!r:.80}, expected None or (codec, bytes); the message went raw",
            )
            return None
        if choice is None:
            return None
        return (choice[0].codec, choice[1])

    def _verified(self, codec: Codec, payload: bytes, data: bytes, stats: Stats) -> bool:
        try:
            ok = codec.decode(payload, self.limit) == data
        except CONTAINED:
            ok = False
        if not ok:
            stats.record_verify_failure()
        return ok

    # -- decoding ----------------------------------------------------------------

    def decoder(
        self,
        entries: Mapping[int, Callable[[bytes, int], bytes]],
        stats: Stats,
        *,
        session: str | None = None,
        failed: Callable[[BaseException], None] | None = None,
    ) -> FrameDecoder:
        """The compiled decode core over ``entries`` (method id -> decode).

        Successes and failures are recorded in ``stats``; ``failed(exc)`` is
        called after a failure is reported (a session stops there).
        """
        table: list[Callable[[bytes, int], bytes] | None] = [None] * 256
        slots = [255] * 256
        for mid, decode in entries.items():
            table[mid] = decode
            slots[mid] = stats.slot[mid]
        known = {mid: stats.name_of(mid) for mid in entries}

        def unknown(method_id: int) -> UnknownMethod:
            if method_id == ESCAPE:
                return UnknownMethod(method_id, known, "0xff starts only session frames")
            return UnknownMethod(method_id, known)

        def fault(method_id: int, cause: object) -> CodecFault:
            name = stats.name_of(method_id)
            origin = self.origins.get(method_id, "")
            if isinstance(cause, BaseException):
                error = CodecFault(name, method_id, _raised(cause), origin)
                error.__cause__ = cause
                return error
            return CodecFault(
                name, method_id, f"returned {type(cause).__name__}, not bytes", origin
            )

        def report(error: BaseException, frame_size: int) -> None:
            self.report_failure(error, frame_size, stats, session)
            if failed is not None:
                failed(error)

        observe = None
        calls = self.observers.decoded
        if calls:

            def observe(method_id: int, message: bytes, frame_size: int, ns: int) -> None:
                event = MessageEvent(
                    "in", known[method_id], method_id, message, frame_size, ns, session
                )
                for plugin, call in calls:
                    try:
                        call(event)
                    except CONTAINED as exc:
                        _observer_fault(stats, plugin, "auracodec_message_decoded", exc)

        return FrameDecoder(
            table,
            slots,
            self.limit,
            stats.decoded,
            (empty_frame, unknown, lambda: OutputLimitExceeded(self.limit), invalid_utf8, fault),
            DecodeError,
            report,
            observe,
        )

    def report_failure(
        self, error: BaseException, frame_size: int, stats: Stats, session: str | None
    ) -> None:
        """Record a frame that failed to decode and tell the failure observers."""
        stats.record_error(error)
        self.observers.decode_failed(frame_size, error, session, stats)

    # -- costs ---------------------------------------------------------------------

    def cost_model(self, candidate: Any) -> CostModel:
        """The declared cost model of a codec or session context (by method id, once).

        A session's candidate stands for its context (``candidate.context``).
        A hook implementation that raises or returns something other than a
        :class:`CostModel` is skipped (recorded in :attr:`cost_faults`); with
        no model declared, :data:`DEFAULT_COST_MODEL`.
        """
        mid = candidate.method_id
        model = self._cost_models.get(mid)
        if model is not None:
            return model
        target = getattr(candidate, "context", candidate)
        model = DEFAULT_COST_MODEL
        impls = list(reversed(self._cost_hook.get_hookimpls())) if self._cost_hook else []
        for impl in impls:
            try:
                made = impl.function(*[{"codec": target}[a] for a in impl.argnames])
            except CONTAINED as exc:
                self.cost_faults.append((f"cost model hook of {impl.plugin_name!r}", _raised(exc)))
                continue
            if made is None:
                continue
            if isinstance(made, CostModel):
                model = made
                break
            self.cost_faults.append(
                (
                    f"cost model hook of {impl.plugin_name!r}",
                    f"returned {type(made).__name__}, expected a CostModel or None",
                )
            )
        self._cost_models[mid] = model
        return model

    # -- session contexts ------------------------------------------------------------

    def contexts(self, direction: str) -> tuple[list[CodecContext], list[tuple[str, str]]]:
        """Each codec's context for one direction of a new session.

        Returns the contexts and the faults met: ``(where, what)`` pairs for a
        hook implementation that raised or a context that breaks the contract
        (that codec then works statelessly in the session, at both ends alike).
        """
        out: list[CodecContext] = []
        faults: list[tuple[str, str]] = []
        taken = set(self._taken)
        for codec in self._codec_list:
            for plugin, function, codec_first in self._context_impls:
                try:
                    if codec_first is None:
                        ctx = function()
                    elif codec_first:
                        ctx = function(codec, direction)
                    else:
                        ctx = function(direction, codec)
                except CONTAINED as exc:
                    faults.append((f"context hook of {plugin!r}", _raised(exc)))
                    continue
                if ctx is None:
                    continue
                problem = _context_problem(ctx, taken)
                if problem:
                    faults.append((f"context of {codec.name!r} from {plugin!r}", problem))
                else:
                    taken.add(ctx.method_id)
                    out.append(ctx)
                break
        return out, faults

    def context_names(self) -> dict[int, str]:
        """Method id -> ``<codec>+context`` for the contexts sessions of this
        pipeline get, both directions (asked of the hook once, for naming)."""
        if self._context_names is None:
            names = {}
            for direction in ("out", "in"):
                for ctx in self.contexts(direction)[0]:
                    names[ctx.method_id] = f"{ctx.name}+context"
            self._context_names = names
        return self._context_names

    def _context_impl_list(self) -> list[tuple[str, Callable[..., Any], bool | None]]:
        """The context hook's implementations in call order, each with how to
        pass its arguments (a session is made per connection: no per-call dict)."""
        out: list[tuple[str, Callable[..., Any], bool | None]] = []
        for impl in reversed(self._context_hook.get_hookimpls()):
            names = tuple(impl.argnames)
            function = impl.function
            if names == ("codec", "direction"):
                out.append((impl.plugin_name, function, True))
            elif names == ("direction", "codec"):
                out.append((impl.plugin_name, function, False))
            elif not names:
                out.append((impl.plugin_name, function, None))
            else:  # a subset: ("codec",) or ("direction",)

                def partial(codec: Any, direction: str, f: Any = function, n: Any = names) -> Any:
                    return f(*[{"codec": codec, "direction": direction}[a] for a in n])

                out.append((impl.plugin_name, partial, True))
        return out


def _context_problem(ctx: Any, taken: set[int]) -> str | None:
    """Why ``ctx`` cannot be a session context, or ``None``."""
    name, mid, cost = (getattr(ctx, a, None) for a in ("name", "method_id", "cost"))
    if not isinstance(name, str):
        return f"has name {name!r}, expected a str"
    if not isinstance(mid, int) or isinstance(mid, bool) or not 0 <= mid <= 0xFF:
        return f"has method_id {mid!r}, expected a byte"
    if mid in taken:
        return f"uses method id 0x{mid:02x}, which another codec or context has"
    if not isinstance(cost, int) or isinstance(cost, bool):
        return f"has cost {cost!r}, expected an int"
    for method in ("encode", "decode", "absorb", "reset", "memory"):
        if not callable(getattr(ctx, method, None)):
            return f"has no {method}() method"
    return None
