"""auracodec in an aiohttp WebSocket handler.

``pip install 'auracodec[aiohttp]'``. :func:`accept` does the handshake of
:mod:`auracodec.websocket`, through :mod:`auracodec.negotiation`: it accepts
the first of the pipeline's versions the client offers, and refuses any other
offer by raising :class:`aiohttp.web.HTTPBadRequest` with a reason saying what
differs, which aiohttp sends as the HTTP response. ::

    from aiohttp import web
    from auracodec import Pipeline
    from auracodec.aiohttp import accept

    PIPE = Pipeline.from_config()

    async def chat(request: web.Request) -> web.StreamResponse:
        conn = await accept(request, PIPE)  # refused: raises HTTP 400 and the reason
        async for message in conn:
            await conn.send(f"echo: {message}")
        return conn.websocket

    app = web.Application()
    app.add_routes([web.get("/chat", chat)])

The connection (:class:`AiohttpConnection`) has the API of
:class:`auracodec.asgi.ASGIConnection`: ``send``, ``recv``, ``recv_bytes``,
``close``, async iteration, ``session`` (one per connection and direction in
``session`` mode), ``pipeline``; ``websocket`` is the
:class:`aiohttp.web.WebSocketResponse` the handler returns. Large messages
are coded in worker threads, a connection has a decode budget, and errors
close it with the same codes (:func:`auracodec.negotiation.close_code`): 1007
for a frame that does not decode, 1009 for one over the size limit, 1003 for
a text frame, 4008 for a spent budget. ``recv`` then raises the error; async
iteration ends quietly instead (the refusal is one rate-limited WARNING line
on the ``auracodec.aiohttp`` logger). Iteration also ends when the client
closes with 1000 or 1001; another close code raises
:class:`auracodec.ConnectionClosed`, as :meth:`send` does on a closed connection.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import Executor
from typing import ClassVar

from aiohttp import WSMsgType, web
from aiohttp.http_websocket import WebSocketError

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

__all__ = ["THREAD_THRESHOLD", "AiohttpConnection", "accept"]

_logger = logging.getLogger(__name__)
_REFUSALS = Throttle(burst=10, interval=60.0)

#: The aiohttp exception a refusal is raised as, by its HTTP status.
_REFUSAL_ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    503: web.HTTPServiceUnavailable,
}


class AiohttpConnection(RecordedClose, CodingConnection):
    """An aiohttp WebSocket that sends and receives auracodec frames (see :func:`accept`)."""

    _quiet_after_refusal = True
    _closed_errors: ClassVar[tuple[type[BaseException], ...]] = (ConnectionClosed,)

    def __init__(
        self,
        request: web.Request,
        websocket: web.WebSocketResponse,
        pipeline: Pipeline,
        mode: str,
        *,
        thread_threshold: int = THREAD_THRESHOLD,
        decode_budget: DecodeBudget | None = DecodeBudget(),
        executor: Executor | None = None,
    ) -> None:
        self.request = request
        self.websocket = websocket
        # Once closed, recv and send raise ConnectionClosed with the close
        # code (RecordedClose), where aiohttp would say "closed" without it.
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
        ws = self.websocket
        try:
            await ws.send_bytes(frame)
        except ConnectionResetError as exc:  # aiohttp: "Cannot write to closing transport"
            raise self._closed(ws.close_code, "") from exc

    async def _recv_raw(self) -> bytes | str:
        self._check_open()
        message = await self.websocket.receive()
        if message.type is WSMsgType.BINARY:
            data: bytes = message.data
            return data
        if message.type is WSMsgType.TEXT:
            text: str = message.data
            return text
        error = message.data
        if (
            message.type is WSMsgType.ERROR
            and isinstance(error, WebSocketError)
            and error.code == CLOSE_TOO_BIG
        ):
            # aiohttp refused the frame by its header (max_msg_size, which
            # accept sets from the pipeline) and closed with 1009 already.
            exc = OutputLimitExceeded(self._max_frame, "frame")
            await self._refuse(exc, CLOSE_TOO_BIG, "frame too big")
            raise exc from error
        if message.type is WSMsgType.CLOSE:
            raise self._closed(message.data, message.extra or "")
        raise self._closed(self.websocket.close_code, str(error) if error is not None else "")

    async def _close_raw(self, code: int, reason: str) -> None:
        if not self.websocket.closed:
            await self.websocket.close(code=code, message=reason.encode())
            self._closed(code, reason)

    def _log_refusal(self, code: int, exc: DecodeError) -> None:
        transport = self.request.transport
        peer = transport.get_extra_info("peername") if transport else None
        log_refusal(_logger, _REFUSALS, peer or "unknown peer", code, exc)


async def accept(
    request: web.Request,
    pipeline: Pipeline | Versions,
    *,
    mode: str = "session",
    thread_threshold: int = THREAD_THRESHOLD,
    decode_budget: DecodeBudget | None = DecodeBudget(),
    executor: Executor | None = None,
) -> AiohttpConnection:
    """Accept a WebSocket that offers one of ``pipeline``'s versions, or refuse it.

    Returns the connection, coding with the version agreed on; its
    ``websocket`` is the response the handler returns. A client that offers
    none of them is refused: :class:`aiohttp.web.HTTPBadRequest` is raised,
    its body the reason, and aiohttp answers with it. ``thread_threshold``,
    ``decode_budget`` and ``executor`` as for :func:`auracodec.websocket.serve`.
    """
    negotiator = Negotiator(pipeline, mode)
    offered = request.headers.getall("Sec-WebSocket-Protocol", [])
    choice = negotiator.choose(parse_offered(offered))
    if isinstance(choice, Refusal):
        raise _REFUSAL_ERRORS[choice.status](text=choice.reason)
    coding = await agreed(negotiator.versions, choice.fingerprint, executor)
    max_frame = coding.max_message_size + FRAME_OVERHEAD
    websocket = web.WebSocketResponse(
        protocols=[choice.subprotocol],
        # aiohttp refuses a frame of max_msg_size bytes or more; ours is the
        # pipeline's limit, as in websockets' max_size. Frames are compressed
        # already: no permessage-deflate.
        max_msg_size=max_frame + 1,
        compress=False,
    )
    await websocket.prepare(request)
    return AiohttpConnection(
        request,
        websocket,
        coding,
        mode,
        thread_threshold=thread_threshold,
        decode_budget=decode_budget,
        executor=executor,
    )
