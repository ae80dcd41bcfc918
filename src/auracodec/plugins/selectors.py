"""The built-in selector policies: ``smallest`` and ``rules``.

``smallest`` (the default) encodes with every codec and keeps the smallest
payload; on a tie the cheaper codec (lower ``cost``) wins.

``rules`` is the policy the AURA design tuned by hand, for when encoding with
every codec costs too much: messages shorter than ``min_size`` go raw; each
codec is tried only inside its size window; codecs are tried in ``order``, and a
later codec replaces the current pick only when its payload is at least
``margin`` (a fraction) smaller. ``stop_below`` ends the search early once a
payload is that fraction of the message or less.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from auracodec.plugin import NAME_RE, Choice, Codec, PolicyType, Setting, hookimpl


class Smallest:
    """Every codec; the smallest payload wins, ties go to the cheaper codec."""

    def select(self, message: bytes, codecs: Sequence[Codec]) -> Choice:
        best: Choice = None
        best_size = len(message)  # raw's payload: anything kept must beat it
        for codec in codecs:
            payload = codec.encode(message)
            if payload is not None and len(payload) < best_size:
                best, best_size = (codec, payload), len(payload)
        return best


def _check_windows(value: Any) -> dict[str, tuple[int, int]]:
    expected = "a table of codec = [min_size, max_size] pairs"
    if not isinstance(value, dict):
        raise ValueError(f"expected {expected}, got {value!r}")
    out = {}
    for name, pair in value.items():
        if (
            not NAME_RE.match(name)
            or not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in pair)
            or pair[0] > pair[1]
        ):
            raise ValueError(f"expected {expected}, got {name} = {pair!r}")
        out[name] = (pair[0], pair[1])
    return out


def _check_order(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(n, str) and NAME_RE.match(n) for n in value
    ):
        raise ValueError(f"expected a list of codec names, got {value!r}")
    return tuple(value)


RULES_SETTINGS = (
    Setting.integer("min_size", 16, 0, 1 << 31, "Messages shorter than this (bytes) go raw."),
    Setting(
        "windows",
        {},
        "a table of codec = [min_size, max_size]",
        "Size window (bytes, inclusive) per codec; a codec is tried only inside it. "
        "Codecs without a window are tried at every size.",
        _check_windows,
    ),
    Setting(
        "order",
        (),
        "a list of codec names",
        "Order in which codecs are tried; codecs not listed follow, cheapest first.",
        _check_order,
    ),
    Setting.number(
        "margin",
        0.05,
        0.0,
        1.0,
        "A later codec replaces the current pick only if its payload is at least "
        "this fraction smaller.",
    ),
    Setting.number(
        "stop_below",
        0.0,
        0.0,
        1.0,
        "Stop trying codecs once a payload is at most this fraction of the message (0: never).",
    ),
)


@attrs.frozen
class Rules:
    """The hand-tuned policy of the AURA design; see the module docstring."""

    min_size: int
    windows: Mapping[str, tuple[int, int]]
    order: tuple[str, ...]
    margin: float
    stop_below: float
    _rank: Mapping[str, int] = attrs.field(init=False, repr=False)

    @_rank.default
    def _rank_default(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.order)}

    def select(self, message: bytes, codecs: Sequence[Codec]) -> Choice:
        size = len(message)
        if size < self.min_size:
            return None
        best: Choice = None
        best_size = size
        unlisted = len(self._rank)
        # sorted() is stable: unlisted codecs keep the pipeline's cheapest-first order.
        for codec in sorted(codecs, key=lambda c: self._rank.get(c.name, unlisted)):
            low, high = self.windows.get(codec.name, (0, size))
            if not low <= size <= high:
                continue
            payload = codec.encode(message)
            if payload is None:
                continue
            limit = best_size if best is None else best_size * (1.0 - self.margin)
            if len(payload) < limit:
                best, best_size = (codec, payload), len(payload)
                if best_size <= size * self.stop_below:
                    break
        return best


def _rules(settings: Mapping[str, Any]) -> Rules:
    return Rules(**settings)


def _smallest(settings: Mapping[str, Any]) -> Smallest:
    return Smallest()


@hookimpl
def auracodec_selector_policies() -> list[PolicyType]:
    return [
        PolicyType("smallest", _smallest, (), "encode with every codec, keep the smallest"),
        PolicyType("rules", _rules, RULES_SETTINGS, "size windows, preference order, margin"),
    ]
