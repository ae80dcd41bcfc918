"""Declared settings: the schema of every configuration table.

Plugins declare the keys they accept as :class:`Setting` objects; the config
loader checks values against them, the docs' reference is generated from them,
and unknown keys are refused. A setting says what it expects in words
(``expected``), which is what an error message quotes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

__all__ = ["Setting", "SettingError", "check_settings"]


class SettingError(ValueError):
    """A value does not fit its setting. ``key`` is relative to the table."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _describe(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


@attrs.frozen
class Setting:
    """One key of a configuration table.

    ``check`` turns a raw TOML value into the value the plugin gets, or raises
    ``ValueError`` with a message. ``kind`` is ``"path"`` for files resolved
    relative to the config file.
    """

    name: str
    default: Any
    expected: str
    doc: str
    check: Callable[[Any], Any] = attrs.field(repr=False)
    kind: str = "value"
    training_only: bool = False

    # Constructors for the common kinds. They build ``check`` and ``expected``.

    @classmethod
    def integer(cls, name: str, default: int, lo: int, hi: int, doc: str, **kw: Any) -> Setting:
        expected = f"an integer from {lo} to {hi}"

        def check(v: Any) -> int:
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(f"expected {expected}, got {_describe(v)}")
            return v

        return cls(name, default, expected, doc, check, **kw)

    @classmethod
    def number(
        cls, name: str, default: float, lo: float, hi: float, doc: str, **kw: Any
    ) -> Setting:
        expected = f"a number from {lo:g} to {hi:g}"

        def check(v: Any) -> float:
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not math.isfinite(v)
                or not lo <= v <= hi
            ):
                raise ValueError(f"expected {expected}, got {_describe(v)}")
            return float(v)

        return cls(name, default, expected, doc, check, **kw)

    @classmethod
    def boolean(cls, name: str, default: bool, doc: str, **kw: Any) -> Setting:
        def check(v: Any) -> bool:
            if not isinstance(v, bool):
                raise ValueError(f"expected true or false, got {_describe(v)}")
            return v

        return cls(name, default, "true or false", doc, check, **kw)

    @classmethod
    def choice(
        cls, name: str, default: str, choices: Sequence[str], doc: str, **kw: Any
    ) -> Setting:
        expected = "one of " + ", ".join(repr(c) for c in choices)

        def check(v: Any) -> str:
            if v not in choices or not isinstance(v, str):
                raise ValueError(f"expected {expected}, got {_describe(v)}")
            return str(v)

        return cls(name, default, expected, doc, check, **kw)

    @classmethod
    def path(cls, name: str, doc: str, **kw: Any) -> Setting:
        """A file, relative to the config file; ``None`` (absent) by default."""

        def check(v: Any) -> str:
            if not isinstance(v, str) or not v or "\0" in v:
                raise ValueError(f"expected a file path (a string), got {_describe(v)}")
            return v

        return cls(
            name, None, "a file path, relative to the config file", doc, check, kind="path", **kw
        )

    @classmethod
    def paths(cls, name: str, doc: str, **kw: Any) -> Setting:
        """A list of files, relative to the config file; empty by default."""

        def check(v: Any) -> tuple[str, ...]:
            if not isinstance(v, list) or not all(isinstance(p, str) and p for p in v):
                raise ValueError(f"expected a list of file paths, got {_describe(v)}")
            return tuple(v)

        return cls(
            name,
            (),
            "a list of file paths, relative to the config file",
            doc,
            check,
            kind="paths",
            **kw,
        )

    @classmethod
    def text(cls, name: str, default: str | None, doc: str, **kw: Any) -> Setting:
        def check(v: Any) -> str:
            if not isinstance(v, str) or len(v) > 4096:
                raise ValueError(f"expected a string, got {_describe(v)}")
            return v

        return cls(name, default, "a string", doc, check, **kw)

    @classmethod
    def names(cls, name: str, default: Sequence[str] | None, doc: str, **kw: Any) -> Setting:
        def check(v: Any) -> tuple[str, ...]:
            if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
                raise ValueError(f"expected a list of names, got {_describe(v)}")
            return tuple(v)

        dflt = None if default is None else tuple(default)
        return cls(name, dflt, "a list of names", doc, check, **kw)


def check_settings(table: Mapping[str, Any], settings: Sequence[Setting]) -> dict[str, Any]:
    """Validate ``table`` against ``settings``; return every key with its value.

    Absent keys take their defaults. Raises :class:`SettingError` naming the
    first unknown key or bad value.
    """
    known = {s.name: s for s in settings}
    for key in table:
        if key not in known:
            choices = ", ".join(sorted(known)) or "none"
            raise SettingError(key, f"unknown key (known keys: {choices})")
    out: dict[str, Any] = {}
    for s in settings:
        if s.name in table:
            try:
                out[s.name] = s.check(table[s.name])
            except SettingError:
                raise
            except ValueError as exc:
                raise SettingError(s.name, str(exc)) from None
        else:
            out[s.name] = s.default
    return out
