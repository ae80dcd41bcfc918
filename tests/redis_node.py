"""One server node for tests/test_redis_broadcast.py, run as its own process.

``python redis_node.py REDIS_URL CHANNEL CODECS``: serves auracodec in
stateless mode on 127.0.0.1 (a free port) with the pipeline of CODECS
(comma-separated, or ``default``), forwards what is published on Redis to its
clients, greets each client with ``joined`` once it is registered, and prints
``ready <port>`` once subscribed. It runs until stdin closes.
"""

from __future__ import annotations

import asyncio
import sys

from auracodec import Pipeline
from auracodec.fanout import RedisBroadcast
from auracodec.websocket import AuraConnection, serve


async def main(url: str, channel: str, codecs: str) -> None:
    if codecs == "default":
        pipe = Pipeline.from_config()
    else:
        pipe = Pipeline.from_config(codecs=codecs.split(","))
    clients: set[AuraConnection] = set()

    async def handler(conn: AuraConnection) -> None:
        clients.add(conn)
        try:
            await conn.send("joined")
            async for _ in conn:
                pass
        finally:
            clients.discard(conn)

    async with (
        serve(handler, "127.0.0.1", 0, pipeline=pipe, mode="stateless") as server,
        RedisBroadcast(url, channel, pipe) as fan,
        fan.forward(clients),
    ):
        print("ready", server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
