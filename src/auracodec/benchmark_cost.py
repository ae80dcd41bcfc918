"""What each method costs per message: ``auracodec bench --cost`` and ``bench/cost.py``.

Cost is egress plus CPU at both ends, at the configured prices
(:class:`~auracodec.core.cost.Prices`): ``bytes * byte price + (encode + decode
CPU) * core price``. Every row is measured in this process on the same
messages, CPU as process time, over interleaved rounds (the order rotates each
round, so drifts in machine load hit every row alike); the median round
counts. Rows:

``permessage-deflate``
    websockets' defaults (12-bit window, memLevel 5) with context takeover, one
    compressor and one decompressor per conversation and direction (every
    message in one stream without conversation ids), RFC 7692 framing.
``zstd-3+dict``
    level 3 with the profile's trained dictionary (plain zstd-3 without one),
    minimal frame (no magic, checksum, size or dictionary id).
each codec
    that codec alone, as its own pipeline would frame it (declined: raw).
``pipeline``
    the configured pipeline, stateless: a fresh sender and receiver per round,
    so the ``cost`` policy starts from the profile's estimates each time.
``sessions``
    one session per conversation at each end; each end encodes its direction
    and decodes the other's.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import zstandard

from .benchmark import PMD_MEM_LEVEL, PMD_WINDOW_BITS
from .core.config import Config
from .core.corpus import Sample
from .core.cost import Prices
from .core.pipeline import Pipeline

__all__ = ["CostRow", "cost_rows", "cost_table"]

_SYNC_TAIL = b"\x00\x00\xff\xff"

Step = Callable[[int], None]


@attrs.frozen
class CostRow:
    """One method's figures over the messages (medians of the rounds)."""

    name: str
    kind: str  # "baseline", "codec", "pipeline", "sessions"
    messages: int
    message_bytes: int
    frame_bytes: float
    encode_s: float
    decode_s: float
    failures: int = 0

    def bytes_per_message(self) -> float:
        return self.frame_bytes / self.messages

    def cpu_us_per_message(self) -> float:
        return (self.encode_s + self.decode_s) * 1e6 / self.messages

    def usd_per_million(self, prices: Prices) -> float:
        return prices.usd(self.bytes_per_message(), self.cpu_us_per_message() * 1000) * 1e6

    def to_dict(self, prices: Prices, reference: CostRow | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "messages": self.messages,
            "ratio": round(self.message_bytes / self.frame_bytes, 4) if self.frame_bytes else None,
            "bytes_per_message": round(self.bytes_per_message(), 2),
            "encode_us_per_message": round(self.encode_s * 1e6 / self.messages, 2),
            "decode_us_per_message": round(self.decode_s * 1e6 / self.messages, 2),
            "cpu_us_per_message": round(self.cpu_us_per_message(), 2),
            "usd_per_million_messages": round(self.usd_per_million(prices), 6),
            "failures": self.failures,
        }
        if reference is not None:
            d["cost_over_reference"] = round(
                self.usd_per_million(prices) / reference.usd_per_million(prices), 4
            )
            d["bytes_over_reference"] = round(self.frame_bytes / reference.frame_bytes, 4)
        return d


# -- the methods: each returns (frame bytes, encode seconds, decode seconds, failures) --

_Run = Callable[[], tuple[int, float, float, int]]


def _streams(samples: Sequence[Sample]) -> list[list[bytes]]:
    """The messages of each (conversation, direction), in order."""
    streams: dict[tuple[str | None, str], list[bytes]] = {}
    for s in samples:
        streams.setdefault((s.conv, s.direction), []).append(s.data)
    return list(streams.values())


def _deflate(samples: Sequence[Sample]) -> _Run:
    streams = _streams(samples)

    def run() -> tuple[int, float, float, int]:
        clock = time.process_time
        payloads: list[list[bytes]] = []
        start = clock()
        for messages in streams:
            comp = zlib.compressobj(wbits=-PMD_WINDOW_BITS, memLevel=PMD_MEM_LEVEL)
            out = []
            for m in messages:
                out.append((comp.compress(m) + comp.flush(zlib.Z_SYNC_FLUSH))[:-4])
            payloads.append(out)
        encode = clock() - start
        failures = 0
        start = clock()
        for messages, out in zip(streams, payloads, strict=True):
            decomp = zlib.decompressobj(wbits=-PMD_WINDOW_BITS)
            for m, p in zip(messages, out, strict=True):
                failures += decomp.decompress(p + _SYNC_TAIL) != m
        decode = clock() - start
        return sum(len(p) for out in payloads for p in out), encode, decode, failures

    return run


def _zstd(messages: list[bytes], dictionary: bytes | None) -> _Run:
    params = zstandard.ZstdCompressionParameters.from_level(
        3,
        format=zstandard.FORMAT_ZSTD1_MAGICLESS,
        write_checksum=False,
        write_content_size=False,
        write_dict_id=False,
    )
    d = zstandard.ZstdCompressionDict(dictionary) if dictionary else None
    cctx = zstandard.ZstdCompressor(dict_data=d, compression_params=params)
    dctx = zstandard.ZstdDecompressor(dict_data=d, format=zstandard.FORMAT_ZSTD1_MAGICLESS)

    def run() -> tuple[int, float, float, int]:
        clock = time.process_time
        start = clock()
        payloads = [cctx.compress(m) for m in messages]
        encode = clock() - start
        start = clock()
        # no content size in the frame: the bound is the message's size
        back = [
            dctx.decompress(p, max_output_size=len(m) or 1)
            for p, m in zip(payloads, messages, strict=True)
        ]
        decode = clock() - start
        failures = sum(b != m for b, m in zip(back, messages, strict=True))
        return sum(len(p) for p in payloads), encode, decode, failures

    return run


def _stateless(make: Callable[[], tuple[Pipeline, Pipeline]], messages: list[bytes]) -> _Run:
    def run() -> tuple[int, float, float, int]:
        sender, receiver = make()
        clock = time.process_time
        start = clock()
        frames = [sender.encode(m) for m in messages]
        encode = clock() - start
        start = clock()
        back = [receiver.decode_bytes(f) for f in frames]
        decode = clock() - start
        failures = sum(b != m for b, m in zip(back, messages, strict=True))
        return sum(len(f) for f in frames), encode, decode, failures

    return run


def _sessions(make: Callable[[], tuple[Pipeline, Pipeline]], samples: Sequence[Sample]) -> _Run:
    convs: dict[str | None, list[Sample]] = {}
    for s in samples:
        convs.setdefault(s.conv, []).append(s)

    def run() -> tuple[int, float, float, int]:
        server_pipe, client_pipe = make()
        clock = time.process_time
        encode = decode = 0.0
        size = failures = 0
        for conv in convs.values():
            server, client = server_pipe.session(), client_pipe.session()
            for s in conv:
                sender, receiver = (server, client) if s.direction == "out" else (client, server)
                start = clock()
                frame = sender.encode(s.data)
                mid = clock()
                back = receiver.decode_bytes(frame)
                end = clock()
                encode += mid - start
                decode += end - mid
                size += len(frame)
                failures += back != s.data
        return size, encode, decode, failures

    return run


def cost_rows(
    samples: Sequence[Sample],
    pipe: Pipeline,
    *,
    rounds: int = 3,
    alone: bool = True,
    sessions: bool = True,
    compare: Mapping[str, Config] | None = None,
    progress: Callable[[str, int], Step] | None = None,
) -> list[CostRow]:
    """Measure the baselines, each codec alone, the pipeline and sessions.

    Pipelines are rebuilt from ``pipe.config`` for every round (fresh
    estimates); ``rounds`` interleaved rounds, median time per row.
    ``compare`` adds ``pipeline (label)`` and ``sessions (label)`` rows for
    other configs (another policy, say).
    """
    messages = [s.data for s in samples]
    config = pipe.config
    runs: dict[str, tuple[str, _Run]] = {
        "permessage-deflate": ("baseline", _deflate(samples)),
    }
    dictionary = _profile_dictionary(pipe)
    runs["zstd-3+dict" if dictionary else "zstd-3"] = ("baseline", _zstd(messages, dictionary))
    if alone:
        for name in pipe.codecs:
            if name == pipe.raw.name:
                continue

            def make_alone(name: str = name) -> tuple[Pipeline, Pipeline]:
                return (
                    Pipeline.from_config(config, codecs=[name]),
                    Pipeline.from_config(config, codecs=[name]),
                )

            runs[name] = ("codec", _stateless(make_alone, messages))

    def make() -> tuple[Pipeline, Pipeline]:
        return Pipeline.from_config(config), Pipeline.from_config(config)

    runs["pipeline"] = ("pipeline", _stateless(make, messages))
    if sessions:
        runs["sessions"] = ("sessions", _sessions(make, samples))
    for label, other in (compare or {}).items():

        def make_other(other: Config = other) -> tuple[Pipeline, Pipeline]:
            return Pipeline.from_config(other), Pipeline.from_config(other)

        runs[f"pipeline ({label})"] = ("pipeline", _stateless(make_other, messages))
        if sessions:
            runs[f"sessions ({label})"] = ("sessions", _sessions(make_other, samples))
    names = list(runs)
    step = progress("cost", rounds * len(names)) if progress else None
    figures: dict[str, list[tuple[int, float, float, int]]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            figures[name].append(runs[name][1]())
            if step:
                step(1)
    total = sum(len(m) for m in messages)
    rows = []
    for name in names:
        got = figures[name]
        by_cpu = sorted(got, key=lambda f: f[1] + f[2])
        median = by_cpu[len(by_cpu) // 2]
        rows.append(
            CostRow(
                name,
                runs[name][0],
                len(messages),
                total,
                sum(f[0] for f in got) / len(got),
                median[1],
                median[2],
                sum(f[3] for f in got),
            )
        )
    return rows


def _profile_dictionary(pipe: Pipeline) -> bytes | None:
    """The zstd dictionary of the pipeline's profile, if it has one."""
    path = pipe.config.codec_tables.get("zstd", {}).get("dictionary")
    if not path:
        return None
    try:
        return (pipe.config.base_dir / str(path)).read_bytes()
    except OSError:
        return None


def cost_table(rows: Sequence[CostRow], prices: Prices) -> Any:
    """A rich table: bytes, CPU and cost per message, against permessage-deflate."""
    from rich.table import Table
    from rich.text import Text

    reference = next((r for r in rows if r.name == "permessage-deflate"), rows[0])
    table = Table(
        title=(
            f"cost per message at ${prices.egress_usd_per_gb}/GB egress and "
            f"${prices.cpu_usd_per_core_hour}/core-hour (1 byte = "
            f"{prices.byte_ns / 1000:.2f} µs of CPU)"
        )
    )
    for col in (
        "method",
        "bytes/msg",
        "encode µs",
        "decode µs",
        "$ per million",
        "cost vs deflate",
        "bytes vs deflate",
    ):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in rows:
        d = r.to_dict(prices, reference)
        table.add_row(
            Text(r.name, style="dim" if r.kind == "baseline" else ""),
            f"{d['bytes_per_message']:.1f}",
            f"{d['encode_us_per_message']:.1f}",
            f"{d['decode_us_per_message']:.1f}",
            f"{d['usd_per_million_messages']:.4f}",
            f"{d['cost_over_reference']:.2f}x",
            f"{d['bytes_over_reference']:.2f}x",
        )
    return table
