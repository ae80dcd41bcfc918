"""Sessions: context carried across the messages of one connection.

A :class:`Session` is one end of a connection. ``encode`` serves the outgoing
direction and ``decode`` the incoming one, each with its own context, as on a
real connection where the two directions run independently. Codecs opt in
through the ``auracodec_codec_context`` hook: a *context* is a codec's state
for one direction (BRIO keeps adapting its model across messages). Codecs
without one work in a session exactly as outside it.

Every message of a direction is *absorbed* by every context of that direction
on both ends, exactly once, whichever codec carried it, so the two ends stay
in step without telling each other which contexts exist. A context absorbs a
message when it encodes or decodes it (coding and absorbing are the same
model update, so a context never codes a message twice), and through
``absorb`` when another codec carried it. The sending end offers every
context to the selector beside the stateless codecs; a context the selector
does not try absorbs the message afterwards. With the ``cost`` policy a
context that codes to absorb anyway (BRIO's) is tried first and usually wins
outright, so a message is coded once. A policy with an ``isolate(message,
contexts, codecs)`` method may also send a message isolated (below) when
coding or absorbing it in the contexts, at both ends, would cost more than
they save: the ``cost`` policy does for long messages where BRIO is slower
than its bytes are worth.

Session frames are pipeline frames, with two additions that start with the
reserved id ``0xff`` (never a method)::

    0xff || frame                        isolated: decoded statelessly, absorbed
                                         by no context (one byte longer)
    0xff 0xff || flags || [check] || frame
                                         control: flags bit 0 = "I reset my
                                         outgoing contexts before this frame",
                                         bit 1 = "reset yours", bit 2 = the frame
                                         is isolated, bit 3 = a 2-byte check follows

(:class:`~auracodec.core.framing.SessionFrame` reads and writes the prefix.)

A message sent isolated never enters the shared context. That is the defence
against compression side channels: when attacker-controlled text and a secret
are compressed in one context, the secret's length leaks through the
compressed size (CRIME, BREACH; RFC 7692 section 8). Send secrets, and
messages mixing secrets with text others control, with ``isolated=True``.

A context with a ``solo(message)`` method (BRIO's with ``streams = true``)
codes alone the messages it returns true for, without the policy, raw when it
does not pay: the token-sized deltas of a streamed reply, on which choosing
among codecs would cost more CPU than any could save. Such a session never
isolates a message on its own, since the next message could not continue it.

After a frame fails to decode, the incoming direction refuses every frame
(:class:`~auracodec.SessionError`) until the peer's reset marker arrives: no
silent desync. The failing end asks for that reset on its next outgoing frame
automatically; :meth:`Session.reset` starts one deliberately.

Frames carry no checksum, so a damaged, replayed, reordered or dropped frame
can decode to wrong text and leave the two ends out of step. With
``check_every = N`` (``[session] check_every``), every N-th outgoing message
carries a 2-byte digest of its direction so far (every message absorbed since
the last reset, this one included), and the peer refuses the frame
(:class:`~auracodec.SessionError`) when its own digest differs: a desync is
caught at the next check, with probability 1 - 2**-16, for 5 bytes per check.

Every error on the incoming path stops the direction, text checks included:
:meth:`decode` raising :class:`~auracodec.InvalidUtf8` stops it like a corrupt
frame does. Successes and failures are counted in the session's own
:attr:`Session.stats`; observers see one event per message, isolated ones
included.

A session is not thread-safe: use it from one thread or one event loop.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Sequence
from time import perf_counter_ns
from typing import Any

from ._speedups import FrameDecoder
from .codec import CodecContext
from .errors import CONTAINED, CodecFault, DecodeError, MessageTooLarge, SessionError
from .framing import ESCAPE, SessionFrame, as_frame, as_message
from .stats import Stats
from .wire import Wire, report_fault

__all__ = ["Session"]

_ids = itertools.count(1)

#: What a session's own objects take, measured with tracemalloc on the
#: default pipeline (the session, its stats objects; tests/test_session.py
#: keeps it honest), and what its decoders (and the incoming contexts'
#: Python objects) add once built: the plain one at the first frame, the one
#: of isolated frames at the first isolated frame.
SESSION_OBJECT_BYTES = 2_300
DECODER_BYTES = 6_500
ISOLATED_DECODER_BYTES = 5_900
_CHECK_MASK = (1 << (8 * SessionFrame.CHECK_SIZE)) - 1
_ESCAPE_BYTE = bytes((ESCAPE,))  # starts every session prefix


def _solo_of(contexts: Sequence[CodecContext]) -> CodecContext | None:
    """The first context with a ``solo(message)`` method: it codes the
    messages for which that returns true alone (see Session._encode_solo)."""
    return next((c for c in contexts if callable(getattr(c, "solo", None))), None)


def _digest(state: int, message: bytes) -> int:
    """A direction's running digest after one more absorbed message."""
    return zlib.crc32(message, zlib.crc32(len(message).to_bytes(8, "big"), state))


class _Offer:
    """A context offered to the selector for the message at hand.

    The selector sees it as a codec. Its ``encode`` codes the message with the
    context once (which also absorbs it) and returns that payload to every
    later call; a context the selector never tries absorbs the message after
    the choice (:meth:`Session._settle`). So every context absorbs each
    message exactly once, and codes it only when the policy asks: with the
    ``cost`` policy, a context that codes to absorb (BRIO) is tried first and
    usually ends the search, so the message is coded once.
    """

    __slots__ = ("context", "cost", "error", "method_id", "name", "payload", "tried")

    def __init__(self, context: CodecContext) -> None:
        self.context = context
        self.name = f"{context.name}+context"
        self.method_id = context.method_id
        self.cost = context.cost
        self.payload: bytes | None = None
        self.tried = False
        self.error: str | None = None

    def encode(self, message: bytes) -> bytes | None:
        if self.tried:
            return self.payload
        self.tried = True
        try:
            payload = self.context.encode(message)
        except CONTAINED as exc:
            self.error = f"raised {type(exc).__name__}: {exc}"
            return None
        if payload is not None and type(payload) is not bytes:
            self.error = f"returned {type(payload).__name__}, expected bytes or None"
            return None
        self.payload = payload
        return payload


class Session:
    """One end of a connection; build it with :meth:`Pipeline.session`."""

    def __init__(self, wire: Wire, session_id: str | None = None, *, check_every: int = 0) -> None:
        if not isinstance(check_every, int) or check_every < 0:
            raise ValueError(f"check_every must be an int >= 0, got {check_every!r}")
        self.wire = wire
        self.id = session_id if session_id is not None else f"s{next(_ids)}"
        self.check_every = check_every
        #: This session's counters, successes and failures (contexts appear as
        #: ``<codec>+context``).
        self.stats = Stats({**wire.names, **wire.context_names()})
        # Each direction's contexts and decoders are made at its first use: a
        # session that only sends (or only receives) never pays for the other.
        self._out: list[CodecContext] | None = None
        self._order: list[int] = []
        # The outgoing context that codes some messages alone, if any (see
        # _encode_solo).
        self._solo: CodecContext | None = None
        self._in: dict[int, CodecContext] | None = None
        self._decoder: FrameDecoder | None = None
        isolate = getattr(wire.policy, "isolate", None)
        #: The policy's judgement of whether a message is cheaper sent isolated
        #: (no context codes or absorbs it, at either end), if it has one.
        self._isolate: Callable[..., object] | None = isolate if callable(isolate) else None
        self._failed: DecodeError | None = None
        self._flags = 0  # control flags for the next outgoing frame
        self._sent = 0  # messages absorbed by the outgoing direction (when checking)
        self._out_digest = self._in_digest = 0
        self._check: int | None = None  # the check of the frame being decoded
        self._isolated_decoder: FrameDecoder | None = None  # built at the first isolated frame

    def _setup_out(self) -> list[CodecContext]:
        out, faults = self.wire.contexts("out")
        for where, what in faults:
            report_fault(self.stats, where, None, what + "; the codec works statelessly")
        self._out = out
        self._order = self._candidate_order()
        self._solo = _solo_of(out)
        return out

    def _setup_in(self) -> FrameDecoder:
        wire = self.wire
        incoming, faults = wire.contexts("in")
        for where, what in faults:
            report_fault(self.stats, where, None, what + "; the codec works statelessly")
        self._in = {c.method_id: c for c in incoming}
        stateless = {mid: self._stateless_entry(c.decode) for mid, c in wire.by_id.items()}
        contexts = {mid: self._context_entry(c) for mid, c in self._in.items()}
        self._decoder = wire.decoder(
            {**stateless, **contexts}, self.stats, session=self.id, failed=self._stop
        )
        return self._decoder

    # -- outgoing -----------------------------------------------------------------

    def encode(
        self, message: str | bytes | bytearray | memoryview, *, isolated: bool = False
    ) -> bytes:
        """Encode one outgoing message.

        ``isolated=True`` keeps it out of the shared context (for secrets);
        its frame is one byte longer.
        """
        wire = self.wire
        data = message if type(message) is bytes else as_message(message)
        if len(data) > wire.limit:
            raise MessageTooLarge(len(data), wire.limit)
        out = self._out if self._out is not None else self._setup_out()
        solo = self._solo
        if solo is not None and not isolated:
            frame = self._encode_solo(solo, data)
            if frame is not None:
                return frame
        # The policy may find the message cheaper kept out of the contexts; if
        # it then goes raw, it is sent as a plain frame after all, so that no
        # frame is more than one byte longer than its message.
        offers = [] if isolated else [_Offer(c) for c in out]
        # A session with a solo context (BRIO's with continuations) never
        # isolates on its own: a message kept out of the contexts could not
        # be continued by the next one.
        auto = (
            bool(offers)
            and self._isolate is not None
            and self._solo is None
            and self._cheaper_isolated(data, offers)
        )
        digest, sent = self._out_digest, self._sent
        check = None
        if not isolated and self.check_every:  # the digest is only ever sent, not kept for us
            self._out_digest = _digest(self._out_digest, data)
            self._sent += 1
            if self._sent % self.check_every == 0:
                check = self._out_digest & _CHECK_MASK
        plain = SessionFrame.prefix(self._flags, check, isolated=False)
        raw_prefix = None
        candidates: Sequence[Any]
        if isolated or auto:
            prefix = SessionFrame.prefix(self._flags, None, isolated=True)
            candidates = wire.candidates
            raw_prefix = plain if auto else None
        else:
            prefix = plain
            pool: list[Any] = [*wire.candidates, *offers]
            candidates = [pool[k] for k in self._order]
        try:
            frame = wire.encode(
                data, candidates, self.stats, prefix=prefix, raw_prefix=raw_prefix, session=self.id
            )
        except BaseException:
            self._settle([] if auto else offers, data)
            raise
        # A plain prefix and the raw id cannot start an isolated frame: its
        # prefix differs from the plain one at the first byte (no flags), the
        # second (a method id is never 0xff) or the third. A message the
        # policy isolated but that went raw in a plain frame is absorbed.
        if auto and not (frame.startswith(plain) and frame[len(plain)] == wire.raw.method_id):
            offers = []  # isolated: out of the contexts and the digest
            self._out_digest, self._sent = digest, sent
        self._settle(offers, data)
        self._flags = 0
        return frame

    def _encode_solo(self, ctx: CodecContext, data: bytes) -> bytes | None:
        """The frame of a message that ``ctx`` codes alone, without the
        policy (its ``solo(message)`` says so), raw when that does not pay: a
        token-sized delta costs BRIO a few µs, and choosing among codecs would
        cost more than any other could save (docs/sessions.md, "Streamed
        replies"). None if ``ctx`` does not take the message, or failed (it
        is then dropped): the message takes the general path."""
        wire = self.wire
        start = perf_counter_ns()
        out: list[CodecContext] = self._out  # type: ignore[assignment]  # set up by encode
        try:
            if not ctx.solo(data):  # type: ignore[attr-defined]
                return None
            payload = ctx.encode(data)
        except CONTAINED as exc:
            self._drop_solo(ctx, f"raised {type(exc).__name__}: {exc}")
            return None
        if payload is not None and type(payload) is not bytes:
            self._drop_solo(ctx, f"returned {type(payload).__name__}, expected bytes or None")
            return None
        for other in out[:] if len(out) > 1 else ():
            if other is not ctx:
                try:
                    other.absorb(data)
                except CONTAINED as exc:
                    self._drop(other, f"raised {type(exc).__name__} in absorb: {exc}")
        check = None
        if self.check_every:
            self._out_digest = _digest(self._out_digest, data)
            self._sent += 1
            if self._sent % self.check_every == 0:
                check = self._out_digest & _CHECK_MASK
        prefix = (
            SessionFrame.prefix(self._flags, check) if self._flags or check is not None else b""
        )
        self._flags = 0
        if payload is None or len(payload) >= len(data):
            return wire.framed(data, prefix, wire.raw.method_id, data, start, self.stats, self.id)
        return wire.framed(data, prefix, ctx.method_id, payload, start, self.stats, self.id)

    def _drop_solo(self, ctx: CodecContext, what: str) -> None:
        # The context may have absorbed part of the message: it is not used
        # again, so the peer's copy is never asked to decode again.
        self._drop(ctx, what)
        self._solo = _solo_of(self._out or [])

    def _cheaper_isolated(self, data: bytes, offers: list[_Offer]) -> bool:
        """Whether the policy finds ``data`` cheaper sent isolated: when the
        contexts would cost more to code or absorb it, at both ends, than
        what they save (BRIO on long messages, on a slow machine)."""
        assert self._isolate is not None
        try:
            return bool(self._isolate(data, offers, self.wire.candidates))
        except CONTAINED as exc:
            report_fault(
                self.stats,
                "selector policy isolate",
                exc,
                f"raised {type(exc).__name__}; the message used the contexts",
            )
            return False

    def _settle(self, offers: list[_Offer], data: bytes) -> None:
        """Every context absorbs the message once: those the selector did not try
        absorb it now; one that failed is not used again."""
        for offer in offers:
            if offer.error is None and not offer.tried:
                try:
                    offer.context.absorb(data)
                except CONTAINED as exc:
                    offer.error = f"raised {type(exc).__name__} in absorb: {exc}"
            if offer.error is not None:
                self._drop(offer.context, offer.error)

    def _drop(self, ctx: CodecContext, what: str) -> None:
        """Stop using an outgoing context that failed (the peer's copy is then
        never asked to decode again, so the ends stay in step)."""
        assert self._out is not None
        self._out.remove(ctx)
        self._order = self._candidate_order()
        report_fault(
            self.stats,
            f"context {ctx.name!r} encode",
            None,
            f"{what}; not used again in session {self.id}",
        )

    def _candidate_order(self) -> list[int]:
        # The stateless codecs and the outgoing contexts, cheapest first (as
        # the pipeline orders its candidates): indexes into [*stateless, *contexts].
        pool: list[Any] = [*self.wire.candidates, *(self._out or ())]
        return sorted(range(len(pool)), key=lambda k: (pool[k].cost, pool[k].method_id))

    def reset(self) -> None:
        """Restart both directions' contexts, in step with the peer.

        The outgoing contexts restart now and the next frame tells the peer; it
        also asks the peer to restart its outgoing contexts, and frames from
        the peer are refused until its reset marker arrives.
        """
        self._reset_out()
        self._flags |= SessionFrame.RESET_DONE | SessionFrame.RESET_PLEASE
        self._failed = self._failed or SessionError("waiting for the peer's reset")

    def _reset_out(self) -> None:
        for c in self._out or ():
            c.reset()
        self._out_digest = 0
        self._sent = 0

    def _reset_in(self) -> None:
        for c in (self._in or {}).values():
            c.reset()
        self._in_digest = 0

    # -- incoming -----------------------------------------------------------------

    def decode(self, frame: bytes | bytearray | memoryview) -> str:
        """Decode one incoming frame into text."""
        data, offset, decoder = self._incoming(frame)
        return decoder.decode_at(data, offset)

    def decode_bytes(self, frame: bytes | bytearray | memoryview) -> bytes:
        """Decode one incoming frame into bytes."""
        data, offset, decoder = self._incoming(frame)
        return decoder.decode_bytes_at(data, offset)

    def _incoming(self, frame: bytes | bytearray | memoryview) -> tuple[bytes, int, FrameDecoder]:
        """Apply a frame's session prefix; the frame, where its inner frame
        starts, and the decoder for it."""
        data = frame if type(frame) is bytes else as_frame(frame)
        if data[:1] != _ESCAPE_BYTE and self._failed is None:  # a plain frame: no prefix
            self._check = None
            return data, 0, self._decoder or self._setup_in()
        try:
            head = SessionFrame.parse(data)
            if head.flags & SessionFrame.RESET_DONE:
                self._reset_in()
                self._failed = None
            if head.flags & SessionFrame.RESET_PLEASE:
                self._reset_out()
                self._flags |= SessionFrame.RESET_DONE
            if self._failed is not None:
                raise SessionError(
                    f"session {self.id} refuses frames since an earlier one failed "
                    f"({self._failed}); waiting for the peer's reset"
                )
        except DecodeError as exc:
            self.wire.report_failure(exc, len(data), self.stats, self.id)
            self._stop(exc)
            raise
        self._check = head.check
        if not head.isolated:
            return data, head.offset, self._decoder or self._setup_in()
        return data, head.offset, self._isolated_decoder or self._build_isolated_decoder()

    def _build_isolated_decoder(self) -> FrameDecoder:
        wire = self.wire
        isolated = {mid: self._isolated_entry(c.decode) for mid, c in wire.by_id.items()}
        if self._decoder is None:
            self._setup_in()
        refused = {mid: self._refuse_isolated for mid in self._in or {}}
        self._isolated_decoder = wire.decoder(
            {**isolated, **refused}, self.stats, session=self.id, failed=self._stop
        )
        return self._isolated_decoder

    def _stop(self, error: BaseException) -> None:
        """The incoming direction refuses frames until the peer resets."""
        if not isinstance(error, DecodeError):
            return  # not a frame's fault (a bug of ours): propagates as it is
        if not isinstance(error, SessionError) or self._failed is None:
            self._failed = error
            self._flags |= SessionFrame.RESET_PLEASE  # ask on the next outgoing frame

    # The decode entries: the codec decodes, then the other contexts absorb.

    def _stateless_entry(self, decode: Callable[[bytes, int], bytes]) -> Callable[..., bytes]:
        def entry(payload: bytes, limit: int) -> bytes:
            out = decode(payload, limit)
            self._absorbed(out, limit, None)
            return out

        return entry

    def _context_entry(self, ctx: CodecContext) -> Callable[..., bytes]:
        def entry(payload: bytes, limit: int) -> bytes:
            out = ctx.decode(payload, limit)
            self._absorbed(out, limit, ctx)
            return out

        return entry

    def _isolated_entry(self, decode: Callable[[bytes, int], bytes]) -> Callable[..., bytes]:
        def entry(payload: bytes, limit: int) -> bytes:
            out = decode(payload, limit)
            self._verify_check()
            return out

        return entry

    @staticmethod
    def _refuse_isolated(payload: bytes, limit: int) -> bytes:
        raise SessionError("an isolated frame cannot use a session context")

    def _absorbed(self, out: object, limit: int, coder: CodecContext | None) -> None:
        if type(out) is not bytes or len(out) > limit:
            return  # the decode core refuses it next, and the session stops
        incoming = self._in or {}
        if len(incoming) > (coder is not None):  # others than the coder
            for ctx in incoming.values():
                if ctx is coder:
                    continue
                try:
                    ctx.absorb(out)
                except CONTAINED as exc:
                    error = CodecFault(
                        f"{ctx.name}+context",
                        ctx.method_id,
                        f"raised {type(exc).__name__} in absorb",
                    )
                    raise error from exc
        self._in_digest = _digest(self._in_digest, out)
        if self._check is not None:
            self._verify_check()

    def _verify_check(self) -> None:
        check, self._check = self._check, None
        if check is not None and check != self._in_digest & _CHECK_MASK:
            raise SessionError(
                f"session {self.id} is out of step with its peer: the peer's check "
                f"0x{check:04x} differs from ours 0x{self._in_digest & _CHECK_MASK:04x} "
                "(a frame was damaged, dropped, replayed or reordered)"
            )

    # -- state ----------------------------------------------------------------------

    @property
    def failed(self) -> DecodeError | None:
        """The error that stopped the incoming direction, until the peer resets."""
        return self._failed

    def memory(self) -> int:
        """Bytes this session holds: its contexts (both directions), its
        counters and latency buffers, and its own objects (decoders and their
        tables, about :data:`SESSION_OBJECT_BYTES`)."""
        objects = SESSION_OBJECT_BYTES
        if self._decoder is not None:
            objects += DECODER_BYTES
        if self._isolated_decoder is not None:
            objects += ISOLATED_DECODER_BYTES
        contexts: list[CodecContext] = [*(self._out or ()), *(self._in or {}).values()]
        return objects + self.stats.memory() + sum(int(c.memory()) for c in contexts)

    @property
    def contexts(self) -> list[str]:
        """Names of the codecs that keep context in this session's outgoing direction."""
        out = self._out if self._out is not None else self._setup_out()
        return [c.name for c in out]
