"""``auracodec bench``: every method on a corpus, side by side.

The measuring and the rendering are :mod:`auracodec.benchmark`'s; this reads
the corpus and decides where each part of the report goes.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from ..benchmark import (
    bench,
    client_report,
    client_table,
    plot_results,
    results_table,
    summary_lines,
)
from ..benchmark_cost import cost_rows, cost_table
from ..core.corpus import Sample, builtin_sample, read_corpus
from ..core.errors import AuraError
from ..core.pipeline import Pipeline
from ._command import Failed, Subparsers, add_command, add_config_option, describe, load_pipeline
from ._output import STDOUT, progress_bars, report_console, stepper, write_json


def add_parser(sub: Subparsers) -> None:
    c = add_command(
        sub, "bench", "Compare every method on a corpus (default: the built-in sample).", run
    )
    c.add_argument("corpus", nargs="*", metavar="CORPUS", help="JSONL or text files, directories")
    add_config_option(c)
    c.add_argument("--json", metavar="OUT", help="write the results as JSON ('-': to stdout)")
    c.add_argument("--plot", metavar="OUT.png", help="plot ratio by size bucket (matplotlib)")
    c.add_argument("--limit", type=int, metavar="N", help="use only the first N messages")
    c.add_argument(
        "--no-baselines",
        action="store_true",
        help="skip zstd-3, brotli-5, deflate, and a profile's transfer size and break-even",
    )
    c.add_argument(
        "--cost",
        action="store_true",
        help="price bytes and CPU at both ends per message ([selector] prices), per method "
        "and for the pipeline stateless and in sessions, beside permessage-deflate and "
        "zstd-3 with the profile's dictionary",
    )
    c.add_argument(
        "--rounds",
        type=int,
        default=3,
        metavar="N",
        help="--cost: interleaved rounds, the median counts (default 3)",
    )


def run(args: argparse.Namespace, err: Console) -> int:
    if args.plot == STDOUT:
        raise AuraError("--plot writes a PNG file: give it a file name, not -")
    if args.corpus:
        samples = read_corpus(args.corpus)
        source = ", ".join(args.corpus)
    else:
        samples = builtin_sample()
        source = "the built-in sample (auracodec/data/sample.jsonl)"
    if args.limit is not None:
        samples = samples[: args.limit]
    if not samples:
        raise AuraError("the corpus holds no messages")
    pipe = load_pipeline(args)
    total = sum(len(s.data) for s in samples)
    err.print(f"auracodec bench on {source}: {len(samples)} messages, {total} bytes")
    err.print(f"pipeline: {describe(pipe)}")
    if args.cost:
        return _cost(args, err, pipe, samples, source)
    with progress_bars(err) as progress:
        step = stepper(progress)
        results = bench(samples, pipe, with_baselines=not args.no_baselines, progress=step)
        # A trained profile (not the built-in defaults): what a client
        # downloads, and when it pays against the baselines.
        client = (
            client_report(samples, pipe, results, step)
            if pipe.config.path is not None and not args.no_baselines
            else None
        )
    out = report_console(stdout_taken=args.json == STDOUT)
    out.print(results_table(results))
    for line in summary_lines(results, pipe.config.prices):
        out.print(line)
    if client is not None:
        out.print(client_table(client))
        out.print(
            "transfer: "
            + ", ".join(
                f"{f.name} {f.served / 1000:,.1f} KB {f.encoding}" for f in client.transfer.files
            )
            + f" (gzip only: {client.transfer.gzip / 1000:,.1f} KB)"
        )
    if args.json:
        payload = {
            "corpus": source,
            "messages": len(samples),
            "bytes": total,
            "fingerprint": pipe.fingerprint,
            "results": [r.to_dict() for r in results],
        }
        if client is not None:
            payload["client"] = client.to_dict()
        write_json(args.json, payload, err)
    if args.plot:
        plot_results(results, args.plot, title=f"auracodec bench: {source}")
        err.print(f"wrote {args.plot}")
    failures = sum(r.failures for r in results if r.kind != "baseline")
    if failures:
        raise Failed(f"{failures} messages did not round-trip")
    return 0


def _cost(
    args: argparse.Namespace, err: Console, pipe: Pipeline, samples: list[Sample], source: str
) -> int:
    if args.rounds < 1:
        raise AuraError(f"--rounds must be at least 1, got {args.rounds}")
    if args.plot:
        raise AuraError("--plot draws the ratio report; it does not combine with --cost")
    prices = pipe.config.prices
    with progress_bars(err) as progress:
        rows = cost_rows(samples, pipe, rounds=args.rounds, progress=stepper(progress))
    out = report_console(stdout_taken=args.json == STDOUT)
    out.print(cost_table(rows, prices))
    reference = next(r for r in rows if r.name == "permessage-deflate")
    for name in ("pipeline", "sessions"):
        row = next(r for r in rows if r.name == name)
        out.print(
            f"{name}: {row.usd_per_million(prices) / reference.usd_per_million(prices):.2f}x "
            f"permessage-deflate's cost, {row.frame_bytes / reference.frame_bytes:.2f}x its bytes"
        )
    if args.json:
        payload = {
            "corpus": source,
            "messages": len(samples),
            "fingerprint": pipe.fingerprint,
            "prices": {
                "egress_usd_per_gb": prices.egress_usd_per_gb,
                "cpu_usd_per_core_hour": prices.cpu_usd_per_core_hour,
            },
            "rounds": args.rounds,
            "results": [r.to_dict(prices, reference) for r in rows],
        }
        write_json(args.json, payload, err)
    failures = sum(r.failures for r in rows if r.kind != "baseline")
    if failures:
        raise Failed(f"{failures} messages did not round-trip")
    return 0
