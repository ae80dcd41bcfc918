"""The built-in selector policies: ``cost``, ``smallest`` and ``rules``.

``cost`` (the default) picks the frame that costs least: its bytes at the
egress price plus the CPU of encoding and decoding it at the compute price
(:mod:`auracodec.core.cost`). It tries only the codecs that can still win by
its estimates, cheapest expected first, and learns from every encode.

``smallest`` encodes with every codec and keeps the smallest payload: the
exact, exhaustive policy. On a tie the cheaper codec (lower ``cost``) wins.

``rules`` is the policy the AURA design tuned by hand, for when encoding with
every codec costs too much: messages shorter than ``min_size`` go raw; each
codec is tried only inside its size window; codecs are tried in ``order``, and a
later codec replaces the current pick only when its payload is at least
``margin`` (a fraction) smaller. ``stop_below`` ends the search early once a
payload is that fraction of the message or less.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from time import perf_counter_ns, thread_time_ns
from typing import Any

import attrs

from auracodec.plugin import (
    DEFAULT_COST_MODEL,
    NAME_RE,
    Choice,
    Codec,
    Estimate,
    Estimates,
    PolicyContext,
    PolicyType,
    Prices,
    Setting,
    hookimpl,
    size_class,
)


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


COST_SETTINGS = (
    Setting.integer(
        "time_budget_us",
        50_000,
        0,
        1 << 40,
        "Per message: once the codecs tried have taken this long (µs), no more are "
        "tried; a codec expected to take longer than what is left is skipped (when "
        "every codec is, the fastest is tried). 0: no budget.",
    ),
    Setting.integer(
        "explore_every",
        64,
        0,
        1 << 30,
        "Every this many messages, also try one codec the estimates ruled out, so that "
        "estimates of codecs that stopped winning are refreshed (0: never).",
    ),
)


class Cost:
    """The cheapest frame at the configured prices; see the module docstring.

    Per message of ``n`` bytes in size class ``k``, each candidate has an
    expected cost (bytes at its estimated ratio, plus its encoding and
    decoding CPU, where the share of messages it declines counts as raw) and
    a lower bound (the same with its ratio less twice its spread: a codec
    that declines most messages of a size is rarely worth trying on one). The
    candidates are tried in order of expected cost, each only while its lower
    bound beats the cheapest frame so far (raw, at first) and, after the
    first, while what trying it saved on average exceeds its encoding CPU:
    CPU already spent does not count, so trying one more must pay for itself. A
    session context that codes to absorb (``absorbed`` = 1) costs no more to
    try than to skip, so it is nearly always tried, and its frame nearly
    always ends the search: single-pass sessions.

    Thread-safe: estimates are updated without a lock (a lost update costs one
    observation).
    """

    def __init__(self, time_budget_us: int, explore_every: int) -> None:
        self.budget_ns = time_budget_us * 1000
        self.explore_every = explore_every
        self.prices = Prices()
        self.estimates = Estimates()
        self._byte_ns = self.prices.byte_ns
        self._cost_model: Any = None
        self._by_id: dict[int, Estimate] = {}
        self._count = itertools.count()

    def bind(self, context: PolicyContext) -> None:
        self.prices = context.prices
        # Free CPU makes bytes infinitely dear: finite, so that 0 * price is 0.
        self._byte_ns = min(context.prices.byte_ns, 1e18)
        self.estimates = context.estimates
        self._cost_model = context.cost_model
        self._by_id = {}
        for codec in context.codecs:
            self._estimate(codec)

    def isolate(self, message: bytes, contexts: Sequence[Any], codecs: Sequence[Codec]) -> bool:
        """Whether a session should send ``message`` isolated: coded statelessly
        (one byte more), so that no context codes or absorbs it at either end.

        Cheaper when a stateless codec is expected to beat raw (a message
        that goes raw is sent plain and absorbed anyway) and its frame plus
        that byte costs less than the best context's frame, counting the
        contexts' full CPU (absorbing is avoidable now) and what every other
        context spends absorbing it at both ends. Never before every context
        was seen coding a few messages of the size or a neighbouring one (at
        training or here), and every ``explore_every``-th such call says no
        anyway, so that the contexts' estimates stay fresh.
        """
        n = len(message)
        k = size_class(n)
        byte_ns = self._byte_ns
        absorbing = 0.0
        best_context = math.inf
        for ctx in contexts:
            e = self._by_id.get(ctx.method_id) or self._estimate(ctx)
            if not e.known(k):
                return False  # learn what the context does first
            encode = e.encode[k] * n
            decode = e.decode[k] * n
            absorbing += (encode + decode) * e.absorbed
            cost = e.ratio[k] * n * byte_ns + encode + decode
            best_context = min(best_context, cost - (encode + decode) * e.absorbed)
        best_context += absorbing
        # Raw is not a way out: a message that goes raw is sent in a plain
        # frame and absorbed all the same, so only a stateless codec expected
        # to beat raw can make isolating pay (token-sized deltas: BRIO's CPU
        # at both ends for none of its bytes).
        best_stateless = n * byte_ns  # raw
        for codec in codecs:
            e = self._by_id.get(codec.method_id) or self._estimate(codec)
            d = e.declined[k]
            cost = _expected_share(e, k) * n * byte_ns
            cost += (e.encode[k] + (1.0 - d) * e.decode[k]) * n
            best_stateless = min(best_stateless, cost)
        if best_stateless >= n * byte_ns or best_stateless + byte_ns >= best_context:
            return False
        return not (self.explore_every and next(self._count) % self.explore_every == 0)

    def _estimate(self, codec: Any) -> Estimate:
        est = self._by_id.get(codec.method_id)
        if est is None:
            model = self._cost_model(codec) if self._cost_model else DEFAULT_COST_MODEL
            est = self.estimates.of(codec.name, model)
            self._by_id[codec.method_id] = est
        return est

    def select(self, message: bytes, codecs: Sequence[Codec]) -> Choice:
        n = len(message)
        k = size_class(n)
        byte_ns = self._byte_ns
        plan = []
        for codec in codecs:
            e = self._by_id.get(codec.method_id) or self._estimate(codec)
            ratio = e.ratio[k]
            declined = e.declined[k]
            encode = e.encode[k] * n * (1.0 - e.absorbed)
            decode = e.decode[k] * n
            low = ratio - 2.0 * e.spread[k]
            low = (1.0 - declined) * (low if low > 0.0 else 0.0) + declined
            plan.append(
                (
                    _expected_share(e, k) * n * byte_ns + encode + (1.0 - declined) * decode,
                    low * n * byte_ns + encode + (1.0 - declined) * decode,
                    encode,
                    codec,
                    e,
                )
            )
        plan.sort(key=_first)
        best: Choice = None
        best_cost = n * byte_ns  # raw's
        budget = self.budget_ns
        spent = 0
        tried = False
        ruled_out = []  # could not beat the best by the estimates
        too_slow = []  # could, but expected to overrun the time budget
        for _, low, encode, codec, e in plan:
            if low >= best_cost or (best is not None and e.gain[k] <= encode):
                ruled_out.append((encode, codec, e))
            elif budget and encode > budget - spent:
                too_slow.append((encode, codec, e))
            else:
                tried = True
                took, payload = _try(message, k, codec, e)
                spent += took
                best, best_cost = self._weigh(k, n, codec, e, payload, best, best_cost)
        extra = None
        if not tried and too_slow:
            extra = min(too_slow, key=_first)  # nothing fitted the budget: the fastest
        elif ruled_out and self.explore_every:
            count = next(self._count)
            if count % self.explore_every == 0:
                # Refresh the estimates of the codecs ruled out, one at a time,
                # within the time budget.
                extra = ruled_out[(count // self.explore_every) % len(ruled_out)]
                if budget and extra[0] > budget - spent:
                    extra = None
        if extra is not None:
            _, codec, e = extra
            _, payload = _try(message, k, codec, e)
            best, _ = self._weigh(k, n, codec, e, payload, best, best_cost)
        return best

    def _weigh(
        self,
        k: int,
        n: int,
        codec: Any,
        e: Estimate,
        payload: bytes | None,
        best: Choice,
        best_cost: float,
    ) -> tuple[Choice, float]:
        """The better of the best so far and ``codec``'s payload (its bytes and
        expected decoding); what trying it after another one saved is learned."""
        cost = math.inf if payload is None else len(payload) * self._byte_ns + e.decode[k] * n
        if best is not None:
            e.gained(k, best_cost - cost if cost < best_cost else 0.0)
        if payload is not None and cost < best_cost:
            return (codec, payload), cost
        return best, best_cost


def _expected_share(e: Estimate, k: int) -> float:
    """Expected payload over message size: a declined message stays as big."""
    d = e.declined[k]
    return (1.0 - d) * e.ratio[k] + d


#: One encode in TIMED has its CPU time read (about 1 µs per reading here,
#: against 0.1 µs for the wall clock that the time budget uses): CPU time, as
#: wall-clock time on a busy server also counts waiting for the GIL and the cores.
TIMED = 4
_timing = itertools.count()


def _try(message: bytes, k: int, codec: Any, e: Estimate) -> tuple[int, bytes | None]:
    """Encode with ``codec`` and learn from it: the wall time taken and the payload."""
    if next(_timing) % TIMED:
        start = perf_counter_ns()
        payload = codec.encode(message)
        took = perf_counter_ns() - start
        cpu = None
    else:
        start = perf_counter_ns()
        cpu_start = thread_time_ns()
        payload = codec.encode(message)
        cpu = thread_time_ns() - cpu_start
        took = perf_counter_ns() - start
    e.observe(k, len(message), None if payload is None else len(payload), cpu)
    return took, payload


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]


def _cost(settings: Mapping[str, Any]) -> Cost:
    return Cost(**settings)


def _rules(settings: Mapping[str, Any]) -> Rules:
    return Rules(**settings)


def _smallest(settings: Mapping[str, Any]) -> Smallest:
    return Smallest()


@hookimpl
def auracodec_selector_policies() -> list[PolicyType]:
    return [
        PolicyType(
            "cost", _cost, COST_SETTINGS, "the cheapest frame: bytes and CPU at your prices"
        ),
        PolicyType("smallest", _smallest, (), "encode with every codec, keep the smallest"),
        PolicyType("rules", _rules, RULES_SETTINGS, "size windows, preference order, margin"),
    ]
