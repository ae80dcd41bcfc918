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
``absorb`` when another codec carried it. The sending end therefore encodes
every message with every context and lets the selector choose among those
payloads and the stateless codecs' ones.

Session frames are pipeline frames, with two additions that start with the
reserved id ``0xff`` (never a method)::

    0xff || frame                        isolated: decoded statelessly, absorbed
                                         by no context (one byte longer)
    0xff 0xff || flags || frame          control: flags bit 0 = "I reset my
                                         outgoing contexts before this frame",
                                         bit 1 = "reset yours", bit 2 = the frame
                                         is isolated

A message sent isolated never enters the shared context. That is the defence
against compression side channels: when attacker-controlled text and a secret
are compressed in one context, the secret's length leaks through the
compressed size (CRIME, BREACH; RFC 7692 section 8). Send secrets, and
messages mixing secrets with text others control, with ``isolated=True``.

After a frame fails to decode, the incoming direction refuses every frame
(:class:`~auracodec.SessionError`) until the peer's reset marker arrives: no
silent desync. The failing end asks for that reset on its next outgoing frame
automatically; :meth:`Session.reset` starts one deliberately.

A session is not thread-safe: use it from one thread or one event loop.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from time import perf_counter_ns
from typing import TYPE_CHECKING

from .errors import DecodeError, MessageTooLarge, SessionError, TruncatedFrame
from .events import MessageEvent
from .framing import as_frame, as_message, as_text
from .stats import Stats

if TYPE_CHECKING:
    from .codec import Codec, CodecContext
    from .pipeline import Pipeline

__all__ = ["Session"]

ESCAPE = 0xFF
_RESET_DONE, _RESET_PLEASE, _ISOLATED = 1, 2, 4
_FLAGS = _RESET_DONE | _RESET_PLEASE | _ISOLATED
_ids = itertools.count(1)


class _Coded:
    """A context's payload for the message at hand, offered to the selector.

    The selector sees it as a codec whose ``encode`` returns what the context
    already produced, so the context codes (and absorbs) each message once,
    whichever candidates the policy tries.
    """

    __slots__ = ("cost", "method_id", "name", "payload")

    def __init__(self, context: CodecContext, payload: bytes | None) -> None:
        self.name = context.name
        self.method_id = context.method_id
        self.cost = context.cost
        self.payload = payload

    def encode(self, message: bytes) -> bytes | None:
        return self.payload


class _Direction:
    """The contexts of one direction."""

    def __init__(self, contexts: Sequence[CodecContext]) -> None:
        self.contexts = list(contexts)
        self.by_id = {c.method_id: c for c in self.contexts}

    def absorb(self, message: bytes) -> None:
        for c in self.contexts:
            c.absorb(message)

    def reset(self) -> None:
        for c in self.contexts:
            c.reset()


class Session:
    """One end of a connection; build it with :meth:`Pipeline.session`."""

    def __init__(self, pipeline: Pipeline, session_id: str | None = None) -> None:
        self.pipeline = pipeline
        self.id = session_id if session_id is not None else f"s{next(_ids)}"
        hook = pipeline.registry.pm.hook.auracodec_codec_context
        taken = {c.method_id for c in pipeline.codecs.values()}

        def contexts(direction: str) -> list[CodecContext]:
            out: list[CodecContext] = []
            for codec in pipeline.codecs.values():
                ctx = hook(codec=codec, direction=direction)
                if ctx is None:
                    continue
                if ctx.method_id in taken or ctx.method_id in {c.method_id for c in out}:
                    raise SessionError(
                        f"the session context of {codec.name!r} uses method id "
                        f"0x{ctx.method_id:02x}, which another codec or context has"
                    )
                out.append(ctx)
            return out

        self._out = _Direction(contexts("out"))
        self._in = _Direction(contexts("in"))
        names = {c.method_id: c.name for c in pipeline.codecs.values()}
        names.update({c.method_id: f"{c.name}+context" for c in self._out.contexts})
        #: This session's counters (contexts appear as ``<codec>+context``).
        self.stats = Stats(names)
        self._slot = self.stats.slot
        # The order the selector sees the stateless codecs and the outgoing
        # contexts in, cheapest first (as Pipeline orders its candidates):
        # indexes into [*stateless, *contexts], fixed for the session.
        pool: list[Codec | CodecContext] = [*pipeline._candidates, *self._out.contexts]
        self._order = sorted(range(len(pool)), key=lambda k: (pool[k].cost, pool[k].method_id))
        self._failed: DecodeError | None = None
        self._flags = 0  # control flags for the next outgoing frame

    # -- outgoing -----------------------------------------------------------------

    def encode(self, message: str | bytes, *, isolated: bool = False) -> bytes:
        """Encode one outgoing message.

        ``isolated=True`` keeps it out of the shared context (for secrets);
        its frame is one byte longer.
        """
        pipe = self.pipeline
        data = as_message(message)
        size = len(data)
        if size > pipe.max_message_size:
            raise MessageTooLarge(size, pipe.max_message_size)
        start = perf_counter_ns()
        if isolated:
            inner = pipe.encode(data)
            method = inner[0]
        else:
            # Every context codes (and so absorbs) the message exactly once.
            coded = [_Coded(c, c.encode(data)) for c in self._out.contexts]
            pool: list[Codec | _Coded] = [*pipe._candidates, *coded]
            candidates = [pool[k] for k in self._order]
            choice = pipe.policy.select(data, candidates)  # type: ignore[arg-type]
            coder: Codec | _Coded = pipe.raw
            payload = data
            if choice is not None and len(choice[1]) < size:
                coder, payload = choice
                # verify-on-encode checks stateless frames; a context's frame
                # decodes only at the peer's state, which this end does not keep.
                if (
                    pipe._verify
                    and not isinstance(coder, _Coded)
                    and not pipe._verified(coder, payload, data)
                ):
                    coder, payload = pipe.raw, data
            method = coder.method_id
            inner = bytes((method,)) + payload
        flags = self._flags | (_ISOLATED if isolated and self._flags else 0)
        if flags:
            frame = bytes((ESCAPE, ESCAPE, flags)) + inner
            self._flags = 0
        elif isolated:
            frame = bytes((ESCAPE,)) + inner
        else:
            frame = inner
        elapsed = perf_counter_ns() - start
        self.stats.encoded.add(self._slot[method], size, len(frame), elapsed)
        observe = pipe._observe_encoded
        if observe is not None:
            name = self.stats._names[method]
            observe(event=MessageEvent("out", name, method, data, len(frame), elapsed, self.id))
        return frame

    def reset(self) -> None:
        """Restart both directions' contexts, in step with the peer.

        The outgoing contexts restart now and the next frame tells the peer; it
        also asks the peer to restart its outgoing contexts, and frames from
        the peer are refused until its reset marker arrives.
        """
        self._out.reset()
        self._flags |= _RESET_DONE | _RESET_PLEASE
        self._failed = self._failed or SessionError("waiting for the peer's reset")

    # -- incoming -----------------------------------------------------------------

    def decode(self, frame: bytes) -> str:
        """Decode one incoming frame into text."""
        return as_text(self.decode_bytes(frame))

    def decode_bytes(self, frame: bytes) -> bytes:
        """Decode one incoming frame into bytes."""
        frame = as_frame(frame)
        start = perf_counter_ns()
        try:
            isolated, inner = self._control(frame)
            if self._failed is not None:
                raise SessionError(
                    f"session {self.id} refuses frames since an earlier one failed "
                    f"({self._failed}); waiting for the peer's reset"
                )
            out, method = self._decode_inner(inner, isolated)
        except DecodeError as exc:
            if not isinstance(exc, SessionError) or self._failed is None:
                self._failed = exc
                self._flags |= _RESET_PLEASE  # ask on the next outgoing frame
            self.pipeline._failed(exc, len(frame))
            raise
        elapsed = perf_counter_ns() - start
        self.stats.decoded.add(self._slot[method], len(frame), len(out), elapsed)
        observe = self.pipeline._observe_decoded
        if observe is not None:
            name = self.stats._names[method]
            observe(event=MessageEvent("in", name, method, out, len(frame), elapsed, self.id))
        return out

    def _control(self, frame: bytes) -> tuple[bool, bytes]:
        """Apply a control prefix; return (isolated, the inner frame)."""
        if not frame:
            raise TruncatedFrame("empty frame: expected at least the method id byte")
        if frame[0] != ESCAPE:
            return False, frame
        if len(frame) < 2:
            raise TruncatedFrame("session frame ends after its escape byte")
        if frame[1] != ESCAPE:
            return True, frame[1:]
        if len(frame) < 4:
            raise TruncatedFrame("session control frame ends before its inner frame")
        flags = frame[2]
        if flags & ~_FLAGS or not flags:
            raise SessionError(f"unknown session control flags 0x{flags:02x}")
        if flags & _RESET_DONE:
            self._in.reset()
            self._failed = None
        if flags & _RESET_PLEASE:
            self._out.reset()
            self._flags |= _RESET_DONE
        return bool(flags & _ISOLATED), frame[3:]

    def _decode_inner(self, inner: bytes, isolated: bool) -> tuple[bytes, int]:
        pipe = self.pipeline
        method = inner[0]
        if method == ESCAPE:
            raise SessionError("a session frame nests escapes")
        context = self._in.by_id.get(method)
        if context is not None and isolated:
            raise SessionError("an isolated frame cannot use a session context")
        coder = context or pipe._decoders[method]
        if coder is None:
            raise pipe._unknown_method(method)
        out = coder.decode(inner[1:], pipe.max_message_size)
        if len(out) > pipe.max_message_size:
            raise pipe._too_big()
        if not isolated:
            for c in self._in.contexts:
                if c is not context:
                    c.absorb(out)
        return out, method

    # -- state ----------------------------------------------------------------------

    @property
    def failed(self) -> DecodeError | None:
        """The error that stopped the incoming direction, until the peer resets."""
        return self._failed

    def memory(self) -> int:
        """Bytes held by this session's contexts, both directions."""
        return sum(c.memory() for c in (*self._out.contexts, *self._in.contexts))

    @property
    def contexts(self) -> list[str]:
        """Names of the codecs that keep context in this session."""
        return [c.name for c in self._out.contexts]
