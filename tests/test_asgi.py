"""The ASGI adapter (auracodec.asgi), in FastAPI and Starlette apps served by a
real uvicorn on 127.0.0.1, with our Python client (auracodec.websocket)."""

from __future__ import annotations

import asyncio
import difflib
import importlib.util
import logging
import threading
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the asgi extra is not installed")
pytest.importorskip("uvicorn", reason="uvicorn is not installed")
pytest.importorskip("websockets", reason="the websocket extra is not installed")

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from asgi_servers import uvicorn_server
from auracodec import ConnectionClosed as AuraConnectionClosed
from auracodec import DecodeError, Pipeline
from auracodec.asgi import ASGIConnection, Disconnected, accept
from auracodec.conformance import sample_messages
from auracodec.core.config import Config
from auracodec.core.store import Versions
from auracodec.websocket import HandshakeError, connect, subprotocol

PIPE = Pipeline.from_config()
EXAMPLE = Path(__file__).parent.parent / "examples" / "fastapi_echo.py"
#: The same endpoint without auracodec: what the example is measured against.
PLAIN = """
from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/chat")
async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    async for message in websocket.iter_text():
        await websocket.send_text(f"echo: {message}")
"""


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def _code_lines(text: str) -> list[str]:
    """Lines of code: no blank lines, comments or the module docstring."""
    body = text.split('"""', 2)[-1] if text.lstrip().startswith('"""') else text
    return [line.split("  #")[0].rstrip() for line in body.splitlines() if line.strip()]


def test_the_fastapi_example_adds_at_most_10_lines() -> None:
    example = _code_lines(EXAMPLE.read_text(encoding="utf-8"))
    added = [d for d in difflib.ndiff(_code_lines(PLAIN), example) if d.startswith("+ ")]
    assert len(added) <= 10, added
    assert len(added) == 8  # the figure docs/servers.md gives


def _example_app() -> Any:
    spec = importlib.util.spec_from_file_location("fastapi_echo", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_the_fastapi_example_echoes_a_conversation() -> None:
    messages = [m.decode() for m in sample_messages()[:60]]

    async def client(port: int) -> list[str]:
        async with connect(f"ws://127.0.0.1:{port}/chat", pipeline=PIPE) as conn:
            assert conn.ws.subprotocol == subprotocol(PIPE)
            got = []
            for m in messages:
                await conn.send(m)
                got.append(await conn.recv())
            return got

    with uvicorn_server(_example_app()) as port:
        assert run(client(port)) == [f"echo: {m}" for m in messages]


def test_the_fastapi_example_refuses_another_profile_with_400_and_the_reason() -> None:
    other = Pipeline.from_config(codecs=["zstd"])

    async def client(port: int) -> None:
        with pytest.raises(
            HandshakeError,
            match=rf"HTTP 400\): auracodec handshake refused: this server speaks "
            rf"auracodec\.1\.session\.{PIPE.fingerprint}; you offered "
            rf"auracodec\.1\.session\.{other.fingerprint}",
        ):
            async with connect(f"ws://127.0.0.1:{port}/chat", pipeline=other):
                pass
        with pytest.raises(InvalidStatus) as info:
            async with ws_connect(f"ws://127.0.0.1:{port}/chat"):
                pass
        assert info.value.response.status_code == 400
        assert (
            info.value.response.body
            == (
                f"this endpoint speaks auracodec: offer the subprotocol {subprotocol(PIPE)}\n"
            ).encode()
        )

    with uvicorn_server(_example_app()) as port:
        run(client(port))


def _starlette(pipeline: Pipeline | Versions, mode: str, seen: list[Any]) -> Starlette:
    async def endpoint(websocket: WebSocket) -> None:
        conn = await accept(websocket, pipeline, mode=mode)
        if conn is None:
            return
        seen.append(conn)
        try:
            async for message in conn:
                await conn.send(message[::-1])
        except DecodeError as exc:  # pragma: no cover - iteration ends quietly
            seen.append(exc)

    return Starlette(routes=[WebSocketRoute("/", endpoint)])


@pytest.mark.parametrize("mode", ["session", "stateless"])
def test_conversation_in_each_mode(mode: str) -> None:
    messages = [m.decode() for m in sample_messages()[:80]]
    messages.append("x" * 5000)  # coded in worker threads at both ends
    seen: list[Any] = []

    async def client(port: int) -> list[str]:
        async with connect(f"ws://127.0.0.1:{port}/", pipeline=PIPE, mode=mode) as conn:
            got = []
            for m in messages:
                await conn.send(m)
                got.append(await conn.recv())
            return got

    with uvicorn_server(_starlette(PIPE, mode, seen)) as port:
        assert run(client(port)) == [m[::-1] for m in messages]
    (conn,) = seen
    assert isinstance(conn, ASGIConnection) and conn.mode == mode
    assert (conn.session is not None) == (mode == "session")


def test_several_versions_are_accepted_current_preferred() -> None:
    v1 = Pipeline.from_config(codecs=["zstd"])
    v2 = PIPE
    seen: list[Any] = []

    async def client(port: int) -> list[str]:
        fingerprints = []
        for pipeline in (Versions.of(v2, v1), v1, Versions.of(v1, v2)):
            async with connect(f"ws://127.0.0.1:{port}/", pipeline=pipeline) as conn:
                await conn.send("hello")
                assert await conn.recv() == "olleh"
                fingerprints.append(conn.pipeline.fingerprint)
        return fingerprints

    with uvicorn_server(_starlette(Versions.of(v2, v1), "session", seen)) as port:
        got = run(client(port))
    assert got == [v2.fingerprint, v1.fingerprint, v2.fingerprint]
    assert [c.pipeline.fingerprint for c in seen] == got


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x99not a method", 1007),
        (b"\x04" + b"x" * 1001, 1009),  # decodes to more than max_message_size
        (b"\x04" + b"x" * 5000, 1009),  # over the frame limit, not decoded
        ("text instead of bytes", 1003),
        (b"\x04not UTF-8 \xff", 1007),
    ],
)
def test_bad_frames_close_with_the_right_code(
    frame: bytes | str, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    small = Pipeline.from_config(Config.from_mapping({"pipeline": {"max_message_size": 1000}}))
    seen: list[Any] = []

    async def client(port: int) -> int:
        async with ws_connect(
            f"ws://127.0.0.1:{port}/",
            subprotocols=[subprotocol(small, "stateless")],  # type: ignore[list-item]
            compression=None,
        ) as ws:
            await ws.send(frame)
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None
            return info.value.rcvd.code

    with caplog.at_level(logging.WARNING, logger="auracodec.asgi"):
        with uvicorn_server(_starlette(small, "stateless", seen)) as port:
            assert run(client(port)) == code
    assert len(seen) == 1  # the endpoint ended quietly, no DecodeError escaped
    assert isinstance(seen[0]._refused, DecodeError)
    lines = [r.getMessage() for r in caplog.records if r.name == "auracodec.asgi"]
    assert len(lines) == 1 and f"closing with {code}" in lines[0]


def test_recv_raises_the_refused_error() -> None:
    caught: list[BaseException] = []

    async def endpoint(websocket: WebSocket) -> None:
        conn = await accept(websocket, PIPE)
        assert conn is not None
        try:
            await conn.recv()
        except DecodeError as exc:
            caught.append(exc)

    async def client(port: int) -> None:
        async with connect(f"ws://127.0.0.1:{port}/", pipeline=PIPE) as conn:
            await conn.ws.send(b"\x99")
            with pytest.raises(ConnectionClosed):
                await conn.recv()

    with uvicorn_server(Starlette(routes=[WebSocketRoute("/", endpoint)])) as port:
        run(client(port))
    assert len(caught) == 1 and isinstance(caught[0], DecodeError)


def test_without_the_denial_extension_the_refusal_closes_with_1008() -> None:
    """A server without websocket.http.response (uvicorn's, with the extension
    taken out of the scope): the refusal closes the handshake, the client gets 403."""
    other = Pipeline.from_config(codecs=["zstd"])
    inner = _example_app()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        extensions = dict(scope.get("extensions") or {})
        assert extensions.pop("websocket.http.response", None) is not None
        await inner({**scope, "extensions": extensions}, receive, send)

    async def client(port: int) -> None:
        with pytest.raises(HandshakeError, match=r"HTTP 403"):
            async with connect(f"ws://127.0.0.1:{port}/chat", pipeline=other):
                pass
        async with connect(f"ws://127.0.0.1:{port}/chat", pipeline=PIPE) as conn:
            await conn.send("still")
            assert await conn.recv() == "echo: still"

    with uvicorn_server(app) as port:
        run(client(port))


@pytest.mark.parametrize(("code", "raises"), [(1000, False), (1001, False), (4000, True)])
def test_a_close_by_the_client_raises_auracodecs_connection_closed(code: int, raises: bool) -> None:
    """Iteration ends at 1000 and 1001, and raises at another code; recv and send
    raise once closed: auracodec.ConnectionClosed (as in the aiohttp adapter),
    also Starlette's WebSocketDisconnect."""
    seen: list[BaseException | str] = []
    done = threading.Event()

    async def endpoint(websocket: WebSocket) -> None:
        conn = await accept(websocket, PIPE)
        assert conn is not None
        try:
            try:
                async for message in conn:
                    seen.append(message)
                seen.append("ended")
            except AuraConnectionClosed as exc:
                seen.append(exc)
            for call in (conn.recv(), conn.send("too late")):
                try:
                    await call
                except AuraConnectionClosed as exc:
                    seen.append(exc)
        finally:
            done.set()

    async def client(port: int) -> None:
        async with connect(f"ws://127.0.0.1:{port}/", pipeline=PIPE) as conn:
            await conn.send("hello")
            await conn.close(code, "bye")

    with uvicorn_server(Starlette(routes=[WebSocketRoute("/", endpoint)])) as port:
        run(client(port))
        assert done.wait(20)
    # The message, the end of iteration (or its error), then recv's and send's errors.
    assert len(seen) == 4 and seen[0] == "hello", seen
    assert (seen[1] != "ended") is raises
    errors = seen[1:] if raises else seen[2:]
    for exc in errors:
        assert isinstance(exc, Disconnected) and isinstance(exc, WebSocketDisconnect)
        assert (exc.code, exc.reason) == (code, "bye")
    assert str(errors[0]) == f"the WebSocket closed with {code}: bye"
