"""Typed masking for the template miner: tokens and their shapes.

A message is split into tokens and separators (:func:`tokenize`:
``message == t0 + s0 + t1 + s1 + ... + tn``; tokens are the maximal runs
without space/tab, separators the space/tab runs, kept exactly).

Each token is scanned once, left to right, by a single regular expression
(written so that it cannot backtrack badly) that replaces typed values by
one-character placeholders: uuid, url, file path, host name, date/datetime,
IPv6, IPv4 (with optional :port), time, hex (0x.., hex runs mixing digits and
letters, 8+ letter runs of a-f), decimal number, identifier containing digits
(``rdd_2_2``, ``ssh2``), integer, boolean/null, month and weekday names; a
size/duration unit right after a number (``5.2 KB``) is typed too.  The result
is the *fine shape* of each token (for example ``blk_<int>`` or ``/<ipv4>``).
Token shapes are cached (most tokens of a stream are repeated literals), which
makes masking cost little more than a dictionary lookup per token.  The
*coarse shape* maps every type to one generic placeholder (:data:`GENERIC`,
via :data:`TO_COARSE`); it is what clustering compares, so that ``0x1f`` and
``31`` or ``5.2`` and ``5`` count as the same kind of variable.

Masking is linear in the token's length: every pattern is anchored by
look-behinds that allow only one start per word, and no pattern nests
ambiguous repetitions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .normalizers import (
    DAY_PATTERN,
    HEX_CASES,
    IPV4_PATTERN,
    ISO_PATTERN,
    MONTH_PATTERN,
    UUID_PATTERN,
)

__all__ = [
    "GENERIC",
    "TO_COARSE",
    "TYPE_NAMES",
    "Masker",
    "detokenize",
    "mask",
    "readable",
    "tokenize",
]

_HEX = "[0-9a-fA-F]"
_LOWER, _UPPER = HEX_CASES


def _uncaptured(pattern: str) -> str:
    """``pattern`` with its capturing groups made non-capturing.

    Masking needs only which type matched (the number of the group around each
    type's pattern), and captures inside would both shift those numbers and
    slow every attempt down (the ISO timestamp's ten fields cost about 10% of
    masking time).
    """
    return re.sub(r"(?<!\\)\((?!\?)", "(?:", pattern)


# Country-code top-level domains accepted at the end of a dotted host name.  Only
# common ones: two-letter endings such as "id" or "io" are left out because they
# often end property or package names ("mapred.task.id", "java.io").
_CCTLD = (
    "uk|de|fr|jp|cn|ru|br|au|ca|kr|tw|hk|sg|nl|es|it|se|ch|at|be|dk|fi|no|pl|cz|us|mx|"
    "ar|cl|za|il|tr|gr|pt|ie|nz|th|my|ph|vn|om|ae|sa|eg|ua|ro|hu|sk"
)

# (name, pattern).  Order matters: at each position the first alternative that
# matches wins.  Every pattern starts with a look-behind that only lets it start
# at the beginning of a word, or is a plain character-class run, and none nests
# repetitions that can split the same text in several ways, so the combined
# pattern runs in linear time.  Patterns are applied to tokens, which hold no
# space or tab.  A uuid, a dotted quad, an ISO 8601 date(-time), a hex run and
# the month and day names are what the normalizers (and so the codec's slots)
# take, in their words (:mod:`.normalizers`); the masking adds word boundaries,
# an IPv4 address's optional port, and for hex the evidence that a run is an id
# rather than a number or a word (a 0x prefix, digits mixed with letters, or 8
# letters a-f).
_TYPES: list[tuple[str, str]] = [
    ("uuid", r"(?<![0-9A-Za-z])(?:%s)(?![0-9A-Za-z])" % UUID_PATTERN),
    ("url", r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^ \t]*"),
    ("path", r"(?<![A-Za-z0-9_./~+@-])(?:/[A-Za-z0-9_.~+@-]+){2,}/?"),
    (
        "host",
        r"(?<![A-Za-z0-9_.-])(?:[A-Za-z0-9-]+\.)+(?:(?:com|net|org|edu|gov|mil|info|biz)"
        r"(?:\.[a-z]{2})?|%s)(?![A-Za-z0-9_-])(?!\.[A-Za-z0-9])" % _CCTLD,
    ),
    ("datetime", r"(?<![0-9])(?:%s)(?![0-9])" % _uncaptured(ISO_PATTERN)),
    (
        "ipv6",
        r"(?<![0-9A-Za-z:])(?:(?:%s{1,4}:){7}%s{1,4}|(?:%s{1,4}:){1,6}:(?:%s{1,4}(?::%s{1,4}){0,5})?"
        r"|::%s{1,4}(?::%s{1,4}){0,6})(?![0-9A-Za-z:])" % ((_HEX,) * 7),
    ),
    ("ipv4", r"(?<![0-9.])(?:%s)(?::\d{1,5})?(?![0-9])(?!\.\d)" % IPV4_PATTERN),
    ("time", r"(?<![0-9:])\d{1,2}:\d{1,2}:\d{1,2}(?:[.,:]\d{1,9})?(?![0-9])"),
    (
        "hex",
        r"(?<![0-9A-Za-z])0[xX](?:%s+|%s+)(?![0-9A-Za-z])"
        r"|(?<![0-9A-Za-z])(?=[a-fA-F]*[0-9])(?=[0-9]*[a-fA-F])(?:%s{5,}|%s{5,})(?![0-9A-Za-z])"
        r"|(?<![0-9A-Za-z])(?:[a-f]{8,}|[A-F]{8,})(?![0-9A-Za-z])"
        % (_LOWER, _UPPER, _LOWER, _UPPER),
    ),
    ("num", r"(?<![0-9A-Za-z])-?\d+\.\d+(?![0-9])"),
    (
        "id",
        r"(?<![0-9A-Za-z_])(?![A-Za-z]+_\d+(?![0-9A-Za-z_]))(?=[A-Za-z0-9_]*[A-Za-z])(?=[A-Za-z_]*[0-9])[A-Za-z0-9_]+(?![0-9A-Za-z_])",
    ),
    ("int", r"(?<![0-9A-Za-z])-\d+|\d+"),
    ("bool", r"(?<![A-Za-z0-9_])(?:true|false|True|False|TRUE|FALSE|null|NULL)(?![A-Za-z0-9_])"),
    ("month", r"(?<![A-Za-z])%s(?![A-Za-z])" % MONTH_PATTERN),
    ("weekday", r"(?<![A-Za-z])%s(?![A-Za-z])" % DAY_PATTERN),
]
# A size or duration unit is typed only right after a number and one space
# ("5.2 KB", "30 ms"); being context-dependent it is applied per token.
_UNIT = re.compile(r"(?:[KMGTP]i?B|B|bytes|ms|us|ns|sec|s|min|h)(?![A-Za-z0-9_])")
_UNIT_FIRST = frozenset("KMGTPBbmunsh")

TYPE_NAMES: tuple[str, ...] = (*tuple(name for name, _ in _TYPES), "unit")

# Placeholders are characters of the Unicode private use area: U+E000 is the
# generic (coarse) placeholder, U+E001.. one per type.
GENERIC = "\ue000"
_PLACEHOLDERS: tuple[str, ...] = tuple(chr(0xE001 + k) for k in range(len(TYPE_NAMES)))
#: Translation table: fine shape -> coarse shape (``shape.translate(TO_COARSE)``).
TO_COARSE = {ord(p): GENERIC for p in _PLACEHOLDERS}
_TO_READABLE = {ord(p): "<%s>" % n for p, n in zip(_PLACEHOLDERS, TYPE_NAMES, strict=False)}
_TO_READABLE[ord(GENERIC)] = "<*>"

# Indexed by the number of the group that matched (groups count from 1).
_REPL_TABLE: tuple[str, ...] = ("", *_PLACEHOLDERS)

_PH_UNIT = _PLACEHOLDERS[TYPE_NAMES.index("unit")]


def _repl(m: re.Match[str], _t: tuple[str, ...] = _REPL_TABLE) -> str:
    return _t[m.lastindex or 0]


class Masker:
    """Typed masking of tokens, with a bounded cache of token -> fine shape.

    ``shapes(tokens, separators)`` gives the fine shape of every token: typed
    values replaced by one placeholder character per type.  Patterns never
    match across whitespace, so masking token by token equals masking the
    whole line; the only context used is the previous token for units.
    """

    def __init__(self, disabled: Iterable[str] = (), cache_size: int = 100_000) -> None:
        disabled = frozenset(disabled)
        # a disabled type keeps its group (so group numbers stay put) but never matches
        self._re = re.compile(
            "|".join("(%s)" % (rx if n not in disabled else "(?!)") for n, rx in _TYPES)
        )
        self._units = "unit" not in disabled
        self._cache: dict[str, str] = {}
        self._cache_size = cache_size

    def token(self, token: str) -> str:
        """Fine shape of one token (without unit context)."""
        s = self._cache.get(token)
        if s is None:
            s = self._re.sub(_repl, token)
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[token] = s
        return s

    def shapes(self, toks: list[str], seps: list[str]) -> list[str]:
        get = self._cache.get
        out = []
        for t in toks:
            s = get(t)
            if s is None:
                s = self.token(t)
            out.append(s)
        if self._units:
            for i in range(1, len(toks)):
                t = toks[i]
                if t[:1] in _UNIT_FIRST and seps[i - 1] == " " and toks[i - 1][-1:].isdigit():
                    m = _UNIT.match(t)
                    if m:
                        out[i] = _PH_UNIT + self.token(t[m.end() :])
        return out

    def line(self, message: str) -> str:
        toks, seps = tokenize(message)
        return detokenize(self.shapes(toks, seps), seps)


_DEFAULT_MASKER: Masker | None = None


def mask(text: str) -> str:
    """Replace typed values in ``text`` by placeholder characters (fine shape)."""
    global _DEFAULT_MASKER
    if _DEFAULT_MASKER is None:
        _DEFAULT_MASKER = Masker()
    return _DEFAULT_MASKER.line(text)


def readable(shape: str) -> str:
    """Render a (fine or coarse) shape with ``<type>`` names, e.g. ``blk_<int>``."""
    return shape.translate(_TO_READABLE)


_SPLIT = re.compile(r"([ \t]+)")


def tokenize(message: str) -> tuple[list[str], list[str]]:
    """Split into tokens and separators: ``message == t0+s0+t1+...+tn``.

    ``len(tokens) == len(separators) + 1``; only the first and last token can be
    empty (leading/trailing whitespace, or the empty message).
    """
    parts = _SPLIT.split(message)
    return parts[0::2], parts[1::2]


def detokenize(tokens: Sequence[str], separators: Sequence[str]) -> str:
    """Inverse of :func:`tokenize`."""
    out = [tokens[0]]
    for s, t in zip(separators, tokens[1:], strict=False):
        out.append(s)
        out.append(t)
    return "".join(out)
