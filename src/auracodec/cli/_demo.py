"""``auracodec demo``: one conversation over a loopback WebSocket server, message by message."""

from __future__ import annotations

import argparse
import asyncio

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.corpus import CLIENT_ROLES, builtin_sample, read_corpus
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
from ._output import report_console


def add_parser(sub: Subparsers) -> None:
    c = add_command(sub, "demo", "Replay a conversation over a loopback WebSocket server.", run)
    c.add_argument("corpus", nargs="*", metavar="CORPUS", help="default: the built-in sample")
    add_config_option(c)
    c.add_argument(
        "--conv",
        metavar="ID",
        help="the conversation to replay (default: a long chat conversation)",
    )


def run(args: argparse.Namespace, err: Console) -> int:
    websockets_needed()
    from ..loopback import Turn, conversations, demo

    pipe = load_pipeline(args)
    samples = read_corpus(args.corpus) if args.corpus else builtin_sample()
    if args.conv:
        script = [Turn(s.role in CLIENT_ROLES, s.data) for s in samples if s.conv == args.conv]
        if not script:
            raise AuraError(f"no conversation {args.conv!r} in the corpus")
    else:
        chats = [
            t
            for t in conversations(samples)
            if any(turn.from_client for turn in t) and not all(turn.from_client for turn in t)
        ]
        if not chats:
            raise AuraError("the corpus holds no two-sided conversation")
        script = max(chats, key=lambda t: (len(t), sum(len(x.data) for x in t)))
    err.print(f"pipeline: {describe(pipe)}")
    result = asyncio.run(demo(pipe, script))
    t = Table(
        title="one conversation over ws://127.0.0.1 (auracodec session)", title_justify="left"
    )
    t.add_column("#", justify="right")
    t.add_column("from")
    t.add_column("message")
    t.add_column("method")
    for col in ("bytes", "frame", "ratio"):
        t.add_column(col, justify="right")
    t.add_column("verified")
    for i, e in enumerate(result.exchanges, 1):
        t.add_row(
            str(i),
            "client" if e.from_client else "server",
            Text(e.preview),  # the corpus's text, never read as markup
            Text(e.method),
            str(e.size),
            str(e.frame_size),
            f"{e.size / e.frame_size:.2f}",
            Text("yes") if e.verified else Text("NO", style="red"),
        )
    out = report_console()
    out.print(t)
    total, frames = result.message_bytes, result.frame_bytes
    out.print(
        f"{len(result.exchanges)} messages, {total} bytes: auracodec session {frames} bytes "
        f"(ratio {total / frames:.2f}); the same pipeline without session context "
        f"{result.stateless_bytes}; permessage-deflate (websockets defaults, context "
        f"takeover) {result.deflate_bytes} bytes (ratio {total / result.deflate_bytes:.2f})"
    )
    if not all(e.verified for e in result.exchanges):
        raise Failed("some messages arrived altered")
    return 0
