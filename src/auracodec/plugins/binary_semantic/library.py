"""Template libraries: the data the template codec shares between both ends.

A template is literal text with typed slots::

    Deployment started at {ts}
    {ts} {word} sshd[{int}]: Failed password for {word} from {ipv4} port {int} ssh2
    [{enum:notice|error|warn}] jk2_init() Found child {int} in scoreboard slot {int}

Slot types: ``word`` (a run without whitespace), ``text`` (anything, possibly
empty), ``enum:A|B|C`` (the longest listed value that is there; ``enum:A|B|*``
also takes any other word, at the cost of its bytes), and every
normalizer (``int``, ``dec``, ``hex``, ``uuid``, ``ipv4``, ``ipv6``, ``ts``, and
the user-defined patterns of the codec's configuration). ``{{`` and ``}}`` are
literal braces. ``word`` and ``text`` slots end where the next literal starts
(a ``word`` also at whitespace); a ``text`` slot must be followed by a literal
or end the template. The other slots delimit themselves.

A library file is TOML, data only::

    [library]
    format = 1
    name = "profile"
    version = 3                 # counts appends; informational

    [[template]]
    id = 0
    text = "User {word} logged in from {ipv4}"

Template ids are stable: a library is only ever appended to, so every frame
made with an older version of it still decodes. Ids must be unique across the
layers a codec loads (the built-in library uses 16000 and up). Template text is
never compiled into a regular expression; matching walks the parts, so a
hostile library cannot make matching blow up, and a file is validated on load
(size caps, duplicate ids, unknown slot types, adjacent slots) with a
:class:`~auracodec.ConfigError`-ready message naming the template.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "BUILTIN_ID_BASE",
    "LibraryError",
    "Slot",
    "Template",
    "load_library",
    "parse_template",
    "render_library",
]

FORMAT = 1
#: The built-in library's ids start here.
BUILTIN_ID_BASE = 16000
MAX_ID = (1 << 20) - 1
MAX_FILE_SIZE = 8 * 1024 * 1024
MAX_TEMPLATES = 65536
MAX_TEMPLATE_SIZE = 4096
MAX_SLOTS = 64
MAX_ENUM_VALUES = 256
MAX_ENUM_VALUE = 256

#: Slot types that are not normalizers.
GENERIC_TYPES = frozenset({"word", "text", "enum"})
#: Slot types that end where the next literal starts.
_OPEN_ENDED = frozenset({"text"})


class LibraryError(ValueError):
    """A template or a library file is invalid; the message names the template."""


@attrs.frozen
class Slot:
    """A typed slot: ``kind`` is ``word``, ``text``, ``enum`` or a normalizer name."""

    kind: str
    values: tuple[bytes, ...] = ()  # enum only
    open_ended: bool = False  # enum only: other values travel as a word

    def spec(self) -> str:
        if self.kind == "enum":
            values = [v.decode("utf-8") for v in self.values]
            return "enum:" + "|".join([*values, "*"] if self.open_ended else values)
        return self.kind


Part = bytes | Slot


@attrs.frozen
class Template:
    """One template: an id and its parts (literal bytes and slots)."""

    id: int
    parts: tuple[Part, ...]
    text: str = attrs.field(eq=False)
    #: Still decoded, no longer used to encode (a library only grows).
    retired: bool = attrs.field(default=False, eq=False)

    @property
    def slots(self) -> list[Slot]:
        return [p for p in self.parts if isinstance(p, Slot)]

    @property
    def literal_size(self) -> int:
        return sum(len(p) for p in self.parts if isinstance(p, bytes))


def parse_template(tid: int, text: str, known_types: Iterable[str]) -> Template:
    """Parse template text; :class:`LibraryError` says what is wrong and where."""
    where = f"template {tid}"
    if not isinstance(text, str):
        raise LibraryError(f"{where}: text must be a string")
    raw = text.encode("utf-8")
    if not raw:
        raise LibraryError(f"{where}: empty text")
    if len(raw) > MAX_TEMPLATE_SIZE:
        raise LibraryError(f"{where}: text of {len(raw)} bytes, at most {MAX_TEMPLATE_SIZE}")
    known = set(known_types) | GENERIC_TYPES
    parts: list[Part] = []
    literal = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x7B:  # {
            if raw[i + 1 : i + 2] == b"{":
                literal.append(c)
                i += 2
                continue
            close = raw.find(b"}", i)
            if close < 0:
                raise LibraryError(f"{where}: unclosed slot at byte {i}")
            spec = raw[i + 1 : close].decode("utf-8")
            slot = _parse_slot(spec, known, where)
            if literal:
                parts.append(bytes(literal))
                literal.clear()
            elif parts and isinstance(parts[-1], Slot) and parts[-1].kind in _OPEN_ENDED:
                raise LibraryError(
                    f"{where}: a {parts[-1].kind} slot must be followed by literal text "
                    f"(it ends where the next literal starts), not by {{{spec}}}"
                )
            parts.append(slot)
            i = close + 1
        elif c == 0x7D:  # }
            if raw[i + 1 : i + 2] != b"}":
                raise LibraryError(f"{where}: single '}}' at byte {i} (write '}}}}')")
            literal.append(c)
            i += 2
        else:
            literal.append(c)
            i += 1
    if literal:
        parts.append(bytes(literal))
    if sum(isinstance(p, Slot) for p in parts) > MAX_SLOTS:
        raise LibraryError(f"{where}: more than {MAX_SLOTS} slots")
    return Template(tid, tuple(parts), text)


def _parse_slot(spec: str, known: set[str], where: str) -> Slot:
    kind, _, args = spec.partition(":")
    if kind not in known:
        raise LibraryError(
            f"{where}: unknown slot type {{{spec}}} (known: {', '.join(sorted(known))})"
        )
    if kind == "enum":
        values = tuple(v.encode("utf-8") for v in args.split("|")) if args else ()
        open_ended = values[-1:] == (b"*",)
        if open_ended:
            values = values[:-1]
        if not values or len(values) > MAX_ENUM_VALUES or len(set(values)) != len(values):
            raise LibraryError(
                f"{where}: enum needs 1 to {MAX_ENUM_VALUES} distinct values: {{enum:A|B}}"
            )
        if any(not v or len(v) > MAX_ENUM_VALUE for v in values):
            raise LibraryError(f"{where}: enum values have 1 to {MAX_ENUM_VALUE} bytes")
        return Slot("enum", values, open_ended)
    if args:
        raise LibraryError(f"{where}: slot type {kind!r} takes no arguments")
    return Slot(kind)


def load_library(path: Path, known_types: Iterable[str]) -> tuple[str, list[Template]]:
    """Read and validate one library file; return its name and templates."""
    known = list(known_types)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_SIZE:
            raise LibraryError(f"{path}: {size} bytes, more than {MAX_FILE_SIZE} allowed")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LibraryError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise LibraryError(f"{path}: not a valid TOML library ({exc})") from None
    return read_library(data, known, str(path))


def read_library(
    data: Mapping[str, Any], known_types: Iterable[str], source: str
) -> tuple[str, list[Template]]:
    """Validate a parsed library table (what :func:`load_library` reads)."""
    known = list(known_types)
    head = data.get("library")
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise LibraryError(f"{source}: expected a [library] table with format = {FORMAT}")
    unknown = set(data) - {"library", "template"}
    if unknown:
        raise LibraryError(f"{source}: unknown top-level keys {sorted(unknown)}")
    entries = data.get("template", [])
    if not isinstance(entries, list) or len(entries) > MAX_TEMPLATES:
        raise LibraryError(f"{source}: expected at most {MAX_TEMPLATES} [[template]] tables")
    templates = []
    seen: set[int] = set()
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise LibraryError(f"{source}: template #{n} is not a table")
        tid = entry.get("id")
        if isinstance(tid, bool) or not isinstance(tid, int) or not 0 <= tid <= MAX_ID:
            raise LibraryError(f"{source}: template #{n}: id must be an integer 0-{MAX_ID}")
        if tid in seen:
            raise LibraryError(f"{source}: template {tid}: duplicate id")
        seen.add(tid)
        extra = set(entry) - {"id", "text", "hits", "saved", "retired"}
        if extra:
            raise LibraryError(f"{source}: template {tid}: unknown keys {sorted(extra)}")
        retired = entry.get("retired", False)
        if not isinstance(retired, bool):
            raise LibraryError(f"{source}: template {tid}: retired must be true or false")
        try:
            template = parse_template(tid, entry.get("text"), known)  # type: ignore[arg-type]
        except LibraryError as exc:
            raise LibraryError(f"{source}: {exc}") from None
        templates.append(attrs.evolve(template, retired=retired))
    name = head.get("name", Path(source).stem)
    return str(name), templates


def render_library(
    name: str,
    templates: Sequence[Template],
    version: int = 1,
    stats: Mapping[int, Mapping[str, int]] | None = None,
) -> str:
    """A library file's text (the format :func:`load_library` reads)."""
    lines = [
        "# auracodec template library: append-only (ids are forever).",
        "[library]",
        f"format = {FORMAT}",
        f"name = {json.dumps(name)}",
        f"version = {version}",
    ]
    for t in templates:
        lines += [
            "",
            "[[template]]",
            f"id = {t.id}",
            f"text = {json.dumps(t.text, ensure_ascii=False)}",
        ]
        if t.retired:
            lines.append("retired = true")
        for key, value in (stats or {}).get(t.id, {}).items():
            lines.append(f"{key} = {int(value)}")
    return "\n".join(lines) + "\n"


def template_text(parts: Sequence[Part]) -> str:
    """The text form of parts (inverse of :func:`parse_template`)."""
    out = []
    for p in parts:
        if isinstance(p, Slot):
            out.append("{" + p.spec() + "}")
        else:
            out.append(p.decode("utf-8", "surrogateescape").replace("{", "{{").replace("}", "}}"))
    return "".join(out)


def content_hash(templates: Iterable[Template], types: Mapping[str, str]) -> str:
    """SHA-256 over every template (id and parts) and the slot types' definitions."""
    h = hashlib.sha256()
    for t in sorted(templates, key=lambda t: t.id):
        h.update(b"%d\0" % t.id)
        for p in t.parts:
            h.update(b"L" + p if isinstance(p, bytes) else b"S" + p.spec().encode())
            h.update(b"\0")
    for name, definition in sorted(types.items()):
        h.update(f"T{name}={definition}\0".encode())
    return h.hexdigest()
