"""Broadcast across server nodes, over Redis pub/sub (``pip install 'auracodec[redis]'``).

:func:`~auracodec.websocket.broadcast` reaches the clients of one process. With
several server nodes, each holding its own clients, a message is encoded once
in stateless mode, published once on Redis, and every node forwards the frame,
as it came, to its own stateless connections::

    fan = RedisBroadcast("redis://127.0.0.1:6379", "chat", pipe)
    async with fan:                                  # on every node
        async with fan.forward(lambda: clients):     # subscribed on entry
            ...                                      # serve
    await fan.publish("release 2.4.1 is out")        # on any node, once

**One channel per fingerprint.** Frames are published on
``<channel>:<fingerprint>`` (:attr:`RedisBroadcast.topic`), and a node
subscribes only to its own pipeline's. A node on another profile, or another
version of it, is never sent frames its clients could not decode: Redis does
not deliver them, so they cost that node nothing, and the payload stays the
bare frame. A node also forwards only to connections that agreed on that same
fingerprint (a server serving several versions holds connections on each).
The price: a node on the wrong profile receives nothing rather than an error;
its clients see silence, and ``PUBSUB NUMSUB`` on the topic shows who listens.

The publisher's own clients get the frame like everyone else's, through its
node's subscription: one path. A frame arriving from Redis longer than the
pipeline's ``max_message_size`` plus the frame overhead is dropped with a
WARNING on the ``auracodec.fanout`` logger; clients still decode every frame
within their own limits and budgets, as for any frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from concurrent.futures import Executor
from contextlib import asynccontextmanager, suppress
from types import TracebackType
from typing import Any

import attrs
import redis.asyncio as aioredis
from websockets.exceptions import ConnectionClosed

from ._connection import FRAME_OVERHEAD, THREAD_THRESHOLD, encode_once
from .core.errors import AuraError
from .core.pipeline import Pipeline
from .websocket import AuraConnection

__all__ = ["RedisBroadcast"]

_logger = logging.getLogger(__name__)

#: Where :meth:`RedisBroadcast.forward` finds this node's connections: a live
#: collection (a set the handler adds to and removes from), or a callable
#: returning them; read again for every frame.
Connections = Collection[AuraConnection] | Callable[[], Iterable[AuraConnection]]


@attrs.define
class RedisBroadcast:
    """Publish stateless frames on Redis and forward them to this node's clients.

    ``url``: a Redis URL (``redis://host:port/db``). ``channel``: the name
    the nodes share; the Redis channel is ``<channel>:<fingerprint>``.
    ``pipeline``: this node's; it encodes what :meth:`publish` sends and its
    fingerprint picks what :meth:`forward` receives. Making one does no I/O;
    ``async with`` opens the Redis connection and closes it.
    """

    url: str
    channel: str
    pipeline: Pipeline
    thread_threshold: int = THREAD_THRESHOLD
    executor: Executor | None = None
    _client: aioredis.Redis | None = attrs.field(default=None, init=False)

    @property
    def topic(self) -> str:
        """The Redis channel: ``<channel>:<fingerprint>``."""
        return f"{self.channel}:{self.pipeline.fingerprint}"

    async def __aenter__(self) -> RedisBroadcast:
        self._client = aioredis.Redis.from_url(self.url)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _redis(self) -> aioredis.Redis:
        if self._client is None:
            raise AuraError("RedisBroadcast is not open: use 'async with RedisBroadcast(...)'")
        return self._client

    async def publish(self, message: str | bytes) -> int:
        """Encode ``message`` once (stateless) and publish the frame once.

        Returns the frame size. A message of at least ``thread_threshold``
        characters or bytes is encoded in a worker thread.
        """
        frame = await encode_once(self.pipeline, message, self.thread_threshold, self.executor)
        await self._redis().publish(self.topic, frame)
        return len(frame)

    @asynccontextmanager
    async def forward(self, connections: Connections) -> AsyncIterator[None]:
        """Forward every frame published on :attr:`topic` to ``connections``.

        Subscribed when the block is entered: a frame published after that
        reaches every stateless connection on this pipeline's fingerprint
        (others are left out, and so are connections that closed meanwhile).
        Forwarding stops when the block exits; an error that stopped it
        earlier is raised there.
        """
        pubsub = self._redis().pubsub()
        await pubsub.subscribe(self.topic)
        # Wait for Redis to confirm: from then on, nothing published is missed.
        while (await pubsub.get_message(timeout=None) or {}).get("type") != "subscribe":
            pass
        task = asyncio.create_task(self._forward(pubsub, connections))
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py 5 to 8

    async def _forward(self, pubsub: Any, connections: Connections) -> None:
        limit = self.pipeline.max_message_size + FRAME_OVERHEAD
        async for item in pubsub.listen():
            if item.get("type") != "message":
                continue
            frame = item["data"]
            if len(frame) > limit:
                _logger.warning(
                    "dropped a frame of %d bytes from %s: expected at most %d",
                    len(frame),
                    self.topic,
                    limit,
                )
                continue
            await self._send(bytes(frame), connections() if callable(connections) else connections)

    async def _send(self, frame: bytes, connections: Iterable[AuraConnection]) -> None:
        fingerprint = self.pipeline.fingerprint
        targets = [
            c for c in connections if c.session is None and c.pipeline.fingerprint == fingerprint
        ]
        results = await asyncio.gather(
            *(c.send_frame(frame) for c in targets), return_exceptions=True
        )
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, ConnectionClosed):
                raise r
