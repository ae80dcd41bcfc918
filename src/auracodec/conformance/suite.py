"""The codec conformance suite; import it from :mod:`auracodec.conformance`.

A plugin author subclasses :class:`CodecConformance` in a test module, says how
to build the codec, and runs pytest::

    from auracodec.conformance import CodecConformance

    class TestMyCodec(CodecConformance):
        def make_codec(self):
            return MyCodec(level=3)

        # optional: frames that must keep decoding, release after release
        golden = [(b"hello hello", bytes.fromhex("..."))]

What the codec is for is part of the declaration:

* a **general-purpose** codec (the default) must encode at least
  :attr:`~CodecConformance.min_compressed_share` (50 %) of the suite's
  compressible sample messages to a payload strictly smaller than the message
  (:func:`~auracodec.conformance.compressible_messages`);
* a **special-purpose** codec (templates, a codec for one message format)
  overrides :meth:`~CodecConformance.accepted_messages` with messages it
  promises to encode; each must come out smaller and decode back. It may
  decline anything else;
* the raw fallback sets ``min_compressed_share = 0``: it promises to compress
  nothing, but must still accept and round-trip messages.

The checks, each against a named rule of :mod:`auracodec.conformance.rules`
(the contract itself is :mod:`auracodec.core.codec`):

* the declaration: name, method id in a range the codec may use, ``detects``,
  ``thread_safe``, ``cost``, ``fingerprint()`` (``declaration``, ``purpose``);
* every call is guarded: encode returns bytes or ``None`` and raises nothing
  (``encode-result``); decode raises nothing but ``DecodeError`` subclasses on
  bad input (``decode-errors``);
* round trips on the shipped sample, edge cases and Hypothesis-generated text
  and bytes (``roundtrip``); a general-purpose codec that declines every message
  of a round-trip set fails (``roundtrip-tested``); the empty message
  (``empty-message``);
* compression (``compresses``, ``accepted``), the declared expansion bound
  (``expansion-bound``) and determinism (``deterministic``);
* damage: every truncation, many bit flips and appended bytes of valid
  payloads must raise a ``DecodeError`` where the codec declares it detects
  that damage (``detects``), and otherwise must raise nothing but
  ``DecodeError`` and stay under the output limit; a watchdog turns a hang
  into a failure (it dumps every thread's stack and exits);
* the output limit, on bombs: messages far larger than the limit, plus the
  codec's own crafted payloads (``output-limit``);
* concurrent encode and decode from several threads, when ``thread_safe``
  (``threads``);
* golden vectors, when the subclass lists some (``golden``).

Capabilities a codec lacks (thread safety, damage detection, golden vectors,
crafted bombs) are skipped, not failed. Session contexts have their own
suite, :class:`~auracodec.conformance.ContextConformance`.
"""

from __future__ import annotations

import faulthandler
import random
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auracodec.core.codec import DETECTABLE, NAME_RE, Codec
from auracodec.core.errors import DecodeError, OutputLimitExceeded
from auracodec.core.methods import check_method_id

from . import _guard
from .messages import compressible_messages, edge_messages, sample_messages
from .rules import broken, show

__all__ = ["CodecConformance"]

# Every codec's test class inherits these tests, so Hypothesis sees one test
# function run by several classes (differing_executors). That only means a
# failing example saved for one codec is replayed against the others too.
_HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.differing_executors,
    ],
)

#: Appended to a damaged payload by the extension test.
_EXTENSIONS = (b"\x00", b"\x01", b"\x7f", b"\xff", b"A", b"\x00\x00")


class CodecConformance:
    """Base class of a codec's conformance tests; override :meth:`make_codec`.

    See the module docstring for the rules; ``docs/conformance.md`` has the
    full list with their failure messages.
    """

    #: The output limit the suite decodes with; big messages go up to it.
    limit: ClassVar[int] = 256 * 1024
    #: ``(message, payload)`` pairs that must decode, forever.
    golden: ClassVar[Sequence[tuple[bytes, bytes]]] = ()
    #: A general-purpose codec encodes at least this share of the suite's
    #: compressible sample messages to a smaller payload. 0 declares a codec
    #: that promises no compression (the raw fallback).
    min_compressed_share: ClassVar[float] = 0.5
    #: How many valid payloads the damage tests mutate.
    damage_samples: ClassVar[int] = 12
    #: Seconds a damage test may take before the watchdog fails it.
    watchdog_seconds: ClassVar[float] = 300.0

    _cache: ClassVar[dict[type, Codec]] = {}
    _accepted_cache: ClassVar[dict[type, tuple[bytes, ...] | None]] = {}

    def make_codec(self) -> Codec:
        """Build the codec under test (called once per test class)."""
        raise NotImplementedError("subclasses of CodecConformance implement make_codec()")

    def accepted_messages(self) -> Iterable[bytes] | None:
        """The messages a special-purpose codec promises to encode, or ``None``.

        ``None`` (the default) declares a general-purpose codec, held to
        :attr:`min_compressed_share`. A special-purpose codec returns
        messages it accepts (at least one; a dozen or more of varied forms is
        better): each must encode to a smaller payload that decodes back.
        Called once per test class, after :meth:`make_codec`.
        """
        return None

    def crafted_bombs(self) -> Iterable[bytes]:
        """Payloads crafted to decode to more than :attr:`limit` bytes.

        Override to add codec-specific bombs (declared sizes, nested copies);
        each must raise :class:`~auracodec.OutputLimitExceeded` or another
        ``DecodeError``.
        """
        return ()

    # -- helpers ------------------------------------------------------------

    @property
    def codec(self) -> Codec:
        cls = type(self)
        if cls not in CodecConformance._cache:
            CodecConformance._cache[cls] = self.make_codec()
        return CodecConformance._cache[cls]

    @property
    def accepted(self) -> tuple[bytes, ...] | None:
        """:meth:`accepted_messages`, computed once per class (``None``: general-purpose)."""
        cls = type(self)
        if cls not in CodecConformance._accepted_cache:
            self.codec  # noqa: B018 (built first: accepted_messages may use it)
            given_ = self.accepted_messages()
            CodecConformance._accepted_cache[cls] = None if given_ is None else tuple(given_)
        return CodecConformance._accepted_cache[cls]

    @property
    def special(self) -> bool:
        """Whether the test class declares a special-purpose codec."""
        return self.accepted is not None

    def check_bound(self, message: bytes, payload: bytes) -> None:
        """The payload is within the codec's declared ``max_payload_size``."""
        bound = _guard.payload_bound(self.codec, len(message))
        if len(payload) > bound:
            broken(
                "expansion-bound",
                f"encode returned {len(payload)} bytes for a {len(message)}-byte message "
                f"({show(message)}); max_payload_size({len(message)}) is {bound}",
            )

    def roundtrip(self, message: bytes) -> bool:
        """Encode and decode ``message``; ``False`` if the codec declined it."""
        codec = self.codec
        payload = _guard.encode(codec, message)
        if payload is None:
            return False
        self.check_bound(message, payload)
        _guard.decode_valid(codec, payload, max(self.limit, len(message)), message)
        return True

    def roundtrip_all(self, messages: Sequence[bytes], what: str) -> None:
        """Round-trip every message; a general-purpose codec must accept some."""
        accepted = sum(self.roundtrip(m) for m in messages)
        if not accepted and messages and not self.special:
            broken(
                "roundtrip-tested",
                f"the codec declined all {len(messages)} {what}; a codec that applies only "
                "to some messages declares so with accepted_messages()",
            )

    def valid_payloads(self) -> list[tuple[bytes, bytes]]:
        """``(message, payload)`` pairs to damage: varied sizes, codec accepted."""
        candidates = [m for m in sample_messages() if m]
        rng = random.Random(7)
        rng.shuffle(candidates)
        candidates.sort(key=len)
        # Spread over sizes: short ones dominate real traffic, keep some long.
        step = max(1, len(candidates) // self.damage_samples)
        picked = candidates[::step][: self.damage_samples]
        if self.accepted:
            picked = [m for m in self.accepted if m][: self.damage_samples] + picked
        out = []
        for m in picked:
            p = _guard.encode(self.codec, m)
            if p:
                out.append((m, p))
        if not out:
            pytest.skip("the codec declined every message offered (nothing to damage)")
        return out

    def check_damaged(self, damaged: Iterator[tuple[bytes, str]], kind: str) -> None:
        """Decode damaged payloads: only DecodeError, and always one if ``kind`` is detected."""
        detects = kind in self.codec.detects
        limit = self.limit
        faulthandler.dump_traceback_later(self.watchdog_seconds, exit=True)
        try:
            for payload, how in damaged:
                result = _guard.decode_untrusted(self.codec, payload, limit, f" ({how})")
                if detects and not isinstance(result, DecodeError):
                    broken(
                        "detects",
                        f"the codec declares detects = {sorted(self.codec.detects)}, but "
                        f"decode returned {show(result)} instead of raising a DecodeError "
                        f"for {show(payload)} ({how})",
                    )
        finally:
            faulthandler.cancel_dump_traceback_later()

    def _attribute(self, name: str) -> Any:
        try:
            return getattr(self.codec, name)
        except Exception as exc:  # noqa: BLE001 (a missing or failing attribute breaks the rule)
            broken("declaration", f"reading codec.{name} raised {exc!r}")

    # -- the declaration ------------------------------------------------------

    def test_declaration(self) -> None:
        name = self._attribute("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            broken("declaration", f"name is {name!r}")
        builtin = type(self.codec).__module__.startswith("auracodec.")
        problem = check_method_id(self._attribute("method_id"), name, builtin=builtin)
        if problem is not None:
            broken("declaration", problem)
        thread_safe = self._attribute("thread_safe")
        if not isinstance(thread_safe, bool):
            broken("declaration", f"thread_safe is {thread_safe!r}, not a bool")
        cost = self._attribute("cost")
        if not isinstance(cost, int) or isinstance(cost, bool) or cost < 0:
            broken("declaration", f"cost is {cost!r}, not a non-negative int")
        detects = self._attribute("detects")
        if not isinstance(detects, frozenset) or not detects <= DETECTABLE:
            broken("declaration", f"detects is {detects!r}")
        try:
            fp = dict(self.codec.fingerprint())
        except Exception as exc:  # noqa: BLE001 (any failure breaks the rule)
            broken("declaration", f"fingerprint() raised {exc!r}")
        bad = {
            k: v for k, v in fp.items() if not isinstance(k, str) or not isinstance(v, str | int)
        }
        if bad:
            broken("declaration", f"fingerprint() has entries that are not str to str|int: {bad}")

    def test_purpose(self) -> None:
        share = self.min_compressed_share
        if not isinstance(share, int | float) or isinstance(share, bool) or not 0 <= share <= 1:
            broken("purpose", f"min_compressed_share is {share!r}")
        accepted = self.accepted
        if accepted is None:
            return
        if not accepted:
            broken("purpose", "accepted_messages() returned no messages")
        wrong = [m for m in accepted if not isinstance(m, bytes)]
        if wrong:
            broken("purpose", f"accepted_messages() returned {type(wrong[0]).__name__}, not bytes")

    # -- compression ----------------------------------------------------------

    def test_compresses(self) -> None:
        if self.special:
            pytest.skip("special-purpose codec: test_accepted_messages checks what it declares")
        share = self.min_compressed_share
        if not share:
            pytest.skip("min_compressed_share = 0: the codec promises no compression")
        messages = compressible_messages()
        smaller = declined = 0
        larger: list[tuple[bytes, bytes]] = []
        for m in messages:
            p = _guard.encode(self.codec, m)
            if p is None:
                declined += 1
            elif len(p) < len(m):
                smaller += 1
            else:
                larger.append((m, p))
        if smaller < share * len(messages):
            example = ""
            if larger:
                m, p = larger[0]
                example = f" (e.g. {show(m)} became {len(p)} bytes)"
            broken(
                "compresses",
                f"{smaller} of {len(messages)} compressible sample messages "
                f"({smaller / len(messages):.0%}) came out smaller, below "
                f"min_compressed_share = {share} ({share:.0%}); {declined} declined, "
                f"{len(larger)} not smaller{example}. A codec that applies only to some "
                "messages declares so with accepted_messages()",
            )

    def test_accepted_messages(self) -> None:
        accepted = self.accepted
        if accepted is None:
            pytest.skip("general-purpose codec: test_compresses checks it")
        codec = self.codec
        for i, m in enumerate(accepted):
            where = f" (accepted message #{i})"
            p = _guard.encode(codec, m, where)
            if p is None:
                broken("accepted", f"encode declined {show(m)}{where}")
            if len(p) >= len(m):
                broken("accepted", f"encode made {len(p)} bytes of {show(m)}{where}")
            self.check_bound(m, p)
            _guard.decode_valid(codec, p, max(self.limit, len(m)), m, "accepted", where)

    # -- round trips ----------------------------------------------------------

    def test_empty_message(self) -> None:
        payload = _guard.encode(self.codec, b"")
        if payload is None:
            return  # declining is allowed; raising (checked above) is not
        self.check_bound(b"", payload)
        for limit in (self.limit, 0):
            where = f" (limit {limit})"
            _guard.decode_valid(self.codec, payload, limit, b"", "empty-message", where)

    def test_roundtrip_sample(self) -> None:
        self.roundtrip_all(sample_messages(), "sample messages")

    def test_roundtrip_edges(self) -> None:
        self.roundtrip_all(edge_messages(self.limit), "edge-case messages")

    @_HYPOTHESIS
    @given(st.binary(max_size=4096))
    def test_roundtrip_bytes(self, message: bytes) -> None:
        self.roundtrip(message)

    @_HYPOTHESIS
    @given(st.text(max_size=2048))
    def test_roundtrip_text(self, text: str) -> None:
        self.roundtrip(text.encode("utf-8"))

    @_HYPOTHESIS
    @given(
        st.lists(st.sampled_from(["ok", " ", "the", '{"id":', "42", "\n", "é", "🙂"]), max_size=400)
    )
    def test_roundtrip_repetitive(self, parts: list[str]) -> None:
        self.roundtrip("".join(parts).encode())

    def test_deterministic(self) -> None:
        fresh = self.make_codec()
        messages = [*sample_messages()[::7], *edge_messages(4096)[:-2], *(self.accepted or ())]
        for m in messages:
            first = _guard.encode(self.codec, m)
            again = _guard.encode(self.codec, m)
            if again != first:
                broken("deterministic", f"{show(m)} encoded differently the second time")
            if _guard.encode(fresh, m, " (a fresh instance)") != first:
                broken("deterministic", f"a fresh instance encoded {show(m)} differently")

    def test_empty_payload(self) -> None:
        _guard.decode_untrusted(self.codec, b"", self.limit, " (the empty payload)")

    # -- damage -------------------------------------------------------------

    def test_truncation(self) -> None:
        def damaged() -> Iterator[tuple[bytes, str]]:
            for m, p in self.valid_payloads():
                for end in range(len(p)):
                    yield p[:end], f"the first {end} bytes of the payload of {show(m)}"

        self.check_damaged(damaged(), "truncation")

    def test_extension(self) -> None:
        def damaged() -> Iterator[tuple[bytes, str]]:
            for m, p in self.valid_payloads():
                for extra in _EXTENSIONS:
                    yield p + extra, f"the payload of {show(m)} + {extra.hex()}"

        self.check_damaged(damaged(), "extension")

    def test_bitflip(self) -> None:
        rng = random.Random(11)

        def damaged() -> Iterator[tuple[bytes, str]]:
            for m, p in self.valid_payloads():
                bits = range(len(p) * 8)
                chosen = bits if len(bits) <= 1024 else rng.sample(bits, 1024)
                for bit in chosen:
                    b = bytearray(p)
                    b[bit >> 3] ^= 1 << (bit & 7)
                    yield bytes(b), f"bit {bit} flipped in the payload of {show(m)}"

        self.check_damaged(damaged(), "bitflip")

    @_HYPOTHESIS
    @given(st.binary(max_size=512))
    def test_random_payloads(self, payload: bytes) -> None:
        self.check_damaged(iter([(payload, "random bytes")]), "random")

    # -- the output limit -----------------------------------------------------

    def test_output_limit(self) -> None:
        small = 4096
        bombs = [b"\x00" * (small * 64), b"abc" * (small * 8), edge_messages(small)[-2] * 16]
        tried = 0
        for message in bombs:
            payload = _guard.encode(self.codec, message)
            if payload is None:
                continue
            tried += 1
            for limit in (small, len(message) - 1):
                result = _guard.decode_untrusted(self.codec, payload, limit)
                if not isinstance(result, OutputLimitExceeded):
                    got = show(result) if isinstance(result, bytes) else repr(result)
                    broken(
                        "output-limit",
                        f"the payload of a {len(message)}-byte message ({show(message)}) "
                        f"decoded under a limit of {limit} to {got}, not OutputLimitExceeded",
                    )
            _guard.decode_valid(
                self.codec, payload, len(message), message, "output-limit", " (limit = size)"
            )
        if not tried:
            pytest.skip("the codec declined every large message (nothing to bound)")

    def test_crafted_bombs(self) -> None:
        bombs = list(self.crafted_bombs())
        if not bombs:
            pytest.skip("no crafted bombs declared (override crafted_bombs)")
        for payload in bombs:
            result = _guard.decode_untrusted(self.codec, payload, self.limit, " (crafted bomb)")
            if isinstance(result, bytes):
                broken(
                    "output-limit",
                    f"the crafted bomb {show(payload)} decoded to {show(result)} under a "
                    f"limit of {self.limit} instead of raising a DecodeError",
                )

    # -- threads ----------------------------------------------------------------

    def test_threads(self) -> None:
        codec = self.codec
        if not self._attribute("thread_safe"):
            pytest.skip("codec declares it is not thread-safe")
        messages = [*sample_messages()[:120], *(self.accepted or ())[:40]]
        expected = [_guard.encode(codec, m) for m in messages]
        failures: list[str] = []
        barrier = threading.Barrier(4)

        def work(offset: int) -> None:
            barrier.wait()
            for i in range(len(messages)):
                j = (i + offset * 31) % len(messages)
                m, want = messages[j], expected[j]
                try:
                    got = codec.encode(m)
                    if got != want:
                        failures.append(f"encode of message {j} ({show(m)}) differs")
                    if got is not None and codec.decode(got, self.limit) != m:
                        failures.append(f"decode of message {j} ({show(m)}) differs")
                except Exception as exc:  # noqa: BLE001 (reported below, with the rule)
                    failures.append(f"message {j} ({show(m)}) raised {exc!r}")

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            broken("threads", f"{len(failures)} failures, first: {'; '.join(failures[:3])}")

    # -- golden vectors -----------------------------------------------------------

    def test_golden(self) -> None:
        if not self.golden:
            pytest.skip("no golden vectors declared")
        for i, (message, payload) in enumerate(self.golden):
            limit = max(self.limit, len(message))
            _guard.decode_valid(self.codec, payload, limit, message, "golden", f" (vector #{i})")
