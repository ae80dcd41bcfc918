"""demo and stress: real WebSocket servers on 127.0.0.1, every message checked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

pytest.importorskip("websockets", reason="the websocket extra is not installed")

from auracodec import Pipeline
from auracodec.cli import main
from auracodec.core.corpus import Sample, builtin_sample
from auracodec.loopback import conversations, demo, stress


def test_conversations_grouping() -> None:
    scripts = conversations(builtin_sample())
    assert len(scripts) > 40
    chat = scripts[0]
    assert chat[0].from_client and not chat[1].from_client
    loose = conversations([Sample(b"a"), Sample(b"b"), Sample(b"c")])
    assert [t.from_client for t in loose[0]] == [True, False, True]


def test_demo_verifies_every_message() -> None:
    pipe = Pipeline.from_config()
    script = conversations(builtin_sample())[0]
    result = asyncio.run(demo(pipe, script))
    assert [e.size for e in result.exchanges] == [len(t.data) for t in script]
    assert all(e.verified for e in result.exchanges)
    assert result.frame_bytes <= result.message_bytes + len(script)
    assert result.deflate_bytes > 0


def test_stress_loses_nothing() -> None:
    pipe = Pipeline.from_config()
    result = asyncio.run(stress(pipe, conversations(builtin_sample()), users=8, messages=25))
    assert (result.lost, result.altered, result.errors) == (0, 0, [])
    assert result.messages == 200 and sum(result.methods.values()) == 200
    assert result.round_trip_us.samples > 0


def test_stress_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "stress.json"
    assert main(["stress", "--users", "5", "--messages", "12", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["lost"] == 0 and report["altered"] == 0 and report["messages"] == 60
    assert "lost 0, altered 0" in capsys.readouterr().out


def test_demo_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "verified" in out and "permessage-deflate" in out and "NO" not in out


def test_demo_prints_messages_as_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "chat.jsonl"
    turns = [
        ("user", "how do I get [websocket] support?"),
        ("assistant", "pip install 'auracodec[websocket]'"),
        ("user", "and [/] or [bold]?"),
        ("assistant", "printed as they are :smile:"),
    ]
    corpus.write_text(
        "".join(json.dumps({"text": t, "conv": "c1", "role": r}) + "\n" for r, t in turns),
        encoding="utf-8",
    )
    assert main(["demo", str(corpus)]) == 0
    out = capsys.readouterr().out
    for _, text in turns:
        assert text in out
