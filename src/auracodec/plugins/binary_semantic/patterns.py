"""User-defined slot types: a small pattern language, compiled to a possessive matcher.

``patterns = { order = "ORD-[0-9A-Z]{8}" }`` in ``[codecs.binary_semantic]``
adds a slot type ``{order}``. The language has no alternation, no
backreferences and no backtracking: every item takes as many characters as it
can and gives none back, so matching is linear in the message (see
:class:`Pattern` and docs/templates.md). A :class:`Pattern` is a normalizer
like the built-in ones (:mod:`.normalizers`).
"""

from __future__ import annotations

from collections.abc import Mapping

from auracodec.plugin import CorruptPayload, read_varint, varint

from .normalizers import MAX_DIGITS, take

__all__ = ["Pattern", "PatternError", "make_patterns"]


class PatternError(ValueError):
    """A user-defined pattern does not parse; the message says where."""


_CLASSES = {
    "d": frozenset(b"0123456789"),
    "w": frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"),
    "x": frozenset(b"0123456789abcdefABCDEF"),
}
_DIGITS = _CLASSES["d"]
_MAX_REPEAT = 4096


class Pattern:
    """A user-defined normalizer: a small pattern language, matched possessively.

    Items: a literal character (``\\`` escapes ``[]{}+*?\\``), a class
    ``[a-z0-9_]`` (ranges and characters; no negation), ``\\d``, ``\\w``, ``\\x``
    (hex); each optionally followed by ``{n}``, ``{n,m}``, ``?``, ``+`` or ``*``
    (``+`` and ``*`` stop at 4096). Every item takes as many characters as it
    can and never gives any back, so matching is linear and cannot blow up;
    write ``[a-z]+[0-9]+``, not patterns that rely on backtracking.

    Packing stores, per item, the count when it varies and the characters:
    digit items as an integer, other classes as raw bytes. Literal characters
    cost nothing.
    """

    def __init__(self, name: str, pattern: str) -> None:
        self.name = name
        self.source = pattern
        self.items = _parse_pattern(pattern)

    def match(self, data: bytes, pos: int) -> int:
        end = len(data)
        for chars, lo, hi in self.items:
            n = 0
            while n < hi and pos + n < end and data[pos + n] in chars:
                n += 1
            if n < lo:
                return -1
            pos += n
        return pos

    def pack(self, value: bytes) -> bytes | None:
        if self.match(value, 0) != len(value):
            return None
        out = bytearray()
        pos = 0
        for chars, lo, hi in self.items:
            n = 0
            while n < hi and pos + n < len(value) and value[pos + n] in chars:
                n += 1
            part = value[pos : pos + n]
            pos += n
            if lo != hi:
                out += varint(n - lo)
            if len(chars) == 1 or not n:
                continue
            if chars <= _DIGITS and n <= MAX_DIGITS:
                out += varint(int(part))
            else:
                out += part
        return bytes(out)

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]:
        out = bytearray()
        for chars, lo, hi in self.items:
            n = lo
            if lo != hi:
                extra, pos = read_varint(data, pos, what=f"{self.name} count")
                n += extra
                if n > hi:
                    raise CorruptPayload(f"packed {self.name} has {n} characters, at most {hi}")
            if len(chars) == 1:
                out += bytes(chars) * n
            elif not n:
                continue
            elif chars <= _DIGITS and n <= MAX_DIGITS:
                v, pos = read_varint(data, pos, what=self.name)
                digits = str(v).encode()
                if len(digits) > n:
                    raise CorruptPayload(f"packed {self.name} has too many digits")
                out += digits.rjust(n, b"0")
            else:
                part, pos = take(data, pos, n, self.name)
                if not all(c in chars for c in part):
                    raise CorruptPayload(f"packed {self.name} has characters outside its class")
                out += part
        return bytes(out), pos


def _parse_pattern(pattern: str) -> list[tuple[frozenset[int], int, int]]:
    if not pattern or len(pattern) > 512:
        raise PatternError("a pattern has 1 to 512 characters")
    try:
        raw = pattern.encode("ascii")
    except UnicodeEncodeError:
        raise PatternError("patterns are ASCII; write other characters literally") from None
    items: list[tuple[frozenset[int], int, int]] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == ord("\\"):
            if i + 1 >= len(raw):
                raise PatternError(f"pattern ends after a backslash (at {i})")
            e = chr(raw[i + 1])
            chars = _CLASSES[e] if e in _CLASSES else frozenset((raw[i + 1],))
            i += 2
        elif c == ord("["):
            close = raw.find(b"]", i + 1)
            if close < 0 or close == i + 1:
                raise PatternError(f"unclosed or empty class at {i}")
            body = raw[i + 1 : close]
            members: set[int] = set()
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == ord("-"):
                    if body[j] > body[j + 2]:
                        raise PatternError(f"bad range in class at {i}")
                    members.update(range(body[j], body[j + 2] + 1))
                    j += 3
                else:
                    members.add(body[j])
                    j += 1
            chars = frozenset(members)
            i = close + 1
        elif c in b"]{}+*?":
            raise PatternError(f"unexpected {chr(c)!r} at {i} (escape it with a backslash)")
        else:
            chars = frozenset((c,))
            i += 1
        lo = hi = 1
        if i < len(raw) and raw[i] in b"?+*{":
            q = chr(raw[i])
            if q == "?":
                lo, hi, i = 0, 1, i + 1
            elif q == "+":
                lo, hi, i = 1, _MAX_REPEAT, i + 1
            elif q == "*":
                lo, hi, i = 0, _MAX_REPEAT, i + 1
            else:
                close = raw.find(b"}", i)
                spec = raw[i + 1 : close].decode() if close > 0 else ""
                parts = spec.split(",")
                if close < 0 or not 1 <= len(parts) <= 2 or not all(p.isdigit() for p in parts):
                    raise PatternError(f"bad repeat at {i}: expected {{n}} or {{n,m}}")
                lo, hi = int(parts[0]), int(parts[-1])
                if not 0 <= lo <= hi <= _MAX_REPEAT or hi == 0:
                    raise PatternError(f"bad repeat {{{spec}}} at {i}")
                i = close + 1
        items.append((chars, lo, hi))
    if all(lo == 0 for _, lo, _ in items):
        raise PatternError("a pattern must match at least one character")
    return items


def make_patterns(table: Mapping[str, str]) -> dict[str, Pattern]:
    """Compile ``name = "pattern"`` pairs; PatternError names the pattern."""
    out = {}
    for name, source in table.items():
        try:
            out[name] = Pattern(name, source)
        except PatternError as exc:
            raise PatternError(f"pattern {name!r}: {exc}") from None
    return out
