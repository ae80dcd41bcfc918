"""The WebSocket integration, against a real websockets server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

pytest.importorskip("websockets", reason="the websocket extra is not installed")

from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from auracodec import DecodeError, Pipeline, websocket
from auracodec.benchmark import permessage_deflate_sizes
from auracodec.conformance import sample_messages
from auracodec.core.config import Config
from auracodec.core.corpus import Sample, builtin_sample
from auracodec.websocket import (
    AuraConnection,
    HandshakeError,
    broadcast,
    connect,
    serve,
    subprotocol,
)

PIPE = Pipeline.from_config()


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


async def with_server(
    handler: Callable[[AuraConnection], Awaitable[None]],
    client: Callable[[int], Awaitable[Any]],
    pipeline: Pipeline = PIPE,
    mode: str = "session",
) -> Any:
    async with serve(handler, "127.0.0.1", 0, pipeline=pipeline, mode=mode) as server:
        port = server.sockets[0].getsockname()[1]
        return await client(port)


async def echo(conn: AuraConnection) -> None:
    async for message in conn:
        await conn.send(message)


def test_conversation_over_a_real_server() -> None:
    messages = [m.decode() for m in sample_messages()[:80]]

    async def client(port: int) -> list[str]:
        got = []
        async with connect(f"ws://127.0.0.1:{port}", pipeline=PIPE) as conn:
            assert conn.ws.subprotocol == subprotocol(PIPE)
            assert conn.ws.protocol.extensions == []  # permessage-deflate is off
            for m in messages:
                size = await conn.send(m)
                assert size <= len(m.encode()) + 1
                got.append(await conn.recv())
        return got

    assert run(with_server(echo, client)) == messages


def test_fingerprint_and_mode_mismatches_are_refused() -> None:
    other = Pipeline.from_config(codecs=["zstd"])

    async def client(port: int) -> None:
        with pytest.raises(
            HandshakeError,
            match=r"HTTP 400.*this server speaks "
            rf"auracodec\.1\.session\.{PIPE.fingerprint}",
        ):
            async with connect(f"ws://127.0.0.1:{port}", pipeline=other):
                pass
        with pytest.raises(HandshakeError, match=r"you offered auracodec\.1\.stateless"):
            async with connect(f"ws://127.0.0.1:{port}", pipeline=PIPE, mode="stateless"):
                pass
        with pytest.raises(InvalidStatus) as info:
            async with ws_connect(f"ws://127.0.0.1:{port}"):
                pass
        assert info.value.response.status_code == 400
        assert b"this endpoint speaks auracodec" in info.value.response.body

    run(with_server(echo, client))


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x99not a method", 1007),
        (b"\x04" + b"x" * 1001, 1009),
        ("text instead of bytes", 1003),
        (b"\x04not UTF-8 \xff", 1007),  # a valid frame whose message is not text
    ],
)
def test_bad_frames_close_with_the_right_code(frame: bytes | str, code: int) -> None:
    small = Pipeline.from_config(Config.from_mapping({"pipeline": {"max_message_size": 1000}}))
    seen: list[type[Exception]] = []

    async def handler(conn: AuraConnection) -> None:
        try:
            await conn.recv()
        except DecodeError as exc:
            seen.append(type(exc))

    async def client(port: int) -> int:
        async with ws_connect(
            f"ws://127.0.0.1:{port}", subprotocols=[subprotocol(small)], compression=None
        ) as ws:
            await ws.send(frame)
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None
            return info.value.rcvd.code

    assert run(with_server(handler, client, pipeline=small)) == code
    assert seen


def test_stateless_broadcast() -> None:
    connected: list[AuraConnection] = []

    async def scenario() -> list[str]:
        done = asyncio.Event()
        count = 3

        async def handler(conn: AuraConnection) -> None:
            connected.append(conn)
            if len(connected) == count:
                await broadcast(connected, "release 2.4.1 is out", PIPE)
            await done.wait()

        async with serve(handler, "127.0.0.1", 0, pipeline=PIPE, mode="stateless") as server:
            port = server.sockets[0].getsockname()[1]

            async def listener() -> str:
                async with connect(
                    f"ws://127.0.0.1:{port}", pipeline=PIPE, mode="stateless"
                ) as conn:
                    return await conn.recv()

            got = await asyncio.gather(*(listener() for _ in range(count)))
            done.set()
            return list(got)

    assert run(scenario()) == ["release 2.4.1 is out"] * 3


def test_deflate_emulation_matches_a_real_connection() -> None:
    """permessage-deflate bytes as counted on the wire of a real websockets
    connection (defaults, context takeover) equal the benchmark's emulation."""
    # One conversation, every turn sent by the client: one direction, one context.
    first = builtin_sample()[0].conv
    samples = [Sample(s.data, "c", "user") for s in builtin_sample() if s.conv == first]
    payloads, _, _, _ = permessage_deflate_sizes(samples)
    counted: list[int] = []

    async def scenario() -> None:
        async def plain(ws: Any) -> None:
            async for _ in ws:
                pass

        from websockets.asyncio.server import serve as ws_serve

        async with ws_serve(plain, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]

            async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", port)
                head = b""
                while b"\r\n\r\n" not in head:  # the HTTP upgrade request
                    head += await reader.read(1)
                upstream_w.write(head)

                async def forward(
                    r: asyncio.StreamReader, w: asyncio.StreamWriter, count: bool
                ) -> None:
                    while data := await r.read(65536):
                        if count:
                            counted.append(len(data))
                        w.write(data)
                        await w.drain()
                    w.close()

                await asyncio.gather(
                    forward(reader, upstream_w, True), forward(upstream_r, writer, False)
                )

            proxy = await asyncio.start_server(pipe, "127.0.0.1", 0)
            proxy_port = proxy.sockets[0].getsockname()[1]
            async with ws_connect(f"ws://127.0.0.1:{proxy_port}", ping_interval=None) as ws:
                for s in samples:
                    await ws.send(s.data.decode())
            proxy.close()

    run(scenario())
    # Client frames: 2-byte header (+2 or +8 for longer payloads) and a 4-byte
    # mask, then the payload; the close frame is 2 + 4 + 2 bytes.
    headers = sum(2 + 4 + (2 if 126 <= n < 65536 else 8 if n >= 65536 else 0) for n in payloads)
    assert sum(counted) == sum(payloads) + headers + 8


SMALL = Pipeline.from_config(Config.from_mapping({"pipeline": {"max_message_size": 1000}}))


async def send_bad_frame(port: int, frame: bytes | str) -> int:
    """Send one frame on a fresh connection; the close code the server answered with."""
    async with ws_connect(
        f"ws://127.0.0.1:{port}", subprotocols=[subprotocol(SMALL)], compression=None
    ) as ws:
        await ws.send(frame)
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None
        return info.value.rcvd.code


def test_bad_frames_are_one_log_line_each_rate_limited(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]
    throttle = websocket._Throttle(burst=3, interval=60.0, clock=lambda: now[0])
    monkeypatch.setattr(websocket, "_REFUSALS", throttle)
    frames: list[bytes | str] = [
        b"\x99not a method",
        b"\x04" + b"x" * 1001,
        "text instead of bytes",
        b"\x04not UTF-8 \xff",  # suppressed
        b"\x99again",  # suppressed
    ]

    async def client(port: int) -> list[int]:
        codes = [await send_bad_frame(port, frame) for frame in frames]
        now[0] += 60.0  # the next minute
        codes.append(await send_bad_frame(port, b"\x99a minute later"))
        return codes

    with caplog.at_level(logging.WARNING):
        codes = run(with_server(echo, client, pipeline=SMALL))
    assert codes == [1007, 1009, 1003, 1007, 1007, 1007]

    ours = [r for r in caplog.records if r.name == "auracodec.websocket"]
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in ours)
    lines = [r.getMessage() for r in ours]
    peer = r"refused a frame from 127\.0\.0\.1:\d+: closing with "
    assert re.fullmatch(peer + r"1007, UnknownMethod: unknown method id 0x99: .*", lines[0])
    assert re.fullmatch(
        peer + r"1009, OutputLimitExceeded: .* exceeds the output limit of 1000 bytes", lines[1]
    )
    assert re.fullmatch(
        peer + r"1003, DecodeError: received a text frame; auracodec frames are binary", lines[2]
    )
    assert lines[3] == "suppressed 2 similar: more than 3 refused frames in 60 s"
    assert re.fullmatch(peer + r"1007, UnknownMethod: .*", lines[4])
    assert len(lines) == 5
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if "connection handler failed" in r.getMessage()]


def test_a_handler_s_own_decode_error_still_fails_the_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only the errors recv raised for a refused frame end a handler quietly."""

    async def handler(conn: AuraConnection) -> None:
        await conn.recv()
        PIPE.decode(b"\x99")  # a bug in the handler, not a peer's bad frame

    async def client(port: int) -> None:
        async with connect(f"ws://127.0.0.1:{port}", pipeline=PIPE) as conn:
            await conn.send("hello")
            with pytest.raises(ConnectionClosed):
                await conn.recv()

    with caplog.at_level(logging.WARNING):
        run(with_server(handler, client))
    failed = [r for r in caplog.records if r.getMessage() == "connection handler failed"]
    assert len(failed) == 1 and failed[0].exc_info is not None
    assert not [r for r in caplog.records if r.name == "auracodec.websocket"]


def test_throttle_windows() -> None:
    now = [0.0]
    throttle = websocket._Throttle(burst=2, interval=10.0, clock=lambda: now[0])
    assert [throttle.admit() for _ in range(5)] == [0, 0, None, None, None]
    now[0] = 9.9
    assert throttle.admit() is None
    now[0] = 10.0
    assert [throttle.admit() for _ in range(3)] == [4, 0, None]
    now[0] = 25.0
    assert throttle.admit() == 1
