"""Conversations replayed over a real WebSocket server on 127.0.0.1.

What ``auracodec demo`` and ``auracodec stress`` run. A server and clients in
one process exchange the turns of real conversations: the client sends the
user's turns, the server the assistant's, each over an auracodec session
(``auracodec.websocket``). Every message is checked against the script on
arrival, so a lost or altered message is counted, never missed. Bytes on the
wire are compared with permessage-deflate (RFC 7692) at websockets' defaults
on the same messages, emulated with the same zlib settings websockets uses
(``auracodec.benchmark.permessage_deflate_sizes``; a test checks it against
websockets' own extension byte for byte).
"""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from .benchmark import PMD_MEM_LEVEL, PMD_WINDOW_BITS
from .core.corpus import CLIENT_ROLES, Sample
from .core.framing import SessionFrame
from .core.pipeline import Pipeline
from .core.session import Session
from .core.stats import Percentiles
from .websocket import THREAD_THRESHOLD, AuraConnection, connect, serve

__all__ = ["Turn", "conversations", "demo", "stress"]


@attrs.frozen
class Turn:
    """One message of a script: who sends it and what."""

    from_client: bool
    data: bytes


def conversations(samples: Sequence[Sample], min_turns: int = 2) -> list[list[Turn]]:
    """Group samples into conversations (``conv``), in corpus order.

    Samples without a conversation id are cut into runs of eight that
    alternate between the two sides, so any corpus can be replayed.
    """
    grouped: dict[str, list[Turn]] = {}
    loose: list[Sample] = []
    for s in samples:
        if s.conv is None:
            loose.append(s)
            continue
        grouped.setdefault(s.conv, []).append(Turn(s.role in CLIENT_ROLES, s.data))
    out = [turns for turns in grouped.values() if len(turns) >= min_turns]
    for i in range(0, len(loose), 8):
        run = [Turn(j % 2 == 0, s.data) for j, s in enumerate(loose[i : i + 8])]
        if len(run) >= min_turns:
            out.append(run)
    return out


@attrs.frozen
class Exchange:
    """One message as it crossed the wire."""

    from_client: bool
    size: int
    frame_size: int
    method: str
    verified: bool
    encode_ns: int
    decode_ns: int
    preview: str = ""


class _Deflate:
    """permessage-deflate with context takeover for one direction (websockets' defaults)."""

    def __init__(self) -> None:
        self._c = zlib.compressobj(wbits=-PMD_WINDOW_BITS, memLevel=PMD_MEM_LEVEL)

    def size(self, data: bytes) -> int:
        out = self._c.compress(data) + self._c.flush(zlib.Z_SYNC_FLUSH)
        return len(out) - 4  # the sync flush's empty block is not sent


def _method(session: Session, frame: bytes) -> str:
    return session.stats.name_of(SessionFrame.parse(frame).method_id)


async def _play(
    conn: AuraConnection,
    script: Sequence[Turn],
    as_client: bool,
    log: list[Exchange] | None,
    timeout: float,
) -> tuple[int, int]:
    """Play one side of a script; returns (lost, altered) as seen by this side."""
    session = conn.session
    assert session is not None
    lost = altered = 0
    for turn in script:
        if turn.from_client == as_client:
            start = time.perf_counter_ns()
            frame = session.encode(turn.data)
            encode_ns = time.perf_counter_ns() - start
            await conn.ws.send(frame)
            if log is not None:
                log.append(
                    Exchange(
                        as_client,
                        len(turn.data),
                        len(frame),
                        _method(session, frame),
                        True,
                        encode_ns,
                        0,
                        _preview(turn.data),
                    )
                )
        else:
            try:
                frame = await asyncio.wait_for(conn.recv_frame(), timeout)
            except TimeoutError:
                lost += 1
                break
            start = time.perf_counter_ns()
            data = session.decode_bytes(frame)
            decode_ns = time.perf_counter_ns() - start
            ok = data == turn.data
            altered += not ok
            if log is not None:
                log.append(
                    Exchange(
                        turn.from_client,
                        len(data),
                        len(frame),
                        _method(session, frame),
                        ok,
                        0,
                        decode_ns,
                        _preview(turn.data),
                    )
                )
    return lost, altered


def _preview(data: bytes, width: int = 48) -> str:
    text = data.decode("utf-8", "replace").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


# -- demo ---------------------------------------------------------------------------


@attrs.frozen
class DemoResult:
    exchanges: list[Exchange]
    deflate_bytes: int
    stateless_bytes: int

    @property
    def message_bytes(self) -> int:
        return sum(e.size for e in self.exchanges)

    @property
    def frame_bytes(self) -> int:
        return sum(e.frame_size for e in self.exchanges)


async def demo(pipeline: Pipeline, script: Sequence[Turn]) -> DemoResult:
    """Play one conversation over a loopback server; report every message."""
    server_log: list[Exchange] = []
    client_log: list[Exchange] = []

    async def handler(conn: AuraConnection) -> None:
        await _play(conn, script, False, server_log, 30.0)

    async with serve(handler, "127.0.0.1", 0, pipeline=pipeline) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", pipeline=pipeline) as conn:
            await _play(conn, script, True, client_log, 30.0)
    # Each message appears once as sent and once as received; keep the
    # receiver's view (verified) with the sender's encode time.
    sent = [e for e in client_log + server_log if e.encode_ns]
    received = [e for e in client_log + server_log if not e.encode_ns]
    by_order = []
    for turn in script:
        s = next(e for e in sent if e.from_client == turn.from_client)
        sent.remove(s)
        r = next((e for e in received if e.from_client == turn.from_client), None)
        if r is not None:
            received.remove(r)
        by_order.append(
            attrs.evolve(
                s, verified=r is not None and r.verified, decode_ns=r.decode_ns if r else 0
            )
        )
    deflate = {True: _Deflate(), False: _Deflate()}
    stateless = sum(len(pipeline.encode(t.data)) for t in script)
    return DemoResult(by_order, sum(deflate[t.from_client].size(t.data) for t in script), stateless)


# -- stress ---------------------------------------------------------------------------


_NO_SAMPLES = Percentiles.of([])


@attrs.frozen
class StressResult:
    users: int
    messages: int
    warmup: int
    seconds: float
    message_bytes: int
    frame_bytes: int
    deflate_bytes: int
    methods: dict[str, int]
    encode_us: Percentiles
    decode_us: Percentiles
    round_trip_us: Percentiles
    lost: int
    altered: int
    errors: list[str]
    #: How late the server's event loop woke from a sleep of
    #: ``lag_interval_ms``, sampled throughout the run. The server has its own
    #: loop in its own thread; the clients' loop is the calling thread's.
    loop_lag_us: Percentiles = _NO_SAMPLES
    client_loop_lag_us: Percentiles = _NO_SAMPLES
    lag_interval_ms: float = 0.0

    @property
    def ratio(self) -> float:
        return self.message_bytes / self.frame_bytes if self.frame_bytes else 0.0

    @property
    def bytes_vs_deflate(self) -> float | None:
        """auracodec's bytes as a share of permessage-deflate's (``None``: nothing sent)."""
        return _share(self.frame_bytes, self.deflate_bytes)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON types; a ratio is ``None`` when no message got through."""
        d = attrs.asdict(self)
        for key, value in (
            ("ratio", _share(self.message_bytes, self.frame_bytes)),
            ("deflate_ratio", _share(self.message_bytes, self.deflate_bytes)),
            ("bytes_vs_deflate", self.bytes_vs_deflate),
        ):
            d[key] = None if value is None else round(value, 4)
        return d


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


#: The lag monitor's sleep, in seconds.
LAG_INTERVAL = 0.002


async def _lag_monitor(samples: list[int], interval: float = LAG_INTERVAL) -> None:
    """Sleep ``interval`` again and again; record how late each wake-up is (ns).

    A loop that runs a long callback (an encode, a decode) wakes the monitor
    late by that long: the lag every other connection sees.
    """
    target = int(interval * 1e9)
    while True:
        start = time.perf_counter_ns()
        await asyncio.sleep(interval)
        samples.append(max(0, time.perf_counter_ns() - start - target))


class _ServerThread:
    """An auracodec server on 127.0.0.1 with its own event loop, in its own
    thread, and a lag monitor on that loop: the clients' work does not run on
    the loop measured (their Python still shares the GIL)."""

    def __init__(
        self,
        handler: Callable[[AuraConnection], Any],
        pipeline: Pipeline,
        thread_threshold: int,
    ) -> None:
        self.lags: list[int] = []
        self.port = 0
        self._handler = handler
        self._pipeline = pipeline
        self._threshold = thread_threshold
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="auracodec-stress-server")

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            self._failed = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        monitor = asyncio.create_task(_lag_monitor(self.lags))
        try:
            async with serve(
                self._handler,
                "127.0.0.1",
                0,
                pipeline=self._pipeline,
                thread_threshold=self._threshold,
            ) as server:
                self.port = server.sockets[0].getsockname()[1]
                self._ready.set()
                await self._stop.wait()
        finally:
            monitor.cancel()

    async def __aenter__(self) -> _ServerThread:
        self._thread.start()
        await asyncio.to_thread(self._ready.wait)
        if self._failed is not None:
            raise self._failed
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        await asyncio.to_thread(self._thread.join)


async def stress(
    pipeline: Pipeline,
    scripts: Sequence[Sequence[Turn]],
    *,
    users: int,
    messages: int,
    warmup: int = 5,
    timeout: float = 300.0,
    progress: Callable[[int], None] | None = None,
    thread_threshold: int = THREAD_THRESHOLD,
) -> StressResult:
    """``users`` concurrent clients each exchange ``messages`` messages.

    Client ``i`` replays the scripts from ``i`` on, round robin, until it has
    exchanged ``messages`` messages (both directions); the first ``warmup``
    of each client are left out of the latency figures. Everything stops
    after ``timeout`` seconds; what did not arrive by then counts as lost, so
    every planned message is either counted or lost.

    The server runs on its own event loop in its own thread, with
    ``auracodec.websocket``'s helpers (``thread_threshold`` passed on), and a
    monitor measures that loop's lag; the clients run on the calling loop,
    which is monitored too.
    """
    if not scripts:
        raise ValueError("no conversations to replay")
    plans = [_plan(scripts, i, messages) for i in range(users)]
    totals: Counter[str] = Counter()
    enc: list[int] = []
    dec: list[int] = []
    rtt: list[int] = []
    sizes = [0, 0, 0]  # message bytes, frame bytes, deflate bytes
    # Messages each client got through. Lost ones are counted from these once
    # every client is done, however it ended: a client cancelled at the timeout
    # (CancelledError is no Exception) or before it even started counts too.
    seen = [0] * users
    altered = 0
    errors: list[str] = []
    lock = threading.Lock()  # the server thread counts too

    def count_altered() -> None:
        nonlocal altered
        with lock:
            altered += 1

    async def server_side(conn: AuraConnection) -> None:
        user = int(conn.ws.request.path.strip("/"))  # type: ignore[union-attr]
        try:
            await _serve_plan(conn, plans[user], count_altered)
        except Exception as exc:  # noqa: BLE001 - reported, the run goes on
            errors.append(f"server, user {user}: {type(exc).__name__}: {exc}")

    async def client_side(user: int, port: int) -> None:
        nonlocal altered
        deflate = {True: _Deflate(), False: _Deflate()}
        try:
            async with connect(f"ws://127.0.0.1:{port}/{user}", pipeline=pipeline) as conn:
                session = conn.session
                assert session is not None
                sent_at = 0
                for turn in plans[user]:
                    counted = seen[user] >= warmup
                    if turn.from_client:
                        start = time.perf_counter_ns()
                        frame = session.encode(turn.data)
                        took = time.perf_counter_ns() - start
                        sent_at = time.perf_counter_ns()
                        await conn.ws.send(frame)
                        if counted:
                            enc.append(took)
                    else:
                        try:
                            frame = await asyncio.wait_for(conn.recv_frame(), 30.0)
                        except TimeoutError:
                            break  # lost, with the rest not seen
                        start = time.perf_counter_ns()
                        data = session.decode_bytes(frame)
                        took = time.perf_counter_ns() - start
                        if counted:
                            dec.append(took)
                            if sent_at:
                                rtt.append(time.perf_counter_ns() - sent_at)
                        sent_at = 0
                        if data != turn.data:
                            count_altered()
                    totals[_method(session, frame)] += 1
                    sizes[0] += len(turn.data)
                    sizes[1] += len(frame)
                    sizes[2] += deflate[turn.from_client].size(turn.data)
                    seen[user] += 1
                    if progress:
                        progress(1)
        except Exception as exc:  # noqa: BLE001 - reported, the run goes on
            errors.append(f"client {user}: {type(exc).__name__}: {exc}")

    started = time.perf_counter()
    client_lags: list[int] = []
    async with _ServerThread(server_side, pipeline, thread_threshold) as server:
        monitor = asyncio.create_task(_lag_monitor(client_lags))
        tasks = [asyncio.create_task(client_side(u, server.port)) for u in range(users)]
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for t in pending:
            t.cancel()
        if pending:
            errors.append(f"{len(pending)} clients did not finish within {timeout:g} s")
            await asyncio.gather(*pending, return_exceptions=True)
        monitor.cancel()
    return StressResult(
        users=users,
        messages=sum(len(p) for p in plans),
        warmup=warmup,
        seconds=round(time.perf_counter() - started, 3),
        message_bytes=sizes[0],
        frame_bytes=sizes[1],
        deflate_bytes=sizes[2],
        methods=dict(totals),
        encode_us=Percentiles.of(enc),
        decode_us=Percentiles.of(dec),
        round_trip_us=Percentiles.of(rtt),
        lost=sum(len(plan) - n for plan, n in zip(plans, seen, strict=True)),
        altered=altered,
        errors=errors,
        loop_lag_us=Percentiles.of(server.lags),
        client_loop_lag_us=Percentiles.of(client_lags),
        lag_interval_ms=LAG_INTERVAL * 1000,
    )


def _plan(scripts: Sequence[Sequence[Turn]], user: int, messages: int) -> list[Turn]:
    plan: list[Turn] = []
    i = user
    while len(plan) < messages:
        plan.extend(scripts[i % len(scripts)])
        i += 1
    return plan[:messages]


async def _serve_plan(
    conn: AuraConnection, plan: Sequence[Turn], altered: Callable[[], None]
) -> None:
    """Play the server's side of a plan; call ``altered()`` for each message that
    arrived altered, as it arrives (the run may be cut short)."""
    for turn in plan:
        if turn.from_client:
            if await asyncio.wait_for(conn.recv_bytes(), 30.0) != turn.data:
                altered()
        else:
            await conn.send(turn.data)
