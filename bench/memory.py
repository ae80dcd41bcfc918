"""What an idle session and an idle connection cost in memory: ``python bench/memory.py``.

Profile: ``--profile DIR`` (an ``auracodec train`` output), else one is
trained on chat/train.jsonl into a temporary directory. Each case runs in a
fresh subprocess, so one case's heap never holds another's leftovers:

* ``idle_sessions``: 1,000 sessions made with ``pipe.session()``;
* ``sessions_after_one_message``: 1,000 sessions that each encoded one short
  message and decoded one (each against its own peer, which is dropped);
* ``idle_connections``: 1,000 WebSocket connections to a real
  ``auracodec.websocket`` server on 127.0.0.1, in session mode, that have
  exchanged nothing; the clients (plain ``websockets`` clients offering the
  subprotocol) run in another process, so only the server's side is counted.

Per item: (VmRSS after - VmRSS before) / 1,000, read from /proc/self/status,
after one warm-up item (first-use allocations belong to the process, not to
an item). ``breakdown`` lists where the Python heap of 1,000 idle sessions
goes, by allocating line (tracemalloc), to show what else an idle session
holds besides its contexts (whose own figure, ``session.memory()``, is given
too).

Writes bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

from _common import CORPUS, ROOT, train_profile, write

from auracodec import Pipeline

N = 1000
HERE = Path(__file__).resolve()
QUESTION = "How do I rename files by date?"
ANSWER = "Use a loop over the files with their modification time."


def rss() -> int:
    """This process's resident set, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def settled_rss() -> int:
    gc.collect()
    return rss()


def exchanged(pipe: Pipeline) -> Any:
    """A session that sent one message and received one; its peer is dropped."""
    ours, peer = pipe.session(), pipe.session()
    ours.decode(peer.encode(ANSWER))
    peer.decode(ours.encode(QUESTION))
    return ours


def case_sessions(pipe: Pipeline, n: int, after_message: bool) -> dict[str, Any]:
    make = (lambda: exchanged(pipe)) if after_message else pipe.session
    keep = [make()]  # warm-up
    before = settled_rss()
    keep += [make() for _ in range(n)]
    after = settled_rss()
    return {
        "sessions": n,
        "rss_before": before,
        "rss_after": after,
        "bytes_per_session": round((after - before) / n),
        # what session.memory() reports (contexts, stats and its own objects)
        "memory_reported_per_session": round(sum(s.memory() for s in keep[1:]) / n),
    }


def case_breakdown(pipe: Pipeline, n: int, top: int = 12) -> dict[str, Any]:
    keep = [pipe.session()]
    gc.collect()
    tracemalloc.start()
    first = tracemalloc.take_snapshot()
    keep += [pipe.session() for _ in range(n)]
    gc.collect()
    stats = tracemalloc.take_snapshot().compare_to(first, "lineno")
    tracemalloc.stop()
    rows = [
        {
            "where": str(s.traceback[0]).replace(f"{ROOT}/", ""),
            "bytes_per_session": round(s.size_diff / n, 1),
        }
        for s in stats[:top]
    ]
    return {
        "python_heap_per_session": round(sum(s.size_diff for s in stats) / n),
        "top": rows,
    }


async def _connections(pipe: Pipeline, n: int) -> dict[str, Any]:
    from auracodec.websocket import serve, subprotocol

    opened = 0
    all_open = asyncio.Event()
    release = asyncio.Event()

    async def handler(conn: Any) -> None:
        nonlocal opened
        opened += 1
        if opened == n + 1:
            all_open.set()
        await release.wait()

    async with serve(handler, "127.0.0.1", 0, pipeline=pipe, max_connections=n + 1) as server:
        port = server.sockets[0].getsockname()[1]
        # Warm-up: one connection from a first client process, kept open.
        warm = await _clients(port, subprotocol(pipe), 1)
        before = settled_rss()
        clients = await _clients(port, subprotocol(pipe), n)
        await asyncio.wait_for(all_open.wait(), 120)
        await asyncio.sleep(0.5)  # let every handshake's buffers settle
        after = settled_rss()
        for proc in (warm, clients):
            assert proc.stdin is not None
            proc.stdin.close()
            await proc.wait()
        release.set()
    return {
        "connections": n,
        "rss_before": before,
        "rss_after": after,
        "bytes_per_connection": round((after - before) / n),
        "rss_for_1000": round((after - before) / n * 1000),
    }


async def _clients(port: int, protocol: str, n: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE),
        "--clients",
        str(port),
        protocol,
        str(n),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 120)
    if line.strip() != b"ready":
        raise RuntimeError(f"the client process failed: {line!r}")
    return proc


async def hold_clients(port: int, protocol: str, n: int) -> None:
    """Open ``n`` plain websockets connections, say ``ready``, hold them until stdin closes."""
    from websockets.asyncio.client import connect
    from websockets.typing import Subprotocol

    conns = []
    for _ in range(n):
        conns.append(
            await connect(
                f"ws://127.0.0.1:{port}",
                subprotocols=[Subprotocol(protocol)],
                compression=None,
                ping_interval=None,
            )
        )
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for c in conns:
        await c.close()


def child(case: str, profile: str, n: int) -> dict[str, Any]:
    pipe = Pipeline.from_config(profile)
    if case == "idle_sessions":
        return case_sessions(pipe, n, after_message=False)
    if case == "sessions_after_one_message":
        return case_sessions(pipe, n, after_message=True)
    if case == "idle_connections":
        return asyncio.run(_connections(pipe, n))
    if case == "breakdown":
        return case_breakdown(pipe, n)
    raise SystemExit(f"unknown case {case!r}")


CASES = ["idle_sessions", "sessions_after_one_message", "idle_connections", "breakdown"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", help="a trained profile (default: train one on chat)")
    parser.add_argument("--n", type=int, default=N)
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--clients", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    args = parser.parse_args()
    if args.clients:
        port, protocol, n = args.clients
        asyncio.run(hold_clients(int(port), protocol, int(n)))
        return
    if args.case:
        print(json.dumps(child(args.case, args.profile, args.n)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        profile = args.profile or str(
            train_profile(CORPUS / "chat" / "train.jsonl", Path(tmp) / "chat")
        )
        results: dict[str, Any] = {"profile": "chat/train.jsonl", "n": args.n}
        for case in CASES:
            out = subprocess.run(
                [
                    sys.executable,
                    str(HERE),
                    "--case",
                    case,
                    "--profile",
                    profile,
                    "--n",
                    str(args.n),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[case] = json.loads(out)
            print(case, json.dumps(results[case]), flush=True)
    if not args.no_write:
        print(write("memory.json", results))


if __name__ == "__main__":
    main()
