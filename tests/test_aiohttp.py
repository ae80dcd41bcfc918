"""The aiohttp adapter (auracodec.aiohttp), in aiohttp.web apps served on
127.0.0.1 by a real AppRunner and TCPSite, with our Python client (auracodec.websocket)."""

from __future__ import annotations

import asyncio
import difflib
import importlib.util
import logging
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp", reason="the aiohttp extra is not installed")
pytest.importorskip("websockets", reason="the websocket extra is not installed")

from aiohttp import web
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from auracodec import ConnectionClosed as AuraConnectionClosed
from auracodec import DecodeError, Pipeline
from auracodec.aiohttp import AiohttpConnection, accept
from auracodec.conformance import sample_messages
from auracodec.core.config import Config
from auracodec.core.store import Versions
from auracodec.websocket import HandshakeError, connect, subprotocol

PIPE = Pipeline.from_config()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EXAMPLE = Path(__file__).parent.parent / "examples" / "aiohttp_echo.py"
#: The same handler without auracodec: what the example is measured against.
PLAIN = """
from aiohttp import WSMsgType, web


async def chat(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(f"echo: {msg.data}")
    return ws


app = web.Application()
app.add_routes([web.get("/chat", chat)])

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=8000)
"""


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


@asynccontextmanager
async def aiohttp_server(handler: Handler | web.Application) -> AsyncIterator[int]:
    """Serve ``handler`` at ``/`` (or an app) on 127.0.0.1, on a free port; yields the port."""
    if isinstance(handler, web.Application):
        app = handler
    else:
        app = web.Application()
        app.add_routes([web.get("/", handler)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def _code_lines(text: str) -> list[str]:
    """Lines of code: no blank lines, comments or the module docstring."""
    body = text.split('"""', 2)[-1] if text.lstrip().startswith('"""') else text
    return [line.split("  #")[0].rstrip() for line in body.splitlines() if line.strip()]


def _example() -> Any:
    spec = importlib.util.spec_from_file_location("aiohttp_echo", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_aiohttp_example_adds_at_most_10_lines() -> None:
    example = _code_lines(EXAMPLE.read_text(encoding="utf-8"))
    added = [d for d in difflib.ndiff(_code_lines(PLAIN), example) if d.startswith("+ ")]
    assert len(added) <= 10, added
    assert len(added) == 8  # the figure docs/servers.md gives


def test_the_aiohttp_example_echoes_a_conversation_and_refuses_another_profile() -> None:
    example = _example()
    messages = [m.decode() for m in sample_messages()[:60]]
    other = Pipeline.from_config(codecs=["zstd"])

    async def main() -> list[str]:
        async with aiohttp_server(example.app) as port:
            with pytest.raises(HandshakeError, match=r"HTTP 400\): auracodec handshake refused"):
                async with connect(f"ws://127.0.0.1:{port}/chat", pipeline=other):
                    pass
            async with connect(f"ws://127.0.0.1:{port}/chat", pipeline=PIPE) as conn:
                got = []
                for m in messages:
                    await conn.send(m)
                    got.append(await conn.recv())
                return got

    assert run(main()) == [f"echo: {m}" for m in messages]


def _echo(pipeline: Pipeline | Versions, mode: str, seen: list[Any]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        conn = await accept(request, pipeline, mode=mode)
        seen.append(conn)
        try:
            async for message in conn:
                await conn.send(message[::-1])
        except DecodeError as exc:  # pragma: no cover - iteration ends quietly
            seen.append(exc)
        return conn.websocket

    return handler


@pytest.mark.parametrize("mode", ["session", "stateless"])
def test_conversation_in_each_mode(mode: str) -> None:
    messages = [m.decode() for m in sample_messages()[:80]]
    messages.append("x" * 5000)  # coded in worker threads at both ends
    seen: list[Any] = []

    async def main() -> list[str]:
        async with aiohttp_server(_echo(PIPE, mode, seen)) as port:
            async with connect(f"ws://127.0.0.1:{port}/", pipeline=PIPE, mode=mode) as conn:
                assert conn.ws.subprotocol == subprotocol(PIPE, mode)
                got = []
                for m in messages:
                    await conn.send(m)
                    got.append(await conn.recv())
                return got

    assert run(main()) == [m[::-1] for m in messages]
    (conn,) = seen
    assert isinstance(conn, AiohttpConnection) and conn.mode == mode
    assert (conn.session is not None) == (mode == "session")


def test_another_profile_is_refused_with_400_and_the_reason() -> None:
    other = Pipeline.from_config(codecs=["zstd"])
    seen: list[Any] = []

    async def main() -> None:
        async with aiohttp_server(_echo(PIPE, "session", seen)) as port:
            with pytest.raises(
                HandshakeError,
                match=rf"HTTP 400\): auracodec handshake refused: this server speaks "
                rf"auracodec\.1\.session\.{PIPE.fingerprint}; you offered "
                rf"auracodec\.1\.session\.{other.fingerprint}",
            ):
                async with connect(f"ws://127.0.0.1:{port}/", pipeline=other):
                    pass
            with pytest.raises(InvalidStatus) as info:
                async with ws_connect(f"ws://127.0.0.1:{port}/"):
                    pass
            assert info.value.response.status_code == 400
            assert (
                info.value.response.body
                == (
                    f"this endpoint speaks auracodec: offer the subprotocol {subprotocol(PIPE)}\n"
                ).encode()
            )
            # The server goes on serving.
            async with connect(f"ws://127.0.0.1:{port}/", pipeline=PIPE) as conn:
                await conn.send("still")
                assert await conn.recv() == "llits"

    run(main())
    assert len(seen) == 1


def test_several_versions_are_accepted_current_preferred() -> None:
    v1 = Pipeline.from_config(codecs=["zstd"])
    v2 = PIPE
    seen: list[Any] = []

    async def main() -> list[str]:
        fingerprints = []
        async with aiohttp_server(_echo(Versions.of(v2, v1), "session", seen)) as port:
            for pipeline in (Versions.of(v2, v1), v1, Versions.of(v1, v2)):
                async with connect(f"ws://127.0.0.1:{port}/", pipeline=pipeline) as conn:
                    await conn.send("hello")
                    assert await conn.recv() == "olleh"
                    fingerprints.append(conn.pipeline.fingerprint)
        return fingerprints

    got = run(main())
    assert got == [v2.fingerprint, v1.fingerprint, v2.fingerprint]
    assert [c.pipeline.fingerprint for c in seen] == got


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x99not a method", 1007),
        (b"\x04" + b"x" * 1001, 1009),  # decodes to more than max_message_size
        (b"\x04" + b"x" * 1007, 1009),  # the largest frame: read, then refused decoding
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

    async def main() -> int:
        async with aiohttp_server(_echo(small, "stateless", seen)) as port:
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

    with caplog.at_level(logging.WARNING, logger="auracodec.aiohttp"):
        assert run(main()) == code
    assert len(seen) == 1  # the handler ended quietly, no DecodeError escaped
    assert isinstance(seen[0]._refused, DecodeError)
    lines = [r.getMessage() for r in caplog.records if r.name == "auracodec.aiohttp"]
    assert len(lines) == 1 and f"closing with {code}" in lines[0]
    assert "from 127.0.0.1:" in lines[0]


def test_recv_raises_the_refused_error() -> None:
    caught: list[BaseException] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        conn = await accept(request, PIPE)
        try:
            await conn.recv()
        except DecodeError as exc:
            caught.append(exc)
        return conn.websocket

    async def main() -> None:
        async with aiohttp_server(handler) as port:
            async with connect(f"ws://127.0.0.1:{port}/", pipeline=PIPE) as conn:
                await conn.ws.send(b"\x99")
                with pytest.raises(ConnectionClosed):
                    await conn.recv()

    run(main())
    assert len(caught) == 1 and isinstance(caught[0], DecodeError)


@pytest.mark.parametrize(("code", "raises"), [(1000, False), (1001, False), (4000, True)])
def test_a_close_by_the_client_raises_auracodecs_connection_closed(code: int, raises: bool) -> None:
    """Iteration ends at 1000 and 1001, and raises at another code; recv and send
    raise once closed: auracodec.ConnectionClosed, as in the ASGI adapter."""
    seen: list[BaseException | str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        conn = await accept(request, PIPE)
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
        return conn.websocket

    async def main() -> None:
        async with aiohttp_server(handler) as port:
            async with connect(f"ws://127.0.0.1:{port}/", pipeline=PIPE) as conn:
                await conn.send("hello")
                await conn.close(code, "bye")
            for _ in range(400):
                if len(seen) == 4:
                    break
                await asyncio.sleep(0.05)

    run(main())
    # The message, the end of iteration (or its error), then recv's and send's errors.
    assert len(seen) == 4 and seen[0] == "hello", seen
    assert (seen[1] != "ended") is raises
    errors = seen[1:] if raises else seen[2:]
    for exc in errors:
        assert type(exc) is AuraConnectionClosed
        assert exc.code == code, exc
    assert str(errors[0]) == f"the WebSocket closed with {code}: bye"


def test_import_auracodec_works_without_aiohttp() -> None:
    code = """
        import sys

        class NotInstalled:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "aiohttp":
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NotInstalled())
        import auracodec, auracodec.negotiation
        pipe = auracodec.Pipeline.from_config()
        assert pipe.decode_bytes(pipe.encode("hello")) == b"hello"
        assert "aiohttp" not in sys.modules
        try:
            import auracodec.aiohttp
        except ModuleNotFoundError as exc:
            print(exc.name)
        """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "aiohttp"
