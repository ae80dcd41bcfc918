"""The conformance suites can fail: deliberately broken codecs and contexts fail
them, each with the rule it broke named, and correct ones pass.

The suites' test methods are called directly (a skip or a failure arrives as
pytest's own outcome exception); any other exception escaping a suite test is
a bug of the suite, which must turn everything the code under test does into
a rule failure. One test runs pytest itself on a suite module, as a plugin
author would, and others check that the pytest plugin and ``import auracodec``
stay out of the way of runs that do not use the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from auracodec.conformance import (
    RULES,
    CodecConformance,
    ContextConformance,
    compressible_messages,
    conversation,
    sample_messages,
    suite_classes,
)
from auracodec.plugin import (
    CorruptPayload,
    DecodeError,
    OutputLimitExceeded,
    TrailingData,
    TruncatedFrame,
)

pytest_plugins = ["pytester"]

# -- running a suite class ------------------------------------------------------------


def run(cls: type, *names: str) -> dict[str, tuple[str, str]]:
    """Run test methods of a suite class: ``{name: (outcome, message)}``.

    All of them when no names are given. Exceptions other than pytest's
    outcomes propagate: the suite let one through.
    """
    instance = cls()
    chosen = names or tuple(n for n in dir(cls) if n.startswith("test_"))
    out = {}
    for name in chosen:
        try:
            getattr(instance, name)()
        except pytest.skip.Exception as exc:
            out[name] = ("skipped", str(exc))
        except pytest.fail.Exception as exc:
            out[name] = ("failed", str(exc))
        else:
            out[name] = ("passed", "")
    return out


def fails(cls: type, name: str, rule: str, *also: str) -> str:
    """Run one test; it must fail naming ``rule`` (and stating it), and ``also``."""
    outcome, message = run(cls, name)[name]
    assert outcome == "failed", f"{cls.__name__}.{name} {outcome}: {message}"
    assert f"broke rule {rule}: {RULES[rule].text}" in message, message
    for text in also:
        assert text in message, message
    return message


def suite(codec: Any, **attrs: Any) -> type[CodecConformance]:
    """A CodecConformance class for ``codec`` (one instance shared by its tests)."""
    body = {"make_codec": lambda self: codec, **attrs}
    return type(f"Test{type(codec).__name__}", (CodecConformance,), body)


# -- a correct codec and broken ones --------------------------------------------------


def inflate(payload: bytes, limit: int, zdict: bytes = b"") -> bytes:
    """Raw deflate decoding that keeps the codec contract (the doubles' decoder)."""
    d = zlib.decompressobj(-15, zdict=zdict) if zdict else zlib.decompressobj(-15)
    try:
        out = d.decompress(payload, limit + 1)
    except zlib.error as exc:
        raise CorruptPayload(f"deflate: {exc}") from exc
    if len(out) > limit:
        raise OutputLimitExceeded(limit)
    if not d.eof:
        raise TruncatedFrame("deflate stream ends before its last block")
    if d.unused_data:
        raise TrailingData(f"{len(d.unused_data)} bytes after the deflate stream")
    return out


class Deflate:
    """A correct codec: raw DEFLATE, every zlib error mapped, the limit kept."""

    name = "deflate"
    method_id = 0xC0
    thread_safe = True
    detects = frozenset({"truncation", "extension"})
    cost = 5

    def encode(self, message: bytes) -> bytes | None:
        z = zlib.compressobj(9, zlib.DEFLATED, -15)
        return z.compress(message) + z.flush()

    def decode(self, payload: bytes, limit: int) -> bytes:
        return inflate(payload, limit)

    def max_payload_size(self, size: int) -> int:
        return size + 5 * (size // 16383 + 1)

    def fingerprint(self) -> Mapping[str, str | int]:
        return {"format": 1}


class Declining(Deflate):
    """Declines every message; its decoder refuses everything."""

    def encode(self, message: bytes) -> bytes | None:
        return None

    def decode(self, payload: bytes, limit: int) -> bytes:
        raise CorruptPayload("this codec never made a payload")


class Expanding(Deflate):
    """A 10-byte header in front of the message, and no compression at all."""

    detects = frozenset()

    def encode(self, message: bytes) -> bytes | None:
        return b"EXPANDING!" + message

    def decode(self, payload: bytes, limit: int) -> bytes:
        if payload[:10] != b"EXPANDING!":
            raise CorruptPayload("no header")
        if len(payload) - 10 > limit:
            raise OutputLimitExceeded(limit)
        return payload[10:]

    def max_payload_size(self, size: int) -> int:
        return size + 10


class EmptyRaises(Deflate):
    """Raises on the empty message."""

    def encode(self, message: bytes) -> bytes | None:
        if not message:
            raise ValueError("nothing to compress")
        return super().encode(message)


class EmptyLost(Deflate):
    """The empty message's payload does not decode (a length-free format gone wrong)."""

    def encode(self, message: bytes) -> bytes | None:
        return super().encode(message) if message else b""


class EmptyOverLimit(Deflate):
    """The empty message decodes, but not under a limit of 0."""

    def decode(self, payload: bytes, limit: int) -> bytes:
        if limit == 0:
            raise OutputLimitExceeded(limit)
        return super().decode(payload, limit)


_KINDS = (b"", b" ", b"\n", b"\x00")


class IndexErrors(Deflate):
    """A one-byte header indexes a table without a range check: IndexError on garbage."""

    detects = frozenset()

    def encode(self, message: bytes) -> bytes | None:
        return b"\x00" + super().encode(message)  # type: ignore[operator]

    def decode(self, payload: bytes, limit: int) -> bytes:
        prefix = _KINDS[payload[0]]
        return prefix + super().decode(payload[1:], limit)


class FalseBitflip(Deflate):
    """Claims bitflip detection, but DEFLATE has no checksum."""

    detects = frozenset({"truncation", "extension", "bitflip"})


class FalseExtension(Deflate):
    """Claims extension detection, but ignores trailing bytes."""

    def decode(self, payload: bytes, limit: int) -> bytes:
        d = zlib.decompressobj(-15)
        try:
            out = d.decompress(payload, limit + 1)
        except zlib.error as exc:
            raise CorruptPayload(str(exc)) from exc
        if len(out) > limit:
            raise OutputLimitExceeded(limit)
        if not d.eof:
            raise TruncatedFrame("short")
        return out


class WrongType(Deflate):
    """encode returns a bytearray."""

    def encode(self, message: bytes) -> bytes | None:
        return bytearray(super().encode(message) or b"")  # type: ignore[return-value]


class EncodeRaises(Deflate):
    """encode raises on messages that are not UTF-8."""

    def encode(self, message: bytes) -> bytes | None:
        message.decode("utf-8")
        return super().encode(message)


class LosesLongMessages(Deflate):
    """Keeps only the first 200 bytes of a message."""

    def encode(self, message: bytes) -> bytes | None:
        return super().encode(message[:200])


class IgnoresLimit(Deflate):
    """Decodes whatever the payload holds, whatever the limit."""

    def decode(self, payload: bytes, limit: int) -> bytes:
        return super().decode(payload, 1 << 30)


class OverBound(Deflate):
    """Declares a bound it does not keep."""

    def max_payload_size(self, size: int) -> int:
        return size // 2


class Counter(Deflate):
    """Not deterministic: every payload carries a counter."""

    def __init__(self) -> None:
        self.n = 0

    def encode(self, message: bytes) -> bytes | None:
        self.n += 1
        return bytes([self.n & 0x7F]) + super().encode(message)  # type: ignore[operator]

    def decode(self, payload: bytes, limit: int) -> bytes:
        if not payload:
            raise TruncatedFrame("empty")
        return super().decode(payload[1:], limit)


class BadName(Deflate):
    name = "Deflate Codec"


class Greetings:
    """A correct special-purpose codec: only messages ``Hello, <name>!``."""

    name = "greetings"
    method_id = 0xC1
    thread_safe = True
    detects: frozenset[str] = frozenset()
    cost = 1

    def encode(self, message: bytes) -> bytes | None:
        if message.startswith(b"Hello, ") and message.endswith(b"!") and len(message) > 8:
            return message[7:-1]
        return None

    def decode(self, payload: bytes, limit: int) -> bytes:
        if not payload:
            raise TruncatedFrame("no name")
        if len(payload) + 8 > limit:
            raise OutputLimitExceeded(limit)
        return b"Hello, " + payload + b"!"

    def max_payload_size(self, size: int) -> int:
        return size

    def fingerprint(self) -> Mapping[str, str | int]:
        return {}


GREETINGS = [f"Hello, {n}!".encode() for n in ("Ada", "Grace", "Jürgen", "世界", "x" * 300)]


class TestCorrectCodecsPass:
    def test_general_purpose(self) -> None:
        outcomes = run(suite(Deflate()))
        assert {n: o for n, (o, _) in outcomes.items() if o == "failed"} == {}
        skipped = {n for n, (o, _) in outcomes.items() if o == "skipped"}
        assert skipped == {"test_accepted_messages", "test_crafted_bombs", "test_golden"}

    def test_special_purpose(self) -> None:
        cls = suite(Greetings(), accepted_messages=lambda self: GREETINGS)
        outcomes = run(cls)
        assert {n: o for n, (o, _) in outcomes.items() if o == "failed"} == {}
        assert outcomes["test_accepted_messages"][0] == "passed"
        assert outcomes["test_compresses"][0] == "skipped"

    def test_raw_fallback(self) -> None:
        from auracodec.plugins.identity import Identity

        outcomes = run(suite(Identity(), min_compressed_share=0.0), "test_compresses")
        assert outcomes["test_compresses"][0] == "skipped"


class TestBrokenCodecsFail:
    def test_declining(self) -> None:
        cls = suite(Declining())
        fails(cls, "test_compresses", "compresses", "0 of", "298 declined")
        fails(cls, "test_roundtrip_sample", "roundtrip-tested", "declined all")
        fails(cls, "test_roundtrip_edges", "roundtrip-tested")

    def test_declining_raw_still_fails(self) -> None:
        """Declaring no compression does not excuse declining everything."""
        cls = suite(Declining(), min_compressed_share=0.0)
        fails(cls, "test_roundtrip_sample", "roundtrip-tested")

    def test_expanding(self) -> None:
        message = fails(suite(Expanding()), "test_compresses", "compresses")
        assert f"0 of {len(compressible_messages())}" in message
        assert "min_compressed_share = 0.5" in message

    def test_compresses_too_little(self) -> None:
        """Half the messages compressed is not enough for a stricter class."""

        class Half(Deflate):
            def encode(self, message: bytes) -> bytes | None:
                return super().encode(message) if len(message) % 3 == 0 else None

        fails(suite(Half()), "test_compresses", "compresses")
        fails(suite(Half(), min_compressed_share=0.9), "test_compresses", "compresses")

    @pytest.mark.parametrize(
        ("codec", "rule", "text"),
        [
            (EmptyRaises(), "encode-result", "ValueError('nothing to compress')"),
            (EmptyLost(), "empty-message", "decode raised TruncatedFrame"),
            (EmptyOverLimit(), "empty-message", "(limit 0)"),
        ],
    )
    def test_empty_message(self, codec: Deflate, rule: str, text: str) -> None:
        fails(suite(codec), "test_empty_message", rule, text)

    def test_index_error_on_garbage(self) -> None:
        cls = suite(IndexErrors())
        fails(cls, "test_empty_payload", "decode-errors", "IndexError")
        fails(cls, "test_random_payloads", "decode-errors", "IndexError")
        fails(cls, "test_bitflip", "decode-errors", "IndexError", "flipped in the payload")

    def test_false_bitflip_claim(self) -> None:
        fails(suite(FalseBitflip()), "test_bitflip", "detects", "bitflip", "instead of raising")

    def test_false_extension_claim(self) -> None:
        fails(suite(FalseExtension()), "test_extension", "detects", "extension")

    def test_wrong_return_type(self) -> None:
        fails(suite(WrongType()), "test_roundtrip_sample", "encode-result", "bytearray")

    def test_encode_raises(self) -> None:
        fails(suite(EncodeRaises()), "test_roundtrip_edges", "encode-result", "UnicodeDecodeError")
        fails(suite(EncodeRaises()), "test_roundtrip_bytes", "encode-result")

    def test_lossy(self) -> None:
        fails(suite(LosesLongMessages()), "test_roundtrip_sample", "roundtrip", "decoded to")

    def test_ignores_limit(self) -> None:
        fails(suite(IgnoresLimit()), "test_output_limit", "output-limit")

    def test_over_bound(self) -> None:
        fails(suite(OverBound()), "test_roundtrip_sample", "expansion-bound")

    def test_not_deterministic(self) -> None:
        fails(suite(Counter()), "test_deterministic", "deterministic")

    def test_bad_declaration(self) -> None:
        fails(suite(BadName()), "test_declaration", "declaration", "'Deflate Codec'")

        class BuiltinId(Deflate):
            method_id = 0x02

        fails(suite(BuiltinId()), "test_declaration", "declaration", "auracodec's own range")

    def test_special_purpose_undeclared(self) -> None:
        """A special-purpose codec must say so; then it is held to what it declared."""
        fails(suite(Greetings()), "test_compresses", "compresses")
        fails(suite(Greetings()), "test_roundtrip_sample", "roundtrip-tested")
        claims = [*GREETINGS, b"Goodbye, Ada!"]
        cls = suite(Greetings(), accepted_messages=lambda self: claims)
        fails(cls, "test_accepted_messages", "accepted", "declined b'Goodbye, Ada!'")
        cls = suite(Expanding(), accepted_messages=lambda self: [b"abc"])
        fails(cls, "test_accepted_messages", "accepted", "made 13 bytes of b'abc'")
        cls = suite(Greetings(), accepted_messages=list)
        fails(cls, "test_purpose", "purpose", "no messages")

    def test_bad_share(self) -> None:
        fails(suite(Deflate(), min_compressed_share=50), "test_purpose", "purpose")

    @pytest.mark.slow
    def test_every_failure_names_a_rule(self) -> None:
        """Whole suites on broken codecs: something fails, and every failure is a rule."""
        for codec in (Declining(), Expanding(), EmptyRaises(), IndexErrors(), FalseBitflip()):
            outcomes = run(suite(codec))
            failed = {n: m for n, (o, m) in outcomes.items() if o == "failed"}
            assert failed, type(codec).__name__
            for name, message in failed.items():
                assert message.startswith("broke rule "), (type(codec).__name__, name, message)


# -- contexts --------------------------------------------------------------------------


class HistoryContext:
    """A correct context: DEFLATE against the direction's last 4 KiB."""

    name = "deflate"
    method_id = 0xC2
    cost = 6
    keep = 4096

    def __init__(self) -> None:
        self.history = b""
        self.failed = False

    def encode(self, message: bytes) -> bytes | None:
        z = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=self.history)
        payload = z.compress(message) + z.flush()
        self._keep(message)
        return payload

    def decode(self, payload: bytes, limit: int) -> bytes:
        if self.failed:
            raise DecodeError("this context failed before; reset it")
        try:
            message = self._decode(payload, limit)
        except DecodeError:
            self.failed = True
            raise
        self._keep(message)
        return message

    def _decode(self, payload: bytes, limit: int) -> bytes:
        return inflate(payload, limit, self.history)

    def _keep(self, message: bytes) -> None:
        self.history = (self.history + message)[-self.keep :]

    def absorb(self, message: bytes) -> None:
        self._keep(message)

    def reset(self) -> None:
        self.history = b""
        self.failed = False

    def memory(self) -> int:
        return len(self.history)


class LosingContext(HistoryContext):
    """Loses what it absorbs: the message another codec carried never arrives."""

    def absorb(self, message: bytes) -> None:
        pass


class ForgivingContext(HistoryContext):
    """Carries on after a decode error, out of step or not."""

    def decode(self, payload: bytes, limit: int) -> bytes:
        self.failed = False
        return super().decode(payload, limit)


class ResetlessContext(HistoryContext):
    """reset() clears the error but keeps the history."""

    def reset(self) -> None:
        self.failed = False


class HoardingContext(HistoryContext):
    """Keeps every message it ever saw."""

    keep = 1 << 40


class KeyErrorContext(HistoryContext):
    """A decoder that looks the first byte up in a dict: KeyError on garbage."""

    table: ClassVar[dict[int, bytes]] = {0: b""}

    def encode(self, message: bytes) -> bytes | None:
        return b"\x00" + super().encode(message)  # type: ignore[operator]

    def decode(self, payload: bytes, limit: int) -> bytes:
        prefix = self.table[payload[0]] if payload else b""
        return prefix + super().decode(payload[1:], limit)


class Deflates(Deflate):
    """The stateless codec the contexts belong to (its id differs from theirs)."""


def context_suite(context: type[HistoryContext], **attrs: Any) -> type[ContextConformance]:
    body: dict[str, Any] = {
        "make_codec": lambda self: Deflates(),
        "make_context_pair": lambda self: (context(), context()),
        "max_memory": 4096,
        "sequence_length": 200,
        **attrs,
    }
    return type(f"Test{context.__name__}", (ContextConformance,), body)


class TestContexts:
    def test_correct_context_passes(self) -> None:
        outcomes = run(context_suite(HistoryContext))
        assert {n: m for n, (o, m) in outcomes.items() if o != "passed"} == {}

    def test_correct_context_without_codec_passes(self) -> None:
        outcomes = run(context_suite(HistoryContext, make_codec=lambda self: None))
        assert {n: m for n, (o, m) in outcomes.items() if o != "passed"} == {}

    def test_lost_message(self) -> None:
        cls = context_suite(LosingContext)
        fails(cls, "test_absorbed_messages", "context-sync", "desynchronised", "absorbed")
        fails(cls, "test_absorb_equals_encode", "context-absorb")
        # Coding every message, it never needs absorb: the round trip passes.
        assert run(cls, "test_roundtrip_sequence")["test_roundtrip_sequence"][0] == "passed"

    def test_does_not_refuse_after_error(self) -> None:
        fails(context_suite(ForgivingContext), "test_refuses_after_error", "context-refuses")

    def test_reset_does_not_reset(self) -> None:
        fails(context_suite(ResetlessContext), "test_reset", "context-reset", "sending context")

    def test_memory_unbounded(self) -> None:
        fails(context_suite(HoardingContext), "test_memory", "context-memory", "max_memory = 4096")

    def test_decoder_raises_key_error(self) -> None:
        cls = context_suite(KeyErrorContext)
        fails(cls, "test_damaged_payloads", "decode-errors", "KeyError")
        fails(cls, "test_random_payloads", "decode-errors", "KeyError")

    def test_decode_does_not_absorb(self) -> None:
        class Forgetful(HistoryContext):
            def decode(self, payload: bytes, limit: int) -> bytes:
                return self._decode(payload, limit)

        fails(context_suite(Forgetful), "test_roundtrip_sequence", "context-sync", "desynchronised")

    def test_payload_over_the_codec_bound(self) -> None:
        class Padded(HistoryContext):
            def encode(self, message: bytes) -> bytes | None:
                return super().encode(message) + b"\x00" * 64  # type: ignore[operator]

        fails(context_suite(Padded), "test_roundtrip_sequence", "expansion-bound")

    def test_context_with_the_codec_id(self) -> None:
        class SameId(HistoryContext):
            method_id = Deflates.method_id

        fails(context_suite(SameId), "test_declaration", "context-declaration", "own method id")

    def test_conversation(self) -> None:
        messages = conversation(300, seed=9)
        assert len(messages) == 300
        assert messages.count(b"") >= 10
        assert conversation(300, seed=9) == messages


# -- the installed-codec path (auracodec conformance NAME) ---------------------------


def test_suite_classes_for_installed_codecs() -> None:
    classes = suite_classes(["identity", "brio"])
    assert set(classes) == {"Test_identity", "Test_brio", "Test_brio_context"}
    identity = run(classes["Test_identity"], "test_compresses", "test_roundtrip_sample")
    assert identity["test_compresses"][0] == "skipped"
    assert identity["test_roundtrip_sample"][0] == "passed"
    context = run(classes["Test_brio_context"], "test_roundtrip_sequence", "test_declaration")
    assert {o for o, _ in context.values()} == {"passed"}
    special = suite_classes(["identity"], accepted={"identity": [b"abc"]})["Test_identity"]
    assert special().accepted == (b"abc",)
    with pytest.raises(KeyError, match="no such codec 'nope'"):
        suite_classes(["nope"])


# -- pytest itself, and runs that do not use the suite --------------------------------


def test_pytest_reports_the_rule(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_codecs=textwrap.dedent(
            """
            from auracodec.conformance import CodecConformance
            from auracodec.plugin import CorruptPayload

            class Declining:
                name = "declining"
                method_id = 0xc0
                thread_safe = True
                detects = frozenset()
                cost = 1

                def encode(self, message):
                    return None

                def decode(self, payload, limit):
                    raise CorruptPayload("never")

                def max_payload_size(self, size):
                    return size

                def fingerprint(self):
                    return {}

            class TestDeclining(CodecConformance):
                def make_codec(self):
                    return Declining()
            """
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    outcomes = result.parseoutcomes()
    assert (outcomes["failed"], outcomes.get("errors", 0)) == (3, 0), outcomes
    result.stdout.fnmatch_lines(
        [
            "*broke rule compresses: a general-purpose codec encodes at least*",
            "*broke rule roundtrip-tested*",
        ]
    )


def test_plugin_is_silent_without_the_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    # pytest itself lists the distributions that provide plugins ("plugins:
    # auracodec-0.1.0, ..."); auracodec adds nothing.
    mentions = [line for line in result.outlines if "auracodec" in line]
    assert [line for line in mentions if not line.startswith("plugins:")] == []


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_import_auracodec_imports_no_test_tools() -> None:
    result = _python(
        """
        import sys
        import auracodec, auracodec.plugin, auracodec.conformance
        from auracodec.conformance import sample_messages, compressible_messages
        assert sample_messages() and compressible_messages()
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in
                        {"pytest", "_pytest", "hypothesis", "_hypothesis_pytestplugin"})
        print(loaded)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_runs_without_the_conformance_extra() -> None:
    """Without pytest and Hypothesis: the library works, the suite says what to install."""
    result = _python(
        """
        import sys

        class NotInstalled:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"pytest", "_pytest", "hypothesis"}:
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NotInstalled())
        import auracodec
        from auracodec.conformance import sample_messages

        pipe = auracodec.Pipeline.from_config()
        for m in sample_messages()[:20]:
            assert pipe.decode_bytes(pipe.encode(m)) == m
        try:
            from auracodec.conformance import CodecConformance
        except ModuleNotFoundError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'auracodec[conformance]'" in result.stdout


def test_sample_sets() -> None:
    compressible = compressible_messages()
    assert 100 < len(compressible) < len(sample_messages())
    assert b"" not in compressible


def test_docs_state_every_rule() -> None:
    """docs/conformance.md lists every rule with the statement failures show."""
    docs = (Path(__file__).parents[1] / "docs" / "conformance.md").read_text(encoding="utf-8")
    for rule in RULES.values():
        text = rule.text.replace("[a-z][a-z0-9_]{0,31}", "`[a-z][a-z0-9_]{0,31}`")
        assert f"| `{rule.id}` | {text} |" in docs, rule.id
