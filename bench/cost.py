"""What a message costs, egress and CPU at both ends (issue 9): ``python bench/cost.py``.

For chat and chat2: a profile trained by ``auracodec train`` on train.jsonl;
on test.jsonl, per message, bytes and CPU (process time, encode and decode,
interleaved rounds, median) of permessage-deflate (websockets' defaults,
context takeover), zstd-3 with the profile's dictionary, each codec alone, the
default pipeline (``cost`` policy) stateless and in sessions, and the same
pipeline with the exhaustive ``smallest`` policy (the selection before the
cost policy). Cost is priced at the defaults ($0.09/GB egress, $0.045 per
core-hour): see :mod:`auracodec.benchmark_cost`.

Writes bench/results/cost.json and prints one table per corpus.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import attrs
from _common import CORPUS, corpus, train_profile, write
from rich.console import Console

from auracodec import Pipeline
from auracodec.benchmark_cost import cost_rows, cost_table
from auracodec.core.config import Config

ROUNDS = 5
TARGET = 0.8  # total cost over permessage-deflate's, stateless and sessions
BYTES_SLACK = 1.05  # bytes over the exhaustive selection's


def measure(split: str, where: Path, console: Console) -> dict[str, object]:
    profile = train_profile(CORPUS / split / "train.jsonl", where / split)
    config = Config.load(profile)
    smallest = attrs.evolve(config, policy="smallest")
    samples = corpus(split, "test.jsonl")
    rows = cost_rows(
        samples,
        Pipeline.from_config(config),
        rounds=ROUNDS,
        compare={"smallest": smallest},
    )
    console.print(cost_table(rows, config.prices))
    by = {r.name: r for r in rows}
    reference = by["permessage-deflate"]
    prices = config.prices

    def over(name: str, base: str = "permessage-deflate") -> float:
        return round(by[name].usd_per_million(prices) / by[base].usd_per_million(prices), 4)

    def bytes_over(name: str, base: str) -> float:
        return round(by[name].frame_bytes / by[base].frame_bytes, 4)

    summary = {
        "pipeline_cost_over_deflate": over("pipeline"),
        "sessions_cost_over_deflate": over("sessions"),
        "pipeline_smallest_cost_over_deflate": over("pipeline (smallest)"),
        "sessions_smallest_cost_over_deflate": over("sessions (smallest)"),
        "pipeline_bytes_over_smallest": bytes_over("pipeline", "pipeline (smallest)"),
        "sessions_bytes_over_smallest": bytes_over("sessions", "sessions (smallest)"),
        "pipeline_encode_speedup_over_smallest": round(
            by["pipeline (smallest)"].encode_s / by["pipeline"].encode_s, 3
        ),
    }
    summary["targets_met"] = (
        summary["pipeline_cost_over_deflate"] <= TARGET
        and summary["sessions_cost_over_deflate"] <= TARGET
        and summary["pipeline_bytes_over_smallest"] <= BYTES_SLACK
        and summary["sessions_bytes_over_smallest"] <= BYTES_SLACK
    )
    failures = sum(r.failures for r in rows)
    if failures:
        sys.exit(f"{split}: {failures} messages did not round-trip")
    return {
        "messages": len(samples),
        "bytes": sum(len(s.data) for s in samples),
        "prices": attrs.asdict(prices),
        "byte_ns": round(prices.byte_ns, 1),
        "rounds": ROUNDS,
        "rows": [r.to_dict(prices, reference) for r in rows],
        **summary,
    }


def main() -> None:
    console = Console(width=140)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for split in ("chat", "chat2"):
            results[split] = measure(split, Path(tmp), console)
            r = results[split]
            console.print(
                f"{split}: cost vs permessage-deflate: stateless "
                f"{r['pipeline_cost_over_deflate']}x, sessions "
                f"{r['sessions_cost_over_deflate']}x; bytes vs smallest: "
                f"{r['pipeline_bytes_over_smallest']}x, {r['sessions_bytes_over_smallest']}x"
            )
    print(f"wrote {write('cost.json', results)}")


if __name__ == "__main__":
    main()
