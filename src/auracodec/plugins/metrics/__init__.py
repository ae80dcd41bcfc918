"""``prometheus``: Prometheus metrics of every message, through ``prometheus_client``.

Off by default, and needs the ``metrics`` extra (``pip install
'auracodec[metrics]'``): it runs only where the config has an
``[observers.prometheus]`` table::

    [observers.prometheus]
    registry = "global"    # prometheus_client.REGISTRY; "own": a fresh registry per pipeline
    namespace = "auracodec"
    buckets = [0.00001, 0.0001, 0.001, 0.01]   # latency histogram bounds, seconds

Without ``prometheus_client`` this module still loads (the plugin declares the
observer either way); configuring the observer is then an error that says
which package to install.

Per message the observer adds to plain counters of its thread, without a
lock (no ``prometheus_client`` call); a collector registered with the registry turns
them into metric families when scraped. Pipelines that use the global
registry with one namespace share their counters, so two pipelines in one
process never clash over a metric name. See docs/metrics.md for the metrics.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from auracodec.plugin import MessageEvent, ObserverType, Setting, SettingError, hookimpl

NAME = "prometheus"

#: Latency bucket upper bounds in seconds (+Inf is added).
DEFAULT_BUCKETS = (
    5e-6,
    1e-5,
    2.5e-5,
    5e-5,
    1e-4,
    2.5e-4,
    5e-4,
    1e-3,
    2.5e-3,
    5e-3,
    1e-2,
    2.5e-2,
    0.1,
)

#: Method names that are template hits (the template codec's frames).
TEMPLATE_METHOD = "binary_semantic"

_BUCKETS_EXPECTED = "a non-empty, increasing list of positive numbers (seconds)"


def _check_buckets(v: Any) -> tuple[float, ...]:
    if (
        not isinstance(v, list)
        or not v
        or not all(isinstance(b, (int, float)) and not isinstance(b, bool) and b > 0 for b in v)
        or any(a >= b for a, b in itertools.pairwise(v))
        or v[-1] == float("inf")
    ):
        raise ValueError(f"expected {_BUCKETS_EXPECTED}, got {v!r} ({type(v).__name__})")
    return tuple(float(b) for b in v)


SETTINGS = (
    Setting.choice(
        "registry",
        "global",
        ("global", "own"),
        "Where the metrics are registered: `global` (prometheus_client.REGISTRY, what "
        "`start_http_server` serves; pipelines sharing a namespace share counters) or "
        "`own` (a fresh CollectorRegistry per pipeline, see `registry_of`).",
    ),
    Setting.text("namespace", "auracodec", "Prefix of every metric name."),
    Setting(
        "buckets",
        DEFAULT_BUCKETS,
        _BUCKETS_EXPECTED,
        "Upper bounds of the latency histograms, in seconds (+Inf is added).",
        _check_buckets,
    ),
)

# Per method and direction: bytes in, bytes out, expansions, latency sum (ns),
# then one count per latency bucket (the last is +Inf). Messages are the sum
# of the buckets, counted at scrape time: one addition less per message.
_IN, _OUT, _EXP, _SUM, _BUCKET0 = range(5)


class Store:
    """The counters behind one namespace of one registry; the metrics' collector."""

    def __init__(self, namespace: str, buckets: Sequence[float]) -> None:
        self.namespace = namespace
        self.buckets = tuple(buckets)
        self.bounds_ns = [round(b * 1e9) for b in self.buckets]
        #: ``bounds_ns`` after ``_BUCKET0`` entries of -1: since a latency is
        #: never negative, ``bisect_left(padded, ns)`` is the index of its
        #: bucket in the counters, with no addition per message.
        self.padded_bounds = [-1] * _BUCKET0 + self.bounds_ns
        #: Taken to add a thread or a key, to read, and to count an error.
        self.lock = threading.Lock()
        #: One table per thread that counted: direction -> method -> counters.
        #: Only its thread adds to a table's counters, so a message takes no lock;
        #: new keys go in under the lock, so a scrape never sees a table resize.
        #: A thread's own tables are also ``local.out`` and ``local.in_``.
        self.tables: list[dict[str, dict[str, list[int]]]] = []
        self.local = threading.local()
        self.errors: Counter[str] = Counter()
        #: The open sessions of the pipelines counting here, held weakly: a
        #: session leaves when it is garbage collected. Read at scrape time only.
        self.sessions: weakref.WeakSet[Any] = weakref.WeakSet()
        self.sessions_opened = 0

    def counters(self, direction: str, method: str) -> list[int]:
        """This thread's counters of ``method`` in ``direction`` (made on first use)."""
        with self.lock:
            table: dict[str, dict[str, list[int]]] | None = getattr(self.local, "table", None)
            if table is None:
                table = self.local.table = {"out": {}, "in": {}}
                self.local.out, self.local.in_ = table["out"], table["in"]
                self.tables.append(table)
            return table[direction].setdefault(method, [0] * (_BUCKET0 + len(self.bounds_ns) + 1))

    def describe(self) -> list[Any]:
        return list(self.collect())

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        ns = self.namespace + "_" if self.namespace else ""
        counts: dict[tuple[str, str], list[int]] = {}
        with self.lock:
            for table in self.tables:
                for direction, methods in table.items():
                    for method, c in methods.items():
                        total = counts.setdefault((method, direction), [0] * len(c))
                        for i, n in enumerate(c):
                            total[i] += n
            errors = dict(self.errors)
            live = list(self.sessions)
            opened = self.sessions_opened
        md = ["method", "direction"]
        messages = CounterMetricFamily(ns + "messages", "Messages encoded or decoded.", labels=md)
        b_in = CounterMetricFamily(
            ns + "bytes_in",
            "Bytes into the codec: messages (direction out) or frames (direction in).",
            labels=md,
        )
        b_out = CounterMetricFamily(
            ns + "bytes_out",
            "Bytes out of the codec: frames (direction out) or messages (direction in).",
            labels=md,
        )
        expansions = CounterMetricFamily(
            ns + "expansions", "Frames longer than their message.", labels=["direction"]
        )
        templates = CounterMetricFamily(
            ns + "template_hits", "Messages coded by the template codec.", labels=["direction"]
        )
        errs = CounterMetricFamily(
            ns + "errors", "Frames that failed to decode, by error class.", labels=["type"]
        )
        latency = {
            d: HistogramMetricFamily(
                f"{ns}{word}_latency_seconds", f"Time to {word} one message.", labels=["method"]
            )
            for d, word in (("out", "encode"), ("in", "decode"))
        }
        exp: Counter[str] = Counter()
        hits: Counter[str] = Counter()
        for (method, direction), c in sorted(counts.items()):
            labels = [method, direction]
            n_messages = sum(c[_BUCKET0:])
            messages.add_metric(labels, n_messages)
            b_in.add_metric(labels, c[_IN])
            b_out.add_metric(labels, c[_OUT])
            exp[direction] += c[_EXP]
            if method.startswith(TEMPLATE_METHOD):
                hits[direction] += n_messages
            cumulative, running = [], 0
            for bound, n in zip((*self.buckets, float("inf")), c[_BUCKET0:], strict=True):
                running += n
                cumulative.append((_le(bound), running))
            latency[direction].add_metric([method], cumulative, c[_SUM] / 1e9)
        for direction in ("out", "in"):
            expansions.add_metric([direction], exp[direction])
            templates.add_metric([direction], hits[direction])
        for kind, n in sorted(errors.items()):
            errs.add_metric([kind], n)
        sessions = GaugeMetricFamily(ns + "sessions", "Open sessions (not yet garbage collected).")
        sessions.add_metric([], len(live))
        opened_total = CounterMetricFamily(ns + "sessions_opened", "Sessions opened.")
        opened_total.add_metric([], opened)
        memory = GaugeMetricFamily(
            ns + "session_memory_bytes",
            "Bytes the open sessions hold: coding contexts, counters, own objects.",
        )
        memory.add_metric([], sum(map(_memory_of, live)))
        yield from (messages, b_in, b_out, expansions, templates, errs, *latency.values())
        yield from (sessions, opened_total, memory)


def _memory_of(session: Any) -> int:
    """``session.memory()``, or 0 where a context's ``memory()`` raises."""
    try:
        return int(session.memory())
    except Exception:  # noqa: BLE001 - a plugin's context: one session must not fail a scrape
        return 0


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class PrometheusObserver:
    """The observer: counts each message into its :class:`Store`."""

    auracodec_message_encoded: Callable[[MessageEvent], None]
    auracodec_message_decoded: Callable[[MessageEvent], None]

    def __init__(self, store: Store, registry: Any) -> None:
        self.store = store
        #: The ``prometheus_client`` registry the metrics are in.
        self.registry = registry
        self.auracodec_message_encoded, self.auracodec_message_decoded = _counting(store)

    @hookimpl
    def auracodec_decode_failed(self, error: Exception) -> None:
        with self.store.lock:
            self.store.errors[type(error).__name__] += 1

    @hookimpl
    def auracodec_session_opened(self, session: Any) -> None:
        # Once per session, none per message: a scrape counts the live ones
        # and asks each for its memory.
        with self.store.lock:
            self.store.sessions.add(session)
            self.store.sessions_opened += 1


def _counting(
    store: Store,
) -> tuple[Callable[[MessageEvent], None], Callable[[MessageEvent], None]]:
    """The two per-message hooks of an observer counting into ``store``.

    They run for every message, so every step counts: closures (what they use
    is a local, not an attribute of ``self``), written out twice (no shared
    helper, one Python call less), the bucket found by one ``bisect_left``
    on the padded bounds. A thread's first message of a method makes its
    counters.
    """
    local, counters, bounds = store.local, store.counters, store.padded_bounds

    @hookimpl
    def auracodec_message_encoded(event: MessageEvent) -> None:
        try:
            c = local.out[event.method]
        except (AttributeError, KeyError):
            c = counters("out", event.method)
        size, frame, ns = len(event.message), event.frame_size, event.elapsed_ns
        c[_IN] += size
        c[_OUT] += frame
        if frame > size:
            c[_EXP] += 1
        c[_SUM] += ns
        c[bisect_left(bounds, ns)] += 1

    @hookimpl
    def auracodec_message_decoded(event: MessageEvent) -> None:
        try:
            c = local.in_[event.method]
        except (AttributeError, KeyError):
            c = counters("in", event.method)
        size, frame, ns = len(event.message), event.frame_size, event.elapsed_ns
        c[_IN] += frame
        c[_OUT] += size
        if frame > size:
            c[_EXP] += 1
        c[_SUM] += ns
        c[bisect_left(bounds, ns)] += 1

    return auracodec_message_encoded, auracodec_message_decoded


#: Stores of the global registry, by namespace.
_GLOBAL: dict[str, Store] = {}
_GLOBAL_LOCK = threading.Lock()


def _factory(settings: Mapping[str, Any], hook: Any) -> PrometheusObserver:
    try:
        import prometheus_client
    except ImportError as exc:
        raise ImportError(
            "the prometheus observer needs prometheus_client: "
            "pip install 'auracodec[metrics]' (or remove [observers.prometheus])"
        ) from exc
    namespace, buckets = settings["namespace"], settings["buckets"]
    if settings["registry"] == "own":
        registry = prometheus_client.CollectorRegistry()
        store = Store(namespace, buckets)
        registry.register(store)
        return PrometheusObserver(store, registry)
    registry = prometheus_client.REGISTRY
    with _GLOBAL_LOCK:
        shared = _GLOBAL.get(namespace)
        if shared is None:
            store = Store(namespace, buckets)
            registry.register(store)
            _GLOBAL[namespace] = store
        elif shared.buckets != tuple(buckets):
            raise SettingError(
                "buckets",
                f"the global registry's {namespace!r} metrics have buckets {list(shared.buckets)}"
                " from another pipeline; use the same, another namespace, or registry = 'own'",
            )
        else:
            store = shared
    return PrometheusObserver(store, registry)


def registry_of(pipeline: Any) -> Any:
    """The ``prometheus_client`` registry of a pipeline's prometheus observer."""
    observer = pipeline.registry.pm.get_plugin(f"observer:{NAME}")
    if observer is None:
        raise LookupError("this pipeline has no [observers.prometheus]")
    return observer.registry


@hookimpl
def auracodec_observer_types() -> list[ObserverType]:
    return [ObserverType(NAME, _factory, SETTINGS, "Prometheus metrics (needs prometheus_client)")]
