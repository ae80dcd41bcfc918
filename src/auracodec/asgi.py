"""auracodec in a Starlette or FastAPI WebSocket endpoint (ASGI).

``pip install 'auracodec[asgi]'``. :func:`accept` does the handshake of
:mod:`auracodec.websocket`, through :mod:`auracodec.negotiation`: it accepts
the first of the pipeline's versions the client offers, and answers any other
offer with HTTP 400 and a reason saying what differs. ::

    from fastapi import FastAPI, WebSocket
    from auracodec import Pipeline
    from auracodec.asgi import accept

    app = FastAPI()
    PIPE = Pipeline.from_config()

    @app.websocket("/chat")
    async def chat(websocket: WebSocket) -> None:
        conn = await accept(websocket, PIPE)
        if conn is None:  # refused: the client got HTTP 400 and the reason
            return
        async for message in conn:
            await conn.send(f"echo: {message}")

The refusal goes out as an HTTP response through the ASGI "WebSocket Denial
Response" extension (``websocket.http.response``), which uvicorn and
hypercorn support; on a server without it the connection is closed before it
opens, with 1008 (policy violation) and the reason, and the client sees
HTTP 403.

The connection (:class:`ASGIConnection`) has the API of
:class:`auracodec.websocket.AuraConnection`: ``send``, ``recv``,
``recv_bytes``, ``close``, async iteration, ``session`` (one per connection
and direction in ``session`` mode), ``pipeline``. Large messages are coded in
worker threads, a connection has a decode budget, and errors close it with
the same codes (:func:`auracodec.negotiation.close_code`): 1007 for a frame
that does not decode, 1009 for one over the size limit, 1003 for a text
frame, 4008 for a spent budget. ``recv`` then raises the error; async
iteration ends quietly instead (the refusal is one rate-limited WARNING line
on the ``auracodec.asgi`` logger), so a peer's bad frames do not fill the
server's log with tracebacks. Iteration also ends when the client closes
with 1000 or 1001; another close code raises :class:`Disconnected`, which
is :class:`auracodec.ConnectionClosed` (what the aiohttp adapter raises) and
:class:`starlette.websockets.WebSocketDisconnect` (what Starlette endpoints
catch); ``recv`` and ``send`` raise it once the connection is closed.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import Executor
from typing import ClassVar

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ._connection import (
    FRAME_OVERHEAD,
    THREAD_THRESHOLD,
    CodingConnection,
    RecordedClose,
    Throttle,
    agreed,
    log_refusal,
)
from .core.errors import ConnectionClosed, DecodeError, OutputLimitExceeded
from .core.pipeline import Pipeline
from .core.store import Versions
from .negotiation import (
    CLOSE_TOO_BIG,
    DecodeBudget,
    Negotiator,
    Refusal,
    parse_offered,
)

__all__ = ["THREAD_THRESHOLD", "ASGIConnection", "Disconnected", "accept"]

#: Close code when the refusal cannot be sent as an HTTP response.
CLOSE_POLICY = 1008

_logger = logging.getLogger(__name__)
_REFUSALS = Throttle(burst=10, interval=60.0)


class Disconnected(ConnectionClosed, WebSocketDisconnect):
    """The WebSocket closed (the client closed it, or this end did): auracodec's
    :class:`~auracodec.ConnectionClosed`, and Starlette's ``WebSocketDisconnect``."""

    code: int  # always given here, as Starlette's

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(code, reason)


class ASGIConnection(RecordedClose, CodingConnection):
    """A Starlette WebSocket that sends and receives auracodec frames (see :func:`accept`)."""

    _quiet_after_refusal = True
    _closed_errors: ClassVar[tuple[type[BaseException], ...]] = (WebSocketDisconnect,)
    _closed_error = Disconnected

    def __init__(
        self,
        websocket: WebSocket,
        pipeline: Pipeline,
        mode: str,
        *,
        thread_threshold: int = THREAD_THRESHOLD,
        decode_budget: DecodeBudget | None = DecodeBudget(),
        executor: Executor | None = None,
    ) -> None:
        self.websocket = websocket
        # Once closed, recv and send raise Disconnected with the close code
        # (RecordedClose), where Starlette would raise a RuntimeError.
        self._max_frame = pipeline.max_message_size + FRAME_OVERHEAD
        super().__init__(
            pipeline,
            mode,
            id=str(uuid.uuid4()),
            thread_threshold=thread_threshold,
            decode_budget=decode_budget,
            executor=executor,
        )

    async def _send_raw(self, frame: bytes) -> None:
        self._check_open()
        try:
            await self.websocket.send_bytes(frame)
        except WebSocketDisconnect as exc:  # Starlette's, when the transport is gone
            raise self._closed(exc.code, exc.reason or "") from exc

    async def _recv_raw(self) -> bytes | str:
        self._check_open()
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise self._closed(message.get("code", 1000), message.get("reason") or "")
        data: bytes | None = message.get("bytes")
        if data is None:
            text: str = message.get("text") or ""
            return text
        if len(data) > self._max_frame:
            # The server's own frame limit (uvicorn: --ws-max-size) is for
            # the whole app; ours follows the pipeline, as websockets' max_size.
            exc = OutputLimitExceeded(self._max_frame, "frame")
            await self._refuse(exc, CLOSE_TOO_BIG, "frame too big")
            raise exc
        return data

    async def _close_raw(self, code: int, reason: str) -> None:
        ws = self.websocket
        if ws.application_state == WebSocketState.CONNECTED and (
            ws.client_state == WebSocketState.CONNECTED
        ):
            await ws.close(code, reason)
            self._closed(code, reason)

    def _log_refusal(self, code: int, exc: DecodeError) -> None:
        client = self.websocket.client
        peer = (client.host, client.port) if client else "unknown peer"
        log_refusal(_logger, _REFUSALS, peer, code, exc)


async def accept(
    websocket: WebSocket,
    pipeline: Pipeline | Versions,
    *,
    mode: str = "session",
    thread_threshold: int = THREAD_THRESHOLD,
    decode_budget: DecodeBudget | None = DecodeBudget(),
    executor: Executor | None = None,
) -> ASGIConnection | None:
    """Accept a WebSocket that offers one of ``pipeline``'s versions, or refuse it.

    Returns the connection, coding with the version agreed on; or ``None``
    when the client was refused (HTTP 400 and the reason, see the module
    docstring). ``thread_threshold``, ``decode_budget`` and ``executor`` as
    for :func:`auracodec.websocket.serve`.
    """
    negotiator = Negotiator(pipeline, mode)
    offered = websocket.scope.get("subprotocols") or []
    choice = negotiator.choose(parse_offered(offered))
    if isinstance(choice, Refusal):
        await _refuse(websocket, choice)
        return None
    coding = await agreed(negotiator.versions, choice.fingerprint, executor)
    await websocket.accept(subprotocol=choice.subprotocol)
    return ASGIConnection(
        websocket,
        coding,
        mode,
        thread_threshold=thread_threshold,
        decode_budget=decode_budget,
        executor=executor,
    )


async def _refuse(websocket: WebSocket, refusal: Refusal) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(
            PlainTextResponse(refusal.reason, status_code=refusal.status)
        )
    else:
        # Closing before accepting: the server answers HTTP 403.
        await websocket.close(CLOSE_POLICY, refusal.reason.encode()[:123].decode("utf-8", "ignore"))
