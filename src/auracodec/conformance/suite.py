"""The conformance suite's tests; import them from :mod:`auracodec.conformance`.

What every codec must do, as pytest tests.

A plugin author subclasses :class:`CodecConformance` in a test module and says
how to build the codec::

    from auracodec.conformance import CodecConformance

    class TestMyCodec(CodecConformance):
        def make_codec(self):
            return MyCodec(level=3)

        # optional: frames that must keep decoding, release after release
        golden = [(b"hello hello", bytes.fromhex("..."))]

and runs pytest. ``auracodec conformance NAME`` runs the same suite on an
installed codec, built from a config file as a pipeline would build it.

What is checked (see the contract in :mod:`auracodec.core.codec`):

* the declaration: name, method id in a range the codec may use, ``detects``,
  ``thread_safe``, ``cost``;
* round trips on the shipped sample and on Hypothesis-generated text and bytes:
  empty, one byte, non-ASCII, long runs, up to :attr:`CodecConformance.limit`;
* the declared expansion bound (``max_payload_size``) and determinism;
* damage: every truncation, bit flip and appended byte of valid payloads must
  raise a :class:`~auracodec.DecodeError` subclass where the codec declares it
  detects that damage, and otherwise must raise nothing but ``DecodeError``
  and stay under the output limit; a watchdog turns a hang into a failure;
* the output limit, on bombs: messages far larger than the limit, plus the
  codec's own crafted payloads (:meth:`CodecConformance.crafted_bombs`);
* concurrent encode and decode from several threads, when ``thread_safe``;
* golden vectors, when the subclass lists some.

Capabilities a codec lacks (thread safety, damage detection, golden vectors)
are skipped, not failed.
"""

from __future__ import annotations

import faulthandler
import random
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auracodec.core.codec import DETECTABLE, NAME_RE, Codec
from auracodec.core.corpus import builtin_sample
from auracodec.core.errors import DecodeError, OutputLimitExceeded
from auracodec.core.methods import check_method_id

__all__ = ["CodecConformance", "edge_messages", "sample_messages"]

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


def sample_messages() -> list[bytes]:
    """The shipped sample's messages (chat, API payloads, log lines)."""
    return [s.data for s in builtin_sample()]


def edge_messages(limit: int) -> list[bytes]:
    """Messages that break codecs: sizes at the edges, odd bytes, long runs."""
    rng = random.Random(20241121)
    out = [
        b"",
        b"\x00",
        b"\xff",
        b"a",
        b"ab",
        "é".encode(),
        "日本語のメッセージ".encode(),
        "🙂 emoji 🚀".encode(),
        bytes(range(256)),
        b"\x00" * 1000,
        b"ab" * 5000,
        b"\r\n" * 100,
        rng.randbytes(1000),
    ]
    words = [b"the ", b"message ", b"is ", b"short ", b"and ", b"repeats ", b"itself "]
    text = b"".join(rng.choice(words) for _ in range(limit // 4))
    out.append(text[:limit])  # exactly the limit, compressible
    out.append(rng.randbytes(limit))  # exactly the limit, incompressible
    return out


class CodecConformance:
    """Base class of a codec's conformance tests; override :meth:`make_codec`."""

    #: The output limit the suite decodes with; big messages go up to it.
    limit: ClassVar[int] = 256 * 1024
    #: ``(message, payload)`` pairs that must decode, forever.
    golden: ClassVar[Sequence[tuple[bytes, bytes]]] = ()
    #: How many valid payloads the damage tests mutate.
    damage_samples: ClassVar[int] = 12
    #: Seconds a damage test may take before the watchdog fails it.
    watchdog_seconds: ClassVar[float] = 300.0

    _cache: ClassVar[dict[type, Codec]] = {}

    def make_codec(self) -> Codec:
        """Build the codec under test (called once per test class)."""
        raise NotImplementedError("subclasses of CodecConformance implement make_codec()")

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

    def roundtrip(self, message: bytes) -> None:
        codec = self.codec
        payload = codec.encode(message)
        if payload is None:
            return  # declined: allowed
        assert isinstance(payload, bytes), f"encode returned {type(payload).__name__}"
        assert len(payload) <= codec.max_payload_size(len(message)), (
            f"payload of {len(payload)} bytes for a {len(message)}-byte message "
            f"exceeds the declared max_payload_size {codec.max_payload_size(len(message))}"
        )
        decoded = codec.decode(payload, max(self.limit, len(message)))
        assert decoded == message, f"round trip changed a {len(message)}-byte message"

    def valid_payloads(self) -> list[tuple[bytes, bytes]]:
        """``(message, payload)`` pairs to damage: varied sizes, codec accepted."""
        candidates = [m for m in sample_messages() if m]
        rng = random.Random(7)
        rng.shuffle(candidates)
        candidates.sort(key=len)
        # Spread over sizes: short ones dominate real traffic, keep some long.
        step = max(1, len(candidates) // self.damage_samples)
        picked = candidates[::step][: self.damage_samples]
        out = []
        for m in picked:
            p = self.codec.encode(m)
            if p is not None:
                out.append((m, p))
        if not out:
            pytest.skip("the codec declined every sample message")
        return out

    def check_damaged(self, damaged: Iterator[bytes], kind: str) -> None:
        detects = kind in self.codec.detects
        limit = self.limit
        faulthandler.dump_traceback_later(self.watchdog_seconds, exit=True)
        try:
            for payload in damaged:
                try:
                    out = self.codec.decode(payload, limit)
                except DecodeError:
                    continue
                assert not detects, (
                    f"codec declares it detects {kind} but decoded a damaged payload "
                    f"({payload[:32].hex()}...)"
                )
                assert isinstance(out, bytes) and len(out) <= limit
        finally:
            faulthandler.cancel_dump_traceback_later()

    # -- the declaration ------------------------------------------------------

    def test_declaration(self) -> None:
        codec = self.codec
        assert isinstance(codec.name, str) and NAME_RE.match(codec.name), codec.name
        module = type(codec).__module__
        builtin = module.startswith("auracodec.")
        problem = check_method_id(codec.method_id, codec.name, builtin=builtin)
        assert problem is None, problem
        assert isinstance(codec.thread_safe, bool)
        assert isinstance(codec.cost, int) and codec.cost >= 0
        assert isinstance(codec.detects, frozenset) and codec.detects <= DETECTABLE, (
            f"detects must be a frozenset of {sorted(DETECTABLE)}"
        )
        fp = dict(codec.fingerprint())
        assert all(isinstance(k, str) and isinstance(v, (str, int)) for k, v in fp.items())

    # -- round trips ----------------------------------------------------------

    def test_roundtrip_sample(self) -> None:
        for m in sample_messages():
            self.roundtrip(m)

    def test_roundtrip_edges(self) -> None:
        for m in edge_messages(self.limit):
            self.roundtrip(m)

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
        for m in sample_messages()[::7] + edge_messages(4096)[:-2]:
            first = self.codec.encode(m)
            assert self.codec.encode(m) == first, "encode is not deterministic"
            assert fresh.encode(m) == first, "two instances encode differently"

    def test_empty_payload(self) -> None:
        try:
            out = self.codec.decode(b"", self.limit)
        except DecodeError:
            return
        assert isinstance(out, bytes)

    # -- damage -------------------------------------------------------------

    def test_truncation(self) -> None:
        def damaged() -> Iterator[bytes]:
            for _, p in self.valid_payloads():
                for end in range(len(p)):
                    yield p[:end]

        self.check_damaged(damaged(), "truncation")

    def test_extension(self) -> None:
        def damaged() -> Iterator[bytes]:
            for _, p in self.valid_payloads():
                for extra in (b"\x00", b"\x01", b"\x7f", b"\xff", b"A", b"\x00\x00"):
                    yield p + extra

        self.check_damaged(damaged(), "extension")

    def test_bitflip(self) -> None:
        rng = random.Random(11)

        def damaged() -> Iterator[bytes]:
            for _, p in self.valid_payloads():
                bits = range(len(p) * 8)
                chosen = bits if len(bits) <= 1024 else rng.sample(bits, 1024)
                for bit in chosen:
                    b = bytearray(p)
                    b[bit >> 3] ^= 1 << (bit & 7)
                    yield bytes(b)

        self.check_damaged(damaged(), "bitflip")

    @_HYPOTHESIS
    @given(st.binary(max_size=512))
    def test_random_payloads(self, payload: bytes) -> None:
        self.check_damaged(iter([payload]), "random")

    # -- the output limit -----------------------------------------------------

    def test_output_limit(self) -> None:
        small = 4096
        bombs = [b"\x00" * (small * 64), b"abc" * (small * 8), edge_messages(small)[-2] * 16]
        for message in bombs:
            payload = self.codec.encode(message)
            if payload is None:
                continue
            with pytest.raises(DecodeError):
                self.codec.decode(payload, small)
            with pytest.raises(OutputLimitExceeded):
                self.codec.decode(payload, len(message) - 1)
            assert self.codec.decode(payload, len(message)) == message

    def test_crafted_bombs(self) -> None:
        bombs = list(self.crafted_bombs())
        if not bombs:
            pytest.skip("no crafted bombs declared (override crafted_bombs)")
        for payload in bombs:
            with pytest.raises(DecodeError):
                self.codec.decode(payload, self.limit)

    # -- threads ----------------------------------------------------------------

    def test_threads(self) -> None:
        codec = self.codec
        if not codec.thread_safe:
            pytest.skip("codec declares it is not thread-safe")
        messages = sample_messages()[:120]
        expected = [codec.encode(m) for m in messages]
        failures: list[str] = []
        barrier = threading.Barrier(4)

        def work(offset: int) -> None:
            barrier.wait()
            for i in range(len(messages)):
                j = (i + offset * 31) % len(messages)
                m, want = messages[j], expected[j]
                got = codec.encode(m)
                if got != want:
                    failures.append(f"encode of message {j} differs under threads")
                if got is not None and codec.decode(got, self.limit) != m:
                    failures.append(f"decode of message {j} differs under threads")

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failures, failures[:5]

    # -- golden vectors -----------------------------------------------------------

    def test_golden(self) -> None:
        if not self.golden:
            pytest.skip("no golden vectors declared")
        for message, payload in self.golden:
            assert self.codec.decode(payload, max(self.limit, len(message))) == message
