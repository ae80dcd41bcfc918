"""demo and stress: real WebSocket servers on 127.0.0.1, every message checked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

pytest.importorskip("websockets", reason="the websocket extra is not installed")

from auracodec import Pipeline, loopback
from auracodec.cli import main
from auracodec.core.corpus import Sample, builtin_sample
from auracodec.loopback import Turn, conversations, demo, stress
from auracodec.websocket import AuraConnection


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


async def _never_answers(conn: AuraConnection, *args: object) -> None:
    """A server side that reads nothing and sends nothing until the connection closes."""
    await conn.ws.wait_closed()


def test_stress_counts_cancelled_clients_as_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loopback, "_serve_plan", _never_answers)
    script = [Turn(True, b"a question"), Turn(False, b"an answer")]
    result = asyncio.run(stress(Pipeline.from_config(), [script], users=3, messages=4, timeout=0.5))
    # Each client sends its question and waits for an answer until the timeout
    # cancels it: the 3 messages it never got through are lost.
    assert result.errors == ["3 clients did not finish within 0.5 s"]
    assert result.lost == result.messages - sum(result.methods.values())
    assert result.lost >= 9


def test_stress_with_nothing_through_still_reports(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(loopback, "_serve_plan", _never_answers)
    corpus = tmp_path / "chat.jsonl"
    corpus.write_text(
        json.dumps({"text": "welcome", "conv": "c", "role": "assistant"})
        + "\n"
        + json.dumps({"text": "thanks", "conv": "c", "role": "user"})
        + "\n",
        encoding="utf-8",
    )
    argv = ["stress", "--corpus", str(corpus), "--users", "2", "--messages", "4"]
    # --json - writes the report to stdout (and the text report to stderr).
    assert main([*argv, "--timeout", "0.5", "--json", "-"]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["lost"] == 8 and report["messages"] == 8 and report["methods"] == {}
    assert report["ratio"] is None and report["bytes_vs_deflate"] is None
    assert "2 clients did not finish within 0.5 s" in err
    assert "(no message got through)" in err and "lost 8, altered 0" in err
    assert not (Path.cwd() / "-").exists()
    assert main([*argv, "--timeout", "0"]) == 2
    assert "--timeout must be more than 0 seconds, got 0" in capsys.readouterr().err


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
