"""The audit log observer: off by default, rotation, retention, redaction."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from auracodec import ConfigError, Pipeline, UnknownMethod
from auracodec.core.events import MessageEvent
from auracodec.plugin import hookimpl
from auracodec.plugins import audit


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


def test_a_partial_line_left_by_a_crash_is_ended_first(tmp_path: Path) -> None:
    log = tmp_path / "log" / "audit.jsonl"
    log.parent.mkdir()
    log.write_text('{"direction": "out", "size": 5}\n{"time": "2025-10-23T10:3')
    pipe = Pipeline.from_config(config(tmp_path))
    pipe.encode("the first message after the restart")
    pipe.close()
    lines = log.read_text().splitlines()
    assert lines[1] == '{"time": "2025-10-23T10:3'  # kept, on a line of its own
    assert json.loads(lines[0])["size"] == 5
    assert json.loads(lines[2])["text"] == "the first message after the restart"


def test_a_complete_or_empty_file_gets_no_extra_line(tmp_path: Path) -> None:
    log = tmp_path / "log" / "audit.jsonl"
    log.parent.mkdir()
    for before in ("", '{"size": 1}\n'):
        log.write_text(before)
        pipe = Pipeline.from_config(config(tmp_path))
        pipe.encode("appended")
        pipe.close()
        assert log.read_text().startswith(before + '{"time"')
        assert all(json.loads(line) for line in log.read_text().splitlines())


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE (POSIX)")
def test_restart_after_kill_9_in_the_middle_of_a_record(tmp_path: Path) -> None:
    """A real process, killed with SIGKILL after the kernel cut one of its
    records short (a file size limit half-way into the record, as a full disk
    would); the next process starts its records on a fresh line."""
    cfg = config(tmp_path)
    log = tmp_path / "log" / "audit.jsonl"
    child = textwrap.dedent(
        """
        import resource, signal, sys, time
        from pathlib import Path
        from auracodec import Pipeline

        cfg, log = Path(sys.argv[1]), Path(sys.argv[2])
        pipe = Pipeline.from_config(cfg)
        for i in range(3):
            pipe.encode(f"record {i} " + "lorem ipsum " * 80)
        cap = log.stat().st_size + 500  # half-way into the next record
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))
        try:
            pipe.encode("record 3 " + "lorem ipsum " * 80)
        except Exception:  # the cut write fails, raised or contained: either will do
            pass
        print(cap, flush=True)
        time.sleep(60)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", child, str(cfg), str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the contained OSError of the cut write
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            cap = int(proc.stdout.readline())
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    cut = log.read_bytes()
    assert len(cut) == cap and not cut.endswith(b"\n")  # killed with half a record written

    pipe = Pipeline.from_config(cfg)
    pipe.encode("after the restart")
    pipe.close()
    lines = log.read_text().splitlines()
    assert [json.loads(line)["text"][:8] for line in lines[:3]] == [f"record {i}" for i in range(3)]
    assert lines[3].startswith('{"time"') and len(lines[3]) == 500
    assert json.loads(lines[4])["text"] == "after the restart"
    assert len(lines) == 5


def texts(path: Path) -> list[str]:
    return [str(r["text"]) for r in records(path)]


def numbered(i: int, padding: int) -> MessageEvent:
    """An encoded-message event whose text starts with ``i`` in five digits."""
    message = b"%05d" % i + b"." * padding
    return MessageEvent("out", "identity", 4, message, len(message) + 1, 1000)


def numbers(directory: Path) -> list[int]:
    """The record numbers of the rotated files, then the current one, in name order."""
    files = [*sorted(directory.glob("audit.jsonl.*")), directory / "audit.jsonl"]
    return [int(t[:5]) for f in files for t in texts(f)]


def test_retention_over_many_rotations_lists_the_directory_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans = []
    scandir = os.scandir

    def counting(path: str | os.PathLike[str]) -> object:
        scans.append(path)
        return scandir(path)

    monkeypatch.setattr(audit.os, "scandir", counting)
    log = audit.AuditLog(
        tmp_path / "audit.jsonl", max_bytes=1024, rotate_every=0, keep=3, include_text=True
    )
    count = 1500
    for i in range(count):
        log.auracodec_message_encoded(numbered(i, 400))
    log.close()
    assert len(scans) == 1
    rotated = sorted(tmp_path.glob("audit.jsonl.*"))
    assert len(rotated) == 3
    # Names sort by time: the kept files hold the latest records, in order.
    got = numbers(tmp_path)
    assert got == list(range(got[0], count))
    assert got[0] > count - 20  # the rest were deleted as the log went


def test_rotated_files_of_an_earlier_run_count_towards_retention(tmp_path: Path) -> None:
    earlier = [f"audit.jsonl.2024010{d}T000000.000000Z" for d in range(1, 6)]
    others = ["audit.jsonl.bak", "audit.jsonl.notes", "other.jsonl.20240101T000000.000000Z"]
    for name in [*earlier, *others]:
        (tmp_path / name).write_text("{}\n")
    (tmp_path / "audit.jsonl").write_text("{}\n" * 600)  # over max_bytes: rotated on open
    log = audit.AuditLog(
        tmp_path / "audit.jsonl", max_bytes=1024, rotate_every=0, keep=2, include_text=False
    )
    log.auracodec_message_encoded(MessageEvent("out", "identity", 4, b"x", 2, 1000))
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    rotated = [n for n in names if n.startswith("audit.jsonl.2")]
    assert len(rotated) == 2 and rotated[0] == earlier[-1]  # the newest earlier one
    assert rotated[1] > earlier[-1]  # today's rotation
    assert set(others) <= set(names)  # not rotated files of this log: left alone


def test_rotations_within_one_microsecond_sort_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen = datetime.datetime(2025, 10, 23, 10, 30, tzinfo=datetime.UTC)
    monkeypatch.setattr(audit, "_utcnow", lambda: frozen)
    log = audit.AuditLog(
        tmp_path / "audit.jsonl", max_bytes=1024, rotate_every=0, keep=100, include_text=True
    )
    for i in range(40):
        log.auracodec_message_encoded(numbered(i, 900))
    log.close()
    rotated = sorted(tmp_path.glob("audit.jsonl.*"))
    assert rotated[0].name == "audit.jsonl.20251023T103000.000000Z"
    assert rotated[1].name == "audit.jsonl.20251023T103000.000000Z-0001"
    assert numbers(tmp_path) == list(range(40))  # nothing overwritten, names in order

    # A second run within the same microsecond does not overwrite the first's files.
    again = audit.AuditLog(
        tmp_path / "audit.jsonl", max_bytes=1024, rotate_every=0, keep=100, include_text=True
    )
    for i in range(40, 44):
        again.auracodec_message_encoded(numbered(i, 900))
    again.close()
    assert numbers(tmp_path) == list(range(44))


def test_close_is_idempotent_and_thread_safe(tmp_path: Path) -> None:
    log = audit.AuditLog(
        tmp_path / "audit.jsonl", max_bytes=4096, rotate_every=0, keep=1000, include_text=True
    )
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def writer(k: int) -> None:
        barrier.wait()
        try:
            for i in range(300):
                log.auracodec_message_encoded(
                    MessageEvent("out", "identity", 4, b"w%d-%d" % (k, i), 9, 1000)
                )
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    def closer() -> None:
        barrier.wait()
        try:
            for _ in range(300):
                log.close()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    threads += [threading.Thread(target=closer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    log.close()
    assert errors == []
    got = sorted(t for f in tmp_path.iterdir() for t in texts(f))
    assert got == sorted(f"w{k}-{i}" for k in range(4) for i in range(300))
    log.auracodec_message_encoded(MessageEvent("out", "identity", 4, b"reopened", 9, 1000))
    log.close()
    assert texts(tmp_path / "audit.jsonl")[-1] == "reopened"


def test_times_have_one_length(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_the_second = datetime.datetime(2025, 10, 23, 10, 30, tzinfo=datetime.UTC)
    monkeypatch.setattr(audit, "_utcnow", lambda: on_the_second)
    log = audit.AuditLog(
        tmp_path / "audit.jsonl", max_bytes=1024, rotate_every=0, keep=1, include_text=False
    )
    log.auracodec_message_encoded(numbered(0, 0))
    log.close()
    assert records(tmp_path / "audit.jsonl")[0]["time"] == "2025-10-23T10:30:00.000000+00:00"
