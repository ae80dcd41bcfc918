"""The built-in selector policies, with stand-in codecs of known payload sizes."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from auracodec.plugins.selectors import Rules, Smallest


class Fixed:
    """Encodes any message to a payload of ``fraction`` of its size."""

    thread_safe = True
    detects: frozenset[str] = frozenset()

    def __init__(self, name: str, fraction: float | None, cost: int = 10) -> None:
        self.name, self.fraction, self.cost = name, fraction, cost
        self.method_id = 0xC0 + cost
        self.calls = 0

    def encode(self, message: bytes) -> bytes | None:
        self.calls += 1
        if self.fraction is None:
            return None
        return b"x" * int(len(message) * self.fraction)

    def decode(self, payload: bytes, limit: int) -> bytes:
        raise NotImplementedError

    def max_payload_size(self, size: int) -> int:
        return size

    def fingerprint(self) -> Mapping[str, str | int]:
        return {}


MESSAGE = b"m" * 1000


def rules(**kw: object) -> Rules:
    settings: dict[str, object] = {
        "min_size": 16,
        "windows": {},
        "order": (),
        "margin": 0.0,
        "stop_below": 0.0,
    }
    settings.update(kw)
    return Rules(**settings)  # type: ignore[arg-type]


def pick(policy: object, codecs: list[Fixed], message: bytes = MESSAGE) -> str | None:
    choice = policy.select(message, codecs)  # type: ignore[attr-defined]
    return None if choice is None else choice[0].name


def test_smallest_takes_the_smallest_and_ties_go_first() -> None:
    a, b, c = Fixed("a", 0.5, cost=1), Fixed("b", 0.3, cost=2), Fixed("c", 0.3, cost=3)
    assert pick(Smallest(), [a, b, c]) == "b"
    assert pick(Smallest(), [Fixed("n", None), a]) == "a"
    assert pick(Smallest(), [Fixed("big", 1.0)]) is None  # no better than raw


def test_rules_min_size() -> None:
    a = Fixed("a", 0.1)
    assert pick(rules(min_size=2000), [a]) is None
    assert a.calls == 0  # not even tried


def test_rules_windows() -> None:
    a, b = Fixed("a", 0.2, cost=1), Fixed("b", 0.1, cost=2)
    assert pick(rules(windows={"b": (0, 500)}), [a, b]) == "a"
    assert b.calls == 0
    assert pick(rules(windows={"b": (500, 5000)}), [a, b]) == "b"


def test_rules_margin_and_order() -> None:
    first, second = Fixed("first", 0.50, cost=5), Fixed("second", 0.47, cost=1)
    order = ("first", "second")
    # 6% smaller: enough at a 5% margin, not at 10%.
    assert pick(rules(order=order, margin=0.05), [second, first]) == "second"
    assert pick(rules(order=order, margin=0.10), [second, first]) == "first"


def test_rules_stop_below() -> None:
    a, b = Fixed("a", 0.1, cost=1), Fixed("b", 0.05, cost=2)
    assert pick(rules(stop_below=0.2), [a, b]) == "a"
    assert b.calls == 0
    assert pick(rules(), [a, b]) == "b"


@pytest.mark.parametrize(("fraction", "expected"), [(0.99, "a"), (1.0, None), (None, None)])
def test_rules_keeps_only_payloads_smaller_than_raw(
    fraction: float | None, expected: str | None
) -> None:
    assert pick(rules(), [Fixed("a", fraction)]) == expected
