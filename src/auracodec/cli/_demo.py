"""``auracodec demo``: one conversation over a loopback WebSocket server, message by message.

``auracodec demo --browser`` plays it to a web page instead: the page, the
JavaScript client (``auracodec.js`` + ``auracodec.wasm``, shipped in the wheel
under ``auracodec/data/js/``) and the profile's artifacts over a small HTTP
server, the conversation over an auracodec WebSocket server in session mode,
both on 127.0.0.1 (see ``docs/javascript.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.corpus import CLIENT_ROLES, builtin_sample, read_corpus
from ..core.errors import AuraError
from ..core.pipeline import Pipeline
from ._command import (
    Failed,
    Subparsers,
    add_command,
    add_config_option,
    describe,
    load_pipeline,
    websockets_needed,
)
from ._output import report_console


def add_parser(sub: Subparsers) -> None:
    c = add_command(sub, "demo", "Replay a conversation over a loopback WebSocket server.", run)
    c.add_argument("corpus", nargs="*", metavar="CORPUS", help="default: the built-in sample")
    add_config_option(c)
    c.add_argument(
        "--conv",
        metavar="ID",
        help="the conversation to replay (default: a long chat conversation)",
    )
    b = c.add_argument_group(
        "browser",
        "--browser serves a page on 127.0.0.1 that decodes the conversation in the browser "
        "(the JavaScript client); docs/javascript.md",
    )
    b.add_argument(
        "--browser",
        action="store_true",
        help="serve the page, the JavaScript client and the profile over HTTP, and the "
        "conversation over an auracodec WebSocket; print the URL; run until Ctrl-C",
    )
    b.add_argument("--host", default="127.0.0.1", help="where to listen (HTTP and WebSocket)")
    b.add_argument("--port", type=int, default=8765, help="the HTTP port (0: any free one)")
    b.add_argument(
        "--seconds",
        type=float,
        metavar="N",
        help="stop after N seconds instead of at Ctrl-C",
    )
    b.add_argument(
        "--delay",
        type=float,
        default=0.3,
        metavar="S",
        help="seconds between the server's messages, to watch them arrive",
    )


def run(args: argparse.Namespace, err: Console) -> int:
    websockets_needed()
    from ..loopback import Turn, conversations, demo

    pipe = None if args.browser else load_pipeline(args)
    samples = read_corpus(args.corpus) if args.corpus else builtin_sample()
    if args.conv:
        script = [Turn(s.role in CLIENT_ROLES, s.data) for s in samples if s.conv == args.conv]
        if not script:
            raise AuraError(f"no conversation {args.conv!r} in the corpus")
    else:
        chats = [
            t
            for t in conversations(samples)
            if any(turn.from_client for turn in t) and not all(turn.from_client for turn in t)
        ]
        if not chats:
            raise AuraError("the corpus holds no two-sided conversation")
        script = max(chats, key=lambda t: (len(t), sum(len(x.data) for x in t)))
    if args.browser:
        return run_browser(args, script, err)
    assert pipe is not None
    err.print(f"pipeline: {describe(pipe)}")
    result = asyncio.run(demo(pipe, script))
    t = Table(
        title="one conversation over ws://127.0.0.1 (auracodec session)", title_justify="left"
    )
    t.add_column("#", justify="right")
    t.add_column("from")
    t.add_column("message")
    t.add_column("method")
    for col in ("bytes", "frame", "ratio"):
        t.add_column(col, justify="right")
    t.add_column("verified")
    for i, e in enumerate(result.exchanges, 1):
        t.add_row(
            str(i),
            "client" if e.from_client else "server",
            Text(e.preview),  # the corpus's text, never read as markup
            Text(e.method),
            str(e.size),
            str(e.frame_size),
            f"{e.size / e.frame_size:.2f}",
            Text("yes") if e.verified else Text("NO", style="red"),
        )
    out = report_console()
    out.print(t)
    total, frames = result.message_bytes, result.frame_bytes
    out.print(
        f"{len(result.exchanges)} messages, {total} bytes: auracodec session {frames} bytes "
        f"(ratio {total / frames:.2f}); the same pipeline without session context "
        f"{result.stateless_bytes}; permessage-deflate (websockets defaults, context "
        f"takeover) {result.deflate_bytes} bytes (ratio {total / result.deflate_bytes:.2f})"
    )
    if not all(e.verified for e in result.exchanges):
        raise Failed("some messages arrived altered")
    return 0


# -- auracodec demo --browser ---------------------------------------------------------

#: The codecs the JavaScript client has; the demo's pipeline keeps only these.
JS_CODECS = ("binary_semantic", "brio", "brotli", "identity", "zstd")
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".toml": "text/plain; charset=utf-8",
}
_PAGE = ("demo.html", "demo.mjs")
_CLIENT = ("auracodec.js", "auracodec.wasm")


def js_assets() -> tuple[dict[str, Path], str]:
    """The files the page needs, by name, and where they come from.

    The wheel ships them in ``auracodec/data/js/`` (``npm run build`` in
    ``js/`` copies the client there; ``npm run check:assets`` says whether the
    copies are current). In a source checkout whose ``js/dist`` holds a build,
    that build is used instead, so the page runs what ``js/`` last built.
    """
    from importlib.resources import files

    data = Path(str(files("auracodec") / "data" / "js"))
    found = {name: data / name for name in _PAGE + _CLIENT}
    where = str(data)
    dist = Path(__file__).resolve().parents[3] / "js" / "dist"
    if all((dist / name).is_file() for name in _CLIENT):
        found.update({name: dist / name for name in _CLIENT})
        where = f"{data} (page) and {dist} (client, a source checkout's build)"
    missing = [name for name, path in found.items() if not path.is_file()]
    if missing:
        raise AuraError(
            f"the browser demo's files are missing ({', '.join(missing)} in {data}): this "
            "installation has no JavaScript client. In a source checkout, build it: "
            "cd js && npm ci && npm run build (copies it into src/auracodec/data/js/)"
        )
    return found, where


def _profile_files(config: str | None, codecs: list[str]) -> tuple[bytes, dict[str, Path]]:
    """The ``auracodec.toml`` the page loads (its codecs pinned to ``codecs``) and
    the artifacts it names, by name: the only other files of the profile served
    (never a training state, or anything else that lies beside the profile)."""
    import tomllib

    from ..core.config import dump_toml
    from ..core.refs import locate
    from ..core.store import referenced_files

    if config is None:
        data: dict[str, Any] = {}
        files: dict[str, Path] = {}
    else:
        path = locate(config) or Path(config)
        if path.is_dir():
            path = path / "auracodec.toml"
        if path.name == "pyproject.toml":
            raise AuraError(
                "--browser needs a profile directory or its auracodec.toml, not pyproject.toml"
            )
        with path.open("rb") as f:
            data = tomllib.load(f)
        base = path.parent.resolve()
        files = {name: base / name for name in referenced_files(data, base)}
    data.setdefault("pipeline", {})["codecs"] = codecs
    header = (
        "auracodec demo --browser: the profile's config, its codecs pinned to the demo's pipeline"
    )
    return dump_toml(data, header).encode(), files


class _Show:
    """What the server tells the page: the conversation and the WebSocket's URL.

    Client turns carry their text (the page sends them); server turns carry
    only their size and SHA-256, which the page compares with what it decodes:
    the check comes over this side channel (HTTP), never from the frames.
    """

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.ws_url = ""
        self.reports: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def conversation(self) -> bytes:
        turns = []
        for turn in self.script:
            entry: dict[str, Any] = {
                "from": "client" if turn.from_client else "server",
                "bytes": len(turn.data),
            }
            if turn.from_client:
                entry["text"] = turn.data.decode("utf-8", "surrogateescape")
            else:
                entry["sha256"] = hashlib.sha256(turn.data).hexdigest()
            turns.append(entry)
        return json.dumps({"ws": self.ws_url, "turns": turns}, ensure_ascii=False).encode()


def _http_handler(
    show: _Show, assets: dict[str, Path], toml: bytes, files: dict[str, Path], out: Console
) -> type:
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        server_version = "auracodec-demo"

        def log_message(self, format: str, *args: Any) -> None:  # no access log
            pass

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            name = "demo.html" if path == "/" else path.lstrip("/")
            if name in assets:
                file = assets[name]
                return self._send(
                    200, file.read_bytes(), _TYPES.get(file.suffix, "application/octet-stream")
                )
            if name == "favicon.ico":
                return self._send(204, b"", "image/x-icon")
            if name == "conversation.json":
                return self._send(200, show.conversation(), _TYPES[".json"])
            if name == "profile/auracodec.toml":
                return self._send(200, toml, _TYPES[".toml"])
            artifact = files.get(name[len("profile/") :]) if name.startswith("profile/") else None
            if artifact is not None:
                return self._send(200, artifact.read_bytes(), "application/octet-stream")
            self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            if self.path != "/report":
                return self._send(404, b"not found", "text/plain")
            body = self.rfile.read(min(int(self.headers.get("Content-Length", 0)), 1 << 16))
            try:
                report = json.loads(body)
                verified, total = int(report["verified"]), int(report["total"])
            except (ValueError, KeyError, TypeError):
                return self._send(400, b"bad report", "text/plain")
            with show.lock:
                show.reports.append(
                    {
                        "verified": verified,
                        "total": total,
                        "agent": str(report.get("agent", ""))[:200],
                    }
                )
            out.print(f"browser: {verified} of {total} messages verified in the page")
            self._send(204, b"", "text/plain")

    return Handler


def run_browser(args: argparse.Namespace, script: list[Any], err: Console) -> int:
    from http.server import ThreadingHTTPServer

    from ..websocket import serve

    assets, where = js_assets()
    full = Pipeline.from_config(args.config)
    keep = [name for name in full.codecs if name in JS_CODECS]
    dropped = [name for name in full.codecs if name not in JS_CODECS and name != "raw"]
    pipe = Pipeline.from_config(args.config, codecs=keep) if dropped else full
    if dropped:
        err.print(f"not in the JavaScript client, left out: {', '.join(dropped)}")
    toml, files = _profile_files(args.config, keep)
    err.print(f"pipeline: {describe(pipe)}")
    err.print(f"JavaScript client: {where}")
    out = report_console()
    show = _Show(script)
    served: list[int] = []

    async def handler(conn: Any) -> None:
        session = conn.session
        n = len(served) + 1
        served.append(0)
        for i, turn in enumerate(script):
            if turn.from_client:
                data = await conn.recv_bytes()
                if data != turn.data:
                    out.print(f"conversation {n}: message {i + 1} from the page DIFFERS")
                    await conn.close(4001, f"message {i + 1} differs")
                    return
                served[-1] += 1
            else:
                if args.delay > 0:
                    await asyncio.sleep(args.delay)
                await conn.ws.send(session.encode(turn.data))
        # Every message from the page arrived as sent: say so, and close.
        await conn.close(1000, f"the server verified {served[-1]} messages")
        out.print(
            f"conversation {n}: {len(script)} messages; "
            f"the page's {served[-1]} verified by the server"
        )

    async def main() -> None:
        http = ThreadingHTTPServer(
            (args.host, args.port), _http_handler(show, assets, toml, files, out)
        )
        http.daemon_threads = True
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        try:
            async with serve(handler, args.host, 0, pipeline=pipe, mode="session") as server:
                ws_port = server.sockets[0].getsockname()[1]
                show.ws_url = f"ws://{_hostport(args.host, ws_port)}/"
                url = f"http://{_hostport(args.host, http.server_address[1])}/"
                out.print(
                    f"open {url}  (auracodec WebSocket on {show.ws_url}; Ctrl-C stops)",
                    soft_wrap=True,
                )
                if args.seconds is None:
                    await asyncio.Future()
                else:
                    await asyncio.sleep(args.seconds)
        finally:
            http.shutdown()
            http.server_close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        err.print("stopped")
    if any(r["verified"] != r["total"] for r in show.reports):
        raise Failed("some messages arrived altered in the browser")
    return 0


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
