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

What a hex run, a UUID, an IPv4 address, an ISO 8601 timestamp and the month
and day names look like is written once, here, as pattern text
(``HEX_CASES``, ``UUID_PATTERN``, ``IPV4_PATTERN``, ``ISO_PATTERN``,
``MONTH_PATTERN``, ``DAY_PATTERN``): the normalizers compile it to bytes
patterns, and discovery's typed masking (:mod:`.masking`) to str patterns with
its own word boundaries, so discovery and the codec agree on these values.

User-defined patterns are in :mod:`.patterns`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from auracodec.plugin import (
    CorruptPayload,
    NormalizerType,
    TruncatedFrame,
    read_varint,
    unzigzag,
    varint,
    zigzag,
)

__all__ = [
    "BUILTIN",
    "DAY_PATTERN",
    "HEX_CASES",
    "IPV4_PATTERN",
    "ISO_PATTERN",
    "MONTH_PATTERN",
    "UUID_PATTERN",
    "declarations",
]

#: Digits of an ``int`` (and of a digit item of a user-defined pattern).
MAX_DIGITS = 19
_MAX_HEX = 4096

# -- value shapes, as pattern text (shared with discovery's masking) -------------------

#: A hex digit in one letter case (a run uses one of them; digits fit both).
HEX_CASES = ("[0-9a-f]", "[0-9A-F]")
UUID_PATTERN = "|".join(f"{h}{{8}}-{h}{{4}}-{h}{{4}}-{h}{{4}}-{h}{{12}}" for h in HEX_CASES)
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: A dotted quad with canonical octets (no leading zeros, at most 255).
IPV4_PATTERN = _OCTET + r"(?:\." + _OCTET + "){3}(?![0-9])"
#: ISO 8601 date or date-time; ten capturing groups, which ``Timestamp`` reads.
ISO_PATTERN = (
    "([0-9]{4})-([0-9]{2})-([0-9]{2})"
    "(?:([T ])([0-9]{2}):([0-9]{2}):([0-9]{2})(?:([.,])([0-9]{1,9}))?"
    "(Z|[+-][0-9]{2}:[0-9]{2}|[+-][0-9]{4})?)?"
)
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
MONTH_PATTERN = "(?:" + "|".join(m.decode() for m in _MONTHS) + ")"
DAY_PATTERN = "(?:" + "|".join(d.decode() for d in _DAYS) + ")"


def take(data: bytes, pos: int, n: int, what: str) -> tuple[bytes, int]:
    """``n`` bytes at ``pos`` and the position after them; a short payload is truncated."""
    end = pos + n
    if end > len(data):
        raise TruncatedFrame(f"payload ends inside a packed {what}")
    return data[pos:end], end


# -- numbers ----------------------------------------------------------------------


def _pack_digits(digits: bytes, negative: bool = False) -> bytes | None:
    """Digits (leading zeros allowed) and a sign: varint(zigzag(n) << 1 | padded)
    then, when padded, the width."""
    if not digits or len(digits) > MAX_DIGITS or not digits.isdigit():
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
        (width,), pos = take(data, pos, 1, what)
        if not len(digits) < width <= MAX_DIGITS:
            raise CorruptPayload(f"packed {what} has a bad width {width} for {abs(n)}")
        digits = digits.rjust(width, b"0")
    elif len(digits) > MAX_DIGITS:
        raise CorruptPayload(f"packed {what} has more than {MAX_DIGITS} digits")
    return (b"-" + digits if n < 0 else digits), pos


class Int:
    """``-?[0-9]+``: decimal integers of at most 19 digits, leading zeros kept."""

    name = "int"
    # One digit more than allowed is enough to refuse a longer run.
    _re = re.compile(rb"-?[0-9]{1,%d}" % (MAX_DIGITS + 1))

    def match(self, data: bytes, pos: int) -> int:
        m = self._re.match(data, pos)
        if m is None:
            return -1
        end = m.end()
        return end if end - pos - (data[pos] == 0x2D) <= MAX_DIGITS else -1

    def pack(self, value: bytes) -> bytes | None:
        if value[:1] == b"-":
            return _pack_digits(value[1:], negative=True)
        return _pack_digits(value)

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]:
        return _unpack_digits(data, pos, "int")


class Dec:
    """``-?[0-9]+.[0-9]+``: decimals, every digit kept."""

    name = "dec"
    # Longer digit runs cannot pack: the match need not look further.
    _re = re.compile(rb"-?[0-9]{1,%d}\.[0-9]{1,%d}" % (MAX_DIGITS + 1, MAX_DIGITS + 1))

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
    # At most one digit more than allowed: enough to refuse a longer run.
    _lower = re.compile(HEX_CASES[0].encode() + b"{1,%d}" % (_MAX_HEX + 1))
    _upper = re.compile(HEX_CASES[1].encode() + b"{1,%d}" % (_MAX_HEX + 1))

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
        raw, pos = take(data, pos, (n + 1) // 2, "hex")
        text = raw.hex()
        if n & 1 and text[-1] != "0":
            raise CorruptPayload("packed hex has a non-zero pad nibble")
        out = text[:n].encode()
        return (out.upper() if upper else out), pos


class Uuid:
    """8-4-4-4-12 hex digits in one letter case."""

    name = "uuid"
    _re = re.compile(UUID_PATTERN.encode())

    def match(self, data: bytes, pos: int) -> int:
        m = self._re.match(data, pos)
        return -1 if m is None else m.end()

    def pack(self, value: bytes) -> bytes | None:
        if not self._re.fullmatch(value):
            return None
        upper = value != value.lower()
        return bytes((upper,)) + bytes.fromhex(value.replace(b"-", b"").decode())

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]:
        raw, pos = take(data, pos, 17, "uuid")
        if raw[0] > 1:
            raise CorruptPayload(f"packed uuid has a bad case byte {raw[0]}")
        h = raw[1:].hex()
        text = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".encode()
        return (text.upper() if raw[0] else text), pos


class Ipv4:
    """A dotted quad with canonical octets (no leading zeros)."""

    name = "ipv4"
    _re = re.compile(IPV4_PATTERN.encode())

    def match(self, data: bytes, pos: int) -> int:
        m = self._re.match(data, pos)
        return -1 if m is None else m.end()

    def pack(self, value: bytes) -> bytes | None:
        if not self._re.fullmatch(value):
            return None
        return bytes(int(part) for part in value.split(b"."))

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]:
        raw, pos = take(data, pos, 4, "ipv4")
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
            packed = ipaddress.IPv6Address(value.decode("ascii")).packed
        except (ValueError, UnicodeDecodeError):
            return None
        return packed if ipv6_text(packed) == value else None

    def unpack(self, data: bytes, pos: int) -> tuple[bytes, int]:
        raw, pos = take(data, pos, 16, "ipv6")
        return ipv6_text(raw), pos


def ipv6_text(raw: bytes) -> bytes:
    """The RFC 5952 text of a 16-byte address: lower-case hex groups without
    leading zeros, the first longest run of two or more zero groups as ``::``.

    Written here rather than taken from ``ipaddress``, whose text changes
    between Python versions (3.13 writes IPv4-mapped addresses as
    ``::ffff:1.2.3.4``): the format must not depend on the decoder's Python.
    Every address is written in hex groups, as Python 3.11 writes it.
    """
    groups = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, 16, 2)]
    best_at, best_len, at = -1, 1, -1
    for i, g in enumerate([*groups, 1]):  # a sentinel ends the last run
        if g == 0 and at < 0:
            at = i
        elif g != 0 and at >= 0:
            if i - at > best_len:
                best_at, best_len = at, i - at
            at = -1
    hexes = [f"{g:x}" for g in groups]
    if best_at < 0:
        return ":".join(hexes).encode()
    head = ":".join(hexes[:best_at])
    tail = ":".join(hexes[best_at + best_len :])
    return f"{head}::{tail}".encode()


# -- timestamps ---------------------------------------------------------------------


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


_MONTH_RE = "(" + MONTH_PATTERN + ")"
_ISO = re.compile(ISO_PATTERN.encode())
_SYSLOG = re.compile(
    (_MONTH_RE + " ( [1-9]|[0-3][0-9]|[1-9]) ([0-9]{2}):([0-9]{2}):([0-9]{2})").encode()
)
_CTIME = re.compile(
    (
        "("
        + DAY_PATTERN
        + ") "
        + _MONTH_RE
        + " ([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([0-9]{4})"
    ).encode()
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
        (fmt,), pos = take(data, pos, 1, "ts")
        if fmt == _FORMAT_ISO:
            (flags,), pos = take(data, pos, 1, "ts")
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
                    (width,), pos = take(data, pos, 1, "ts")
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
