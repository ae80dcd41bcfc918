"""The audit log observer: off by default, rotation, retention, redaction."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from auracodec import ConfigError, Pipeline, UnknownMethod
from auracodec.core.events import MessageEvent
from auracodec.plugin import hookimpl


def config(tmp_path: Path, **settings: object) -> Path:
    lines = ["[observers.audit]", 'path = "log/audit.jsonl"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    path = tmp_path / "auracodec.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_off_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    pipe = Pipeline.from_config()
    pipe.decode(pipe.encode("nothing is logged"))
    assert list(tmp_path.iterdir()) == []
    assert "observer:audit" not in [n for n, _ in pipe.registry.pm.list_name_plugin()]


def test_logs_messages_sessions_and_failures(tmp_path: Path) -> None:
    pipe = Pipeline.from_config(config(tmp_path))
    a, b = pipe.session("conn-7"), pipe.session("conn-8")
    assert b.decode(a.encode("Deployment started at 2025-10-23T10:30:00Z")) == (
        "Deployment started at 2025-10-23T10:30:00Z"
    )
    pipe.decode_bytes(pipe.encode(b"\xff\xfe binary"))
    with pytest.raises(UnknownMethod):
        pipe.decode(b"\x99")
    out = records(tmp_path / "log" / "audit.jsonl")
    assert [(r["direction"], r["session"]) for r in out[:2]] == [
        ("out", "conn-7"),
        ("in", "conn-8"),
    ]
    assert out[0]["text"] == "Deployment started at 2025-10-23T10:30:00Z"
    assert out[0]["method"] == out[1]["method"] == "binary_semantic"
    assert out[0]["size"] == 42 and out[0]["frame_size"] < 42
    assert out[2]["data"] == out[3]["data"]  # base64 for non-text
    assert out[4]["error"] == "UnknownMethod" and "0x99" in out[4]["detail"]


def test_rotation_and_retention(tmp_path: Path) -> None:
    pipe = Pipeline.from_config(config(tmp_path, max_bytes=2048, keep=2))
    for i in range(200):
        pipe.encode(f"message number {i} goes into the audit log")
    files = sorted((tmp_path / "log").iterdir())
    assert len(files) == 3  # the current file and two rotated ones
    assert all(f.stat().st_size < 2048 + 300 for f in files)
    assert records(files[0])[-1]["text"].endswith("audit log")  # type: ignore[union-attr]


def test_time_based_rotation(tmp_path: Path) -> None:
    pipe = Pipeline.from_config(config(tmp_path, rotate_every=1))
    pipe.encode("before")
    time.sleep(1.1)
    pipe.encode("after")
    assert len(list((tmp_path / "log").iterdir())) == 2


def test_redaction_hook_and_sizes_only(tmp_path: Path) -> None:
    class Redactor:
        @hookimpl
        def auracodec_redact(self, text: str, event: MessageEvent) -> str:
            return text.replace("hunter2", "[password]")

    pipe = Pipeline.from_config(config(tmp_path), plugins=[("redact", Redactor())])
    pipe.encode("my password is hunter2")
    assert records(tmp_path / "log" / "audit.jsonl")[0]["text"] == "my password is [password]"

    quiet = tmp_path / "quiet"
    quiet.mkdir()
    pipe = Pipeline.from_config(config(quiet, include_text=False))
    pipe.encode("secret text")
    record = records(quiet / "log" / "audit.jsonl")[0]
    assert "text" not in record and record["size"] == 11


def test_config_mistakes(tmp_path: Path) -> None:
    (tmp_path / "auracodec.toml").write_text("[observers.audit]\nkeep = 3\n")
    with pytest.raises(ConfigError, match=r"observers\.audit\.path: the audit log needs a path"):
        Pipeline.from_config(tmp_path)
    (tmp_path / "auracodec.toml").write_text("[observers.nope]\n")
    with pytest.raises(ConfigError, match=r"observers.nope: no such observer \(available: audit"):
        Pipeline.from_config(tmp_path)
    (tmp_path / "auracodec.toml").write_text('[observers.audit]\npath = "a.jsonl"\nkeep = -1\n')
    with pytest.raises(ConfigError, match=r"observers\.audit\.keep: expected an integer from 0"):
        Pipeline.from_config(tmp_path)
