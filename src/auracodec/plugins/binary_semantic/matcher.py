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
occurrence; there is no backtracking). Of all candidates, the one giving the
smallest payload wins.

A template may also cover only part of a message (*partial match*): a
template that starts with literal text is also tried where that text occurs
later in the message, and the text before and after it travels as a
remainder, compressed by another codec of the pipeline when that pays.

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

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

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

__all__ = ["DEFAULT_MAX_RATIO", "RATIO_SLACK", "TemplateSet"]

#: Output-to-payload ratio cap, beyond each template's fixed text.
DEFAULT_MAX_RATIO = 8
#: Bytes of output allowed beyond ``fixed + max_ratio * n``.
RATIO_SLACK = 64

_WHITESPACE = frozenset(b" \t\r\n\x0b\x0c")
_WORD, _TEXT, _ENUM, _NORM = 0, 1, 2, 3
#: word and text values this long or longer are tried with the remainder codec.
_PACK_TEXT_MIN = 24


def _raw_text(value: bytes) -> bytes:
    return varint(len(value) << 1) + value


_FULL, _PREFIX, _SUFFIX, _INFIX = 0, 1, 2, 3


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

    def match(
        self, msg: bytes, pos: int, text: Callable[[bytes], bytes] = _raw_text
    ) -> tuple[int, list[bytes]] | None:
        """Match from ``pos``; return the end and the encoded slot values.

        ``text`` encodes the value of a ``word`` or ``text`` slot.
        """
        out: list[bytes] = []
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
                    stop = msg.find(nxt, pos) if nxt is not None else pos
                    if nxt is None:
                        while stop < end and msg[stop] not in _WHITESPACE:
                            stop += 1
                    value = msg[pos:stop]
                    if stop < 0 or not value or any(b in _WHITESPACE for b in value):
                        return None
                    escape = varint(len(data.values))  # type: ignore[attr-defined]
                    out.append(escape + varint(len(value)) + value)
                    pos = stop
                continue
            if nxt is not None:
                stop = msg.find(nxt, pos)
                if stop < 0:
                    return None
            elif kind == _WORD:
                stop = pos
                while stop < end and msg[stop] not in _WHITESPACE:
                    stop += 1
            else:  # a trailing text or enum slot takes the rest of the message
                stop = end
            value = msg[pos:stop]
            if kind == _WORD and (not value or any(b in _WHITESPACE for b in value)):
                return None
            out.append(text(value))
            pos = stop
        return pos, out


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
    ) -> None:
        if max_ratio < 1:
            raise ValueError(f"max_ratio must be at least 1, got {max_ratio}")
        self.max_ratio = max_ratio
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
        best: bytes | None = None
        best_id = -1
        for c in self.candidates(msg):
            payload = self._encode_with(c, msg)
            if payload is None or len(msg) > self.budget(c, len(payload)):
                continue  # no match, or one the decoder would refuse
            if best is None or len(payload) < len(best):
                best, best_id = payload, c.id
        with self._lock:
            self.attempts += 1
            if best is not None:
                self.hits[best_id] += 1
                self.saved[best_id] += len(msg) - len(best)
        return best

    def _encode_with(self, c: _Compiled, msg: bytes) -> bytes | None:
        m = c.match(msg, 0, self._text)
        if m is not None and m[0] == len(msg):
            return varint(c.id << 3 | _FULL) + b"".join(m[1])
        if not self._partial:
            return None
        best: bytes | None = None
        if m is not None:  # the template covers a prefix
            best = self._with_remainder(c, _PREFIX, m[1], b"", msg[m[0] :])
        if c.leading is not None:
            start = msg.find(c.leading, 1)
            if start > 0:
                m = c.match(msg, start, self._text)
                if m is not None:
                    end, values = m
                    mode = _SUFFIX if end == len(msg) else _INFIX
                    payload = self._with_remainder(c, mode, values, msg[:start], msg[end:])
                    if payload is not None and (best is None or len(payload) < len(best)):
                        best = payload
        return best

    def _text(self, value: bytes) -> bytes:
        """A ``word`` or ``text`` slot value: ``varint(len << 1 | packed) || bytes``.

        Long values go through the remainder codec when that is smaller.
        """
        if self._remainder is not None and len(value) >= _PACK_TEXT_MIN:
            coded = self._remainder.encode(value)
            if coded is not None and len(coded) < len(value):
                return varint(len(coded) << 1 | 1) + coded
        return varint(len(value) << 1) + value

    def _with_remainder(
        self, c: _Compiled, mode: int, values: list[bytes], before: bytes, after: bytes
    ) -> bytes | None:
        if mode == _PREFIX:
            rest = after
        elif mode == _SUFFIX:
            rest = before
        else:
            rest = varint(len(before)) + before + after
        packed = 0
        if self._remainder is not None and len(rest) > 8:
            coded = self._remainder.encode(rest)
            if coded is not None and len(coded) < len(rest):
                rest, packed = coded, 1
        return varint(c.id << 3 | packed << 2 | mode) + b"".join(values) + rest

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
