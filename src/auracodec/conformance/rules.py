"""The rules the conformance suite checks, each with an id and a statement.

A failing check names its rule and states it, then says what happened::

    broke rule decode-errors: decode raises only DecodeError subclasses for bad
    input (any other exception is a bug a peer can trigger) and otherwise
    returns bytes
      got IndexError('index out of range') decoding b'\\n\\x17\\xff' (3 bytes)

The ids are stable: documentation (``docs/conformance.md``) and tests refer to
them. This module imports neither pytest nor Hypothesis until a rule breaks.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import attrs

__all__ = ["RULES", "Rule", "broken", "show"]


@attrs.frozen
class Rule:
    """One rule of the contract: a stable id and the statement a failure shows."""

    id: str
    text: str

    def __str__(self) -> str:
        return f"{self.id}: {self.text}"


_TABLE = (
    # -- codecs ----------------------------------------------------------------------
    Rule(
        "declaration",
        "name matches [a-z][a-z0-9_]{0,31}, method_id is in a range the codec may use, "
        "thread_safe is a bool, cost a non-negative int, detects a frozenset drawn from "
        "{'bitflip', 'extension', 'truncation'}, fingerprint() maps str to str or int",
    ),
    Rule(
        "purpose",
        "the test class declares what the codec is for: min_compressed_share between 0 "
        "and 1 for a general-purpose codec, or accepted_messages() listing at least one "
        "message for a special-purpose one",
    ),
    Rule(
        "encode-result",
        "encode returns bytes (the payload) or None (declined) for every message and "
        "raises nothing",
    ),
    Rule(
        "decode-errors",
        "decode raises only DecodeError subclasses for bad input (any other exception is "
        "a bug a peer can trigger) and otherwise returns bytes",
    ),
    Rule("roundtrip", "a payload returned by encode decodes to the message it was made from"),
    Rule(
        "roundtrip-tested",
        "a general-purpose codec accepts some of every set of round-trip messages "
        "(declining all of them leaves nothing tested)",
    ),
    Rule(
        "empty-message",
        "encode does not raise on the empty message; a payload it returns for it decodes "
        "to b'' under any limit, 0 included",
    ),
    Rule(
        "compresses",
        "a general-purpose codec encodes at least min_compressed_share of the suite's "
        "compressible sample messages to a payload strictly smaller than the message",
    ),
    Rule(
        "accepted",
        "a special-purpose codec encodes every message it declares it accepts to a "
        "payload strictly smaller than the message, which decodes to the message",
    ),
    Rule(
        "expansion-bound",
        "encode never returns more than max_payload_size(len(message)) bytes, and "
        "max_payload_size returns an int",
    ),
    Rule(
        "deterministic",
        "encode is deterministic: the same message gives the same payload, again and "
        "from a fresh instance",
    ),
    Rule(
        "detects",
        "a codec that declares it detects some damage (truncation, extension, bitflip) "
        "reports every such damage to a valid payload as a DecodeError",
    ),
    Rule(
        "output-limit",
        "decode never returns more than limit bytes: a message longer than the limit "
        "raises OutputLimitExceeded, crafted bombs raise a DecodeError, a message of "
        "exactly the limit decodes",
    ),
    Rule(
        "threads",
        "a codec that declares thread_safe gives the same payloads and messages from "
        "several threads at once, and raises nothing there",
    ),
    Rule("golden", "golden vectors decode to their messages, release after release"),
    # -- session contexts ----------------------------------------------------------------
    Rule(
        "context-declaration",
        "a context has encode, decode, absorb, reset and memory, a name of the codec "
        "name form, a method_id byte other than 0xff and other than its codec's, a "
        "non-negative int cost, and both ends of a pair agree on name and method_id",
    ),
    Rule(
        "context-sync",
        "the two ends stay in step: a payload the sending context makes decodes, at a "
        "receiving context that saw the same messages (coded or absorbed), to the message",
    ),
    Rule(
        "context-absorb",
        "absorb(message) leaves a context as encode(message) would: the payloads of the "
        "messages that follow are the same",
    ),
    Rule(
        "context-deterministic",
        "fresh contexts built alike encode the same messages to the same payloads",
    ),
    Rule(
        "context-reset",
        "reset() returns a context to its initial state: afterwards it encodes and "
        "decodes exactly as a fresh context",
    ),
    Rule(
        "context-refuses",
        "after decode raises a DecodeError, the context refuses every later decode with "
        "a DecodeError until reset()",
    ),
    Rule(
        "context-memory",
        "memory() returns a non-negative int, at most the test class's max_memory however "
        "many messages the context has seen",
    ),
)

#: Every rule, by id.
RULES: dict[str, Rule] = {r.id: r for r in _TABLE}


def show(data: bytes, width: int = 32) -> str:
    """A short, unambiguous view of bytes for a failure message: a prefix and the size."""
    more = "..." if len(data) > width else ""
    return f"{data[:width]!r}{more} ({len(data)} bytes)"


def broken(rule: str, detail: str) -> NoReturn:
    """Fail the running test: the rule's id and statement, then ``detail``.

    Called inside an ``except`` block, the exception that broke the rule is
    chained to the failure and its traceback shown; otherwise the message is
    the whole report.
    """
    __tracebackhide__ = True
    import pytest

    r = RULES[rule]
    pytest.fail(f"broke rule {r.id}: {r.text}\n  {detail}", pytrace=sys.exc_info()[1] is not None)
