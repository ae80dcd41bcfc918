"""examples/chat-fastapi: the app under a real uvicorn on 127.0.0.1, with our
Python client and the page in headless Chromium.

The page is driven by ``js/test/browser/chat-page.mjs`` (Node, puppeteer-core,
Debian's ``/usr/bin/chromium`` or ``$CHROMIUM``); that test is skipped with the
reason when any of them is missing, as in test_demo_browser.py.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("fastapi", reason="fastapi is not installed")
pytest.importorskip("uvicorn", reason="uvicorn is not installed")
pytest.importorskip("websockets", reason="the websocket extra is not installed")
pytest.importorskip("prometheus_client", reason="the metrics extra is not installed")

import auracodec
from asgi_servers import uvicorn_server
from auracodec import Pipeline
from auracodec.core.config import Config
from auracodec.core.corpus import builtin_sample
from auracodec.core.training import train
from auracodec.streams import receive_reply, split_deltas
from auracodec.websocket import HandshakeError, connect
from conftest import CORPUS
from test_demo_browser import needs_browser, page_script

APP = Path(__file__).resolve().parents[1] / "examples" / "chat-fastapi" / "app.py"
#: What the page's client has, and so the app's pipeline.
JS_CODECS = ["binary_semantic", "brio", "brotli", "identity", "zstd"]
PROMPTS = ["Who let the dogs out?", "héllo ✓ — and the next one?"]


def _expected(corpus: Path = CORPUS) -> list[str]:
    """The replies the app answers with: chat2/test's, else the built-in sample's."""
    path = corpus / "chat2" / "test.jsonl"
    if path.is_file():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return [r["text"] for r in rows if r.get("role") == "assistant"]
    return [s.data.decode() for s in builtin_sample() if s.role == "assistant"]


class _App:
    def __init__(self, *args: str, corpus: Path = CORPUS) -> None:
        env = {
            **os.environ,
            # The imported package, not src/: a clean CI checkout has no C
            # extensions built in src/ during its first step.
            "PYTHONPATH": str(Path(auracodec.__file__).parents[1]),
            "AURACODEC_CORPUS": str(corpus),
        }
        self.proc = subprocess.Popen(
            [sys.executable, str(APP), "--port", "0", "--delay", "0", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            # The app stops at Ctrl-C; a pytest run in the background of a
            # shell ignores SIGINT, which its children would inherit.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.log: list[str] = []
        found = threading.Event()
        self.port = 0

        def read() -> None:  # uvicorn logs to stderr: keep reading, so it never blocks
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.log.append(line)
                match = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", line)
                if match:
                    self.port = int(match.group(1))
                    found.set()
            found.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        found.wait(60)
        if not self.port:
            self.proc.kill()
            self.proc.wait(30)
            self.reader.join(10)
            self._close()
            raise AssertionError("the app printed no address:\n" + "".join(self.log))
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(30)
        self.reader.join(10)
        self._close()
        return code

    def _close(self) -> None:
        assert self.proc.stderr is not None
        self.proc.stderr.close()


def _serving(*args: str) -> Iterator[_App]:
    server = _App(*args)
    try:
        yield server
    finally:
        assert server.stop() == 0, "".join(server.log)


@pytest.fixture(scope="module")
def app() -> Iterator[_App]:
    yield from _serving()


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A profile trained on the built-in sample (a second or so), its state
    beside it, with BRIO's continuations for the streamed replies."""
    base = tmp_path_factory.mktemp("chat")
    start = Config.from_mapping({"codecs": {"brio": {"streams": True}}})
    train(builtin_sample(), base / "p", config=start, state_dir=base / "p.training")
    return base / "p"


@pytest.fixture(scope="module")
def trained_app(profile: Path) -> Iterator[_App]:
    yield from _serving("--profile", str(profile))


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _counters(metrics: str, name: str) -> dict[str, float]:
    """``name``'s samples in a Prometheus exposition, by label set."""
    found = {}
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{name}(\{{[^}}]*\}}) (\S+)", line)
        if match:
            found[match.group(1)] = float(match.group(2))
    return found


def _converse(
    app: _App, pipe: Pipeline, expected: list[str] | None = None
) -> list[tuple[str, str | None, int]]:
    """Each prompt sent by our Python client, each reply read with receive_reply."""

    async def client() -> list[tuple[str, str | None, int]]:
        got = []
        async with connect(f"ws://127.0.0.1:{app.port}/chat", pipeline=pipe) as conn:
            for prompt in PROMPTS:
                await conn.send(prompt)
                reply = await receive_reply(conn)
                got.append((reply.text, reply.finish_reason, reply.deltas))
        return got

    got = asyncio.run(asyncio.wait_for(client(), 60))
    expected = _expected() if expected is None else expected
    assert [text for text, _, _ in got] == expected[: len(PROMPTS)]
    for (_, finish, chunks), want in zip(got, expected, strict=False):
        assert finish == "stop"
        assert chunks == len(split_deltas(want)) + 1  # a chunk per delta, and the closing one
    return got


def test_python_client_receives_each_reply_exactly_and_metrics_count_them(app: _App) -> None:
    got = _converse(app, Pipeline.from_config(codecs=JS_CODECS))

    status, body = _get(app.url + "metrics")
    assert status == 200
    metrics = body.decode()
    sent = _counters(metrics, "auracodec_messages_total")
    out = sum(v for labels, v in sent.items() if 'direction="out"' in labels)
    received = sum(v for labels, v in sent.items() if 'direction="in"' in labels)
    assert out >= sum(chunks for _, _, chunks in got), metrics
    assert received >= len(PROMPTS), metrics
    assert sum(_counters(metrics, "auracodec_bytes_out_total").values()) > 0

    status, body = _get(app.url + "health")
    assert status == 200
    health = json.loads(body)
    assert health["ok"] is True
    assert {c["name"] for c in health["checks"]} >= {"min_ratio", "max_error_rate"}


def test_without_the_corpus_the_replies_are_the_shipped_samples(tmp_path: Path) -> None:
    expected = _expected(tmp_path)
    assert expected[0] == builtin_sample()[1].data.decode()  # the sample's first assistant turn
    server = _App(corpus=tmp_path)
    try:
        _converse(server, Pipeline.from_config(codecs=JS_CODECS), expected)
    finally:
        assert server.stop() == 0, "".join(server.log)


def test_another_profile_is_refused_with_the_reason(app: _App) -> None:
    other = Pipeline.from_config(codecs=["zstd"])

    async def client() -> None:
        with pytest.raises(HandshakeError, match=r"HTTP 400\): auracodec handshake refused"):
            async with connect(f"ws://127.0.0.1:{app.port}/chat", pipeline=other):
                pass

    asyncio.run(asyncio.wait_for(client(), 60))


def test_serves_the_client_and_only_the_profile_config(app: _App) -> None:
    data = Path(auracodec.__file__).parent / "data" / "js"
    for name in ("auracodec.js", "auracodec.wasm"):
        assert _get(app.url + "js/" + name) == (200, (data / name).read_bytes())
    assert _get(app.url + "profile/auracodec.toml") == (200, b"")  # the defaults
    assert _get(app.url + "profile/../app.py")[0] == 404
    status, page = _get(app.url)
    assert status == 200 and b'from "./js/auracodec.js"' in page


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chat_fastapi_app", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_health_answers_503_when_a_target_is_missed() -> None:
    module = _module()
    config = Config.from_mapping({"health": {"min_ratio": 1000}, "observers": {"prometheus": {}}})
    pipe = Pipeline.from_config(config, codecs=JS_CODECS)
    pipe.encode("hello, hello, hello")  # a ratio far under 1000
    with uvicorn_server(module.create_app(pipe, ["a reply"], None, 0.0)) as port:
        status, body = _get(f"http://127.0.0.1:{port}/health")
    assert status == 503
    report = json.loads(body)
    assert report["ok"] is False
    (failed,) = [c for c in report["checks"] if not c["ok"]]
    assert failed["name"] == "min_ratio" and failed["target"] == 1000


def test_a_trained_profile_is_served_to_the_page_without_its_other_files(
    trained_app: _App, profile: Path
) -> None:
    _converse(trained_app, Pipeline.from_config(profile, codecs=JS_CODECS))
    url = trained_app.url + "profile/"
    assert _get(url + "auracodec.toml") == (200, (profile / "auracodec.toml").read_bytes())
    for name in ("zstd.dict", "brio.model", "templates.toml"):
        assert _get(url + name) == (200, (profile / name).read_bytes()), name
    # costs.json is for encoders only; the training state holds messages verbatim.
    for name in ("costs.json", "../p.training/templates.state.json", "../p.training/README.txt"):
        assert _get(url + name)[0] == 404, name


@needs_browser
@pytest.mark.parametrize("server", ["app", "trained_app"])
def test_the_page_renders_each_reply_exactly(server: str, request: pytest.FixtureRequest) -> None:
    expected = _expected()
    result = page_script("chat-page.mjs", request.getfixturevalue(server).url, *PROMPTS)
    assert result["error"] is None, result
    assert result["replies"] == expected[: len(PROMPTS)]
    for stats, want in zip(result["stats"], expected, strict=False):
        assert stats["chunks"] == len(split_deltas(want)) + 1
        assert 0 < stats["frameBytes"] < stats["jsonBytes"]
        if server == "trained_app":  # continuations: the envelope is copied, not sent
            assert stats["frameBytes"] < 10 * stats["chunks"], stats
    assert not result["console"], result["console"]
