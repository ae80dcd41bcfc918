"""Broadcast across nodes (auracodec.fanout): a real redis-server and server
processes on 127.0.0.1, each node a process of its own (tests/redis_node.py)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("websockets", reason="the websocket extra is not installed")
pytest.importorskip("redis", reason="the redis extra is not installed (pip install redis>=5)")
if shutil.which("redis-server") is None:
    pytest.skip(
        "redis-server is not on PATH (Debian: apt-get install redis-server; .ci/run installs it)",
        allow_module_level=True,
    )

import redis

import auracodec
from auracodec import AuraError, Pipeline
from auracodec.core.store import Versions
from auracodec.fanout import RedisBroadcast
from auracodec.websocket import AuraConnection, connect, serve

PIPE = Pipeline.from_config()
OTHER = Pipeline.from_config(codecs=["zstd"])
NODE = Path(__file__).with_name("redis_node.py")
# Where the auracodec under test lives (src/ in a checkout, site-packages
# after `pip install .`), so that the nodes run the same one.
SRC = Path(auracodec.__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A redis-server of its own on a free port, without persistence."""
    port = free_port()
    server = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        server.terminate()
        server.wait(10)


def start_node(url: str, channel: str, codecs: str) -> tuple[subprocess.Popen[str], int]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    node = subprocess.Popen(
        [sys.executable, str(NODE), url, channel, codecs],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert node.stdout is not None
    line = node.stdout.readline()  # "ready <port>", once subscribed
    assert line.startswith("ready "), f"node did not start: {line!r}"
    return node, int(line.split()[1])


@pytest.fixture
def nodes(redis_url: str) -> Iterator[list[int]]:
    """Two nodes on the default pipeline, a third on zstd only: their ports."""
    started = [start_node(redis_url, "news", c) for c in ("default", "default", "zstd")]
    try:
        yield [port for _, port in started]
    finally:
        for node, _ in started:
            assert node.stdin is not None and node.stdout is not None
            node.stdin.close()  # the node's signal to stop
            node.wait(20)
            node.stdout.close()
            assert node.returncode == 0


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_one_publish_reaches_the_clients_of_every_node(redis_url: str, nodes: list[int]) -> None:
    message = "release 2.4.1 is out: " + "notes " * 20  # over the thread threshold

    async def scenario() -> tuple[list[str], list[str], int]:
        async with AsyncExitStack() as stack:
            same = [
                await stack.enter_async_context(
                    connect(f"ws://127.0.0.1:{port}", pipeline=PIPE, mode="stateless")
                )
                for port in (nodes[0], nodes[0], nodes[1], nodes[1])
            ]
            other = await stack.enter_async_context(
                connect(f"ws://127.0.0.1:{nodes[2]}", pipeline=OTHER, mode="stateless")
            )
            for conn in [*same, other]:  # registered on its node
                assert await conn.recv() == "joined"
            async with RedisBroadcast(redis_url, "news", PIPE) as fan:
                size = await fan.publish(message)
            # The zstd node forwards nothing of it: what its client gets
            # first is what was published for its own fingerprint afterwards.
            async with RedisBroadcast(redis_url, "news", OTHER) as fan:
                await fan.publish("zstd only")
            got = [await conn.recv() for conn in same]
            return got, [await other.recv()], size

    got, other_got, size = run(scenario())
    assert got == [message] * 4
    assert other_got == ["zstd only"]
    assert size == len(PIPE.encode(message))


def test_topic_is_per_fingerprint_and_publish_needs_the_context(redis_url: str) -> None:
    fan = RedisBroadcast(redis_url, "news", PIPE)
    assert fan.topic == f"news:{PIPE.fingerprint}"
    assert RedisBroadcast(redis_url, "news", OTHER).topic != fan.topic
    with pytest.raises(AuraError, match="not open"):
        run(fan.publish("hello"))


def test_forward_in_process_skips_closed_and_foreign_connections(redis_url: str) -> None:
    """One server speaking two versions, a forwarder for each: a connection
    gets only its own version's frames, a closed one is skipped, and
    forwarding goes on."""

    async def scenario() -> tuple[list[str], str]:
        clients: set[AuraConnection] = set()
        joined = asyncio.Event()

        async def handler(conn: AuraConnection) -> None:
            clients.add(conn)
            if len(clients) == 3:
                joined.set()
            async for _ in conn:
                pass

        versions = Versions.of(PIPE, OTHER)
        async with (
            serve(handler, "127.0.0.1", 0, pipeline=versions, mode="stateless") as server,
            RedisBroadcast(redis_url, "solo", PIPE) as fan,
            RedisBroadcast(redis_url, "solo", OTHER) as other_fan,
            fan.forward(clients),
            other_fan.forward(lambda: clients),
        ):
            uri = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            async with (
                connect(uri, pipeline=PIPE, mode="stateless") as live,
                connect(uri, pipeline=OTHER, mode="stateless") as foreign,
            ):
                async with connect(uri, pipeline=PIPE, mode="stateless"):
                    await joined.wait()
                # The third client has closed; it is still in the set.
                got = []
                for text in ("one", "two"):
                    await fan.publish(text)
                    got.append(await live.recv())
                await other_fan.publish("other")
                return got, await foreign.recv()

    assert run(scenario()) == (["one", "two"], "other")
