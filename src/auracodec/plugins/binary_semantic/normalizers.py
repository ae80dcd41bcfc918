"""The built-in normalizers: typed values inside messages, packed byte-exactly.

======== ================================================ =====================
type     matches                                          packed as
======== ================================================ =====================
``int``  ``-?[0-9]+`` (at most 19 digits, leading zeros)  varint (+ width byte)
``dec``  ``-?[0-9]+.[0-9]+``                              two ints
``hex``  a run of hex digits, one letter case             length + nibbles
``uuid`` 8-4-4-4-12 hex digits, one letter case           case byte + 16 bytes
``ipv4`` dotted quad, canonical octets                    4 bytes
``ipv6`` canonical (compressed, lower-case) form          16 bytes
``ts``   ISO 8601 date/date-time, syslog, ctime           format byte + fields
======== ================================================ =====================

Each is linear in the value's length: the regular expressions here are ours,
fixed, and cannot backtrack more than a few bytes. ``pack`` returns ``None``
for any value it cannot restore byte-exactly (an invalid date, a
non-canonical IPv6 form), and the template codec then does not use that
template for the message. ``unpack`` checks every length and range.

User-defined patterns (:class:`Pattern`) compile a small pattern language to
a possessive matcher: no alternation, no backreferences, no backtracking.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from auracodec.plugin import (
    CorruptPayload,
    NormalizerType,
    Setting,
    TruncatedFrame,
    read_varint,
    unzigzag,
    varint,
    zigzag,
)

__all__ = ["BUILTIN", "Pattern", "PatternError"]

_MAX_DIGITS = 19
_MAX_HEX = 4096


def _take(data: bytes, pos: int, n: int, what: str) -> tuple[bytes, int]:
    end = pos + n
    if end > len(data):
        raise TruncatedFrame(f"payload ends inside a packed {what}")
    return data[pos:end], end


# -- numbers ----------------------------------------------------------------------


def _pack_digits(digits: bytes, negative: bool = False) -> bytes | None:
    """Digits (leading zeros allowed) and a sign: varint(zigzag(n) << 1 | padded)
    then, when padded, the width."""
    if not digits or len(digits) > _MAX_DIGITS or not digits.isdigit():
        return None
    n = int(digits)
    if negative and n == 0:
        return None  # "-0" would not come back
    padded = len(digits) > 1 and digits[0] == 0x30
    head = varint(zigzag(-n if negative else n) << 1 | padded)
    return head + bytes((len(digits),)) if padded else head


def _unpack_digits(data: bytes, pos: int, what: str) -> tuple[bytes, int]:
    v, pos = read_varint(data, pos, what=what)
    n = unzigzag(v >> 1)
    digits = str(abs(n)).encode()
    if v & 1:
        (width,), pos = _take(data, pos, 1, what)
        if not len(digits) < width <= _MAX_DIGITS:
            raise CorruptPayload(f"packed {what} has a bad width {width} for {abs(n)}")
        digits = digits.rjust(width, b"0")
    elif len(digits) > _MAX_DIGITS:
        raise CorruptPayload(f"packed {what} has more than {_MAX_DIGITS} digits")
    return (b"-" + digits if n < 0 else digits), pos


class Int:
    """``-?[0-9]+``: decimal integers of at most 19 digits, leading zeros kept."""

    name = "int"
    _re = re.compile(rb"-?[0-9]+")

    def match(self, data: bytes, pos: int) -> int:
        m = self._re.match(data, pos)
        if m is None:
            return -1
        end = m.end()
        return end if end - pos - (data[pos] == 0x2D) <= _MAX_DIGITS else -1

    def pack(self, value: bytes) -> bytes | None:
        if value[:1] == b"-":
            return _pack_digits(value[1:], negative=True)
        return _pack_digits(value)

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]:
        return _unpack_digits(data, pos, "int")


class Dec:
    """``-?[0-9]+.[0-9]+``: decimals, every digit kept."""

    name = "dec"
    _re = re.compile(rb"-?[0-9]+\.[0-9]+")

    def match(self, data: bytes, pos: int) -> int:
        m = self._re.match(data, pos)
        return -1 if m is None else m.end()

    def pack(self, value: bytes) -> bytes | None:
        whole, dot, frac = value.partition(b".")
        if not dot or not frac.isdigit():
            return None
        head = Int().pack(whole)
        tail = _pack_digits(frac)
        return None if head is None or tail is None else head + tail

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]:
        whole, pos = _unpack_digits(data, pos, "dec")
        frac, pos = _unpack_digits(data, pos, "dec")
        if frac[:1] == b"-":
            raise CorruptPayload("packed dec has a negative fraction")
        return whole + b"." + frac, pos


# -- identifiers --------------------------------------------------------------------


class Hex:
    """A run of hex digits in one letter case (digits only count as lower case)."""

    name = "hex"
    _lower = re.compile(rb"[0-9a-f]+")
    _upper = re.compile(rb"[0-9A-F]+")

    def match(self, data: bytes, pos: int) -> int:
        ends = [m.end() for m in (self._lower.match(data, pos), self._upper.match(data, pos)) if m]
        end = max(ends, default=-1)
        return end if end - pos <= _MAX_HEX else -1

    def pack(self, value: bytes) -> bytes | None:
        if not value or len(value) > _MAX_HEX:
            return None
        if self._lower.fullmatch(value):
            upper = 0
        elif self._upper.fullmatch(value):
            upper = 1
        else:
            return None
        text = value.decode("ascii")
        nibbles = bytes.fromhex(text + "0" * (len(text) & 1))
        return varint(len(value) << 1 | upper) + nibbles

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]:
        v, pos = read_varint(data, pos, what="hex length")
        n, upper = v >> 1, v & 1
        if not 0 < n <= _MAX_HEX:
            raise CorruptPayload(f"packed hex of length {n}")
        raw, pos = _take(data, pos, (n + 1) // 2, "hex")
        text = raw.hex()
        if n & 1 and text[-1] != "0":
            raise CorruptPayload("packed hex has a non-zero pad nibble")
        out = text[:n].encode()
        return (out.upper() if upper else out), pos


class Uuid:
    """8-4-4-4-12 hex digits in one letter case."""

    name = "uuid"
    _re = re.compile(
        rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        rb"|[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}"
    )

    def match(self, data: bytes, pos: int) -> int:
        m = self._re.match(data, pos)
        return -1 if m is None else m.end()

    def pack(self, value: bytes) -> bytes | None:
        if not self._re.fullmatch(value):
            return None
        upper = value != value.lower()
        return bytes((upper,)) + bytes.fromhex(value.replace(b"-", b"").decode())

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]:
        raw, pos = _take(data, pos, 17, "uuid")
        if raw[0] > 1:
            raise CorruptPayload(f"packed uuid has a bad case byte {raw[0]}")
        h = raw[1:].hex()
        text = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".encode()
        return (text.upper() if raw[0] else text), pos


_OCTET = rb"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"


class Ipv4:
    """A dotted quad with canonical octets (no leading zeros)."""

    name = "ipv4"
    _re = re.compile(_OCTET + rb"(?:\." + _OCTET + rb"){3}(?![0-9])")

    def match(self, data: bytes, pos: int) -> int:
        m = self._re.match(data, pos)
        return -1 if m is None else m.end()

    def pack(self, value: bytes) -> bytes | None:
        if not self._re.fullmatch(value):
            return None
        return bytes(int(part) for part in value.split(b"."))

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]:
        raw, pos = _take(data, pos, 4, "ipv4")
        return b".".join(str(b).encode() for b in raw), pos


class Ipv6:
    """An IPv6 address in its canonical text form (RFC 5952: compressed, lower case)."""

    name = "ipv6"
    _re = re.compile(rb"[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}")

    def match(self, data: bytes, pos: int) -> int:
        m = self._re.match(data, pos)
        if m is None or self.pack(m.group()) is None:
            return -1
        return m.end()

    def pack(self, value: bytes) -> bytes | None:
        try:
            addr = ipaddress.IPv6Address(value.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            return None
        return addr.packed if str(addr).encode() == value else None

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]:
        raw, pos = _take(data, pos, 16, "ipv6")
        return str(ipaddress.IPv6Address(raw)).encode(), pos


# -- timestamps ---------------------------------------------------------------------

_MONTHS = (
    b"Jan",
    b"Feb",
    b"Mar",
    b"Apr",
    b"May",
    b"Jun",
    b"Jul",
    b"Aug",
    b"Sep",
    b"Oct",
    b"Nov",
    b"Dec",
)
_DAYS = (b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun")
_MONTH_RE = rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


_ISO = re.compile(
    rb"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    rb"(?:([T ])([0-9]{2}):([0-9]{2}):([0-9]{2})(?:([.,])([0-9]{1,9}))?"
    rb"(Z|[+-][0-9]{2}:[0-9]{2}|[+-][0-9]{4})?)?"
)
_SYSLOG = re.compile(_MONTH_RE + rb" ( [1-9]|[0-3][0-9]|[1-9]) ([0-9]{2}):([0-9]{2}):([0-9]{2})")
_CTIME = re.compile(
    rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
    + _MONTH_RE
    + rb" ([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([0-9]{4})"
)
_FORMAT_ISO, _FORMAT_SYSLOG, _FORMAT_CTIME = 0, 1, 2


class Timestamp:
    """Timestamps in the common formats, packed as a format byte and fields.

    * ISO 8601: ``2025-10-23``, ``2025-10-23T10:30:00Z``,
      ``2015-07-29 17:41:44,747``, ``2025-10-23T10:30:00.123456+02:00``
    * syslog: ``Jun 14 15:16:01``, ``Nov  9 12:01:01``, ``Nov 9 12:01:01``
    * ctime: ``Sun Dec 04 04:47:44 2005``

    A value is packed only if formatting the fields gives it back exactly
    (so ``2025-02-30`` or a wrong weekday stays text).
    """

    name = "ts"

    def match(self, data: bytes, pos: int) -> int:
        best = -1
        for rx in (_ISO, _SYSLOG, _CTIME):
            m = rx.match(data, pos)
            if m is not None and m.end() > best:
                best = m.end()
        return best

    def pack(self, value: bytes) -> bytes | None:
        packed = self._pack(value)
        if packed is None:
            return None
        try:
            again, end = self.unpack(packed, 0)
        except (CorruptPayload, TruncatedFrame):
            return None
        return packed if again == value and end == len(packed) else None

    def _pack(self, value: bytes) -> bytes | None:
        m = _ISO.fullmatch(value)
        if m is not None:
            y, mo, d = int(m[1]), int(m[2]), int(m[3])
            if not (1 <= mo <= 12 and 1 <= d <= 31):
                return None
            day = _days_from_civil(y, mo, d)
            if m[4] is None:
                return bytes((_FORMAT_ISO, 0)) + varint(zigzag(day))
            secs = int(m[5]) * 3600 + int(m[6]) * 60 + int(m[7])
            zone = m[10] or b""
            zone_kind = (
                (b"", b"Z").index(zone) if zone in (b"", b"Z") else (2 if zone[3:4] == b":" else 3)
            )
            flags = 1 | (m[4] == b"T") << 1 | (m[8] is not None) << 2 | (m[8] == b",") << 3
            flags |= zone_kind << 4
            out = bytes((_FORMAT_ISO, flags)) + varint(zigzag(day)) + varint(secs)
            if m[8] is not None:
                out += bytes((len(m[9]),)) + varint(int(m[9]))
            if zone_kind >= 2:
                sign = zone[:1] == b"-"
                minutes = int(zone[1:3]) * 60 + int(zone[-2:])
                out += varint(minutes << 1 | sign)
            return out
        m = _SYSLOG.fullmatch(value)
        if m is not None:
            month = _MONTHS.index(m[1])
            day_text = m[2]
            day = int(day_text)
            style = 1 if day_text[:1] == b" " else (2 if len(day_text) == 2 and day < 10 else 0)
            secs = int(m[3]) * 3600 + int(m[4]) * 60 + int(m[5])
            return bytes((_FORMAT_SYSLOG,)) + varint((month * 32 + day) * 3 + style) + varint(secs)
        m = _CTIME.fullmatch(value)
        if m is not None:
            day = _days_from_civil(int(m[7]), _MONTHS.index(m[2]) + 1, int(m[3]))
            secs = int(m[4]) * 3600 + int(m[5]) * 60 + int(m[6])
            return bytes((_FORMAT_CTIME,)) + varint(zigzag(day)) + varint(secs)
        return None

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]:
        (fmt,), pos = _take(data, pos, 1, "ts")
        if fmt == _FORMAT_ISO:
            (flags,), pos = _take(data, pos, 1, "ts")
            if flags & 0xC0 or (not flags & 1 and flags):
                raise CorruptPayload(f"packed ts has bad flags {flags:#x}")
            z, pos = read_varint(data, pos, what="ts")
            y, mo, d = _civil_from_days(unzigzag(z))
            if not 0 <= y <= 9999:
                raise CorruptPayload(f"packed ts has year {y}")
            out = b"%04d-%02d-%02d" % (y, mo, d)
            if flags & 1:
                secs, pos = read_varint(data, pos, what="ts")
                if secs >= 86400:
                    raise CorruptPayload("packed ts has a time past midnight")
                sep = b"T" if flags & 2 else b" "
                out += sep + b"%02d:%02d:%02d" % (secs // 3600, secs // 60 % 60, secs % 60)
                if flags & 4:
                    (width,), pos = _take(data, pos, 1, "ts")
                    frac, pos = read_varint(data, pos, what="ts")
                    digits = str(frac).encode()
                    if not 1 <= width <= 9 or len(digits) > width:
                        raise CorruptPayload("packed ts has a bad fraction")
                    out += (b"," if flags & 8 else b".") + digits.rjust(width, b"0")
                zone_kind = flags >> 4
                if zone_kind == 1:
                    out += b"Z"
                elif zone_kind >= 2:
                    zv, pos = read_varint(data, pos, what="ts")
                    minutes = zv >> 1
                    if minutes >= 24 * 60:
                        raise CorruptPayload("packed ts has a bad zone offset")
                    hh, mm = divmod(minutes, 60)
                    colon = b":" if zone_kind == 2 else b""
                    out += (b"-" if zv & 1 else b"+") + b"%02d%s%02d" % (hh, colon, mm)
            return out, pos
        if fmt == _FORMAT_SYSLOG:
            v, pos = read_varint(data, pos, what="ts")
            secs, pos = read_varint(data, pos, what="ts")
            rest, style = divmod(v, 3)
            month, day = divmod(rest, 32)
            if month >= 12 or not 1 <= day <= 31 or secs >= 86400 or (style and day >= 10):
                raise CorruptPayload("packed syslog ts out of range")
            day_text = (
                b"%2d" % day if style == 1 else (b"%02d" % day if style == 2 else b"%d" % day)
            )
            clock = b"%02d:%02d:%02d" % (secs // 3600, secs // 60 % 60, secs % 60)
            return _MONTHS[month] + b" " + day_text + b" " + clock, pos
        if fmt == _FORMAT_CTIME:
            z, pos = read_varint(data, pos, what="ts")
            secs, pos = read_varint(data, pos, what="ts")
            days = unzigzag(z)
            y, mo, d = _civil_from_days(days)
            if not 0 <= y <= 9999 or secs >= 86400:
                raise CorruptPayload("packed ctime ts out of range")
            weekday = _DAYS[(days + 3) % 7]  # 1970-01-01 was a Thursday
            clock = b"%02d:%02d:%02d" % (secs // 3600, secs // 60 % 60, secs % 60)
            return b"%s %s %02d %s %04d" % (weekday, _MONTHS[mo - 1], d, clock, y), pos
        raise CorruptPayload(f"packed ts has unknown format {fmt}")


# -- user-defined patterns ------------------------------------------------------------


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
            if chars <= _DIGITS and n <= _MAX_DIGITS:
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
            elif chars <= _DIGITS and n <= _MAX_DIGITS:
                v, pos = read_varint(data, pos, what=self.name)
                digits = str(v).encode()
                if len(digits) > n:
                    raise CorruptPayload(f"packed {self.name} has too many digits")
                out += digits.rjust(n, b"0")
            else:
                part, pos = _take(data, pos, n, self.name)
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


# -- declarations ---------------------------------------------------------------------

#: Slot type name -> normalizer class, for the built-in types.
BUILTIN: dict[str, type] = {cls.name: cls for cls in (Int, Dec, Hex, Uuid, Ipv4, Ipv6, Timestamp)}

_SUMMARIES = {
    "int": "decimal integers, leading zeros kept",
    "dec": "decimal numbers",
    "hex": "hex digit runs in one letter case",
    "uuid": "UUIDs in one letter case",
    "ipv4": "IPv4 dotted quads",
    "ipv6": "IPv6 addresses in canonical form",
    "ts": "ISO 8601, syslog and ctime timestamps",
}


def declarations() -> list[NormalizerType]:
    def factory(cls: type) -> Any:
        return lambda settings: cls()

    return [
        NormalizerType(name, factory(cls), (), _SUMMARIES[name]) for name, cls in BUILTIN.items()
    ]


def pattern_settings() -> tuple[Setting, ...]:
    return ()


def make_patterns(table: Mapping[str, str]) -> dict[str, Pattern]:
    """Compile ``name = "pattern"`` pairs; PatternError names the pattern."""
    out = {}
    for name, source in table.items():
        try:
            out[name] = Pattern(name, source)
        except PatternError as exc:
            raise PatternError(f"pattern {name!r}: {exc}") from None
    return out
