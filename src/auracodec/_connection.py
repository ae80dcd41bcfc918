"""What every WebSocket adapter's connection shares: coding, off the loop when large.

Private: :class:`CodingConnection` holds the session, the locks, the worker
threads and the decode budget; an adapter (:mod:`auracodec.websocket`,
:mod:`auracodec.asgi`) subclasses it and supplies the transport: send a
binary frame, receive a frame, close with a code. It imports no server
library.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import partial
from typing import Any, ClassVar, TypeVar

from .core.errors import AuraError, ConnectionClosed, DecodeError, InvalidUtf8
from .core.framing import SessionFrame, as_text
from .core.pipeline import Pipeline
from .core.session import Session
from .core.store import Versions
from .negotiation import (
    CLOSE_BUDGET,
    CLOSE_INVALID,
    CLOSE_UNSUPPORTED,
    BudgetBucket,
    DecodeBudget,
    close_code,
    close_reason,
)

#: Room for the method byte and a session control prefix.
FRAME_OVERHEAD = 8
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


class Throttle:
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


def log_refusal(
    logger: logging.Logger, throttle: Throttle, peer: Any, code: int, exc: Exception
) -> None:
    """One WARNING line for a refused frame, at most ``throttle`` allows."""
    dropped = throttle.admit()
    if dropped is None:
        return
    if dropped:
        logger.warning(
            "suppressed %d similar: more than %d refused frames in %g s",
            dropped,
            throttle.burst,
            throttle.interval,
        )
    message = str(exc).replace("\r", "\\r").replace("\n", "\\n")  # one line, whatever it says
    logger.warning(
        "refused a frame from %s: closing with %d, %s: %s",
        address(peer),
        code,
        type(exc).__name__,
        message,
    )


def address(peer: Any) -> str:
    if isinstance(peer, tuple | list) and len(peer) >= 2:
        host, port = peer[0], peer[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peer)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def shared_pool() -> ThreadPoolExecutor:
    """The process's worker threads for long encodes and decodes, made at first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=os.cpu_count() or 1, thread_name_prefix="auracodec-websocket"
            )
        return _pool


async def encode_once(
    pipeline: Pipeline, message: str | bytes, thread_threshold: int, executor: Executor | None
) -> bytes:
    """One stateless frame for ``message``, encoded in a worker thread when it
    has at least ``thread_threshold`` characters or bytes (the pipeline is
    thread-safe): what :func:`~auracodec.websocket.broadcast` and the Redis
    fan-out (:mod:`auracodec.fanout`) send to many connections."""
    if len(message) < thread_threshold:
        return pipeline.encode(message)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor or shared_pool(), pipeline.encode, message)


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


def retrieve(future: asyncio.Future[Any]) -> None:
    # A result nobody awaited (its caller was cancelled, then the connection
    # closed): its exception is not an error of ours to report.
    if not future.cancelled():
        future.exception()


async def agreed(versions: Versions, fingerprint: str, executor: Executor | None) -> Pipeline:
    """The pipeline of the version agreed on; a version not built yet is
    built in a worker thread (it loads models), not on the event loop."""
    if versions.is_built(fingerprint):
        return versions[fingerprint]
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor or shared_pool(), versions.__getitem__, fingerprint)


class RecordedClose:
    """For adapters whose server library keeps no close code once a
    connection closed (Starlette, aiohttp): the first close seen, at either
    end, is recorded, and every later ``recv`` or ``send`` raises
    :attr:`_closed_error` with its code and reason. Mixed into a
    :class:`CodingConnection` whose ``_closed_errors`` include that class."""

    #: The error raised once closed (a subclass of ConnectionClosed).
    _closed_error: ClassVar[type[ConnectionClosed]] = ConnectionClosed
    #: The close code (None when the transport gave none) and reason.
    _closed_with: tuple[int | None, str] | None = None

    def _check_open(self) -> None:
        if self._closed_with is not None:
            raise self._closed_error(*self._closed_with)

    def _closed(self, code: int | None, reason: str) -> ConnectionClosed:
        """Record a close (the first one seen stands); the error it raises."""
        if self._closed_with is None:
            self._closed_with = (code, reason)
        return self._closed_error(*self._closed_with)

    def _ends_quietly(self, exc: BaseException) -> bool:
        # A normal close (1000) or the peer going away (1001) ends iteration.
        return getattr(exc, "code", None) in (1000, 1001)


class CodingConnection:
    """A connection that sends and receives auracodec frames over some transport.

    Subclasses supply :meth:`_send_raw`, :meth:`_recv_raw`, :meth:`_close_raw`
    and :attr:`_closed_errors` (what their transport raises once closed).
    """

    #: The transport's "connection closed" exceptions.
    _closed_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    #: Whether async iteration ends quietly after a refused frame (closed for
    #: and logged already), where no server library wraps the handler to
    #: swallow the error (ASGI, aiohttp).
    _quiet_after_refusal: ClassVar[bool] = False

    def __init__(
        self,
        pipeline: Pipeline,
        mode: str,
        *,
        id: str,
        thread_threshold: int = THREAD_THRESHOLD,
        decode_budget: DecodeBudget | None = DecodeBudget(),
        executor: Executor | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.mode = mode
        self.id = id
        self.session: Session | None = pipeline.session(self.id) if mode == "session" else None
        self.thread_threshold = thread_threshold
        self._budget = (
            BudgetBucket(decode_budget, pipeline.max_message_size) if decode_budget else None
        )
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

    # -- transport ------------------------------------------------------------------

    async def _send_raw(self, frame: bytes) -> None:
        raise NotImplementedError

    async def _recv_raw(self) -> bytes | str:
        raise NotImplementedError

    async def _close_raw(self, code: int, reason: str) -> None:
        raise NotImplementedError

    def _log_refusal(self, code: int, exc: DecodeError) -> None:
        """Say that a frame was refused (servers do, rate-limited)."""

    def _ends_quietly(self, exc: BaseException) -> bool:
        """Whether async iteration ends without raising on this closed-connection error."""
        return False

    def _in_thread(self, fn: Callable[..., _T], *args: Any) -> asyncio.Future[_T]:
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor or shared_pool(), fn, *args)

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
                await self._send_raw(frame)
            finally:
                self._send_lock.release()
            return len(frame)
        # In a task of its own: if our caller is cancelled, a message the session
        # has coded is still sent, before any later one.
        task = asyncio.ensure_future(self._send_in_thread(encode))
        task.add_done_callback(retrieve)
        return await asyncio.shield(task)

    async def _send_in_thread(self, encode: Callable[[], bytes]) -> int:
        """Encode in a thread and send; called holding the send lock, releases it."""
        try:
            frame = await self._in_thread(encode)
            await self._send_raw(frame)
        finally:
            self._send_lock.release()
        return len(frame)

    async def send_frame(self, frame: bytes) -> None:
        """Send an already encoded stateless frame (see ``broadcast``)."""
        if self.session is not None:
            raise AuraError("send_frame is for stateless connections")
        await self._send_raw(frame)

    # -- receiving ------------------------------------------------------------------

    async def recv_frame(self) -> bytes:
        """Receive one frame, still encoded; on a text frame, close and raise."""
        frame = await self._recv_raw()
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
                future.add_done_callback(retrieve)
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
            exc = self._budget.exceeded()
            await self._refuse(exc, CLOSE_BUDGET, "decode budget spent")
            raise exc
        return data

    async def _refuse_decoding(self, exc: DecodeError) -> None:
        await self._refuse(exc, close_code(exc), close_reason(exc))

    async def recv(self) -> str:
        """Receive one message as text."""
        data = await self.recv_bytes()
        try:
            return as_text(data)
        except InvalidUtf8 as exc:
            await self._refuse(exc, CLOSE_INVALID, "message is not UTF-8 text")
            raise

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with ``code`` and ``reason``."""
        await self._close_raw(code, reason)

    async def _refuse(self, exc: DecodeError, code: int, reason: str) -> None:
        """Close for a bad frame; on a server, say so in one line (rate-limited)."""
        self._refused = exc
        self._log_refusal(code, exc)
        await self._close_raw(code, reason)

    def __aiter__(self) -> AsyncIterator[str]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str]:
        try:
            while True:
                yield await self.recv()
        except self._closed_errors as exc:
            if not self._ends_quietly(exc):
                raise
        except DecodeError as exc:
            if not (self._quiet_after_refusal and exc is self._refused):
                raise
