"""A chat page whose assistant replies stream over auracodec (FastAPI, uvicorn).

    python examples/chat-fastapi/app.py [--port 8000] [--profile DIR] [--corpus FILE]

The replies come from a corpus, no model needed: the assistant turns of
``chat2/test.jsonl`` in ``$AURACODEC_CORPUS`` (or ``../shared/corpus`` beside
the checkout), else of the sample that ships with auracodec. A connection's
n-th prompt gets the n-th reply, sent delta by delta, each delta an
OpenAI-style ``chat.completion.chunk`` (``auracodec.streams``). ``GET /metrics``
is the Prometheus exposition, ``GET /health`` the pipeline's health checks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import tomllib
from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path

import attrs
import uvicorn
from fastapi import FastAPI, HTTPException, WebSocket
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from auracodec import Pipeline
from auracodec.asgi import accept
from auracodec.core.config import Config  # what Pipeline.from_config takes, to add an observer
from auracodec.plugins.metrics import registry_of
from auracodec.streams import OpenAIEnvelope, split_deltas, stream_reply

HERE = Path(__file__).parent
CLIENT = Path(str(files("auracodec") / "data" / "js"))
CORPUS = Path(os.environ.get("AURACODEC_CORPUS", HERE.parents[2] / "shared" / "corpus"))
#: The codecs the JavaScript client has (an installed third-party codec is left out).
JS_CODECS = ("binary_semantic", "brio", "brotli", "identity", "zstd")


def replies(corpus: Path | None = None) -> list[str]:
    """The assistant turns of ``corpus`` (JSON lines), or of the default corpus."""
    if corpus is None and (CORPUS / "chat2" / "test.jsonl").is_file():
        corpus = CORPUS / "chat2" / "test.jsonl"
    source = corpus or files("auracodec") / "data" / "sample.jsonl"
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line]
    return [row["text"] for row in rows if row.get("role") == "assistant"]


def pipeline(profile: Path | None) -> Pipeline:
    """The profile (or the defaults) with the Prometheus observer, on the client's codecs."""
    config = Config.load(profile) if profile else Config.defaults()
    config = attrs.evolve(config, observer_tables={"prometheus": {}, **config.observer_tables})
    codecs = [n for n in config.codecs or JS_CODECS if n in JS_CODECS and n not in config.disable]
    return Pipeline.from_config(config, codecs=codecs)


def profile_files(profile: Path | None) -> tuple[bytes, dict[str, Path]]:
    """The config the page loads and the artifacts its ``[codecs.*]`` tables name:
    nothing else of the profile directory is served (never its training state)."""
    if profile is None:
        return b"", {}  # the defaults
    toml = (profile / "auracodec.toml").read_bytes()
    tables = tomllib.loads(toml.decode()).get("codecs", {}).values()
    values = [v for table in tables for v in table.values()]
    names = [n for v in values for n in (v if isinstance(v, list) else [v]) if isinstance(n, str)]
    inside = profile.resolve()
    paths = {name: (profile / name).resolve() for name in names}
    return toml, {n: f for n, f in paths.items() if f.is_file() and f.is_relative_to(inside)}


def create_app(pipe: Pipeline, answers: list[str], profile: Path | None, delay: float) -> FastAPI:
    app = FastAPI()
    toml, artifacts = profile_files(profile)

    @app.websocket("/chat")
    async def chat(websocket: WebSocket) -> None:
        conn = await accept(websocket, pipe)
        if conn is None:  # refused: the client got HTTP 400 and the reason
            return
        n = 0
        async for _prompt in conn:  # the n-th prompt gets the n-th reply
            deltas = paced(split_deltas(answers[n % len(answers)]), delay)
            envelope = OpenAIEnvelope(f"chatcmpl-{conn.id[:8]}-{n}", created=int(time.time()))
            await stream_reply(conn, deltas, envelope=envelope)
            n += 1

    @app.get("/")
    async def page() -> FileResponse:
        return FileResponse(HERE / "index.html")

    @app.get("/profile/{name:path}", include_in_schema=False)
    async def profile_file(name: str) -> Response:  # the page's pipeline is the same
        if name == "auracodec.toml":
            return Response(toml, media_type="text/plain")
        if name not in artifacts:
            raise HTTPException(404)
        return FileResponse(artifacts[name])

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry_of(pipe)), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health")
    async def health() -> JSONResponse:
        report = pipe.health()
        return JSONResponse(report.to_dict(), status_code=200 if report.ok else 503)

    app.mount("/js", StaticFiles(directory=CLIENT))  # the JavaScript client, from the wheel
    return app


async def paced(deltas: list[str], delay: float) -> AsyncIterator[str]:
    for delta in deltas:
        yield delta
        if delay:
            await asyncio.sleep(delay)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0: any free port")
    parser.add_argument("--profile", type=Path, help="a trained profile directory")
    parser.add_argument("--corpus", type=Path, help="JSON lines whose assistant turns are replies")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds between deltas")
    args = parser.parse_args()
    app = create_app(pipeline(args.profile), replies(args.corpus), args.profile, args.delay)
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
