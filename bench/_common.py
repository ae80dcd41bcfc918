"""Helpers shared by the benchmark scripts in bench/ (not part of the package).

The scripts read ../shared/corpus (or $AURACODEC_CORPUS), run every method in
one process on the same messages, and write their figures to bench/results/.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs
import zstandard

from auracodec.core.config import Config
from auracodec.core.corpus import Sample, read_corpus

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CORPUS = Path(os.environ.get("AURACODEC_CORPUS", ROOT.parent / "shared" / "corpus"))
DICT_SIZE = 112 * 1024
# The ten loghub systems of ../shared/corpus/logs.
LOG_SYSTEMS = [
    "Android",
    "Apache",
    "BGL",
    "HDFS",
    "HealthApp",
    "Linux",
    "OpenSSH",
    "Spark",
    "Thunderbird",
    "Zookeeper",
]


def corpus(*parts: str) -> list[Sample]:
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        sys.exit(f"corpus not found: {path} (set AURACODEC_CORPUS)")
    return read_corpus([path])


def bare_zstd(
    train: Sequence[bytes], level: int = 19, dictionary: zstandard.ZstdCompressionDict | None = None
) -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    """zstd with a 112 KB dictionary trained on ``train``, minimal frame: the
    baseline the issues measure against (no magic, checksum, size or dict id).
    ``dictionary``: that dictionary, already trained."""
    d = dictionary or zstandard.train_dictionary(DICT_SIZE, list(train))
    params = zstandard.ZstdCompressionParameters.from_level(
        level,
        format=zstandard.FORMAT_ZSTD1_MAGICLESS,
        write_checksum=False,
        write_content_size=False,
        write_dict_id=False,
    )
    return (
        zstandard.ZstdCompressor(dict_data=d, compression_params=params),
        zstandard.ZstdDecompressor(dict_data=d, format=zstandard.FORMAT_ZSTD1_MAGICLESS),
    )


def interleaved_ratio(
    candidate: Callable[[], object], baseline: Callable[[], object], rounds: int = 15
) -> tuple[float, float, float]:
    """Median, min and max of time(candidate)/time(baseline) over rounds that
    alternate the two (the order flips every round), so drifts in machine load
    hit both alike."""
    ratios = []
    for i in range(rounds):
        pair = [(candidate, 0), (baseline, 1)]
        if i % 2:
            pair.reverse()
        t = [0.0, 0.0]
        for fn, slot in pair:
            start = time.perf_counter()
            fn()
            t[slot] = time.perf_counter() - start
        ratios.append(t[0] / t[1])
    return statistics.median(ratios), min(ratios), max(ratios)


def train_profile(source: Path, out: Path) -> Path:
    """``auracodec train SOURCE -o OUT``, as a user runs it; exits if it fails."""
    from auracodec.cli import main as cli

    if cli(["train", str(source), "-o", str(out)]):
        sys.exit(f"auracodec train failed for {source}")
    return out


def exhaustive(profile: Path) -> Config:
    """The profile with the exhaustive ``smallest`` policy.

    The compression tables (logs, sessions, checks, the ratio cap) measure
    what the codecs achieve, so every codec sees every message, as when they
    were first measured; ``bench/cost.py`` measures the default ``cost``
    policy, which trades bytes for CPU at the configured prices.
    """
    return attrs.evolve(Config.load(profile), policy="smallest")


def write(name: str, data: object) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
