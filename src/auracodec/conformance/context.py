"""The session-context conformance suite; import it from :mod:`auracodec.conformance`.

A context (:class:`~auracodec.plugin.CodecContext`, made by the
``auracodec_codec_context`` hook) is a codec's state for one direction of a
session. The sending end's context encodes the direction's messages and the
receiving end's context decodes them; a message another codec carried is
``absorb``-ed instead, on the receiving end (and wherever a context did not
code it). Both ends must stay in step without ever comparing notes.

A plugin author subclasses :class:`ContextConformance` and builds a pair::

    from auracodec.conformance import ContextConformance

    class TestMyContext(ContextConformance):
        max_memory = 1 << 20   # what memory() may report, at most

        def make_codec(self):          # optional: the codec the contexts belong to
            return MyCodec()

        def make_context_pair(self):   # (sending end, receiving end), fresh
            codec = self.codec
            return MyContext(codec), MyContext(codec)

The checks, each against a named rule of :mod:`auracodec.conformance.rules`:

* the declaration of both ends (``context-declaration``);
* a round trip over several hundred messages in order, empty ones included,
  and over Hypothesis-generated sequences (``context-sync``); every call is
  guarded as in the codec suite (``encode-result``, ``decode-errors``), and a
  payload is within the codec's ``max_payload_size`` when :meth:`make_codec`
  is given (``expansion-bound``);
* messages carried by another codec (``make_codec()``'s, or raw) interleaved
  with coded ones: the receiving end absorbs them, and sometimes both ends do
  (``context-sync``); a context that loses an absorbed message desynchronises
  and fails here;
* ``absorb(m)`` leaves a context exactly as ``encode(m)`` does, and fresh
  contexts agree (``context-absorb``, ``context-deterministic``);
* ``reset()`` on both ends gives what fresh contexts give (``context-reset``);
* after a decode error, the receiving context refuses every later decode
  until ``reset()`` (``context-refuses``);
* damaged and random payloads raise nothing but ``DecodeError``
  (``decode-errors``);
* ``memory()`` stays within :attr:`ContextConformance.max_memory` while more
  than twice that many bytes of messages pass, so a context that keeps
  everything it saw fails (``context-memory``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auracodec.core.codec import NAME_RE, Codec, CodecContext
from auracodec.core.errors import DecodeError

from . import _guard
from .messages import conversation, sample_messages
from .rules import broken, show

__all__ = ["ContextConformance"]

_HYPOTHESIS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.differing_executors,
    ],
)

_messages = st.lists(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=200).map(str.encode),
        st.deferred(lambda: st.sampled_from(sample_messages())),
    ),
    max_size=30,
)


def _absorb(ctx: CodecContext, message: bytes, where: str) -> None:
    try:
        ctx.absorb(message)
    except Exception as exc:  # noqa: BLE001 (the code under test may raise anything)
        broken("context-absorb", f"absorb raised {exc!r} on {show(message)}{where}")


def _reset(ctx: CodecContext, where: str) -> None:
    try:
        ctx.reset()
    except Exception as exc:  # noqa: BLE001 (the code under test may raise anything)
        broken("context-reset", f"reset() raised {exc!r}{where}")


def _memory(ctx: CodecContext, where: str) -> int:
    try:
        n = ctx.memory()
    except Exception as exc:  # noqa: BLE001 (the code under test may raise anything)
        broken("context-memory", f"memory() raised {exc!r}{where}")
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        broken("context-memory", f"memory() returned {n!r}{where}")
    return n


class _Ends:
    """A sending and a receiving context, and what the receiver last absorbed."""

    def __init__(self, suite: ContextConformance) -> None:
        self.suite = suite
        self.send, self.recv = suite.make_context_pair()
        self.last_absorbed: int | None = None

    def where(self, i: int, m: bytes) -> str:
        out = f" (message #{i} of the sequence, {show(m)}"
        if i and self.last_absorbed is not None:
            out += (
                f"; the ends desynchronised: messages #0-#{i - 1} went through, the "
                f"receiving end last absorbed #{self.last_absorbed} instead of decoding it"
            )
        elif i:
            out += f"; the ends desynchronised: messages #0-#{i - 1} went through"
        return out + ")"

    def code(self, i: int, m: bytes) -> None:
        """The sender codes ``m``; the receiver decodes it (or absorbs it, if declined)."""
        where = self.where(i, m)
        payload = _guard.encode(self.send, m, where)
        if payload is None:
            _absorb(self.recv, m, where)
            self.last_absorbed = i
            return
        self.suite.check_bound(m, payload, where)
        limit = max(self.suite.limit, len(m))
        _guard.decode_valid(self.recv, payload, limit, m, "context-sync", where)

    def carry(self, i: int, m: bytes) -> None:
        """The sending context codes ``m`` but another codec carries it: the receiver absorbs."""
        where = self.where(i, m)
        _guard.encode(self.send, m, where)
        self.suite.carry(m)
        _absorb(self.recv, m, where)
        self.last_absorbed = i

    def absorb(self, i: int, m: bytes) -> None:
        """Neither context codes ``m``: both absorb it."""
        where = self.where(i, m)
        self.suite.carry(m)
        _absorb(self.send, m, where)
        _absorb(self.recv, m, where)
        self.last_absorbed = i

    def run(self, messages: Sequence[bytes], actions: Sequence[str], start: int = 0) -> None:
        for i, (m, action) in enumerate(zip(messages, actions, strict=True), start):
            getattr(self, action)(i, m)


class ContextConformance:
    """Base class of a session context's conformance tests.

    Override :meth:`make_context_pair`, and :meth:`make_codec` when the
    contexts belong to a codec (they usually do). See the module docstring
    for the rules; ``docs/conformance.md`` has the full list.
    """

    #: The output limit the suite decodes with.
    limit: ClassVar[int] = 256 * 1024
    #: What ``memory()`` may report at most, in bytes. State your bound: the
    #: memory test runs more than twice this many bytes of messages through.
    max_memory: ClassVar[int] = 4 * 1024 * 1024
    #: Messages in the long sequences.
    sequence_length: ClassVar[int] = 400

    _cache: ClassVar[dict[type, Codec | None]] = {}

    def make_context_pair(self) -> tuple[CodecContext, CodecContext]:
        """A fresh ``(sending, receiving)`` pair of contexts, built alike.

        Both come from the same codec and settings, as the two ends of one
        direction of a session (for a plugin's hook: ``direction="out"`` at
        the sending end, ``"in"`` at the receiving end). Called many times.
        """
        raise NotImplementedError("subclasses of ContextConformance implement make_context_pair()")

    def make_codec(self) -> Codec | None:
        """The stateless codec the contexts belong to, or ``None``.

        It carries the messages the contexts absorb, and its
        ``max_payload_size`` bounds the contexts' payloads. ``None`` (the
        default): absorbed messages travel raw and no bound is checked.
        """
        return None

    # -- helpers ------------------------------------------------------------

    @property
    def codec(self) -> Codec | None:
        cls = type(self)
        if cls not in ContextConformance._cache:
            ContextConformance._cache[cls] = self.make_codec()
        return ContextConformance._cache[cls]

    def ends(self) -> _Ends:
        return _Ends(self)

    def check_bound(self, message: bytes, payload: bytes, where: str) -> None:
        codec = self.codec
        if codec is None:
            return
        bound = _guard.payload_bound(codec, len(message))
        if len(payload) > bound:
            broken(
                "expansion-bound",
                f"the context encoded {len(payload)} bytes; the codec's "
                f"max_payload_size({len(message)}) is {bound}{where}",
            )

    def carry(self, message: bytes) -> None:
        """Send ``message`` with the stateless codec (if any), as a session would."""
        codec = self.codec
        if codec is None:
            return
        payload = _guard.encode(codec, message, " (the stateless codec)")
        if payload is not None and len(payload) < len(message):
            limit = max(self.limit, len(message))
            _guard.decode_valid(codec, payload, limit, message, where=" (the stateless codec)")

    def actions(self, count: int, seed: int) -> list[str]:
        """A mix of coded (60 %), carried (25 %) and absorbed (15 %) messages."""
        rng = random.Random(seed)
        return rng.choices(["code", "carry", "absorb"], weights=[60, 25, 15], k=count)

    # -- the declaration ------------------------------------------------------

    def test_declaration(self) -> None:
        ends = self.make_context_pair()
        if not isinstance(ends, tuple) or len(ends) != 2:
            broken("context-declaration", f"make_context_pair() returned {ends!r}, not a pair")
        for end, ctx in zip(("sending", "receiving"), ends, strict=True):
            missing = [
                m
                for m in ("encode", "decode", "absorb", "reset", "memory")
                if not callable(getattr(ctx, m, None))
            ]
            if missing:
                broken("context-declaration", f"the {end} context lacks {', '.join(missing)}")
            name = getattr(ctx, "name", None)
            if not isinstance(name, str) or not NAME_RE.match(name):
                broken("context-declaration", f"the {end} context's name is {name!r}")
            mid = getattr(ctx, "method_id", None)
            if not isinstance(mid, int) or isinstance(mid, bool) or not 0 <= mid < 0xFF:
                broken("context-declaration", f"the {end} context's method_id is {mid!r}")
            cost = getattr(ctx, "cost", None)
            if not isinstance(cost, int) or isinstance(cost, bool) or cost < 0:
                broken("context-declaration", f"the {end} context's cost is {cost!r}")
            if self.codec is not None and mid == self.codec.method_id:
                broken(
                    "context-declaration",
                    f"the {end} context has the codec's own method id 0x{mid:02x}; a "
                    "context's frames need an id of their own",
                )
        send, recv = ends
        if (send.name, send.method_id) != (recv.name, recv.method_id):
            broken(
                "context-declaration",
                f"the ends differ: {send.name!r} 0x{send.method_id:02x} sending, "
                f"{recv.name!r} 0x{recv.method_id:02x} receiving",
            )

    # -- round trips ----------------------------------------------------------

    def test_roundtrip_sequence(self) -> None:
        messages = conversation(self.sequence_length, seed=1)
        self.ends().run(messages, ["code"] * len(messages))

    @_HYPOTHESIS
    @given(_messages)
    def test_roundtrip_random_sequences(self, messages: list[bytes]) -> None:
        self.ends().run(messages, ["code"] * len(messages))

    def test_absorbed_messages(self) -> None:
        messages = conversation(self.sequence_length, seed=2)
        self.ends().run(messages, self.actions(len(messages), seed=2))

    def test_absorb_equals_encode(self) -> None:
        """Two sending contexts; now and then one absorbs what the other encodes."""
        messages = conversation(self.sequence_length // 2, seed=3)
        a, b = self.make_context_pair()[0], self.make_context_pair()[0]
        rng = random.Random(3)
        last: int | None = None
        for i, m in enumerate(messages):
            where = f" (message #{i}, {show(m)})"
            if i and rng.random() < 0.25:
                coder, absorber = (a, b) if rng.random() < 0.5 else (b, a)
                _guard.encode(coder, m, where)
                _absorb(absorber, m, where)
                last = i
                continue
            pa, pb = _guard.encode(a, m, where), _guard.encode(b, m, where)
            if pa == pb:
                continue
            got = f"{show(pa) if pa else None} and {show(pb) if pb else None}"
            if last is None:
                broken("context-deterministic", f"two fresh contexts encoded {got}{where}")
            broken(
                "context-absorb",
                f"two contexts encoded {got}{where}; they had seen the same messages, "
                f"but one absorbed message #{last} where the other encoded it",
            )

    # -- reset -----------------------------------------------------------------

    def test_reset(self) -> None:
        messages = conversation(self.sequence_length // 2, seed=4)
        half = len(messages) // 2
        used = self.ends()
        used.run(messages[:half], self.actions(half, seed=4))
        _reset(used.send, " (the sending context)")
        _reset(used.recv, " (the receiving context)")
        fresh, witness = self.ends(), self.ends()
        for i, m in enumerate(messages[half:]):
            where = f" (message #{i} after reset(), {show(m)})"
            pu = _guard.encode(used.send, m, where)
            pf = _guard.encode(fresh.send, m, where)
            pw = _guard.encode(witness.send, m, where)
            if pf != pw:
                broken("context-deterministic", f"two fresh contexts disagree{where}")
            if pu != pf:
                broken(
                    "context-reset",
                    f"after reset(), the sending context encoded "
                    f"{show(pu) if pu else None}; a fresh one {show(pf) if pf else None}{where}",
                )
            if pf is None:
                _absorb(used.recv, m, where)
                _absorb(fresh.recv, m, where)
                continue
            limit = max(self.limit, len(m))
            _guard.decode_valid(fresh.recv, pf, limit, m, "context-sync", where)
            _guard.decode_valid(
                used.recv,
                pf,
                limit,
                m,
                "context-reset",
                f" (the receiving context after reset(), given a fresh context's payload{where})",
            )

    # -- errors ----------------------------------------------------------------

    def damaged(self, payload: bytes) -> Iterator[bytes]:
        """Damaged forms of a valid payload, and some garbage, to make decode fail."""
        rng = random.Random(len(payload))
        yield b""
        if payload:
            yield payload[: len(payload) // 2]
            yield payload[:-1]
            for _ in range(8):
                b = bytearray(payload)
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
                yield bytes(b)
        yield payload + b"\x00\xff\x00"
        yield b"\xff" * 16
        for n in (1, 7, 64, 300):
            yield rng.randbytes(n)

    def test_refuses_after_error(self) -> None:
        messages = conversation(120, seed=5)
        ends = self.ends()
        ends.run(messages[:20], ["code"] * 20)
        failure: tuple[bytes, DecodeError] | None = None
        rest = iter(enumerate(messages[20:], 20))
        for _, m in rest:
            payload = _guard.encode(ends.send, m)
            if payload is None:
                continue
            for bad in self.damaged(payload):
                if bad == payload:
                    continue
                result = _guard.decode_untrusted(ends.recv, bad, self.limit, " (damaged)")
                if isinstance(result, DecodeError):
                    failure = bad, result
                    break
            break
        if failure is None:
            pytest.skip("no damaged payload made decode fail: nothing to refuse after")
        bad, error = failure
        refused = 0
        for i, m in rest:
            payload = _guard.encode(ends.send, m)
            if payload is None:
                continue
            result = _guard.decode_untrusted(ends.recv, payload, max(self.limit, len(m)))
            if isinstance(result, bytes):
                broken(
                    "context-refuses",
                    f"decode raised {error!r} on {show(bad)}, then decoded the next valid "
                    f"payload {show(payload)} (message #{i}) to {show(result)} instead of "
                    f"refusing{' (it had refused ' + str(refused) + ')' if refused else ''}",
                )
            refused += 1
            if refused == 5:
                break
        if not refused:
            pytest.skip("the context declined every later message: nothing to refuse")
        _reset(ends.send, " (after a decode error)")
        _reset(ends.recv, " (after a decode error)")
        after = messages[100:120]
        for i, m in enumerate(after):
            where = f" (message #{i} after reset() that followed a decode error, {show(m)})"
            payload = _guard.encode(ends.send, m, where)
            if payload is None:
                _absorb(ends.recv, m, where)
                continue
            limit = max(self.limit, len(m))
            _guard.decode_valid(ends.recv, payload, limit, m, "context-reset", where)

    def test_damaged_payloads(self) -> None:
        ends = self.ends()
        for i, m in enumerate(conversation(40, seed=6)):
            payload = _guard.encode(ends.send, m)
            if payload is None:
                continue
            for bad in self.damaged(payload):
                _guard.decode_untrusted(ends.recv, bad, self.limit, f" (damaged message #{i})")
                _reset(ends.recv, " (between damaged payloads)")
            _reset(ends.send, " (between damaged payloads)")

    @_HYPOTHESIS
    @given(st.binary(max_size=512))
    def test_random_payloads(self, payload: bytes) -> None:
        ends = self.ends()
        ends.run(sample_messages()[:3], ["code"] * 3)
        _guard.decode_untrusted(ends.recv, payload, self.limit, " (random bytes)")

    # -- memory ----------------------------------------------------------------

    def test_memory(self) -> None:
        ends = self.ends()
        bound = self.max_memory
        total = count = 0

        def check() -> None:
            for end, ctx in (("sending", ends.send), ("receiving", ends.recv)):
                n = _memory(ctx, f" (the {end} context)")
                if n > bound:
                    broken(
                        "context-memory",
                        f"the {end} context reports memory() = {n} after {count} messages "
                        f"({total} bytes), above max_memory = {bound}",
                    )

        check()
        seed = 7
        while total <= 2 * bound:
            batch = conversation(500, seed=seed)
            seed += 1
            ends.run(batch, ["code"] * len(batch), start=count)
            count += len(batch)
            total += sum(map(len, batch))
            check()
