"""Corpus reading, and the benchmark's baselines checked against their libraries."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from auracodec import CorpusError, Pipeline
from auracodec.benchmark import (
    BUCKETS,
    bench,
    bucket_of,
    permessage_deflate_sizes,
    plot_results,
    results_table,
    summary_lines,
)
from auracodec.core.config import Config
from auracodec.core.corpus import Sample, builtin_sample, read_corpus


def test_jsonl_and_text_files(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"text": "hi", "conv": 7, "role": "human"})
        + "\n\n"
        + json.dumps({"text": "héllo", "role": "assistant"})
        + "\n",
        encoding="utf-8",
    )
    (tmp_path / "b.log").write_bytes(b"line one\r\nline two\r\n\r\n\xff raw\n")
    (tmp_path / "ignored.csv").write_text("not,a,corpus\n")
    samples = read_corpus([tmp_path])
    assert [s.data for s in samples] == [
        b"hi",
        "héllo".encode(),
        b"line one",
        b"line two",
        b"\xff raw",
    ]
    assert samples[0].conv == "7" and samples[0].direction == "in"
    assert samples[1].direction == "out" and samples[2].conv is None
    # A file named explicitly is read whatever its name.
    assert [s.data for s in read_corpus([tmp_path / "ignored.csv"])] == [b"not,a,corpus"]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{broken\n", r"a.jsonl:1: not a JSON line"),
        ('{"txt": "x"}\n', r"a.jsonl:1: expected an object with a string 'text' field"),
        ('["text"]\n', r"a.jsonl:1: expected an object"),
        ('{"text": "ok"}\n{"text": "\\ud800"}\n', r"a.jsonl:2: 'text' holds a lone surrogate"),
    ],
)
def test_bad_jsonl(tmp_path: Path, content: str, match: str) -> None:
    (tmp_path / "a.jsonl").write_text(content)
    with pytest.raises(CorpusError, match=match):
        read_corpus([tmp_path / "a.jsonl"])


def test_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no such file or directory"):
        read_corpus([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match=r"no \*.jsonl, \*.txt or \*.log files"):
        read_corpus([tmp_path / "empty"])


def test_builtin_sample_is_varied() -> None:
    samples = builtin_sample()
    assert len(samples) > 400
    buckets = {bucket_of(len(s.data)) for s in samples}
    assert buckets >= {"<64", "64-255", "256-1023", "1024-4095"}
    assert {s.direction for s in samples} == {"in", "out"}


def test_buckets_cover_sizes() -> None:
    assert [bucket_of(n) for n in (0, 63, 64, 255, 256, 1023, 1024, 4095, 4096, 10**9)] == [
        "<64",
        "<64",
        "64-255",
        "64-255",
        "256-1023",
        "256-1023",
        "1024-4095",
        "1024-4095",
        ">=4096",
        ">=4096",
    ]
    assert len(BUCKETS) == 5


def test_permessage_deflate_matches_websockets() -> None:
    """The deflate baseline produces the bytes websockets' own extension sends."""
    from websockets.extensions.permessage_deflate import PerMessageDeflate
    from websockets.frames import Frame, Opcode

    samples = [s for s in builtin_sample() if s.conv is not None][:200]
    sizes, failures, _, _ = permessage_deflate_sizes(samples)
    assert failures == 0
    # websockets' defaults: 12-bit windows both ways, memLevel 5, context takeover.
    extensions: dict[tuple[str | None, str], PerMessageDeflate] = {}
    expected = []
    for s in samples:
        ext = extensions.setdefault(
            (s.conv, s.direction),
            PerMessageDeflate(False, False, 12, 12, {"memLevel": 5}),
        )
        expected.append(len(ext.encode(Frame(Opcode.TEXT, s.data)).data))
    assert sizes == expected


def test_bench_results_are_consistent() -> None:
    samples = builtin_sample()[:150]
    pipe = Pipeline.from_config(Config.from_mapping({"selector": {"policy": "smallest"}}))
    results = {r.name: r for r in bench(samples, pipe)}
    alone = {name for name in pipe.codecs if name != "identity"}  # third parties too
    assert set(results) == alone | {"pipeline", "zstd-3", "brotli-5", "permessage-deflate"}
    total = sum(len(s.data) for s in samples)
    for r in results.values():
        assert r.messages == 150 and r.bytes_in == total and r.failures == 0
        assert sum(b.bytes_in for b in r.buckets.values()) == total
        assert sum(b.bytes_out for b in r.buckets.values()) == r.bytes_out
    pipe = results["pipeline"]
    # Smallest-wins over every codec is no worse than any of them alone.
    combined = results["pipeline"]
    assert combined.bytes_out <= min(results[name].bytes_out for name in alone)
    assert sum(combined.methods.values()) == 150
    assert combined.expanded == combined.methods.get("identity", 0)


def test_bench_without_conversations_skips_deflate() -> None:
    samples = [Sample(s.data) for s in builtin_sample()[:40]]
    names = {r.name for r in bench(samples, Pipeline.from_config())}
    assert "permessage-deflate" not in names


def test_results_render_as_table_lines_and_plot(tmp_path: Path) -> None:
    from rich.console import Console

    results = bench(builtin_sample()[:60], Pipeline.from_config(), with_baselines=False)
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(results_table(results))
    text = console.export_text()
    assert "ratio = message bytes / frame bytes" in text
    pipeline = next(r for r in results if r.kind == "pipeline")
    assert f"{pipeline.ratio:.3f}" in text and "zstd alone" in text
    lines = summary_lines(results)
    assert lines[0].startswith("pipeline methods: ")
    assert all(name in lines[0] for name in pipeline.methods)
    # A title holds file names: "$" is shown, not read as the start of mathtext.
    png = tmp_path / "bench.png"
    plot_results(results, png, title=r"auracodec bench: /data/$\bad{$/x.jsonl")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
