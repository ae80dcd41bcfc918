"""``auracodec demo --browser``: the real servers, the page in headless Chromium.

The page is driven by ``js/test/browser/visit.mjs`` (Node, puppeteer-core,
Debian's ``/usr/bin/chromium`` or ``$CHROMIUM``); those tests are skipped with
the reason when any of them is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import auracodec
from auracodec.cli._demo import js_assets
from auracodec.core.config import Config
from auracodec.core.corpus import builtin_sample
from auracodec.core.store import ProfileStore
from auracodec.core.training import train
from conftest import corpus_path

REPO = Path(__file__).resolve().parents[1]
JS = REPO / "js"
DATA = Path(auracodec.__file__).parent / "data" / "js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node")


def _browser_missing() -> str | None:
    if NODE is None:
        return "no node on PATH"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)"
    if not (JS / "node_modules" / "puppeteer-core").is_dir():
        return "no js/node_modules/puppeteer-core (cd js && npm ci)"
    return None


needs_browser = pytest.mark.skipif(_browser_missing() is not None, reason=str(_browser_missing()))


def test_the_wheel_ships_the_page_and_the_client() -> None:
    for name in ("demo.html", "demo.mjs", "auracodec.js", "auracodec-fetch.js", "auracodec.wasm"):
        assert (DATA / name).is_file(), name
    assets, where = js_assets()
    assert set(assets) == {"demo.html", "demo.mjs", "auracodec.js", "auracodec.wasm"}
    assert str(DATA) in where


@pytest.mark.skipif(
    not (JS / "dist" / "auracodec.wasm").is_file(),
    reason="no js/dist (npm run build)",
)
def test_shipped_client_is_the_current_build() -> None:
    # npm run build copies them (js/scripts/copy-assets.mjs); this fails when it was not run.
    for name in ("auracodec.js", "auracodec-fetch.js", "auracodec.wasm"):
        assert (DATA / name).read_bytes() == (JS / "dist" / name).read_bytes(), (
            f"src/auracodec/data/js/{name} is stale: cd js && npm run build"
        )


def _demo(*args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(Path(auracodec.__file__).parents[1])}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "auracodec",
            "demo",
            "--browser",
            "--port",
            "0",
            "--delay",
            "0",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # Ctrl-C is how the demo stops, and the test stops it so; a pytest run
        # in the background of a shell ignores SIGINT, which its children
        # would inherit (and then never stop).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        found = re.search(r"open (http://127\.0\.0\.1:\d+/)", line)
        if found:
            return proc, found.group(1)
    proc.kill()
    _, err = proc.communicate()
    raise AssertionError(f"the demo printed no URL:\n{err}")


def page_script(script: str, url: str, *args: str) -> dict[str, Any]:
    """Run ``js/test/browser/<script>`` (Node, headless Chromium) on ``url``:
    the JSON it prints last."""
    out = subprocess.run(
        [NODE or "node", str(JS / "test" / "browser" / script), url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=JS,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def _check(proc: subprocess.Popen[str], url: str) -> None:
    try:
        result = page_script("visit.mjs", url)
        assert result["ok"] is True, result
        assert result["verified"] == result["total"] >= 4, result
        page_errors = [line for line in result["console"] if "Error" in line]
        assert not page_errors, result["console"]
        # A second visitor gets the conversation again, on a new connection.
        assert page_script("visit.mjs", url)["ok"] is True
    finally:
        code, out, err = _stop(proc)
    assert code == 0, err
    total = result["total"]
    assert out.count(f"browser: {total} of {total} messages verified in the page") == 2, out
    assert "conversation 1:" in out and "conversation 2:" in out, out
    assert "stopped" in err


@needs_browser
def test_demo_browser_builtin_sample() -> None:
    proc, url = _demo()
    _check(proc, url)


@needs_browser
@pytest.mark.slow
@pytest.mark.corpus
def test_demo_browser_trained_profile(tmp_path: Path) -> None:
    train = corpus_path("chat", "train.jsonl")
    test = corpus_path("chat", "test.jsonl")
    env = {**os.environ, "PYTHONPATH": str(Path(auracodec.__file__).parents[1])}
    subprocess.run(
        [sys.executable, "-m", "auracodec", "train", str(train), "-o", str(tmp_path / "p")],
        check=True,
        capture_output=True,
        env=env,
    )
    proc, url = _demo("--config", str(tmp_path / "p"), str(test))
    _check(proc, url)


def test_demo_serves_only_the_artifacts_a_profile_names(tmp_path: Path) -> None:
    profile, state = tmp_path / "p", tmp_path / "p.training"
    no_brio = Config.from_mapping({"plugins": {"disable": ["brio"]}})
    train(builtin_sample(), profile, config=no_brio, state_dir=state)
    # What must never reach a browser, whatever lies in the profile directory:
    # a 0.1 profile's miner state (training messages verbatim), other files.
    shutil.copy(state / "templates.state.json", profile / "templates.state.json")
    (profile / "notes.txt").write_text("private")
    store = ProfileStore.create(tmp_path / "store")
    store.add(profile)
    for config in (profile, store.root):
        proc, url = _demo("--config", str(config))
        try:
            assert _get(url + "profile/zstd.dict") == (200, (profile / "zstd.dict").read_bytes())
            status, body = _get(url + "profile/templates.toml")
            assert status == 200 and b"[[template]]" in body
            assert _get(url + "profile/auracodec.toml")[0] == 200
            for name in ("templates.state.json", "notes.txt", "../p.training/README.txt"):
                assert _get(url + "profile/" + name)[0] == 404, name
        finally:
            _stop(proc)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_demo_browser_says_when_the_client_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from auracodec.cli import _demo
    from auracodec.core.errors import AuraError

    monkeypatch.setattr(_demo, "__file__", str(tmp_path / "a" / "b" / "c" / "_demo.py"))
    monkeypatch.setattr("importlib.resources.files", lambda package: tmp_path / "no-such-package")
    with pytest.raises(AuraError, match=r"no JavaScript client.*npm run build"):
        js_assets()
