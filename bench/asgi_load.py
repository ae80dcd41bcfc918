"""50 concurrent clients against the FastAPI example (examples/fastapi_echo.py)
over a real uvicorn on 127.0.0.1: messages lost or altered, and the server's
event-loop lag.

Each client replays conversations of the built-in sample (or
$AURACODEC_CORPUS), sending the client's turns with
:func:`auracodec.websocket.connect` and checking every echo. The server runs
in a thread with its own event loop and a lag monitor on it, as ``auracodec
stress`` does (the same ``_lag_monitor``): the lag is how late a 2 ms sleep
wakes up, the delay every other connection sees. The clients run in a
process of their own (``--same-process`` puts them beside the server, where
they compete for its interpreter lock: an upper bound).

    PYTHONPATH=src python bench/asgi_load.py [--clients 50] [--rounds 3] [--same-process]

Writes bench/results/asgi_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import multiprocessing
import threading
import time
from typing import Any

import uvicorn
from _common import RESULTS, ROOT

from auracodec.core.corpus import builtin_sample
from auracodec.core.stats import Percentiles
from auracodec.loopback import LAG_INTERVAL, _lag_monitor, conversations
from auracodec.websocket import connect


def _example() -> Any:
    spec = importlib.util.spec_from_file_location("fastapi_echo", ROOT / "examples/fastapi_echo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Server:
    """uvicorn in a thread, with a lag monitor on its event loop."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            ws="websockets-sansio",
            lifespan="off",
            log_level="warning",
            ws_max_queue=64,
        )
        self.server = uvicorn.Server(config)
        self.lags: list[int] = []
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        monitor = asyncio.create_task(_lag_monitor(self.lags))
        try:
            await self.server.serve()
        finally:
            monitor.cancel()

    def __enter__(self) -> int:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


async def _client(url: str, pipeline: Any, scripts: list[list[str]]) -> dict[str, int]:
    counts = {"sent": 0, "echoed": 0, "altered": 0, "lost": 0}
    async with connect(url, pipeline=pipeline) as conn:
        for script in scripts:
            for message in script:
                await conn.send(message)
                counts["sent"] += 1
                try:
                    reply = await asyncio.wait_for(conn.recv(), 30)
                except TimeoutError:
                    counts["lost"] += 1
                    continue
                counts["echoed" if reply == f"echo: {message}" else "altered"] += 1
    return counts


async def _load(port: int, pipeline: Any, clients: int, rounds: int) -> dict[str, Any]:
    scripts = [
        [t.data.decode("utf-8", "replace") for t in turns if t.from_client]
        for turns in conversations(builtin_sample())
    ]
    scripts = [s for s in scripts if s]
    url = f"ws://127.0.0.1:{port}/chat"
    start = time.perf_counter()
    results = await asyncio.gather(
        *(
            _client(url, pipeline, [scripts[(i + k) % len(scripts)] for k in range(rounds)])
            for i in range(clients)
        )
    )
    elapsed = time.perf_counter() - start
    total = {k: sum(r[k] for r in results) for k in results[0]}
    total["lost"] += total["sent"] - total["echoed"] - total["altered"] - total["lost"]
    return {"elapsed_s": round(elapsed, 2), **total}


def _load_elsewhere(port: int, clients: int, rounds: int) -> dict[str, Any]:
    """:func:`_load` in this (spawned) process, with the example's pipeline."""
    return asyncio.run(_load(port, _example().PIPE, clients, rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="conversations per client")
    parser.add_argument(
        "--same-process", action="store_true", help="run the clients in the server's process"
    )
    args = parser.parse_args()
    example = _example()
    server = _Server(example.app)
    with server as port:
        if args.same_process:
            figures = asyncio.run(_load(port, example.PIPE, args.clients, args.rounds))
        else:
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                figures = pool.apply(_load_elsewhere, (port, args.clients, args.rounds))
    lag = Percentiles.of(server.lags)
    result = {
        "server": "uvicorn (websockets-sansio), examples/fastapi_echo.py, default pipeline",
        "clients": args.clients,
        "clients_process": "the server's" if args.same_process else "their own",
        "conversations_per_client": args.rounds,
        **figures,
        "loop_lag_ms": {
            "p50": round(lag.p50 / 1000, 3),
            "p95": round(lag.p95 / 1000, 3),
            "p99": round(lag.p99 / 1000, 3),
            "samples": lag.samples,
            "interval_ms": LAG_INTERVAL * 1000,
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "asgi_load.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
