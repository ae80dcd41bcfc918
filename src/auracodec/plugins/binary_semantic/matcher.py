"""Finding the template that fits a message, and the payload format.

Matching never scans the library. Every template is indexed under one
*anchor*: its rarest literal token (a whitespace-delimited run of literal text
that no slot touches). A message's whitespace-split tokens are looked up in
that index, so only templates sharing a rare token with the message are
found, whatever the library's size, and of those only the ones whose literal
tokens all occur in the message are tried. Templates without an anchor (a
single token mixing slots and literals, like compact JSON) are looked up by
how they start (the first byte of a leading literal, or the type of a leading
slot and the literal after it) and tried from the start of the message when
their longest literal occurs in it.

A candidate is then walked part by part: literals are compared, normalizer
slots take the longest value of their type, ``enum`` slots the longest listed
value, ``word``/``text`` slots end where the next literal starts (its first
occurrence; there is no backtracking).

A template may also cover only part of a message (*partial match*): a
template that starts with literal text is also tried where that text occurs
later in the message, and the text before and after it travels as a
remainder, compressed by another codec of the pipeline when that pays.

Of all candidates, the one with the smallest *estimated* payload wins: its
slot values and literal text count exactly, and the bytes the remainder codec
would be given (the remainder, long ``word``/``text`` values) at 3/8 of a
byte each. Only the winner is coded, so the remainder codec runs once per
message (plus once per long value of the winner), not once per candidate.

Encoding is linear in the message: matching copies nothing (slot values are
spans until the winner is built), word ends are found by a regular expression
in C that looks no further than the run of non-whitespace, and each candidate
costs at most a few substring searches. Messages longer than
``max_message_size`` are declined at once.

Payload::

    varint(template_id << 3 | packed << 2 | mode)
    slot values, in order:
        normalizer slots   the normalizer's packed form
        word, text         varint(length << 1 | packed) || bytes; packed = 1:
                           the bytes are the remainder codec's payload
        enum               varint(index); an open-ended enum's other values:
                           varint(number of values) || varint(length) || bytes
    remainder (mode != 0), to the end of the payload:
        mode 1 (template, then text)    the text after
        mode 2 (text, then template)    the text before
        mode 3 (text, template, text)   varint(len(before)) || before || after
        with packed = 1 the remainder is the payload of the remainder codec

Mode 0 means the template covers the whole message.

Output bound: a payload of ``n`` bytes for template ``t`` decodes to at most
``fixed(t) + max_ratio * n + RATIO_SLACK`` bytes, where ``fixed(t)`` is the
template's literal text plus its longest value of each enum slot (text both
ends hold, at most a few KB). The encoder declines a match beyond it (another
codec carries the message), and the decoder refuses such a payload as it goes:
every part is checked as it is produced, and each packed slot value and the
remainder are decoded by the remainder codec under what is left of the budget
and of the caller's limit, so decoding work is bounded by the frame's length.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from auracodec.plugin import (
    Codec,
    CorruptPayload,
    Normalizer,
    OutputLimitExceeded,
    TrailingData,
    read_varint,
    varint,
)

from .library import Slot, Template

__all__ = ["DEFAULT_MAX_MESSAGE_SIZE", "DEFAULT_MAX_RATIO", "RATIO_SLACK", "TemplateSet"]

#: Output-to-payload ratio cap, beyond each template's fixed text.
DEFAULT_MAX_RATIO = 8
#: Bytes of output allowed beyond ``fixed + max_ratio * n``.
RATIO_SLACK = 64
#: Longer messages are declined at once: templates are for short messages.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024

_WHITESPACE = frozenset(b" \t\r\n\x0b\x0c")
#: A run without whitespace (what a word slot may hold), matched in C.
_NON_WHITESPACE = re.compile(rb"[^ \t\r\n\x0b\x0c]*")
_WORD, _TEXT, _ENUM, _NORM = 0, 1, 2, 3
#: word and text values this long or longer are tried with the remainder codec.
_PACK_TEXT_MIN = 24


_FULL, _PREFIX, _SUFFIX, _INFIX = 0, 1, 2, 3
#: The estimated cost, in eighths of a byte, of a byte the remainder codec will
#: be given (a partial match's remainder, a long word or text value): about
#: what BRIO makes of short chat text. Of the candidates, only the one with the
#: smallest estimated payload is coded; 3/8 lost the fewest bytes against
#: coding every candidate (bench/templates_speed.py, docs/templates.md).
_CODED_EIGHTHS = 3


class _Plan(NamedTuple):
    """How one template fits a message: what :meth:`TemplateSet._build` codes."""

    cost: int
    c: _Compiled
    mode: int
    start: int
    end: int
    values: list[bytes | tuple[int, int]]


class _Compiled:
    """A template prepared for matching: parts as (kind, literal or slot data, next literal)."""

    __slots__ = ("anchor", "fixed", "id", "leading", "parts", "probe", "template", "tokens")

    def __init__(self, template: Template, normalizers: Mapping[str, Normalizer]) -> None:
        self.template = template
        self.id = template.id
        parts: list[tuple[int, object, bytes | None]] = []
        raw = template.parts
        for i, p in enumerate(raw):
            if isinstance(p, bytes):
                parts.append((-1, p, None))
                continue
            following = raw[i + 1] if i + 1 < len(raw) else None
            nxt = following if isinstance(following, bytes) else None
            if p.kind == "word":
                parts.append((_WORD, None, nxt))
            elif p.kind == "text":
                parts.append((_TEXT, None, nxt))
            elif p.kind == "enum":
                parts.append((_ENUM, _Enum(p.values, p.open_ended), nxt))
            else:
                parts.append((_NORM, normalizers[p.kind], nxt))
        self.parts = parts
        # What the template itself can put in a message: its literal text and
        # the longest value of each enum slot (the output bound allows it).
        self.fixed = sum(
            len(p) if isinstance(p, bytes) else max(map(len, p.values), default=0)
            for p in raw
            if isinstance(p, bytes) or p.kind == "enum"
        )
        self.leading = raw[0] if isinstance(raw[0], bytes) else None
        self.anchor: bytes | None = None
        self.tokens = frozenset(self.literal_tokens())
        # The longest literal: a message without it cannot match (a substring test).
        self.probe = max((p for p in raw if isinstance(p, bytes)), key=len, default=b"")

    def literal_tokens(self) -> list[bytes]:
        """Tokens of the template that are wholly literal (candidate anchors)."""
        tokens: list[bytes] = []
        current = bytearray()
        touched = False  # does a slot touch the current token?
        for p in self.template.parts:
            if isinstance(p, Slot):
                touched = True
                continue
            for b in p:
                if b in _WHITESPACE:
                    if current and not touched:
                        tokens.append(bytes(current))
                    current.clear()
                    touched = False
                else:
                    current.append(b)
        if current and not touched:
            tokens.append(bytes(current))
        return tokens

    def match(self, msg: bytes, pos: int) -> tuple[int, list[bytes | tuple[int, int]]] | None:
        """Match from ``pos``; return the end and the slot values.

        A normalizer or enum slot's value is its encoded form; a ``word`` or
        ``text`` slot's value is its span ``(start, stop)`` in ``msg``, encoded
        only if this match is the one chosen (nothing is copied before that).
        Every step is bounded by the text it consumes, or by the run of
        non-whitespace it looks at, so a match is linear in the message.
        """
        out: list[bytes | tuple[int, int]] = []
        end = len(msg)
        for kind, data, nxt in self.parts:
            if kind < 0:
                if not msg.startswith(data, pos):  # type: ignore[arg-type]
                    return None
                pos += len(data)  # type: ignore[arg-type]
                continue
            if kind == _NORM:
                stop = data.match(msg, pos)  # type: ignore[attr-defined]
                if stop < 0:
                    return None
                packed = data.pack(msg[pos:stop])  # type: ignore[attr-defined]
                if packed is None:
                    return None
                out.append(packed)
                pos = stop
                continue
            if kind == _ENUM:
                for value in data.longest_first:  # type: ignore[attr-defined]
                    if msg.startswith(value, pos):
                        out.append(varint(data.index[value]))  # type: ignore[attr-defined]
                        pos += len(value)
                        break
                else:
                    if not data.open_ended:  # type: ignore[attr-defined]
                        return None
                    # Another value: the escape index, then the value as a word.
                    stop = _word_stop(msg, pos, nxt)
                    if stop <= pos:
                        return None
                    escape = varint(len(data.values))  # type: ignore[attr-defined]
                    out.append(escape + varint(stop - pos) + msg[pos:stop])
                    pos = stop
                continue
            if kind == _WORD:
                stop = _word_stop(msg, pos, nxt)
                if stop <= pos:
                    return None
            elif nxt is not None:
                stop = msg.find(nxt, pos)
                if stop < 0:
                    return None
            else:  # a trailing text slot takes the rest of the message
                stop = end
            out.append((pos, stop))
            pos = stop
        return pos, out


def _word_stop(msg: bytes, pos: int, nxt: bytes | None) -> int:
    """Where a word starting at ``pos`` ends: at the first occurrence of the next
    literal ``nxt``, which must lie within the run of non-whitespace there, or
    at the run's end without one; -1 if ``nxt`` does not occur in time.

    The search never looks past the run, so it costs the run's length.
    """
    run = _NON_WHITESPACE.match(msg, pos).end()  # type: ignore[union-attr]
    if nxt is None:
        return run
    return msg.find(nxt, pos, run + len(nxt))


class TemplateSet:
    """A compiled library: match, encode, decode. Thread-safe.

    ``remainder_codec`` compresses the free text of partial matches when its
    payload is smaller; ``None`` stores it as is. ``max_ratio`` bounds the
    output of a payload (see the module documentation).
    """

    def __init__(
        self,
        templates: Sequence[Template],
        normalizers: Mapping[str, Normalizer],
        remainder_codec: Codec | None = None,
        partial: bool = True,
        max_ratio: int = DEFAULT_MAX_RATIO,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        if max_ratio < 1:
            raise ValueError(f"max_ratio must be at least 1, got {max_ratio}")
        self.max_ratio = max_ratio
        self.max_message_size = max_message_size
        self._normalizers = dict(normalizers)
        self._by_id = {t.id: _Compiled(t, self._normalizers) for t in templates}
        self._remainder = remainder_codec
        self._partial = partial
        self._index: dict[bytes, list[_Compiled]] = {}
        self._anchorless: list[_Compiled] = []
        # Templates without an anchor, by how they start: a literal's first
        # byte, or the type of a leading slot (tested once per message).
        self._by_first_byte: dict[int, list[_Compiled]] = {}
        self._by_first_slot: dict[
            tuple[str, bytes], tuple[Normalizer | None, bytes, list[_Compiled]]
        ] = {}
        self._shared_probe: dict[tuple[str, bytes], bytes] = {}
        frequency: Counter[bytes] = Counter()
        tokens = {tid: c.literal_tokens() for tid, c in self._by_id.items()}
        for toks in tokens.values():
            frequency.update(set(toks))
        for tid, c in self._by_id.items():
            if c.template.retired:
                continue  # decoded, never chosen
            if tokens[tid]:
                # The rarest token; ties go to the longer, then the smaller, token.
                c.anchor = min(tokens[tid], key=lambda t: (frequency[t], -len(t), t))
                self._index.setdefault(c.anchor, []).append(c)
            else:
                self._anchorless.append(c)
                first = c.template.parts[0]
                if isinstance(first, bytes):
                    self._by_first_byte.setdefault(first[0], []).append(c)
                else:
                    # Grouped by the leading slot's type and the literal after
                    # it: one test per group and message.
                    test = self._normalizers.get(first.kind)
                    after = c.template.parts[1] if len(c.template.parts) > 1 else b""
                    after = after if isinstance(after, bytes) else b""
                    key = (first.kind, after)
                    group = self._by_first_slot.setdefault(key, (test, after, []))
                    group[2].append(c)
        # The start all probes of a group share: one substring test for the group.
        for key, (_, _, members) in self._by_first_slot.items():
            self._shared_probe[key] = _common_prefix([c.probe for c in members])
        self._lock = threading.Lock()
        self.attempts = 0
        self.hits: Counter[int] = Counter()
        self.saved: Counter[int] = Counter()

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def anchorless(self) -> int:
        return len(self._anchorless)

    def candidates(self, msg: bytes) -> list[_Compiled]:
        found: list[_Compiled] = []
        if msg and self._anchorless:
            for c in self._by_first_byte.get(msg[0], ()):
                if c.probe in msg:
                    found.append(c)
            for key, (test, after, group) in self._by_first_slot.items():
                if self._shared_probe[key] not in msg:
                    continue
                if test is not None:
                    end = test.match(msg, 0)
                    if end < 0 or not msg.startswith(after, end):
                        continue
                for c in group:
                    if c.probe in msg:
                        found.append(c)
        tokens = set(msg.split())
        index = self._index
        for token in index.keys() & tokens:  # a set intersection, in C
            for c in index[token]:
                # Every literal token of a template must be in the message:
                # a set test that drops most candidates before any matching.
                if c.tokens <= tokens:
                    found.append(c)
        return found

    # -- encoding -------------------------------------------------------------------

    def budget(self, c: _Compiled, size: int) -> int:
        """The most a payload of ``size`` bytes for ``c`` may decode to."""
        return c.fixed + self.max_ratio * size + RATIO_SLACK

    def encode(self, msg: bytes) -> bytes | None:
        best: _Plan | None = None
        if len(msg) <= self.max_message_size:
            # Candidates come in set order, which varies between processes
            # (hash randomisation): ties go to the lower template id, so that
            # every process encodes a message alike (the codec contract).
            for c in self.candidates(msg):
                plan = self._plan(c, msg)
                if plan is not None and (
                    best is None or (plan.cost, c.id) < (best.cost, best.c.id)
                ):
                    best = plan
        payload = None
        if best is not None:
            payload = self._build(best, msg)
            if len(msg) > self.budget(best.c, len(payload)):
                payload = None  # one the decoder would refuse: another codec carries it
        with self._lock:
            self.attempts += 1
            if best is not None and payload is not None:
                self.hits[best.c.id] += 1
                self.saved[best.c.id] += len(msg) - len(payload)
        return payload

    def _plan(self, c: _Compiled, msg: bytes) -> _Plan | None:
        """How ``c`` fits ``msg`` best, by estimated payload size; nothing is coded."""
        m = c.match(msg, 0)
        if m is not None and m[0] == len(msg):
            return self._estimate(c, _FULL, 0, len(msg), m[1], 0)
        if not self._partial:
            return None
        best: _Plan | None = None
        if m is not None:  # the template covers a prefix
            best = self._estimate(c, _PREFIX, 0, m[0], m[1], len(msg) - m[0])
        if c.leading is not None:
            start = msg.find(c.leading, 1)
            if start > 0:
                m = c.match(msg, start)
                if m is not None:
                    end, values = m
                    if end == len(msg):
                        plan = self._estimate(c, _SUFFIX, start, end, values, start)
                    else:
                        rest = len(varint(start)) + start + len(msg) - end
                        plan = self._estimate(c, _INFIX, start, end, values, rest)
                    if best is None or plan.cost < best.cost:
                        best = plan
        return best

    def _estimate(
        self,
        c: _Compiled,
        mode: int,
        start: int,
        end: int,
        values: list[bytes | tuple[int, int]],
        rest: int,
    ) -> _Plan:
        """A plan and its cost: the payload's size in eighths of a byte, with
        text the remainder codec would be given counted at an estimated
        ``_CODED_EIGHTHS`` per byte (exact when there is no remainder codec)."""
        coded = _CODED_EIGHTHS if self._remainder is not None else 8
        cost = 8 * len(varint(c.id << 3 | mode))
        for v in values:
            if isinstance(v, bytes):
                cost += 8 * len(v)
            else:
                n = v[1] - v[0]
                cost += 8 * len(varint(n << 1)) + (coded if n >= _PACK_TEXT_MIN else 8) * n
        cost += (coded if rest > 8 else 8) * rest
        return _Plan(cost, c, mode, start, end, values)

    def _build(self, plan: _Plan, msg: bytes) -> bytes:
        """The payload of ``plan``: the only place the remainder codec is called."""
        c, mode, start, end = plan.c, plan.mode, plan.start, plan.end
        values = b"".join(
            v if isinstance(v, bytes) else self._text(msg[v[0] : v[1]]) for v in plan.values
        )
        if mode == _FULL:
            return varint(c.id << 3 | _FULL) + values
        if mode == _PREFIX:
            rest = msg[end:]
        elif mode == _SUFFIX:
            rest = msg[:start]
        else:
            rest = varint(start) + msg[:start] + msg[end:]
        packed = 0
        if self._remainder is not None and len(rest) > 8:
            coded = self._remainder.encode(rest)
            if coded is not None and len(coded) < len(rest):
                rest, packed = coded, 1
        return varint(c.id << 3 | packed << 2 | mode) + values + rest

    def _text(self, value: bytes) -> bytes:
        """A ``word`` or ``text`` slot value: ``varint(len << 1 | packed) || bytes``.

        Long values go through the remainder codec when that is smaller.
        """
        if self._remainder is not None and len(value) >= _PACK_TEXT_MIN:
            coded = self._remainder.encode(value)
            if coded is not None and len(coded) < len(value):
                return varint(len(coded) << 1 | 1) + coded
        return varint(len(value) << 1) + value

    # -- decoding -------------------------------------------------------------------

    def decode(self, payload: bytes, limit: int) -> bytes:
        head, pos = read_varint(payload, 0, what="template id")
        tid, packed, mode = head >> 3, head >> 2 & 1, head & 3
        c = self._by_id.get(tid)
        if c is None:
            raise CorruptPayload(f"unknown template id {tid} (this library has {len(self)})")
        budget = self.budget(c, len(payload))
        cap = min(limit, budget)  # every part is checked against it as it comes
        size = 0
        values: list[bytes] = []
        for kind, data, _ in c.parts:
            if kind < 0:
                value: bytes = data  # type: ignore[assignment]
            elif kind == _NORM:
                value, pos = data.unpack(payload, pos)  # type: ignore[attr-defined]
            elif kind == _ENUM:
                index, pos = read_varint(payload, pos, what="enum index")
                options = data.values  # type: ignore[attr-defined]
                if index < len(options):
                    value = options[index]
                elif index == len(options) and data.open_ended:  # type: ignore[attr-defined]
                    n, pos = read_varint(payload, pos, what="enum value length")
                    if pos + n > len(payload):
                        raise CorruptPayload(f"enum value of {n} bytes runs past the payload")
                    value = payload[pos : pos + n]
                    pos += n
                else:
                    raise CorruptPayload(f"enum index {index} out of {len(options)} values")
            else:
                head, pos = read_varint(payload, pos, what="slot length")
                n = head >> 1
                if pos + n > len(payload):
                    raise CorruptPayload(f"slot of {n} bytes runs past the payload")
                value = payload[pos : pos + n]
                pos += n
                if head & 1:
                    if self._remainder is None:
                        raise CorruptPayload("packed slot, but no remainder codec is set")
                    value = self._unpack(self._remainder, value, cap - size, limit, budget, payload)
            size += len(value)
            if size > cap:
                raise self._beyond(limit, budget, payload)
            values.append(value)
        body = b"".join(values)
        if mode == _FULL:
            if packed:
                raise CorruptPayload("a whole-message match carries no remainder")
            if pos != len(payload):
                raise TrailingData(f"{len(payload) - pos} bytes follow the last slot")
            return body
        rest = payload[pos:]
        if packed:
            if self._remainder is None:
                raise CorruptPayload("packed remainder, but no remainder codec is set")
            room = cap - size
            if mode == _INFIX:  # the remainder also holds varint(len(before))
                room += len(varint(room))
            rest = self._unpack(self._remainder, rest, room, limit, budget, payload)
        if mode == _INFIX:
            n, at = read_varint(rest, 0, what="remainder length")
            if at + n > len(rest):
                raise CorruptPayload("remainder length runs past the payload")
            before, after = rest[at : at + n], rest[at + n :]
        else:
            before, after = (b"", rest) if mode == _PREFIX else (rest, b"")
        if size + len(before) + len(after) > cap:
            raise self._beyond(limit, budget, payload)
        return before + body + after

    def _unpack(
        self, codec: Codec, data: bytes, room: int, limit: int, budget: int, payload: bytes
    ) -> bytes:
        """The remainder codec's decode of ``data``, under what is left (``room``)."""
        try:
            return codec.decode(data, room)
        except OutputLimitExceeded:
            raise self._beyond(limit, budget, payload) from None

    def _beyond(
        self, limit: int, budget: int, payload: bytes
    ) -> CorruptPayload | OutputLimitExceeded:
        """The error for output beyond the caller's limit or the payload's budget."""
        if limit <= budget:
            return OutputLimitExceeded(limit)
        n = len(payload)
        return CorruptPayload(
            f"template payload of {n} bytes decodes to more than its budget of {budget} bytes "
            f"(template text + max_ratio x {n} + {RATIO_SLACK}, max_ratio = {self.max_ratio}), "
            "which no encoder with this setting produces"
        )

    # -- stats --------------------------------------------------------------------------

    def stats(self) -> dict[str, object]:
        with self._lock:
            hits = dict(self.hits)
            saved = dict(self.saved)
            attempts = self.attempts
        matched = sum(hits.values())
        return {
            "templates": len(self),
            "attempts": attempts,
            "matched": matched,
            "hit_rate": round(matched / attempts, 4) if attempts else 0.0,
            "per_template": {
                tid: {
                    "hits": hits[tid],
                    "bytes_saved": saved[tid],
                    "text": self._by_id[tid].template.text,
                }
                for tid in sorted(hits, key=lambda t: -saved[t])
            },
        }


def _common_prefix(items: Sequence[bytes]) -> bytes:
    first, last = min(items), max(items)
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]


class _Enum:
    """An enum slot's values, by index and by value."""

    __slots__ = ("index", "longest_first", "open_ended", "values")

    def __init__(self, values: Sequence[bytes], open_ended: bool = False) -> None:
        self.values = tuple(values)
        self.open_ended = open_ended
        self.index = {v: i for i, v in enumerate(self.values)}
        self.longest_first = sorted(self.values, key=len, reverse=True)
