"""The WebSocket integration, against a real websockets server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
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
from auracodec.core.store import ProfileStore, Versions
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


def test_a_server_holding_several_profile_versions(tmp_path: Path) -> None:
    # Two versions of different fingerprints, in a store: v2 current.
    store = ProfileStore.create(tmp_path / "store")
    ids = []
    for codecs in (["zstd"], ["zstd", "brotli"]):
        profile = tmp_path / "-".join(codecs)
        profile.mkdir()
        (profile / "auracodec.toml").write_text(f"[pipeline]\ncodecs = {codecs!r}\n")
        ids.append(store.add(profile).id)
    versions = store.pipelines()
    v1 = Pipeline.from_config(f"{store.root}@{ids[0]}")
    v2 = Pipeline.from_config(store.root)
    assert list(versions) == [v2.fingerprint, v1.fingerprint]
    assert not versions.is_built(v1.fingerprint)
    served: list[str] = []
    messages = [m.decode() for m in sample_messages()[:20]]

    async def handler(conn: AuraConnection) -> None:
        served.append(conn.pipeline.fingerprint)
        await echo(conn)

    async def talk(port: int, pipeline: Pipeline | Versions) -> str:
        async with connect(f"ws://127.0.0.1:{port}", pipeline=pipeline) as conn:
            for m in messages:
                await conn.send(m)
                assert await conn.recv() == m
            return conn.pipeline.fingerprint

    async def clients(port: int) -> list[str]:
        agreed = [await talk(port, v2)]
        assert not versions.is_built(v1.fingerprint)  # until a peer needs it
        agreed.append(await talk(port, v1))  # a peer still on v1 keeps working
        assert versions.is_built(v1.fingerprint)
        # A client holding both, in either order, gets the server's current.
        agreed.append(await talk(port, Versions.of(v1, v2)))
        agreed.append(await talk(port, Versions.of(v2, v1)))
        other = Pipeline.from_config(codecs=["brotli"])
        with pytest.raises(
            HandshakeError,
            match=rf"this server speaks auracodec\.1\.session\.{v2.fingerprint} \(or, for "
            rf"earlier profile versions, auracodec\.1\.session\.{v1.fingerprint}\)",
        ):
            await talk(port, other)
        return agreed

    async def scenario() -> list[str]:
        async with serve(handler, "127.0.0.1", 0, pipeline=versions) as server:
            return await clients(server.sockets[0].getsockname()[1])

    expected = [v2.fingerprint, v1.fingerprint, v2.fingerprint, v2.fingerprint]
    assert run(scenario()) == expected
    assert served == expected


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


# -- threads, the decode budget, the connection cap -----------------------------------


def test_sends_and_receives_keep_their_order_across_threads() -> None:
    """Messages above the threshold are coded in threads, those below inline; sent
    concurrently from one connection, they still leave and arrive in order (a
    session frame out of order would not decode)."""
    sizes = [10, 700, 20, 3000, 5, 90, 2000, 64, 63, 1500] * 3
    messages = [
        f"{i:03d} " + "lorem ipsum dolor sit amet " * (n // 27 + 1) for i, n in enumerate(sizes)
    ]

    async def handler(conn: AuraConnection) -> None:
        async for message in conn:
            await conn.send(message)

    async def client(port: int) -> list[str]:
        async with connect(f"ws://127.0.0.1:{port}", pipeline=PIPE, thread_threshold=64) as conn:
            await asyncio.gather(*(conn.send(m) for m in messages))
            return [await conn.recv() for _ in messages]

    async def scenario() -> list[str]:
        async with serve(handler, "127.0.0.1", 0, pipeline=PIPE, thread_threshold=64) as server:
            return await client(server.sockets[0].getsockname()[1])

    assert run(scenario()) == messages


def test_decode_bound_decides_what_goes_to_a_thread() -> None:
    brio = PIPE.codecs["brio"]
    identity = PIPE.codecs["identity"]
    zstd = PIPE.codecs["zstd"]
    bounds: list[int] = []

    async def handler(conn: AuraConnection) -> None:
        for frame in (
            bytes([brio.method_id]) + b"x" * 10,
            b"\xff" + bytes([brio.method_id]) + b"x" * 10,  # isolated: the same bound
            bytes([identity.method_id]) + b"x" * 300,
            bytes([zstd.method_id]) + b"x" * 3,
            b"\xff\xff",  # a broken prefix: refused before any codec runs
        ):
            bounds.append(conn.decode_bound(frame))

    async def client(port: int) -> None:
        async with connect(f"ws://127.0.0.1:{port}", pipeline=PIPE) as conn:
            await conn.ws.wait_closed()

    run(with_server(handler, client))
    assert bounds == [32 * 10 + 128, 32 * 10 + 128, 300, PIPE.max_message_size, 0]


LIMIT = 64 * 1024
BIG = Pipeline.from_config(Config.from_mapping({"pipeline": {"max_message_size": LIMIT}}))


def bomb_frame() -> bytes:
    """A stateless BRIO frame that decodes to the whole limit, within BRIO's ratio
    cap: a repeated letter with one other letter every 16 bytes (ratio about 15)."""
    message = bytearray(b"a" * LIMIT)
    for i in range(0, LIMIT, 16):
        message[i] = 98 + (i * 7919 // 16) % 25
    brio = BIG.codecs["brio"]
    payload = brio.encode(bytes(message))
    assert payload is not None and len(payload) < LIMIT // 8
    return bytes([brio.method_id]) + payload


def test_a_decompression_bomb_spends_its_budget_while_others_are_served() -> None:
    frame = bomb_frame()
    budget = websocket.DecodeBudget(rate=4096, burst=3 * LIMIT + LIMIT // 2)

    async def handler(conn: AuraConnection) -> None:
        async for message in conn:
            await conn.send(str(len(message)))

    async def scenario() -> tuple[int, str, int, list[str]]:
        async with serve(
            handler, "127.0.0.1", 0, pipeline=BIG, mode="stateless", decode_budget=budget
        ) as server:
            port = server.sockets[0].getsockname()[1]
            bombing = asyncio.Event()

            async def bomber() -> tuple[int, str, int]:
                async with ws_connect(
                    f"ws://127.0.0.1:{port}",
                    subprotocols=[subprotocol(BIG, "stateless")],
                    compression=None,
                    max_size=None,
                ) as ws:
                    bombing.set()
                    answers = 0
                    with pytest.raises(ConnectionClosed) as info:
                        for _ in range(20):
                            await ws.send(frame)
                        while True:
                            await ws.recv()
                            answers += 1
                    assert info.value.rcvd is not None
                    return info.value.rcvd.code, info.value.rcvd.reason, answers

            async def victim() -> list[str]:
                # Round trips while the bombs arrive: each gets its echo.
                async with connect(
                    f"ws://127.0.0.1:{port}", pipeline=BIG, mode="stateless"
                ) as conn:
                    await bombing.wait()
                    got = []
                    for i in range(20):
                        await conn.send(f"ping {i}")
                        got.append(await conn.recv())
                    return got

            (code, reason, answers), got = await asyncio.gather(bomber(), victim())
            return code, reason, answers, got

    code, reason, answers, got = run(scenario())
    assert (code, reason) == (websocket.CLOSE_BUDGET, "decode budget spent")
    assert answers == 3  # the burst let three whole-limit messages through
    assert got == [str(len(f"ping {i}")) for i in range(20)]


def test_budget_refusal_is_logged_and_raised(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[BaseException] = []

    async def handler(conn: AuraConnection) -> None:
        try:
            while True:
                await conn.recv()
        except DecodeError as exc:
            seen.append(exc)

    async def client(port: int) -> int:
        async with connect(f"ws://127.0.0.1:{port}", pipeline=PIPE) as conn:
            with pytest.raises(ConnectionClosed) as info:
                for _ in range(5):
                    await conn.send("x" * 400)
                await conn.recv()
            assert info.value.rcvd is not None
            return info.value.rcvd.code

    async def scenario() -> int:
        budget = websocket.DecodeBudget(rate=1, burst=1000)
        async with serve(handler, "127.0.0.1", 0, pipeline=PIPE, decode_budget=budget) as server:
            return await client(server.sockets[0].getsockname()[1])

    with caplog.at_level(logging.WARNING):
        assert run(scenario()) == 4008
    assert len(seen) == 1 and isinstance(seen[0], websocket.DecodeBudgetExceeded)
    assert str(seen[0]) == (
        "decode budget spent: the peer's frames decoded to more than 1000 bytes at once, "
        "or 1 bytes/s sustained"
    )
    assert any("closing with 4008, DecodeBudgetExceeded" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rate": 0}, "rate must be more than 0 bytes/s, got 0"),
        ({"burst": 0}, "burst must be at least 1 byte, got 0"),
    ],
)
def test_decode_budget_is_checked(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        websocket.DecodeBudget(**kwargs)


def test_connections_beyond_the_cap_are_refused_with_503() -> None:
    async def handler(conn: AuraConnection) -> None:
        async for message in conn:
            await conn.send(message)

    async def scenario() -> None:
        async with serve(handler, "127.0.0.1", 0, pipeline=PIPE, max_connections=2) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            async with connect(url, pipeline=PIPE) as one, connect(url, pipeline=PIPE) as two:
                with pytest.raises(HandshakeError, match=r"HTTP 503.*at most 2 connections"):
                    async with connect(url, pipeline=PIPE):
                        pass
                with pytest.raises(InvalidStatus) as info:
                    async with ws_connect(url, subprotocols=[subprotocol(PIPE)]):
                        pass
                assert info.value.response.status_code == 503
                await one.send("still served")
                assert await one.recv() == "still served"
                await two.close()
            # Both closed: there is room again.
            async with connect(url, pipeline=PIPE) as three:
                await three.send("room again")
                assert await three.recv() == "room again"

    run(scenario())
    with pytest.raises(ValueError, match="max_connections must be at least 1 or None, got 0"):
        serve(echo, "127.0.0.1", 0, pipeline=PIPE, max_connections=0)


def test_recv_cancelled_during_a_threaded_decode_loses_nothing() -> None:
    """A recv cancelled while its frame decodes in a thread: the next recv
    returns that message, and the session stays in step."""
    messages = ["hello", "z" * 300_000 + "!", "after the big one", "q" * 50_000, "end"]

    async def handler(conn: AuraConnection) -> None:
        for m in messages:
            await conn.send(m)
        await conn.ws.wait_closed()

    async def client(port: int) -> tuple[list[str], int]:
        got: list[str] = []
        cancelled = 0
        async with connect(f"ws://127.0.0.1:{port}", pipeline=PIPE, thread_threshold=16) as conn:
            while len(got) < len(messages):
                try:
                    got.append(await asyncio.wait_for(conn.recv(), 0.0005))
                except TimeoutError:
                    cancelled += 1
        return got, cancelled

    got, _ = run(with_server(handler, client))
    assert got == messages
