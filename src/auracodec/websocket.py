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
import math
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

import attrs
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol

from .core.errors import AuraError, DecodeError, InvalidUtf8, OutputLimitExceeded
from .core.framing import SessionFrame, as_text
from .core.pipeline import Pipeline
from .core.session import Session
from .core.store import ProfileStore, Versions
from .serving import ProfileServer

__all__ = [
    "CLOSE_BUDGET",
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

PROTOCOL = "auracodec.1"
MODES = ("session", "stateless")
CLOSE_INVALID = 1007
CLOSE_TOO_BIG = 1009
CLOSE_UNSUPPORTED = 1003
#: Close code when a connection's decode budget is spent: in the private range
#: (4000-4999), 4000 + 1008 (policy violation) - 1000.
CLOSE_BUDGET = 4008
#: Room for the method byte and a session control prefix.
_FRAME_OVERHEAD = 8
#: Messages of at least this many characters (or bytes) are encoded, and
#: frames that could decode to at least this many bytes are decoded, in a
#: worker thread. With a trained chat profile a session encodes a 64-byte
#: message in about 0.7 ms (2 ms at 256 bytes) and decodes it in 0.15 ms; a
#: thread hop costs about 50 µs. Below it, a message's coding costs the loop
#: less than a millisecond; ``auracodec stress`` measures the loop's lag.
THREAD_THRESHOLD = 64
#: Identity's output is its payload; a codec with a ``max_ratio`` (BRIO)
#: bounds its output to ``max_ratio * payload + _RATIO_SLACK``.
_RATIO_SLACK = 128

_T = TypeVar("_T")

_logger = logging.getLogger(__name__)


class _Throttle:
    """At most ``burst`` lines per ``interval`` seconds; the rest are counted."""

    def __init__(
        self, burst: int, interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()  # servers may run event loops in several threads
        self._start = -math.inf
        self._lines = 0
        self._suppressed = 0

    def admit(self) -> int | None:
        """``None``: drop this line; else how many were dropped since the last one let through."""
        with self._lock:
            now = self._clock()
            if now - self._start >= self.interval:
                self._start, self._lines = now, 0
            if self._lines >= self.burst:
                self._suppressed += 1
                return None
            self._lines += 1
            dropped, self._suppressed = self._suppressed, 0
            return dropped


#: Lines about refused frames, for the whole process: a flood of bad frames
#: must not become a flood of log lines.
_REFUSALS = _Throttle(burst=10, interval=60.0)


def _log_refusal(peer: Any, code: int, exc: Exception) -> None:
    dropped = _REFUSALS.admit()
    if dropped is None:
        return
    if dropped:
        _logger.warning(
            "suppressed %d similar: more than %d refused frames in %g s",
            dropped,
            _REFUSALS.burst,
            _REFUSALS.interval,
        )
    message = str(exc).replace("\r", "\\r").replace("\n", "\\n")  # one line, whatever it says
    _logger.warning(
        "refused a frame from %s: closing with %d, %s: %s",
        _address(peer),
        code,
        type(exc).__name__,
        message,
    )


def _address(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = peer[0], peer[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peer)


class HandshakeError(AuraError):
    """The peer refused the auracodec handshake, or answered with another pipeline."""


class DecodeBudgetExceeded(DecodeError):
    """The peer made this connection decode more than its :class:`DecodeBudget` allows.

    Raised by ``recv`` after closing the connection with :data:`CLOSE_BUDGET`;
    the message whose decoding overdrew the budget is not returned.
    """


@attrs.frozen
class DecodeBudget:
    """How much decoding a connection's peer may ask for: a token bucket of decoded bytes.

    The bucket holds ``burst`` bytes (``None``: twice the pipeline's
    ``max_message_size``, so two messages of the largest size pass back to
    back) and refills at ``rate`` bytes a second. Every decoded message takes
    its length from it; when that leaves it below zero the connection is
    closed with :data:`CLOSE_BUDGET`. The default, 256 KiB a second, is more
    than ten times what a busy chat client sends, and keeps a peer sending
    nothing but worst-case frames to about a quarter of a CPU core with BRIO
    (about 1 µs per decoded byte in a session, contexts included).
    """

    rate: float = 256 * 1024
    burst: int | None = None

    def __attrs_post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"DecodeBudget rate must be more than 0 bytes/s, got {self.rate!r}")
        if self.burst is not None and self.burst < 1:
            raise ValueError(f"DecodeBudget burst must be at least 1 byte, got {self.burst!r}")


class _Bucket:
    """One connection's decode budget, in decoded bytes."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, budget: DecodeBudget, limit: int) -> None:
        self.rate = float(budget.rate)
        self.burst = float(budget.burst if budget.burst is not None else 2 * limit)
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def take(self, n: int) -> bool:
        """Take ``n`` bytes; ``False`` when that overdraws the bucket."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate) - n
        self.stamp = now
        return self.tokens >= 0


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    """The process's worker threads for long encodes and decodes, made at first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=os.cpu_count() or 1, thread_name_prefix="auracodec-websocket"
            )
        return _pool


#: Per pipeline: method id -> (ratio, slack) bounding a payload's output, for
#: the methods whose output is bounded by their payload.
_BOUNDS: weakref.WeakKeyDictionary[Pipeline, dict[int, tuple[int, int]]] = (
    weakref.WeakKeyDictionary()
)


def _bounds(pipeline: Pipeline) -> dict[int, tuple[int, int]]:
    bounds = _BOUNDS.get(pipeline)
    if bounds is None:
        bounds = {}
        for codec in pipeline.codecs.values():
            ratio = getattr(codec, "max_ratio", None)
            if codec.name == "identity":
                bounds[codec.method_id] = (1, 0)
            elif type(ratio) is int and ratio > 0:
                bounds[codec.method_id] = (ratio, _RATIO_SLACK)
        _BOUNDS[pipeline] = bounds
    return bounds


def _retrieve(future: asyncio.Future[Any]) -> None:
    # A result nobody awaited (its caller was cancelled, then the connection
    # closed): its exception is not an error of ours to report.
    if not future.cancelled():
        future.exception()


def subprotocol(pipeline: Pipeline, mode: str = "session") -> str:
    """The subprotocol a pipeline offers: protocol, mode and fingerprint."""
    return _subprotocol(pipeline.fingerprint, mode)


def _subprotocol(fingerprint: str, mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return f"{PROTOCOL}.{mode}.{fingerprint}"


def _versions(pipeline: Pipeline | Versions) -> Versions:
    return pipeline if isinstance(pipeline, Versions) else Versions.of(pipeline)


async def _agreed(versions: Versions, chosen: str | None, executor: Executor | None) -> Pipeline:
    """The pipeline of the subprotocol agreed on; a version not built yet is
    built in a worker thread (it loads models), not on the event loop."""
    fingerprint = (chosen or "").rsplit(".", 1)[-1]
    if versions.is_built(fingerprint):
        return versions[fingerprint]
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor or _shared_pool(), versions.__getitem__, fingerprint)


class AuraConnection:
    """A WebSocket connection that sends and receives auracodec frames.

    ``thread_threshold``, ``decode_budget`` and ``executor``: see the module
    docstring (``connect`` and ``serve`` pass them on).
    """

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
        self.pipeline = pipeline
        self.mode = mode
        self.id = str(ws.id)
        self.session: Session | None = pipeline.session(self.id) if mode == "session" else None
        self.thread_threshold = thread_threshold
        self._budget = _Bucket(decode_budget, pipeline.max_message_size) if decode_budget else None
        self._executor = executor
        self._bounds = _bounds(pipeline)
        # One encode and one decode at a time, in order: the session is not
        # thread-safe, and its frames must leave in the order they were coded.
        self._send_lock = asyncio.Lock()
        self._recv_lock = asyncio.Lock()
        #: A decode running in a thread whose ``recv`` was cancelled: the next
        #: ``recv`` returns its message.
        self._pending: asyncio.Future[bytes] | None = None
        #: The error ``recv`` raised when it refused a frame and closed.
        self._refused: DecodeError | None = None

    def _in_thread(self, fn: Callable[..., _T], *args: Any) -> asyncio.Future[_T]:
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor or _shared_pool(), fn, *args)

    # -- sending --------------------------------------------------------------------

    async def send(self, message: str | bytes, *, isolated: bool = False) -> int:
        """Send one message; returns the frame size in bytes.

        ``isolated=True`` keeps the message out of the session's shared
        context (secrets: see docs/sessions.md). A message of at least
        ``thread_threshold`` characters or bytes is encoded in a worker thread.
        """
        encode: Callable[[], bytes]
        if self.session is not None:
            encode = partial(self.session.encode, message, isolated=isolated)
        else:
            encode = partial(self.pipeline.encode, message)
        # The lock is taken here, in the order of the calls, whichever path
        # codes the message.
        await self._send_lock.acquire()
        if len(message) < self.thread_threshold:
            try:
                frame = encode()
                await self.ws.send(frame)
            finally:
                self._send_lock.release()
            return len(frame)
        # In a task of its own: if our caller is cancelled, a message the session
        # has coded is still sent, before any later one.
        task = asyncio.ensure_future(self._send_in_thread(encode))
        task.add_done_callback(_retrieve)
        return await asyncio.shield(task)

    async def _send_in_thread(self, encode: Callable[[], bytes]) -> int:
        """Encode in a thread and send; called holding the send lock, releases it."""
        try:
            frame = await self._in_thread(encode)
            await self.ws.send(frame)
        finally:
            self._send_lock.release()
        return len(frame)

    async def send_frame(self, frame: bytes) -> None:
        """Send an already encoded stateless frame (see :func:`broadcast`)."""
        if self.session is not None:
            raise AuraError("send_frame is for stateless connections")
        await self.ws.send(frame)

    # -- receiving ------------------------------------------------------------------

    async def recv_frame(self) -> bytes:
        """Receive one frame, still encoded; on a text frame, close and raise."""
        frame = await self.ws.recv()
        if isinstance(frame, str):
            exc = DecodeError("received a text frame; auracodec frames are binary")
            await self._refuse(exc, CLOSE_UNSUPPORTED, "auracodec frames are binary")
            raise exc
        return frame

    def decode_bound(self, frame: bytes) -> int:
        """The most bytes ``frame`` could decode to: what decides whether it is
        decoded in a worker thread."""
        limit = self.pipeline.max_message_size
        try:
            head = SessionFrame.parse(frame) if self.session is not None else None
        except DecodeError:
            return 0  # refused before any codec runs
        offset, method = (head.offset, head.method_id) if head else (0, frame[0] if frame else 0)
        bound = self._bounds.get(method)
        if bound is None:
            return limit
        ratio, slack = bound
        return min(limit, ratio * max(0, len(frame) - offset - 1) + slack)

    async def recv_bytes(self) -> bytes:
        """Receive one message as bytes; on a bad frame, close and raise."""
        async with self._recv_lock:
            future = self._pending
            if future is None:
                frame = await self.recv_frame()
                decode = (
                    self.session.decode_bytes
                    if self.session is not None
                    else self.pipeline.decode_bytes
                )
                if self.decode_bound(frame) < self.thread_threshold:
                    try:
                        data = decode(frame)
                    except DecodeError as exc:
                        await self._refuse_decoding(exc)
                        raise
                    return await self._charge(data)
                future = self._pending = self._in_thread(decode, frame)
                future.add_done_callback(_retrieve)
            try:
                # Shielded: if we are cancelled, the decode finishes in its
                # thread and the next recv returns its message.
                data = await asyncio.shield(future)
            except DecodeError as exc:
                self._pending = None
                await self._refuse_decoding(exc)
                raise
            except asyncio.CancelledError:
                if future.cancelled():  # the loop is going away
                    self._pending = None
                raise
            except BaseException:
                self._pending = None
                raise
            self._pending = None
            return await self._charge(data)

    async def _charge(self, data: bytes) -> bytes:
        if self._budget is not None and not self._budget.take(len(data)):
            b = self._budget
            exc = DecodeBudgetExceeded(
                f"decode budget spent: the peer's frames decoded to more than "
                f"{b.burst:.0f} bytes at once, or {b.rate:.0f} bytes/s sustained"
            )
            await self._refuse(exc, CLOSE_BUDGET, "decode budget spent")
            raise exc
        return data

    async def _refuse_decoding(self, exc: DecodeError) -> None:
        code = CLOSE_TOO_BIG if isinstance(exc, OutputLimitExceeded) else CLOSE_INVALID
        await self._refuse(exc, code, _reason(exc))

    async def recv(self) -> str:
        """Receive one message as text."""
        data = await self.recv_bytes()
        try:
            return as_text(data)
        except InvalidUtf8 as exc:
            await self._refuse(exc, CLOSE_INVALID, "message is not UTF-8 text")
            raise

    async def _refuse(self, exc: DecodeError, code: int, reason: str) -> None:
        """Close for a bad frame; on a server, say so in one line (rate-limited)."""
        self._refused = exc
        if isinstance(self.ws, ServerConnection):
            _log_refusal(self.ws.remote_address, code, exc)
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

    def __aiter__(self) -> AsyncIterator[str]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str]:
        try:
            while True:
                yield await self.recv()
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code not in (1000, 1001):
                raise

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code, reason)


def _reason(exc: Exception) -> str:
    # A close reason is at most 123 bytes of UTF-8.
    text = f"{type(exc).__name__}: {exc}".encode()[:123]
    return text.decode("utf-8", "ignore")


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
            profiles, None if pipeline is None else _versions(pipeline)
        )
    if profiles is not None:
        versions = profiles.versions
    elif pipeline is not None:
        versions = _versions(pipeline)
    else:
        raise TypeError("serve() needs a pipeline (a Pipeline or Versions), or profiles")
    served = profiles
    accepted = [_subprotocol(fp, mode) for fp in versions]  # in order of preference
    expected = accepted[0]
    speaks = expected + (
        f" (or, for earlier profile versions, {', '.join(accepted[1:])})"
        if len(accepted) > 1
        else ""
    )
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
                return connection.respond(
                    503,
                    f"auracodec server busy: it serves at most {max_connections} "
                    "connections at once; try again later\n",
                )
        offered = [
            p.strip()
            for value in request.headers.get_all("Sec-WebSocket-Protocol")
            for p in value.split(",")
        ]
        if any(p in accepted for p in offered):
            if max_connections is not None:
                admitted.add(connection)
            return None
        ours = [p for p in offered if p.startswith("auracodec.")]
        if ours:
            return connection.respond(
                400,
                f"auracodec handshake refused: this server speaks {speaks}; you offered "
                f"{', '.join(ours)}. The fingerprint covers the codecs, their format settings "
                "and trained artifacts: both ends need the same profile and mode.\n",
            )
        return connection.respond(
            400, f"this endpoint speaks auracodec: offer the subprotocol {expected}\n"
        )

    async def run(ws: ServerConnection) -> None:
        conn = AuraConnection(
            ws,
            await _agreed(versions, ws.subprotocol, executor),
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
        subprotocols=[Subprotocol(p) for p in accepted],
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
        executor or _shared_pool(),
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
    versions = _versions(pipeline)
    offered = [_subprotocol(fp, mode) for fp in versions]
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
            await _agreed(versions, ws.subprotocol, executor),
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
    if len(message) < thread_threshold:
        frame = pipeline.encode(message)
    else:
        loop = asyncio.get_running_loop()
        frame = await loop.run_in_executor(executor or _shared_pool(), pipeline.encode, message)
    results = await asyncio.gather(*(c.send_frame(frame) for c in targets), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, ConnectionClosed):
            raise r
    return len(frame)
