"""auracodec over WebSockets, on the ``websockets`` library.

``pip install 'auracodec[websocket]'``. A server and a client agree on the
pipeline at the opening handshake, through the subprotocol::

    auracodec.1.<mode>.<fingerprint>        mode: session | stateless

The server accepts exactly its own; a client offering another fingerprint or
mode is refused with HTTP 400 and a message saying what differs (the codecs,
their format settings or the trained profile), so two ends never exchange
frames they would mis-decode. A server given several profile versions
(:class:`~auracodec.core.store.Versions`, from
:meth:`ProfileStore.pipelines <auracodec.core.store.ProfileStore.pipelines>`)
accepts any of their fingerprints, preferring the current version's when a
client offers several, and each connection codes with the version it agreed
on: peers still on version N-1 keep working while new ones move to N. A
client given several offers them all, in order of preference.
``serve(..., profiles=store)`` also serves the store's versions over HTTP on
the same host and port, and accepts a profile that needs no download, so a
client connects at once and fetches the trained one in the background
(:mod:`auracodec.serving`).
permessage-deflate is switched off on these connections: compressing frames
twice only costs time.

In ``session`` mode each connection has a :class:`~auracodec.Session`:
context carried across its messages, one per direction. In ``stateless``
mode every frame stands alone, so one encoded frame can go to many clients
(:func:`broadcast`).

Coding never blocks the event loop for long. A message of at least
``thread_threshold`` characters or bytes (default :data:`THREAD_THRESHOLD`) is
encoded in a worker thread, and so is a frame that could decode to that much:
its bound is the frame's payload times the method's ``max_ratio`` (BRIO
declares one: at most ``max_ratio * n + 128`` bytes), the payload itself for
identity, and ``max_message_size`` for any other method (zstd and brotli can
expand a few bytes into megabytes). BRIO, zstd and brotli release the GIL
while they work. Workers come from one pool per process, as many as there are
CPUs (or pass ``executor=``). A session is not thread-safe, so each connection
encodes one message at a time, in the order of the ``send`` calls, and
decodes one frame at a time, in the order the frames arrived; small messages
stay inline, where a thread hop (about 50 µs) would cost more than it saves.
``send`` and ``recv`` stay safe to cancel: a message whose encoding had
started is still sent, and a frame whose decoding had started is returned by
the next ``recv``.

Each connection has a decode budget (:class:`DecodeBudget`): a token bucket
of decoded bytes, ``rate`` bytes a second with a ``burst``. Decoding is the
work a peer can make us do with few bytes; when a connection's is spent, it
is closed with code 4008 (:data:`CLOSE_BUDGET`, this package's counterpart
of 1008, policy violation) and ``recv`` raises :class:`DecodeBudgetExceeded`.
``serve(..., max_connections=N)`` refuses connections beyond ``N`` open ones
with HTTP 503 and a reason, at the handshake.

Errors close the connection with the matching code: a frame that does not
decode, 1007 (invalid payload data); one over the size limit, 1009 (message
too big); a text frame where frames are binary, 1003 (unsupported data); the
decode budget spent, 4008. ``recv`` then raises the error. On a server, each
refused frame is one
WARNING line on the ``auracodec.websocket`` logger (peer, close code, error),
at most 10 a minute per process, then one line saying how many were
suppressed; the error ends the handler without the traceback ``websockets``
would log for it.

::

    async def handler(conn):
        async for message in conn:
            await conn.send(f"echo: {message}")

    async with serve(handler, "127.0.0.1", 8765, pipeline=pipe):
        async with connect("ws://127.0.0.1:8765", pipeline=pipe) as conn:
            await conn.send("hello")
            print(await conn.recv())
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, ClassVar

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol

from ._connection import FRAME_OVERHEAD as _FRAME_OVERHEAD
from ._connection import (
    THREAD_THRESHOLD,
    CodingConnection,
    agreed,
    encode_once,
    log_refusal,
    shared_pool,
)
from ._connection import Throttle as _Throttle
from .core.errors import AuraError, DecodeError
from .core.pipeline import Pipeline
from .core.store import ProfileStore, Versions
from .negotiation import (
    CLOSE_BUDGET,
    CLOSE_INVALID,
    CLOSE_TOO_BIG,
    CLOSE_UNSUPPORTED,
    MODES,
    PROTOCOL,
    DecodeBudget,
    DecodeBudgetExceeded,
    HandshakeError,
    Negotiator,
    Refusal,
    close_reason,
    offer,
    parse_offered,
    subprotocol,
    versions_of,
)
from .serving import ProfileServer

__all__ = [
    "CLOSE_BUDGET",
    "CLOSE_INVALID",
    "CLOSE_TOO_BIG",
    "CLOSE_UNSUPPORTED",
    "MODES",
    "PROTOCOL",
    "THREAD_THRESHOLD",
    "AuraConnection",
    "DecodeBudget",
    "DecodeBudgetExceeded",
    "HandshakeError",
    "broadcast",
    "connect",
    "serve",
    "subprotocol",
]

_logger = logging.getLogger(__name__)

#: Lines about refused frames, for the whole process: a flood of bad frames
#: must not become a flood of log lines.
_REFUSALS = _Throttle(burst=10, interval=60.0)


def _log_refusal(peer: Any, code: int, exc: Exception) -> None:
    log_refusal(_logger, _REFUSALS, peer, code, exc)


class AuraConnection(CodingConnection):
    """A WebSocket connection that sends and receives auracodec frames.

    ``thread_threshold``, ``decode_budget`` and ``executor``: see the module
    docstring (``connect`` and ``serve`` pass them on).
    """

    _closed_errors: ClassVar[tuple[type[BaseException], ...]] = (ConnectionClosed,)

    def __init__(
        self,
        ws: ServerConnection | ClientConnection,
        pipeline: Pipeline,
        mode: str,
        *,
        thread_threshold: int = THREAD_THRESHOLD,
        decode_budget: DecodeBudget | None = DecodeBudget(),
        executor: Executor | None = None,
    ) -> None:
        self.ws = ws
        super().__init__(
            pipeline,
            mode,
            id=str(ws.id),
            thread_threshold=thread_threshold,
            decode_budget=decode_budget,
            executor=executor,
        )

    async def _send_raw(self, frame: bytes) -> None:
        await self.ws.send(frame)

    async def _recv_raw(self) -> bytes | str:
        return await self.ws.recv()

    async def _close_raw(self, code: int, reason: str) -> None:
        # Frames the peer sent meanwhile are read and dropped, undecoded: left
        # in the queue they would hold up its answer to our close (reading
        # pauses when the queue is full) until websockets' close_timeout.
        closing = asyncio.ensure_future(self.ws.close(code, reason))
        try:
            while not closing.done():
                await self.ws.recv()
        except ConnectionClosed:
            pass
        await closing

    def _log_refusal(self, code: int, exc: DecodeError) -> None:
        if isinstance(self.ws, ServerConnection):
            _log_refusal(self.ws.remote_address, code, exc)

    def _ends_quietly(self, exc: BaseException) -> bool:
        assert isinstance(exc, ConnectionClosed)
        return exc.rcvd is None or exc.rcvd.code in (1000, 1001)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code, reason)


def _reason(exc: Exception) -> str:
    return close_reason(exc)


def serve(
    handler: Callable[[AuraConnection], Awaitable[None]],
    host: str | None = None,
    port: int | None = None,
    *,
    pipeline: Pipeline | Versions | None = None,
    profiles: ProfileServer | ProfileStore | None = None,
    mode: str = "session",
    max_connections: int | None = None,
    thread_threshold: int = THREAD_THRESHOLD,
    decode_budget: DecodeBudget | None = DecodeBudget(),
    executor: Executor | None = None,
    **kwargs: Any,
) -> Any:
    """Serve auracodec over WebSockets (``async with serve(...) as server``).

    ``max_connections``: with ``N`` connections open (or opening), the next
    is refused with HTTP 503 at the handshake (``None``: no cap).
    ``thread_threshold``: messages and frames that may decode to at least this
    many bytes are coded in a worker thread (``executor``, default a shared
    pool with one thread per CPU). ``decode_budget``: each connection's
    (``None``: unlimited); when spent, the connection is closed with
    :data:`CLOSE_BUDGET`. Other keyword arguments go to
    ``websockets.asyncio.server.serve``; ``compression`` is forced off and
    ``max_size`` follows the pipeline's ``max_message_size``.

    ``pipeline`` may be several profile versions (a
    :class:`~auracodec.core.store.Versions`): a client offering any of their
    fingerprints is accepted, the current version's preferred, and its
    connection codes with that version's pipeline (built at the first
    connection that needs it, in a worker thread).

    ``profiles``: a :class:`~auracodec.ProfileStore` (or a
    :class:`~auracodec.serving.ProfileServer`) whose versions are served over
    HTTP on the same host and port, under ``/auracodec/profiles/``, for
    clients to fetch in the background (:mod:`auracodec.serving`). Without
    ``pipeline``, the server then speaks every version of the store, current
    first, and last the fallback profile, which needs no download
    (:func:`~auracodec.serving.fallback_pipeline`): a client holding no
    version connects at once with it.
    """
    if max_connections is not None and max_connections < 1:
        raise ValueError(f"max_connections must be at least 1 or None, got {max_connections!r}")
    if isinstance(profiles, ProfileServer) and pipeline is not None:
        raise TypeError(
            "serve() takes a pipeline or a ProfileServer, which holds its own "
            "(ProfileServer.for_store(store, versions))"
        )
    if profiles is not None and not isinstance(profiles, ProfileServer):
        profiles = ProfileServer.for_store(
            profiles, None if pipeline is None else versions_of(pipeline)
        )
    if profiles is not None:
        versions = profiles.versions
    elif pipeline is not None:
        versions = versions_of(pipeline)
    else:
        raise TypeError("serve() needs a pipeline (a Pipeline or Versions), or profiles")
    served = profiles
    negotiator = Negotiator(versions, mode)
    #: Connections admitted at the handshake, until they close.
    admitted: set[ServerConnection] = set()

    async def check(connection: ServerConnection, request: Request) -> Response | None:
        if served is not None and served.handles(request.path):
            return await _profile_response(served, request, executor)
        if max_connections is not None:
            admitted.difference_update(
                [c for c in admitted if c.protocol.state in (State.CLOSING, State.CLOSED)]
            )
            if len(admitted) >= max_connections:
                busy = negotiator.busy(max_connections)
                return connection.respond(busy.status, busy.reason)
        choice = negotiator.choose(parse_offered(request.headers.get_all("Sec-WebSocket-Protocol")))
        if isinstance(choice, Refusal):
            return connection.respond(choice.status, choice.reason)
        if max_connections is not None:
            admitted.add(connection)
        return None

    async def run(ws: ServerConnection) -> None:
        conn = AuraConnection(
            ws,
            await agreed(versions, negotiator.agreed(ws.subprotocol or ""), executor),
            mode,
            thread_threshold=thread_threshold,
            decode_budget=decode_budget,
            executor=executor,
        )
        try:
            await handler(conn)
        except DecodeError as exc:
            if exc is not conn._refused:
                raise
            # A frame recv refused, closed for and logged: the handler ends
            # there, without the traceback websockets would log.
        finally:
            admitted.discard(ws)

    kwargs.pop("compression", None)
    kwargs.setdefault("max_size", versions.max_message_size + _FRAME_OVERHEAD)
    return ws_serve(
        run,
        host,
        port,
        subprotocols=[Subprotocol(p) for p in negotiator.accepted],
        process_request=check,
        compression=None,
        **kwargs,
    )


async def _profile_response(
    served: ProfileServer, request: Request, executor: Executor | None
) -> Response:
    """Answer a request for a profile file, in a worker thread: the first one
    for a file reads, hashes and compresses it (BRIO's model is megabytes)."""
    loop = asyncio.get_running_loop()
    reply = await loop.run_in_executor(
        executor or shared_pool(),
        partial(
            served.respond,
            request.method,
            request.path,
            accept_encoding=request.headers.get("Accept-Encoding"),
            if_none_match=request.headers.get("If-None-Match"),
        ),
    )
    return Response(reply.status, reply.reason, Headers(reply.headers), reply.body)


@asynccontextmanager
async def connect(
    uri: str,
    *,
    pipeline: Pipeline | Versions,
    mode: str = "session",
    thread_threshold: int = THREAD_THRESHOLD,
    decode_budget: DecodeBudget | None = DecodeBudget(),
    executor: Executor | None = None,
    **kwargs: Any,
) -> AsyncIterator[AuraConnection]:
    """Connect to an auracodec server (``async with connect(...) as conn``).

    ``thread_threshold``, ``decode_budget`` and ``executor`` as for :func:`serve`:
    a server's frames are no more trusted than a client's. Given several
    profile versions, the client offers them all, current first, and codes
    with the one the server picks.
    """
    versions = versions_of(pipeline)
    offered = offer(versions, mode)
    kwargs.pop("compression", None)
    kwargs.setdefault("max_size", versions.max_message_size + _FRAME_OVERHEAD)
    try:
        ws = await ws_connect(
            uri, subprotocols=[Subprotocol(p) for p in offered], compression=None, **kwargs
        )
    except InvalidStatus as exc:
        body = exc.response.body.decode("utf-8", "replace").strip()
        raise HandshakeError(
            f"{uri} refused the auracodec handshake (HTTP {exc.response.status_code}): {body}"
        ) from exc
    try:
        if ws.subprotocol not in offered:
            raise HandshakeError(
                f"{uri} answered with subprotocol {ws.subprotocol!r}, not "
                + " or ".join(repr(p) for p in offered)
            )
        yield AuraConnection(
            ws,
            await agreed(versions, str(ws.subprotocol).rsplit(".", 1)[-1], executor),
            mode,
            thread_threshold=thread_threshold,
            decode_budget=decode_budget,
            executor=executor,
        )
    finally:
        await ws.close()


async def broadcast(
    connections: Iterable[AuraConnection],
    message: str | bytes,
    pipeline: Pipeline,
    *,
    thread_threshold: int = THREAD_THRESHOLD,
    executor: Executor | None = None,
) -> int:
    """Encode ``message`` once and send the frame to every stateless connection.

    Returns the frame size. Connections that closed meanwhile are skipped. A
    message of at least ``thread_threshold`` characters or bytes is encoded
    in a worker thread (the pipeline is thread-safe).
    """
    targets = list(connections)
    if any(c.session is not None for c in targets):
        raise AuraError("broadcast sends one frame to all: use stateless connections")
    frame = await encode_once(pipeline, message, thread_threshold, executor)
    results = await asyncio.gather(*(c.send_frame(frame) for c in targets), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, ConnectionClosed):
            raise r
    return len(frame)
