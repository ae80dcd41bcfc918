"""Measuring methods on a corpus: what ``auracodec bench`` prints.

Every method runs in this process on the same messages: each codec of the
pipeline alone (with raw fallback, as a pipeline restricted to it), the
configured pipeline, and baselines as a user would call them directly:
zstd level 3 and brotli quality 5 (their standard formats), and
permessage-deflate as the ``websockets`` library configures it by default
(RFC 7692, context takeover, 12-bit windows, memLevel 5), one compression
context per conversation and direction, when the messages carry conversation
ids.

Sizes are exact. Times are per message, taken around each call; they are for
comparing methods within one run, not across machines.

The results render as a table (:func:`results_table`), a few summary lines
(:func:`summary_lines`) and a bar chart by size bucket (:func:`plot_results`,
with matplotlib).

For a trained profile, :func:`client_report` adds what a client pays to
download it: its transfer size as served, the pipeline's bytes in sessions
(one context per conversation and direction), and the break-even points
against permessage-deflate and against zstd with the profile's dictionary
(:mod:`auracodec.core.sizing`), rendered by :func:`client_table`.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
import brotli
import zstandard
from rich.table import Table
from rich.text import Text

from .core.corpus import Sample
from .core.cost import Prices
from .core.errors import AuraError
from .core.pipeline import Pipeline
from .core.sizing import Transfer, break_even, profile_transfer, profile_transfer_work
from .core.stats import Percentiles

__all__ = [
    "BUCKETS",
    "ClientReport",
    "Result",
    "bench",
    "bucket_of",
    "client_report",
    "client_table",
    "format_percentiles",
    "permessage_deflate_sizes",
    "plot_results",
    "results_table",
    "session_sizes",
    "summary_lines",
]

#: Message size buckets, in bytes: (label, lowest, highest).
BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("<64", 0, 63),
    ("64-255", 64, 255),
    ("256-1023", 256, 1023),
    ("1024-4095", 1024, 4095),
    (">=4096", 4096, 1 << 62),
)

#: websockets' defaults for permessage-deflate (both directions).
PMD_WINDOW_BITS = 12
PMD_MEM_LEVEL = 5
_SYNC_TAIL = b"\x00\x00\xff\xff"


def bucket_of(size: int) -> str:
    for label, low, high in BUCKETS:
        if low <= size <= high:
            return label
    raise AssertionError("unreachable: buckets cover every size")  # pragma: no cover


@attrs.frozen
class Bucket:
    messages: int
    bytes_in: int
    bytes_out: int

    @property
    def ratio(self) -> float:
        return self.bytes_in / self.bytes_out if self.bytes_out else 0.0


@attrs.frozen
class Result:
    """One method on one corpus."""

    name: str
    kind: str  # "pipeline", "codec" or "baseline"
    messages: int
    bytes_in: int
    bytes_out: int
    expanded: int
    failures: int
    buckets: dict[str, Bucket]
    encode_us: Percentiles
    decode_us: Percentiles
    #: Mean encode plus decode time per message, µs (wall clock, per message).
    cpu_us: float = 0.0
    methods: dict[str, int] = attrs.Factory(dict)
    codecs: dict[str, Any] = attrs.Factory(dict)
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.bytes_in / self.bytes_out if self.bytes_out else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = attrs.asdict(self)
        d["ratio"] = round(self.ratio, 4)
        for label, b in self.buckets.items():
            d["buckets"][label]["ratio"] = round(b.ratio, 4)
        return d


Step = Callable[[int], None]


def _result(
    name: str,
    kind: str,
    messages: Sequence[bytes],
    sizes: Sequence[int],
    failures: int,
    enc_ns: list[int],
    dec_ns: list[int],
    **extra: Any,
) -> Result:
    acc: dict[str, list[int]] = {label: [0, 0, 0] for label, _, _ in BUCKETS}
    for m, out in zip(messages, sizes, strict=True):
        a = acc[bucket_of(len(m))]
        a[0] += 1
        a[1] += len(m)
        a[2] += out
    return Result(
        name=name,
        kind=kind,
        messages=len(messages),
        bytes_in=sum(map(len, messages)),
        bytes_out=sum(sizes),
        expanded=sum(out > len(m) for m, out in zip(messages, sizes, strict=True)),
        failures=failures,
        buckets={k: Bucket(*v) for k, v in acc.items() if v[0]},
        encode_us=Percentiles.of(enc_ns),
        decode_us=Percentiles.of(dec_ns),
        cpu_us=(sum(enc_ns) + sum(dec_ns)) / 1000 / max(len(messages), 1),
        **extra,
    )


def measure(
    name: str,
    kind: str,
    messages: Sequence[bytes],
    encode: Callable[[bytes], bytes],
    decode: Callable[[bytes], bytes],
    step: Step | None = None,
    **extra: Any,
) -> Result:
    """Encode and decode every message with a pair of functions; check them."""
    clock = time.perf_counter_ns
    enc_ns, dec_ns, sizes = [], [], []
    failures = 0
    for m in messages:
        t0 = clock()
        out = encode(m)
        t1 = clock()
        back = decode(out)
        t2 = clock()
        enc_ns.append(t1 - t0)
        dec_ns.append(t2 - t1)
        sizes.append(len(out))
        failures += back != m
        if step:
            step(1)
    return _result(name, kind, messages, sizes, failures, enc_ns, dec_ns, **extra)


def measure_pipeline(
    name: str, kind: str, pipe: Pipeline, messages: Sequence[bytes], step: Step | None = None
) -> Result:
    methods: dict[str, int] = {}

    def encode(m: bytes) -> bytes:
        return pipe.encode(m)

    result = measure(name, kind, messages, encode, pipe.decode_bytes, step)
    for s in pipe.stats.methods.values():
        if s.encoded:
            methods[s.name] = s.encoded
    return attrs.evolve(result, methods=methods, codecs=pipe.stats.codecs)


def permessage_deflate_sizes(
    samples: Sequence[Sample], step: Step | None = None
) -> tuple[list[int], int, list[int], list[int]]:
    """Per-message payload sizes under permessage-deflate with context takeover.

    Returns sizes, round-trip failures, and encode and decode times. One
    compressor per (conversation, direction), as on a real connection.
    """
    clock = time.perf_counter_ns
    streams: dict[tuple[str | None, str], tuple[Any, Any]] = {}
    sizes, enc_ns, dec_ns = [], [], []
    failures = 0
    for s in samples:
        key = (s.conv, s.direction)
        if key not in streams:
            streams[key] = (
                zlib.compressobj(wbits=-PMD_WINDOW_BITS, memLevel=PMD_MEM_LEVEL),
                zlib.decompressobj(wbits=-PMD_WINDOW_BITS),
            )
        comp, decomp = streams[key]
        t0 = clock()
        data = comp.compress(s.data) + comp.flush(zlib.Z_SYNC_FLUSH)
        payload = data[:-4]  # RFC 7692 7.2.1: the sync flush's empty block is removed
        t1 = clock()
        back = decomp.decompress(payload + _SYNC_TAIL)
        t2 = clock()
        sizes.append(len(payload))
        enc_ns.append(t1 - t0)
        dec_ns.append(t2 - t1)
        failures += back != s.data
        if step:
            step(1)
    return sizes, failures, enc_ns, dec_ns


def session_sizes(samples: Sequence[Sample], pipe: Pipeline, step: Step | None = None) -> list[int]:
    """Per-message frame sizes when each conversation runs over a pair of sessions.

    One client and one server session per conversation id (messages without
    one share a pair, as they share permessage-deflate's stream in
    :func:`permessage_deflate_sizes`); ``in`` messages go client to server.
    Every frame is decoded by the peer and checked.
    """
    pairs: dict[str | None, tuple[Any, Any]] = {}
    sizes = []
    for s in samples:
        if s.conv not in pairs:
            pairs[s.conv] = (pipe.session(), pipe.session())
        client, server = pairs[s.conv]
        sender, receiver = (client, server) if s.direction == "in" else (server, client)
        frame = sender.encode(s.data)
        if receiver.decode_bytes(frame) != s.data:
            raise AuraError(f"a session frame did not round-trip a message of {len(s.data)} bytes")
        sizes.append(len(frame))
        if step:
            step(1)
    return sizes


def baselines(samples: Sequence[Sample], step: Step | None = None) -> list[Result]:
    """zstd-3, brotli-5 and (with conversation ids) permessage-deflate."""
    messages = [s.data for s in samples]
    zc = zstandard.ZstdCompressor(level=3)
    zd = zstandard.ZstdDecompressor()
    out = [
        measure("zstd-3", "baseline", messages, zc.compress, zd.decompress, step),
        measure(
            "brotli-5",
            "baseline",
            messages,
            lambda m: brotli.compress(m, quality=5),
            brotli.decompress,
            step,
        ),
    ]
    if any(s.conv is not None for s in samples):
        sizes, failures, enc_ns, dec_ns = permessage_deflate_sizes(samples, step)
        out.append(
            _result(
                "permessage-deflate",
                "baseline",
                messages,
                sizes,
                failures,
                enc_ns,
                dec_ns,
                note="websockets defaults, context takeover per conversation and direction",
            )
        )
    return out


def bench(
    samples: Sequence[Sample],
    pipe: Pipeline,
    *,
    alone: Iterable[str] | None = None,
    with_baselines: bool = True,
    progress: Callable[[str, int], Step] | None = None,
) -> list[Result]:
    """Measure each codec alone, the pipeline, and the baselines on ``samples``.

    ``alone`` names the codecs to measure alone (default: every codec of the
    pipeline but raw). ``progress(description, total)`` returns a step
    function, for progress bars.
    """
    messages = [s.data for s in samples]
    names = [n for n in pipe.codecs if n != "identity"] if alone is None else list(alone)
    results = []

    def step_for(label: str, total: int) -> Step | None:
        return progress(label, total) if progress else None

    for name in names:
        single = Pipeline.from_config(pipe.config, codecs=[name])
        results.append(
            measure_pipeline(name, "codec", single, messages, step_for(name, len(messages)))
        )
    fresh = Pipeline.from_config(pipe.config)
    results.append(
        measure_pipeline(
            "pipeline", "pipeline", fresh, messages, step_for("pipeline", len(messages))
        )
    )
    if with_baselines:
        runs = 3 if any(s.conv is not None for s in samples) else 2
        results.extend(baselines(samples, step_for("baselines", runs * len(messages))))
    return results


@attrs.frozen
class ClientReport:
    """What a trained profile costs a client, and when the download pays.

    ``deflate_bytes`` is permessage-deflate in sessions (``None`` without
    conversation ids or baselines); ``zstd_bytes`` the profile's zstd codec
    alone (its dictionary, stateless), whose own download is the dictionary
    (``zstd_download``, as served).
    """

    profile: str
    size_class: str | int | None
    transfer: Transfer
    messages: int
    bytes_in: int
    session_bytes: int
    deflate_bytes: int | None
    zstd_bytes: int | None
    zstd_download: int

    @property
    def session_ratio(self) -> float:
        return self.bytes_in / self.session_bytes if self.session_bytes else 0.0

    @property
    def break_even_deflate(self) -> int | None:
        """Messages before the bytes saved against permessage-deflate repay the download."""
        if self.deflate_bytes is None:
            return None
        return break_even(
            self.transfer.served, self.deflate_bytes - self.session_bytes, self.messages
        )

    @property
    def break_even_zstd(self) -> int | None:
        """The same against zstd with its dictionary, which has its own download."""
        if self.zstd_bytes is None:
            return None
        return break_even(
            self.transfer.served - self.zstd_download,
            self.zstd_bytes - self.session_bytes,
            self.messages,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "size_class": self.size_class,
            "transfer": self.transfer.to_dict(),
            "messages": self.messages,
            "bytes": self.bytes_in,
            "session_bytes": self.session_bytes,
            "session_ratio": round(self.session_ratio, 4),
            "deflate_session_bytes": self.deflate_bytes,
            "zstd_bytes": self.zstd_bytes,
            "zstd_download": self.zstd_download,
            "break_even_messages": {
                "permessage_deflate": self.break_even_deflate,
                "zstd_with_dictionary": self.break_even_zstd,
            },
        }


def client_report(
    samples: Sequence[Sample],
    pipe: Pipeline,
    results: Sequence[Result],
    progress: Callable[[str, int], Step] | None = None,
) -> ClientReport:
    """The client's view of ``pipe``'s profile (a config file, not the defaults).

    Uses the ``permessage-deflate`` baseline and the ``zstd`` codec row of
    ``results`` (from :func:`bench`) where they are there; codes ``samples``
    in sessions; compresses the profile's files (brotli 11: some 20 seconds
    for a server-size profile). ``progress`` as for :func:`bench`.
    """
    config = pipe.config
    transfer = profile_transfer(
        pipe,
        progress("transfer size (gzip -9, brotli 11)", profile_transfer_work(pipe))
        if progress
        else None,
    )
    sizes = session_sizes(
        samples,
        Pipeline.from_config(config),
        progress("sessions", len(samples)) if progress else None,
    )
    deflate = next((r for r in results if r.name == "permessage-deflate"), None)
    zstd = next((r for r in results if r.name == "zstd" and r.kind == "codec"), None)
    dictionary = config.codec_tables.get("zstd", {}).get("dictionary")
    download = sum(
        f.served for f in transfer.files if dictionary is not None and f.name == dictionary
    )
    return ClientReport(
        profile=str(config.path.parent if config.path else "built-in defaults"),
        size_class=config.training_size,
        transfer=transfer,
        messages=len(samples),
        bytes_in=sum(len(s.data) for s in samples),
        session_bytes=sum(sizes),
        deflate_bytes=deflate.bytes_out if deflate else None,
        zstd_bytes=zstd.bytes_out if zstd else None,
        zstd_download=download,
    )


# -- rendering ----------------------------------------------------------------


def _messages(n: int | None) -> str:
    return "never" if n is None else f"{n:,}"


def client_table(report: ClientReport) -> Table:
    """One row: transfer size as served, ratio in sessions, break-even points."""
    t = Table(
        title="profile for clients: download (as served: the smallest of identity, gzip -9, "
        "brotli 11 per file) and messages until the bytes saved repay it (in sessions)",
        title_justify="left",
    )
    for column in ("profile", "size", "transfer", "ratio (sessions)"):
        t.add_column(column, justify="left" if column == "profile" else "right")
    t.add_column("break-even vs permessage-deflate", justify="right")
    t.add_column("vs zstd + its dictionary", justify="right")
    size = report.size_class
    t.add_row(
        Text(report.profile),
        "" if size is None else str(size),
        f"{report.transfer.served / 1000:,.1f} KB",
        f"{report.session_ratio:.3f}",
        "" if report.deflate_bytes is None else _messages(report.break_even_deflate),
        "" if report.zstd_bytes is None else _messages(report.break_even_zstd),
    )
    return t


def format_percentiles(p: Percentiles) -> str:
    """``p50/p95/p99``, one decimal each."""
    return f"{p.p50:.1f}/{p.p95:.1f}/{p.p99:.1f}"


def _labels(results: Sequence[Result]) -> list[str]:
    """The size buckets any of the results has messages in, smallest first."""
    return [label for label, _, _ in BUCKETS if any(label in r.buckets for r in results)]


def _method_label(r: Result) -> str:
    return r.name if r.kind != "codec" else f"{r.name} alone"


def results_table(results: Sequence[Result]) -> Table:
    """One row per method: ratio overall and by size bucket, expansions, latencies."""
    t = Table(title="ratio = message bytes / frame bytes (higher is better)", title_justify="left")
    t.add_column("method")
    t.add_column("ratio", justify="right")
    labels = _labels(results)
    for label in labels:
        t.add_column(label, justify="right")
    t.add_column("expanded", justify="right")
    t.add_column("encode µs p50/p95/p99", justify="right")
    t.add_column("decode µs p50/p95/p99", justify="right")
    kinds = {"codec": "", "pipeline": "bold", "baseline": "dim"}
    for r in results:
        cells = [f"{r.buckets[b].ratio:.2f}" if b in r.buckets else "" for b in labels]
        t.add_row(
            Text(_method_label(r)),  # a plugin's name: never read as markup
            f"{r.ratio:.3f}",
            *cells,
            str(r.expanded),
            format_percentiles(r.encode_us),
            format_percentiles(r.decode_us),
            style=kinds[r.kind],
        )
    return t


def summary_lines(results: Sequence[Result], prices: Prices | None = None) -> list[str]:
    """What the pipeline chose: each method's share, and the template hit rate;
    with ``prices``, what its messages cost against permessage-deflate's."""
    pipeline = next((r for r in results if r.kind == "pipeline"), None)
    if pipeline is None or not pipeline.messages:
        return []
    shares = ", ".join(
        f"{n} {c / pipeline.messages:.0%}"
        for n, c in sorted(pipeline.methods.items(), key=lambda kv: -kv[1])
    )
    lines = [f"pipeline methods: {shares}"]
    deflate = next((r for r in results if r.name == "permessage-deflate"), None)
    if prices is not None and deflate is not None and deflate.messages:

        def usd(r: Result) -> float:
            return prices.usd(r.bytes_out / r.messages, r.cpu_us * 1000)

        cheapest = min(results, key=usd)
        lines.append(
            f"cost per message (bytes and CPU at ${prices.egress_usd_per_gb}/GB and "
            f"${prices.cpu_usd_per_core_hour}/core-hour): pipeline "
            f"{usd(pipeline) / usd(deflate):.2f}x permessage-deflate's, cheapest "
            f"{cheapest.name} at {usd(cheapest) / usd(deflate):.2f}x; "
            "`auracodec bench --cost` measures it per method and in sessions"
        )
    templates = pipeline.codecs.get("binary_semantic")
    if templates:
        top = list(templates["per_template"].values())[:3]
        best = "; ".join(f"{t['text'][:50]!r} x{t['hits']}" for t in top)
        lines.append(
            f"templates: {templates['templates']} loaded, hit rate {templates['hit_rate']:.1%} "
            f"({templates['matched']} of {templates['attempts']} messages)"
            + (f"; most bytes saved: {best}" if best else "")
        )
    return lines


def plot_results(
    results: Sequence[Result], path: str | os.PathLike[str], *, title: str = ""
) -> None:
    """A PNG bar chart of the ratio by size bucket, one bar per method (matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise AuraError("plotting needs matplotlib: pip install 'auracodec[plot]'") from None
    labels = _labels(results)
    groups = [*labels, "all"]
    fig, ax = plt.subplots(figsize=(max(7.0, 1.6 * len(groups)), 4.2), dpi=120)
    width = 0.8 / len(results)
    for i, r in enumerate(results):
        values = [r.buckets[b].ratio if b in r.buckets else 0.0 for b in labels] + [r.ratio]
        xs = [g + (i - (len(results) - 1) / 2) * width for g in range(len(groups))]
        hatch = "//" if r.kind == "baseline" else None
        ax.bar(
            xs,
            values,
            width,
            label=_method_label(r),
            hatch=hatch,
            edgecolor="white" if hatch else None,
        )
    ax.set_xticks(range(len(groups)), [f"{g} B" if g != "all" else g for g in groups])
    ax.set_ylabel("ratio (higher is better)")
    ax.set_xlabel("message size")
    if title:
        # "$" would start mathtext; a title holds file names, shown as they are.
        ax.set_title(title.replace("$", r"\$"), fontsize=10)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.legend(fontsize=8, ncols=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
