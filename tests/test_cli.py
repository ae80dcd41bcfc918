"""The auracodec command, run in-process and, once, as the installed script."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from auracodec import Pipeline
from auracodec.cli import main
from auracodec.core.corpus import builtin_sample
from plugin_packages import codec, install


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for s in builtin_sample():
            f.write(json.dumps({"text": s.data.decode(), "conv": s.conv, "role": s.role}) + "\n")
    return path


def test_bench_on_builtin_sample(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_json = tmp_path / "bench.json"
    plot = tmp_path / "bench.png"
    code, out, err = run(capsys, "bench", "--json", str(out_json), "--plot", str(plot))
    assert code == 0, err
    assert "built-in sample" in err
    for name in (
        "zstd alone",
        "brotli alone",
        "pipeline",
        "zstd-3",
        "brotli-5",
        "permessage-deflate",
    ):
        assert name in out
    report = json.loads(out_json.read_text())
    results = {r["name"]: r for r in report["results"]}
    assert report["messages"] == len(builtin_sample())
    assert results["pipeline"]["failures"] == 0
    assert results["pipeline"]["bytes_in"] == sum(len(s.data) for s in builtin_sample())
    assert set(results["pipeline"]["buckets"]) <= {
        "<64",
        "64-255",
        "256-1023",
        "1024-4095",
        ">=4096",
    }
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_json_to_stdout(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "bench", "--limit", "40", "--no-baselines", "--json", "-")
    assert code == 0, err
    report = json.loads(out)  # stdout holds the JSON alone
    assert report["messages"] == 40
    assert {r["name"] for r in report["results"]} >= {"pipeline", "zstd"}
    assert "ratio = message bytes / frame bytes" in err and "zstd alone" in err
    assert not (Path.cwd() / "-").exists()
    code, _, err = run(capsys, "bench", "--limit", "40", "--plot", "-")
    assert code == 2 and "--plot writes a PNG file: give it a file name, not -" in err


def test_bench_cost(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_json = tmp_path / "cost.json"
    code, out, err = run(
        capsys, "bench", "--cost", "--limit", "60", "--rounds", "1", "--json", str(out_json)
    )
    assert code == 0, err
    assert "1 byte = 6.71 µs of CPU" in out
    assert re.search(r"sessions: [0-9.]+x permessage-deflate's cost", out)
    report = json.loads(out_json.read_text())
    assert report["prices"] == {"egress_usd_per_gb": 0.09, "cpu_usd_per_core_hour": 0.045}
    rows = {r["name"]: r for r in report["results"]}
    assert {"permessage-deflate", "zstd-3", "zstd", "brio", "pipeline", "sessions"} <= set(rows)
    assert rows["permessage-deflate"]["cost_over_reference"] == 1.0
    for r in rows.values():
        assert r["messages"] == 60 and r["failures"] == 0
        assert r["bytes_per_message"] > 0 and r["usd_per_million_messages"] > 0
    code, _, err = run(capsys, "bench", "--cost", "--rounds", "0")
    assert code == 2 and "--rounds must be at least 1" in err


def test_train_then_bench(capsys: pytest.CaptureFixture[str], tmp_path: Path, corpus: Path) -> None:
    profile = tmp_path / "profile"
    start = tmp_path / "start.toml"
    start.write_text("[session]\ncheck_every = 7\n\n[selector]\nverify = true\n")
    code, _, err = run(capsys, "train", str(corpus), "-o", str(profile), "--config", str(start))
    assert code == 0, err
    assert "zstd:" in err and "dictionary" in err
    assert (profile / "auracodec.toml").exists() and (profile / "zstd.dict").exists()
    pipe = Pipeline.from_config(profile)
    assert pipe.codecs["zstd"].fingerprint()["dictionary"]
    # The starting config's own settings carry over into the profile.
    assert (pipe.config.session_check_every, pipe.config.verify) == (7, True)
    code, out, err = run(
        capsys, "bench", str(corpus), "--config", str(profile), "--no-baselines", "--limit", "100"
    )
    assert code == 0, err
    assert "100 messages" in err and "zstd-3" not in out


def test_train_keeps_a_profile_whose_frames_would_stop_decoding(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, corpus: Path
) -> None:
    profile = tmp_path / "profile"
    code, _, err = run(capsys, "train", str(corpus), "-o", str(profile))
    assert code == 0, err
    found = re.search(r"wrote (.+) \(fingerprint ([0-9a-f]{16})\)", err)
    assert found and Path(found[1]) == profile.resolve() / "auracodec.toml"
    first = found[2]
    # The profile's auracodec.toml (tomli-w) opens with its header and reads back.
    text = (profile / "auracodec.toml").read_text(encoding="utf-8")
    assert text.startswith("# Written by auracodec ")
    assert tomllib.loads(text)["codecs"]["zstd"]["dictionary"] == "zstd.dict"
    message = "Can I substitute yogurt for buttermilk in pancakes?"
    frame = Pipeline.from_config(profile).encode(message)
    before = {p.name: p.read_bytes() for p in profile.iterdir()}
    # The miner's state (training messages verbatim) is beside the profile, not in it.
    state = tmp_path / "profile.training"
    assert f"training state: {state}" in err
    assert "templates.state.json" not in before
    assert {p.name for p in state.iterdir()} == {"README.txt", "templates.state.json"}
    assert state.stat().st_mode & 0o777 == 0o700  # private
    state_before = {p.name: p.read_bytes() for p in state.iterdir()}

    # Another corpus: BRIO and zstd are trained anew, the fingerprint changes.
    other = tmp_path / "other.jsonl"
    other.write_text("".join(corpus.read_text(encoding="utf-8").splitlines(True)[::2]))
    code, _, err = run(capsys, "train", str(other), "-o", str(profile))
    assert code == 2
    assert f"training changed its fingerprint from {first} to " in err
    assert "frames made with the existing profile would no longer decode" in err
    assert "The existing profile is unchanged" in err
    assert "--force" in err and "another directory with -o" in err
    assert {p.name: p.read_bytes() for p in profile.iterdir()} == before
    assert {p.name: p.read_bytes() for p in state.iterdir()} == state_before
    assert Pipeline.from_config(profile).decode(frame) == message
    listing = ["corpus.jsonl", "other.jsonl", "profile", "profile.training"]
    assert sorted(p.name for p in tmp_path.iterdir()) == listing

    code, _, err = run(capsys, "train", str(other), "-o", str(profile), "--force")
    assert code == 0, err
    assert f"warning: replaced a profile of fingerprint {first}" in err
    found = re.search(r"\(fingerprint ([0-9a-f]{16})\)", err)
    assert found and found[1] != first
    assert Pipeline.from_config(profile).fingerprint == found[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == listing
    assert (state / "templates.state.json").read_bytes() != state_before["templates.state.json"]


def test_train_never_replaces_what_is_not_a_profile(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, corpus: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("keep me")
    code, _, err = run(capsys, "train", str(corpus), "-o", str(notes), "--force")
    assert code == 2
    assert f"{notes} holds files but no auracodec.toml, so it is not a profile" in err
    assert [p.name for p in notes.iterdir()] == ["todo.txt"]
    # A profile that does not load cannot be compared: replaced only with --force.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "auracodec.toml").write_text("[codecs.zstd]\nlevel = 'max'\n")
    code, _, err = run(capsys, "train", str(corpus), "-o", str(broken))
    assert code == 2
    assert f"the existing profile in {broken} does not load (" in err
    assert "codecs.zstd.level: expected an integer" in err and "--force" in err
    assert [p.name for p in broken.iterdir()] == ["auracodec.toml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "corpus.jsonl", "notes"]


def test_train_moves_an_old_profiles_state_out_and_keeps_states_apart(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, corpus: Path
) -> None:
    profile, state = tmp_path / "profile", tmp_path / "profile.training"
    code, _, err = run(capsys, "train", str(corpus), "-o", str(profile))
    assert code == 0, err
    library = (profile / "templates.toml").read_text(encoding="utf-8")
    # As auracodec 0.1 left it: the miner's state inside the profile.
    (state / "templates.state.json").rename(profile / "templates.state.json")
    shutil.rmtree(state)
    code, _, err = run(capsys, "train", str(corpus), "-o", str(profile), "--force")
    assert code == 0, err
    assert not (profile / "templates.state.json").exists()
    assert sorted(p.name for p in state.iterdir()) == ["README.txt", "templates.state.json"]
    # Discovery resumed from the moved state: the library grew, ids kept.
    old = tomllib.loads(library)["template"]
    new = tomllib.loads((profile / "templates.toml").read_text(encoding="utf-8"))["template"]
    assert [(t["id"], t["text"]) for t in new[: len(old)]] == [(t["id"], t["text"]) for t in old]
    # A named state directory; never one inside the profile, or holding it.
    code, _, err = run(
        capsys,
        "train",
        str(corpus),
        "-o",
        str(tmp_path / "p2"),
        "--state-dir",
        str(tmp_path / "s2"),
    )
    assert code == 0, err
    assert (tmp_path / "s2" / "README.txt").exists() and not (tmp_path / "p2.training").exists()
    for inside in (tmp_path / "p3" / "state", tmp_path):
        code, _, err = run(
            capsys, "train", str(corpus), "-o", str(tmp_path / "p3"), "--state-dir", str(inside)
        )
        assert code == 2
        assert "must be a directory apart from the profile" in err
    assert not (tmp_path / "p3").exists()


def test_train_into_a_store_roll_back_and_collect(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, corpus: Path
) -> None:
    store = tmp_path / "store"
    code, out, err = run(capsys, "train", str(corpus), "--store", str(store))
    assert code == 0, err
    v1 = out.strip()  # the id alone on stdout
    assert re.fullmatch(r"[0-9a-f]{64}", v1)
    assert f"version {v1[:12]} in {store.resolve()}" in err and "parent none" in err
    assert f"current: new connections use {v1[:12]}" in err
    assert "training messages verbatim: never serve it" in err
    code, out, _ = run(capsys, "compress", str(corpus), "--config", str(store))
    assert code == 0
    frames = tmp_path / "frames.jsonl"
    frames.write_text(out)

    # Continue from it: a new version, current; the old one stays as it was.
    code, out, err = run(capsys, "train", str(corpus), "--store", str(store), "--from", "current")
    assert code == 0, err
    v2 = out.strip()
    assert v2 != v1 and f"continuing from version {v1[:12]}" in err
    assert f"parent {v1[:12]}" in err
    # Frames made with v1 decode with v1, named by an id prefix.
    code, out, err = run(capsys, "decompress", str(frames), "--config", f"{store}@{v1[:8]}")
    assert code == 0, err
    assert [json.loads(line)["text"] for line in out.splitlines()] == [
        s.data.decode() for s in builtin_sample()
    ]

    code, out, _ = run(capsys, "profiles", "list", str(store))
    assert code == 0
    assert "2 versions" in out and f"* current: {v2[:12]}" in out
    assert v1[:12] in out and v2[:12] in out and "│ * │ " + v2[:12] in out

    code, out, _ = run(capsys, "profiles", "show", str(store), "--verify")
    assert code == 0
    assert f"version {v2} (current)" in out and f"parent: {v1}" in out
    assert "verified: every file matches the manifest" in out
    assert "templates.state.json" not in out and "never serve it" in out

    code, out, _ = run(capsys, "profiles", "diff", str(store), v1[:6], v2[:6])
    assert code == 0
    assert re.search(r"templates\.toml +│ decoding │ changed", out)
    assert re.search(r"templates: [1-9]\d* added \(ids \d+", out)
    assert "0 removed" in out and "ids kept with the same text" in out

    # Roll back: select the earlier version.
    code, out, _ = run(capsys, "profiles", "select", str(store), v1[:8])
    assert code == 0 and "logged as rollback" in out
    assert Pipeline.from_config(store).config.path == store.resolve() / "versions" / v1 / (
        "auracodec.toml"
    )
    code, out, _ = run(capsys, "profiles", "select", str(store), v1[:8])
    assert "already current; nothing changed" in out

    code, out, _ = run(
        capsys, "profiles", "gc", str(store), "--keep-recent", "1", "--keep-days", "0", "--dry-run"
    )
    assert code == 0
    assert f"would remove version {v2[:12]}" in out and f"kept {v1[:12]}: current" in out
    assert (store / "versions" / v2).is_dir()
    code, out, _ = run(
        capsys, "profiles", "gc", str(store), "--keep-recent", "1", "--keep-days", "0"
    )
    assert code == 0 and f"removed version {v2[:12]}" in out and "freed 8." in out
    assert sorted(p.name for p in (store / "versions").iterdir()) == [v1]
    assert sorted(p.name for p in (store / "training").iterdir()) == [v1]


def test_profile_commands_say_what_is_wrong(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, corpus: Path
) -> None:
    store = tmp_path / "store"
    code, out, err = run(capsys, "train", str(corpus), "--store", str(store), "--no-select")
    assert code == 0, err
    vid = out.strip()
    assert "not selected: current stays unset" in err
    code, _, err = run(capsys, "bench", "--config", str(store), "--limit", "5")
    assert code == 2 and "has no current version yet" in err
    code, out, _ = run(capsys, "profiles", "select", str(store), vid)
    assert code == 0 and "(was unset; logged as select)" in out
    code, _, err = run(capsys, "profiles", "show", str(store), "beef")
    assert code == 2 and f"{store.resolve()}: no version 'beef' in this profile store" in err
    code, _, err = run(capsys, "profiles", "list", str(tmp_path))
    assert code == 2 and "not a profile store (no auracodec-store.toml)" in err
    # A version never changes: not by -o, and a changed one fails --verify.
    code, _, err = run(capsys, "train", str(corpus), "-o", str(store / "versions" / vid))
    assert code == 2 and "is a version of the profile store" in err and "--from" in err
    code, _, err = run(capsys, "train", str(corpus), "-o", str(store))
    assert code == 2 and "is a profile store: train into it with --store" in err
    templates = store / "versions" / vid / "templates.toml"
    templates.chmod(0o644)
    templates.write_text(templates.read_text().replace("hits = ", "hits = 9"))
    code, out, err = run(capsys, "profiles", "show", str(store), vid[:4], "--verify")
    assert code == 1
    assert "mismatch: templates.toml: changed" in out
    assert f"version {vid[:12]} does not match its manifest" in err
    # Options for the other kind of target.
    for extra, wrong in (
        (["--store", str(store), "--force"], "--force is for a plain profile directory (-o)"),
        (["--store", str(store), "--state-dir", "s"], "--state-dir is for a plain profile"),
        (["-o", str(tmp_path / "p"), "--from", "current"], "--from is for training into a"),
        (["-o", str(tmp_path / "p"), "--no-select"], "--no-select is for training into a"),
    ):
        code, _, err = run(capsys, "train", str(corpus), *extra)
        assert code == 2 and wrong in err
    assert not (tmp_path / "p").exists()


def test_compress_decompress_jsonl(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, corpus: Path
) -> None:
    code, out, _ = run(capsys, "compress", str(corpus))
    assert code == 0
    frames = tmp_path / "frames.jsonl"
    frames.write_text(out)
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == len(builtin_sample())
    assert all(r["frame_size"] <= r["size"] + 1 for r in records)
    code, out, _ = run(capsys, "decompress", str(frames))
    assert code == 0
    texts = [json.loads(line)["text"] for line in out.splitlines()]
    assert texts == [s.data.decode() for s in builtin_sample()]


def test_compress_decompress_carry_every_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lines = [
        {"text": "hi", "conv": 7, "role": "human", "id": "m-1", "meta": {"lang": "en"}},
        {"id": "m-2", "text": "héllo [there]", "conv": None, "tags": ["a", 1, True], "n": 2.5},
        {"text": "no other field"},
    ]
    src = tmp_path / "messages.jsonl"
    src.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    code, out, err = run(capsys, "compress", str(src))
    assert code == 0, err
    frames = [json.loads(line) for line in out.splitlines()]
    for frame, line in zip(frames, lines, strict=True):
        assert set(frame) == {"frame", "method", "size", "frame_size"} | (set(line) - {"text"})
        assert all(frame[k] == v for k, v in line.items() if k != "text")
    (tmp_path / "frames.jsonl").write_text(out, encoding="utf-8")
    code, out, err = run(capsys, "decompress", str(tmp_path / "frames.jsonl"))
    assert code == 0, err
    assert [json.loads(line) for line in out.splitlines()] == lines
    # A field compress writes itself cannot travel alongside it.
    src.write_text(json.dumps({"text": "x", "size": "XL"}) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "compress", str(src))
    assert code == 2 and out == ""
    assert f"{src}:1: the line has a field 'size', which compress writes itself" in err


def test_decompress_reports_bad_frames(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    good = base64.b64encode(Pipeline.from_config().encode("fine")).decode()
    bad.write_text(json.dumps({"frame": good}) + "\n" + json.dumps({"frame": "AAEC"}) + "\n")
    code, out, err = run(capsys, "decompress", str(bad))
    assert code == 1
    assert json.loads(out) == {"text": "fine"}
    assert "bad.jsonl:2" in err and "1 frames did not decode" in err
    bad.write_text("not json\n")
    code, _, err = run(capsys, "decompress", str(bad))
    assert code == 2 and "bad.jsonl:1: not a JSON line" in err


def test_raw_mode_round_trip(tmp_path: Path) -> None:
    message = "Grüße, wie geht's? " * 20
    src = tmp_path / "m.txt"
    src.write_text(message, encoding="utf-8")
    exe = [sys.executable, "-m", "auracodec"]
    frame = subprocess.run(
        [*exe, "compress", "--raw", str(src)], check=True, capture_output=True
    ).stdout
    assert len(frame) < len(message.encode())
    back = subprocess.run(
        [*exe, "decompress", "--raw"], input=frame, check=True, capture_output=True
    ).stdout
    assert back.decode() == message


def test_plugins_listing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    for expected in (
        "zstd",
        "0x02",
        "brotli",
        "0x01",
        "identity",
        "0x04",
        "policy smallest",
        "auracodec",
    ):
        assert expected in out


def test_plugins_listing_marks_broken_plugins(
    capsys: pytest.CaptureFixture[str], site: Path
) -> None:
    install(
        site,
        "thirdparty",
        {
            "broken": "raise ImportError(\"needs pip install 'thing[extra]' [/]\")\n",
            "fine": codec("fine", 0xC4),
            "stringly": codec("stringly", 0xC6, "Codec.fingerprint = lambda self: 'v1'"),
        },
    )
    code, out, err = run(capsys, "plugins")
    assert code == 0, err
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│")}
    assert "skipped" in rows["broken"] and "thirdparty" in rows["broken"]
    assert "codec fine" in rows["fine"] and "0xc4" in rows["fine"] and " ok " in rows["fine"]
    assert " ok " in rows["zstd"]
    assert "broken: skipped: could not be loaded: ImportError: " in out
    assert "needs pip install 'thing[extra]' [/]" in out
    # A failure that shows only when the codec is built is found too.
    assert "skipped" in rows["stringly"]
    assert "fingerprint() returned 'v1'" in out


def test_plugins_listing_marks_conflicts(capsys: pytest.CaptureFixture[str], site: Path) -> None:
    install(site, "thirdparty", {"one": codec("one", 0xC5), "two": codec("two", 0xC5)})
    code, out, err = run(capsys, "plugins")
    assert code == 0, err
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│")}
    assert "conflict" in rows["one"] and "conflict" in rows["two"]
    assert " ok " in rows["zstd"]
    reasons = [line for line in out.splitlines() if line.startswith(("one: ", "two: "))]
    assert len(reasons) == 2 and all("0xc5" in line for line in reasons)


def test_config_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg = tmp_path / "auracodec.toml"
    cfg.write_text("[codecs.zstd]\nlevel = 'max'\n")
    code, _, err = run(capsys, "bench", "--config", str(cfg))
    assert code == 2
    assert "codecs.zstd.level: expected an integer from 1 to 22" in err
    code, _, err = run(capsys, "bench", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "no such file or directory" in err


def test_user_text_is_printed_as_it_is(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rich markup and emoji codes in file names and messages are text, not style.
    (tmp_path / "x[").mkdir()
    odd = tmp_path / "x[/]:smile:[bold].jsonl"  # "]:smile:[bold].jsonl" in directory "x["
    odd.write_text(json.dumps({"text": "hello [red]there[/]"}) + "\n", encoding="utf-8")
    code, _, err = run(capsys, "bench", str(odd), "--no-baselines")
    assert code == 0, err
    assert f"auracodec bench on {odd}: 1 messages" in err
    odd.write_text("{broken\n", encoding="utf-8")
    code, _, err = run(capsys, "bench", str(odd))
    assert code == 2
    assert f"auracodec bench: error: {odd}:1: not a JSON line" in err
    # An exception that tells the user what to install keeps its brackets.
    monkeypatch.setitem(sys.modules, "websockets", None)
    code, _, err = run(capsys, "demo")
    assert code == 2
    assert "needs the websockets library: pip install 'auracodec[websocket]'" in err


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (
            "stress",
            [
                "(default: 10)",
                "(default: 50)",
                "(default: 5)",
                "(default: 300.0)",
                "(default: 64)",
            ],
        ),
        ("bench", ["(default: built-in defaults)"]),
    ],
)
def test_help_shows_defaults(
    capsys: pytest.CaptureFixture[str], command: str, shown: list[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for text in shown:
        assert text in " ".join(out.split())  # argparse wraps lines
    # Options with nothing to show (no default, flags) say nothing.
    assert "(default: None)" not in out and "(default: False)" not in out


def test_conformance_command(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "identity", "--", "-q"]) == 0
    out, _ = capfd.readouterr()
    assert "passed" in out and "warning" not in out.lower()


def test_conformance_says_which_extra_it_needs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "hypothesis", None)  # as if not installed
    code, _, err = run(capsys, "conformance", "identity")
    assert code == 2
    assert (
        "auracodec conformance: error: the conformance suite needs hypothesis, which cannot "
        "be imported: pip install 'auracodec[conformance]'"
    ) in err


def test_installed_script_runs_the_main_job() -> None:
    # The console script pip installed beside this interpreter (the venv need
    # not be activated, so it is not looked up on PATH).
    script = Path(sysconfig.get_path("scripts")) / "auracodec"
    assert script.exists(), f"pip installed no console script at {script}"
    result = subprocess.run(
        [str(script), "bench", "--limit", "60", "--no-baselines"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "pipeline" in result.stdout


def test_a_training_setting_a_plugin_cannot_use_names_its_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, corpus: Path
) -> None:
    # 100 kB is a valid size to load a BRIO model with, but too small to train
    # one: the user's mistake, reported as such, not a traceback.
    cfg = tmp_path / "auracodec.toml"
    cfg.write_text("[codecs.brio]\nmodel_size = 100000\n")
    code, _, err = run(
        capsys, "train", str(corpus), "-o", str(tmp_path / "p"), "--config", str(cfg)
    )
    assert code == 2
    assert "codecs.brio.model_size: model_size must be at least" in err
    assert "Traceback" not in err


def test_a_reader_that_goes_away_ends_the_command_quietly(corpus: Path) -> None:
    # `auracodec compress big.jsonl | head`: no error message, SIGPIPE's status.
    with subprocess.Popen(
        [sys.executable, "-m", "auracodec", "compress", str(corpus)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.read(64)
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == 141
    assert err == b""


def test_stress_thread_threshold_default_is_the_websocket_one() -> None:
    """The CLI spells the default out so that --help needs no websockets."""
    pytest.importorskip("websockets", reason="the websocket extra is not installed")
    from auracodec import websocket
    from auracodec.cli import _stress

    assert _stress.THREAD_THRESHOLD == websocket.THREAD_THRESHOLD
