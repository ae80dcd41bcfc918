"""``pipe.health()``: the pipeline's stats checked against targets.

Targets come from the ``[health]`` table of the config, or from the
``targets`` argument (which wins, key by key). Every check reads
:attr:`Pipeline.stats` together with the stats of the pipeline's open
sessions (a session counts its messages in its own :attr:`Session.stats`); a
check with nothing to measure yet (no message encoded, no frame decoded)
passes, with ``value=None``.

Defaults (docs/metrics.md says why):

=====================  =======  ==============================================
key                    default  check
=====================  =======  ==============================================
``min_ratio``          1.5      message bytes / frame bytes, encoding
``max_expansion_share`` 0.25    share of encoded frames longer than the message
``max_p95_encode_us``  1000     p95 encode latency, recent messages, µs
``max_p95_decode_us``  1000     p95 decode latency, recent frames, µs
``max_error_rate``     0.01     failed frames / frames decoded or failed
=====================  =======  ==============================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .settings import Setting, check_settings
from .stats import Percentiles, Stats

__all__ = ["HEALTH_SETTINGS", "Check", "Health", "health"]

HEALTH_SETTINGS = (
    Setting.number(
        "min_ratio", 1.5, 0.0, 1e6, "Lowest acceptable ratio (message / frame bytes, encoding)."
    ),
    Setting.number(
        "max_expansion_share",
        0.25,
        0.0,
        1.0,
        "Highest acceptable share of encoded frames longer than their message.",
    ),
    Setting.number(
        "max_p95_encode_us", 1000.0, 0.0, 1e9, "Highest acceptable p95 encode latency, in µs."
    ),
    Setting.number(
        "max_p95_decode_us", 1000.0, 0.0, 1e9, "Highest acceptable p95 decode latency, in µs."
    ),
    Setting.number(
        "max_error_rate",
        0.01,
        0.0,
        1.0,
        "Highest acceptable share of frames that failed to decode.",
    ),
)


@attrs.frozen
class Check:
    """One target: ``value`` (``None``: nothing measured yet) against ``target``."""

    name: str
    value: float | None
    target: float
    ok: bool


@attrs.frozen
class Health:
    """The result of :meth:`Pipeline.health`: every check, and those out of range."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        """The checks whose value is out of range."""
        return [c for c in self.checks if not c.ok]

    def __bool__(self) -> bool:
        return self.ok

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [attrs.asdict(c) for c in self.checks]}


def _p95(group: Sequence[Stats], direction: str) -> float | None:
    ns: list[int] = []
    for stats in group:
        recorder = getattr(stats, direction)
        for slot in stats.slot.values():
            ns.extend(recorder.recent(slot))
    return Percentiles.of(ns).p95 if ns else None


def health(stats: Stats | Sequence[Stats], targets: Mapping[str, float]) -> Health:
    """Check ``stats`` (one or several, taken together) against ``targets``
    (every key of :data:`HEALTH_SETTINGS`)."""
    t = targets
    group = [stats] if isinstance(stats, Stats) else list(stats)
    totals = [s.totals() for s in group]
    encoded = sum(x["encoded"] for x in totals)
    bytes_in, bytes_out = sum(x["bytes_in"] for x in totals), sum(x["bytes_out"] for x in totals)
    expansions = sum(x["expansions"] for x in totals)
    errors = sum(sum(s.errors.values()) for s in group)
    attempts = sum(x["decoded"] for x in totals) + errors
    measured: list[tuple[str, float | None, bool]] = [
        ("min_ratio", bytes_in / bytes_out if encoded and bytes_out else None, False),
        ("max_expansion_share", expansions / encoded if encoded else None, True),
        ("max_p95_encode_us", _p95(group, "encoded"), True),
        ("max_p95_decode_us", _p95(group, "decoded"), True),
        ("max_error_rate", errors / attempts if attempts else None, True),
    ]
    checks = []
    for name, value, is_max in measured:
        target = float(t[name])
        ok = value is None or (value <= target if is_max else value >= target)
        checks.append(Check(name, value, target, ok))
    return Health(tuple(checks))


def check_targets(targets: Mapping[str, Any]) -> dict[str, float]:
    """Validate targets (a ``[health]`` table or an argument); absent keys take defaults."""
    return check_settings(targets, HEALTH_SETTINGS)
