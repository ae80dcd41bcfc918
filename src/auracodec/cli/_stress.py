"""``auracodec stress``: concurrent WebSocket clients on 127.0.0.1, every message checked."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console

from ..benchmark import format_percentiles
from ..core.corpus import builtin_sample, read_corpus
from ..core.errors import AuraError
from ._command import (
    Failed,
    Subparsers,
    add_command,
    add_config_option,
    describe,
    load_pipeline,
    websockets_needed,
)
from ._output import STDOUT, progress_bars, report_console, write_json

if TYPE_CHECKING:
    from ..loopback import Turn

#: auracodec.websocket.THREAD_THRESHOLD, without importing websockets for --help.
THREAD_THRESHOLD = 64


def add_parser(sub: Subparsers) -> None:
    c = add_command(
        sub, "stress", "Concurrent WebSocket clients replay conversations on 127.0.0.1.", run
    )
    c.add_argument("--users", type=int, default=10, metavar="N", help="concurrent clients")
    c.add_argument(
        "--messages",
        type=int,
        default=50,
        metavar="M",
        help="messages each client exchanges (both directions)",
    )
    c.add_argument("--corpus", nargs="+", metavar="CORPUS", help="default: the built-in sample")
    add_config_option(c)
    c.add_argument(
        "--warmup",
        type=int,
        default=5,
        metavar="K",
        help="messages per client left out of the latency figures",
    )
    c.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="stop after S seconds; what has not arrived counts as lost",
    )
    c.add_argument(
        "--thread-threshold",
        type=int,
        default=THREAD_THRESHOLD,
        metavar="BYTES",
        help="the server codes messages (and frames that may decode to) this long "
        "or longer in worker threads",
    )
    c.add_argument("--json", metavar="OUT", help="write the report as JSON ('-': to stdout)")


def _scripts(corpus: Sequence[str] | None) -> list[list[Turn]]:
    from ..loopback import conversations

    samples = read_corpus(corpus) if corpus else builtin_sample()
    scripts = conversations(samples)
    if not scripts:
        raise AuraError("the corpus holds no conversations to replay")
    return scripts


def run(args: argparse.Namespace, err: Console) -> int:
    websockets_needed()
    from ..loopback import stress

    if args.users < 1 or args.messages < 1:
        raise AuraError("--users and --messages must be at least 1")
    if not args.timeout > 0:
        raise AuraError(f"--timeout must be more than 0 seconds, got {args.timeout:g}")
    pipe = load_pipeline(args)
    scripts = _scripts(args.corpus)
    err.print(
        f"{args.users} clients x {args.messages} messages on 127.0.0.1; pipeline: {describe(pipe)}"
    )
    with progress_bars(err) as progress:
        task = progress.add_task("messages", total=args.users * args.messages)
        result = asyncio.run(
            stress(
                pipe,
                scripts,
                users=args.users,
                messages=args.messages,
                warmup=args.warmup,
                timeout=args.timeout,
                progress=lambda n: progress.advance(task, n),
                thread_threshold=args.thread_threshold,
            )
        )
    out = report_console(stdout_taken=args.json == STDOUT)
    shares = ", ".join(
        f"{n} {c / result.messages:.0%}"
        for n, c in sorted(result.methods.items(), key=lambda kv: -kv[1])
    )
    out.print(f"{result.messages} messages in {result.seconds:.1f} s; methods: {shares}")
    share = result.bytes_vs_deflate
    out.print(
        f"bytes: {result.message_bytes} -> {result.frame_bytes} (ratio {result.ratio:.2f}); "
        f"permessage-deflate {result.deflate_bytes} "
        + (f"({share:.2f}x of it)" if share is not None else "(no message got through)")
    )
    out.print(
        f"encode µs p50/p95/p99 {format_percentiles(result.encode_us)}; "
        f"decode {format_percentiles(result.decode_us)}; "
        f"round trip {format_percentiles(result.round_trip_us)}"
    )
    out.print(
        f"event-loop lag µs p50/p95/p99 (a {result.lag_interval_ms:g} ms sleep's late wake-up): "
        f"server {format_percentiles(result.loop_lag_us)}; "
        f"clients {format_percentiles(result.client_loop_lag_us)}. The server has its own "
        "loop and thread; the clients share the process (and its GIL) with it."
    )
    out.print(f"lost {result.lost}, altered {result.altered}, errors {len(result.errors)}")
    for e in result.errors[:10]:
        err.print(e, style="red")
    if args.json:
        write_json(args.json, result.to_dict(), err)
    if result.lost or result.altered or result.errors:
        raise Failed("messages were lost or altered")
    return 0
