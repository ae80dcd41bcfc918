"""auracodec over WebSockets, on the ``websockets`` library.

``pip install 'auracodec[websocket]'``. A server and a client agree on the
pipeline at the opening handshake, through the subprotocol::

    auracodec.1.<mode>.<fingerprint>        mode: session | stateless

The server accepts exactly its own; a client offering another fingerprint or
mode is refused with HTTP 400 and a message saying what differs (the codecs,
their format settings or the trained profile), so two ends never exchange
frames they would mis-decode. permessage-deflate is switched off on these
connections: compressing frames twice only costs time.

In ``session`` mode each connection has a :class:`~auracodec.Session`:
context carried across its messages, one per direction. In ``stateless``
mode every frame stands alone, so one encoded frame can go to many clients
(:func:`broadcast`).

Errors close the connection with the matching code: a frame that does not
decode, 1007 (invalid payload data); one over the size limit, 1009 (message
too big); a text frame where frames are binary, 1003 (unsupported data).
``recv`` then raises the error. On a server, each refused frame is one
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
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from .core.errors import AuraError, DecodeError, InvalidUtf8, OutputLimitExceeded
from .core.framing import as_text
from .core.pipeline import Pipeline
from .core.session import Session

__all__ = [
    "MODES",
    "PROTOCOL",
    "AuraConnection",
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
#: Room for the method byte and a session control prefix.
_FRAME_OVERHEAD = 8

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


def subprotocol(pipeline: Pipeline, mode: str = "session") -> str:
    """The subprotocol a pipeline offers: protocol, mode and fingerprint."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return f"{PROTOCOL}.{mode}.{pipeline.fingerprint}"


class AuraConnection:
    """A WebSocket connection that sends and receives auracodec frames."""

    def __init__(
        self, ws: ServerConnection | ClientConnection, pipeline: Pipeline, mode: str
    ) -> None:
        self.ws = ws
        self.pipeline = pipeline
        self.mode = mode
        self.id = str(ws.id)
        self.session: Session | None = pipeline.session(self.id) if mode == "session" else None
        #: The error ``recv`` raised when it refused a frame and closed.
        self._refused: DecodeError | None = None

    async def send(self, message: str | bytes, *, isolated: bool = False) -> int:
        """Send one message; returns the frame size in bytes.

        ``isolated=True`` keeps the message out of the session's shared
        context (secrets: see docs/sessions.md).
        """
        if self.session is not None:
            frame = self.session.encode(message, isolated=isolated)
        else:
            frame = self.pipeline.encode(message)
        await self.ws.send(frame)
        return len(frame)

    async def send_frame(self, frame: bytes) -> None:
        """Send an already encoded stateless frame (see :func:`broadcast`)."""
        if self.session is not None:
            raise AuraError("send_frame is for stateless connections")
        await self.ws.send(frame)

    async def recv_frame(self) -> bytes:
        """Receive one frame, still encoded; on a text frame, close and raise."""
        frame = await self.ws.recv()
        if isinstance(frame, str):
            exc = DecodeError("received a text frame; auracodec frames are binary")
            await self._refuse(exc, CLOSE_UNSUPPORTED, "auracodec frames are binary")
            raise exc
        return frame

    async def recv_bytes(self) -> bytes:
        """Receive one message as bytes; on a bad frame, close and raise."""
        frame = await self.recv_frame()
        try:
            if self.session is not None:
                return self.session.decode_bytes(frame)
            return self.pipeline.decode_bytes(frame)
        except DecodeError as exc:
            code = CLOSE_TOO_BIG if isinstance(exc, OutputLimitExceeded) else CLOSE_INVALID
            await self._refuse(exc, code, _reason(exc))
            raise

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
        await self.ws.close(code, reason)

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
    pipeline: Pipeline,
    mode: str = "session",
    **kwargs: Any,
) -> Any:
    """Serve auracodec over WebSockets (``async with serve(...) as server``).

    Other keyword arguments go to ``websockets.asyncio.server.serve``;
    ``compression`` is forced off and ``max_size`` follows the pipeline's
    ``max_message_size``.
    """
    expected = subprotocol(pipeline, mode)

    def check(connection: ServerConnection, request: Request) -> Response | None:
        offered = [
            p.strip()
            for value in request.headers.get_all("Sec-WebSocket-Protocol")
            for p in value.split(",")
        ]
        if expected in offered:
            return None
        ours = [p for p in offered if p.startswith("auracodec.")]
        if ours:
            return connection.respond(
                400,
                f"auracodec handshake refused: this server speaks {expected}; you offered "
                f"{', '.join(ours)}. The fingerprint covers the codecs, their format settings "
                "and trained artifacts: both ends need the same profile and mode.\n",
            )
        return connection.respond(
            400, f"this endpoint speaks auracodec: offer the subprotocol {expected}\n"
        )

    async def run(ws: ServerConnection) -> None:
        conn = AuraConnection(ws, pipeline, mode)
        try:
            await handler(conn)
        except DecodeError as exc:
            if exc is not conn._refused:
                raise
            # A frame recv refused, closed for and logged: the handler ends
            # there, without the traceback websockets would log.

    kwargs.pop("compression", None)
    kwargs.setdefault("max_size", pipeline.max_message_size + _FRAME_OVERHEAD)
    return ws_serve(
        run,
        host,
        port,
        subprotocols=[Subprotocol(expected)],
        process_request=check,
        compression=None,
        **kwargs,
    )


@asynccontextmanager
async def connect(
    uri: str, *, pipeline: Pipeline, mode: str = "session", **kwargs: Any
) -> AsyncIterator[AuraConnection]:
    """Connect to an auracodec server (``async with connect(...) as conn``)."""
    expected = subprotocol(pipeline, mode)
    kwargs.pop("compression", None)
    kwargs.setdefault("max_size", pipeline.max_message_size + _FRAME_OVERHEAD)
    try:
        ws = await ws_connect(uri, subprotocols=[Subprotocol(expected)], compression=None, **kwargs)
    except InvalidStatus as exc:
        body = exc.response.body.decode("utf-8", "replace").strip()
        raise HandshakeError(
            f"{uri} refused the auracodec handshake (HTTP {exc.response.status_code}): {body}"
        ) from exc
    try:
        if ws.subprotocol != expected:
            raise HandshakeError(
                f"{uri} answered with subprotocol {ws.subprotocol!r}, not {expected!r}"
            )
        yield AuraConnection(ws, pipeline, mode)
    finally:
        await ws.close()


async def broadcast(
    connections: Iterable[AuraConnection], message: str | bytes, pipeline: Pipeline
) -> int:
    """Encode ``message`` once and send the frame to every stateless connection.

    Returns the frame size. Connections that closed meanwhile are skipped.
    """
    frame = pipeline.encode(message)
    targets = list(connections)
    if any(c.session is not None for c in targets):
        raise AuraError("broadcast sends one frame to all: use stateless connections")
    results = await asyncio.gather(*(c.send_frame(frame) for c in targets), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, ConnectionClosed):
            raise r
    return len(frame)
