"""Template discovery: miner clusters become typed, useful, append-only libraries."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import attrs
import pytest

from auracodec import AuraError, AuraWarning, Pipeline, hookimpl
from auracodec.core.config import Config
from auracodec.core.corpus import Sample, builtin_sample, read_corpus
from auracodec.core.training import train
from auracodec.plugins.binary_semantic.discovery import Learner, slot_text
from auracodec.plugins.binary_semantic.library import load_library
from auracodec.plugins.binary_semantic.normalizers import BUILTIN
from conftest import corpus_path

TYPES = {name: cls() for name, cls in BUILTIN.items()}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["blk_-77", "blk_123", "blk_9"], "blk_{int}"),
        (["10.0.0.1:50010", "10.2.3.4:22"], "{ipv4}:{int}"),
        (["2025-10-23T10:30:00Z", "2024-01-01T00:00:00Z"], "{ts}"),
        (["e3b0c442-98fc-1c14-9afb-f4c8996fb924"], "{uuid}"),
        (["INFO", "WARN"], "{enum:INFO|WARN|*}"),
        (["alice", "bob", "carol", "dave", "erin"], "{enum:alice|carol|dave|erin|bob|*}"),
        (["core.1165", "core.77"], "core.{int}"),
        (["{a}", "{b}"], "{word}"),
    ],
)
def test_slot_text(values: list[str], expected: str) -> None:
    assert slot_text(values, False, 100, TYPES) == expected


def test_enum_needs_support_and_short_values() -> None:
    assert slot_text(["INFO", "WARN"], False, 5, TYPES) == "{word}"  # too few messages
    assert slot_text(["x" * 40, "y" * 40], False, 100, TYPES) == "{word}"
    assert slot_text(["a", "b"], True, 100, TYPES) == "{word}"  # saturated: open set


def learn(messages: list[bytes], **kw: int) -> Learner:
    learner = Learner(TYPES, **kw)
    learner.observe(messages)
    return learner


LOG = [
    f"Jun {d:2d} 10:{m:02d}:00 host sshd[{900 + m}]: Failed password for {u} from 10.0.{m}.{d} "
    f"port {4000 + m} ssh2".encode()
    for d in range(1, 4)
    for m in range(20)
    for u in ("root", "admin", "guest", "oracle")
]


def test_learner_finds_templates_that_pay() -> None:
    learner = learn(LOG)
    report = learner.update()
    assert report.templates >= 1 and report.added == report.templates
    assert report.matched == len(LOG) and report.saved > 0
    tset_ids = [t.id for t in learner.library]
    assert tset_ids == list(range(len(tset_ids)))  # ids by frequency from 0
    assert "{ipv4}" in learner.library[0].text and "{int}" in learner.library[0].text


def test_write_resume_append_retire(tmp_path: Path) -> None:
    learner = learn(LOG, min_count=3)
    learner.update()
    learner.write(tmp_path)
    _, first = load_library(tmp_path / "templates.toml", TYPES)
    again = Learner.resume(tmp_path, TYPES, min_count=3)
    assert [t.text for t in again.library] == [t.text for t in first]
    again.observe([f"backup {i} finished in {i * 3} s".encode() for i in range(50)])
    report = again.update()
    again.write(tmp_path)
    _, second = load_library(tmp_path / "templates.toml", TYPES)
    assert [(t.id, t.text) for t in second[: len(first)]] == [(t.id, t.text) for t in first]
    assert report.added >= 1 and second[-1].text.startswith("backup {int}")
    assert report.retired == 0


def test_the_miner_state_lives_apart_from_the_library(tmp_path: Path) -> None:
    profile, state = tmp_path / "profile", tmp_path / "state"
    learner = learn(LOG, min_count=3)
    learner.update()
    learner.write(profile, state_dir=state)
    assert sorted(p.name for p in profile.iterdir()) == ["templates.toml"]
    assert sorted(p.name for p in state.iterdir()) == ["templates.state.json"]
    again = Learner.resume(profile, TYPES, state_dir=state, min_count=3)
    assert again.miner.to_state(include_cache=False) == learner.miner.to_state(include_cache=False)


def test_a_state_left_in_the_library_directory_moves_out(tmp_path: Path) -> None:
    # auracodec 0.1 wrote the state beside the library, in the profile.
    profile, state = tmp_path / "profile", tmp_path / "state"
    learner = learn(LOG, min_count=3)
    learner.update()
    learner.write(profile)
    assert (profile / "templates.state.json").exists()
    again = Learner.resume(profile, TYPES, state_dir=state, min_count=3)
    assert again.miner.to_state(include_cache=False) == learner.miner.to_state(include_cache=False)
    again.write_state(state, library_dir=profile)
    assert (state / "templates.state.json").exists()
    assert not (profile / "templates.state.json").exists()


def test_a_library_without_its_state_keeps_its_ids(tmp_path: Path) -> None:
    learner = learn(LOG, min_count=3)
    learner.update()
    learner.write(tmp_path / "profile", state_dir=tmp_path / "state")
    first = [(t.id, t.text) for t in learner.library]
    # The state is gone (deleted, or never copied): the miner starts afresh,
    # the library and its ids stay.
    again = Learner.resume(tmp_path / "profile", TYPES, state_dir=tmp_path / "gone", min_count=3)
    assert again.miner.to_state(include_cache=False)["messages"] == 0
    again.observe([f"backup {i} finished in {i * 3} s".encode() for i in range(50)] + LOG)
    report = again.update()
    assert [(t.id, t.text) for t in again.library[: len(first)]] == first
    assert report.added >= 1 and again.library[-1].id == len(first) + report.added - 1


def test_training_keeps_its_state_out_of_the_profile(tmp_path: Path) -> None:
    samples = builtin_sample()
    profile, state = tmp_path / "profile", tmp_path / "state"
    train(samples, profile, state_dir=state)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profile", "state"]
    assert sorted(p.name for p in state.iterdir()) == ["README.txt", "templates.state.json"]
    assert state.stat().st_mode & 0o777 == 0o700  # made private
    readme = (state / "README.txt").read_text(encoding="utf-8")
    assert "TRAINING MESSAGES VERBATIM" in readme and "never" in readme.lower()
    assert "templates.state.json" not in {p.name for p in profile.iterdir()}
    # The state does hold whole training messages; the profile's files, the
    # zstd dictionary aside (raw substrings of the traffic, documented), none.
    held = (state / "templates.state.json").read_bytes()
    verbatim = [
        s.data
        for s in samples
        if len(s.data) >= 30
        and json.dumps(s.data.decode(), ensure_ascii=False)[1:-1].encode() in held
    ]
    assert len(verbatim) >= 10
    for artifact in profile.iterdir():
        if artifact.name != "zstd.dict":
            data = artifact.read_bytes()
            assert not [m for m in verbatim if m in data], artifact.name
    # Training again resumes the state: the library grows, ids kept.
    first = (profile / "templates.toml").read_text()
    no_brio = Config.from_mapping({"plugins": {"disable": ["brio"]}})
    train(samples, profile, config=no_brio, state_dir=state)
    assert (profile / "templates.toml").read_text() != first
    # Without a state directory, none is left anywhere: a private temporary
    # one is used and removed.
    before = set(Path(tempfile.gettempdir()).glob("auracodec-state-*"))
    train(samples, tmp_path / "p2", config=no_brio)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p2", "profile", "state"]
    assert "templates.state.json" not in {p.name for p in (tmp_path / "p2").iterdir()}
    assert set(Path(tempfile.gettempdir()).glob("auracodec-state-*")) == before
    # A directory that is something else is refused.
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("keep me")
    with pytest.raises(AuraError, match=r"holds files but no README\.txt, so it is not a training"):
        train(samples, tmp_path / "p3", config=no_brio, state_dir=notes)


def test_training_hooks_receive_a_state_directory_if_they_ask(tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    class WithState:
        @hookimpl
        def auracodec_train(self, corpus: list[Sample], outdir: Path, statedir: Path) -> None:
            (statedir / "mine.json").write_text(str(len(corpus)))
            seen["with"] = statedir

    class WithoutState:  # written before statedir existed: still called
        @hookimpl
        def auracodec_train(self, corpus: list[Sample], outdir: Path) -> None:
            seen["without"] = outdir

    samples = builtin_sample()[:40]
    with pytest.warns(AuraWarning):  # too little for zstd's dictionary
        train(
            samples,
            tmp_path / "p",
            config=Config.from_mapping({"plugins": {"disable": ["brio"]}}),
            plugins=[("with-state", WithState()), ("without-state", WithoutState())],
            state_dir=tmp_path / "state",
        )
    assert seen == {"with": tmp_path / "state", "without": tmp_path / "p"}
    assert (tmp_path / "state" / "mine.json").read_text() == "40"


def test_trained_pipeline_round_trips_everything(tmp_path: Path) -> None:
    samples = builtin_sample()
    profile = train(samples, tmp_path)
    # `smallest` tries every codec on every message, so the template codec sees
    # them all (the default `cost` policy tries it only where it can win).
    config = attrs.evolve(Config.load(profile.config_path), policy="smallest")
    pipe = Pipeline.from_config(config)
    assert (tmp_path / "templates.toml").exists()
    for s in samples:
        frame = pipe.encode(s.data)
        assert pipe.decode_bytes(frame) == s.data
    # Templates match the sample's log lines and API events; whether they win
    # a message is the selector's call (BRIO often codes them smaller).
    stats = pipe.stats.to_dict()["codecs"]["binary_semantic"]
    assert stats["matched"] > 20


def test_non_utf8_lines_are_handled() -> None:
    lines = [b"event \xff\xfe %d done" % i for i in range(30)]
    learner = learn(lines + [b"plain %d" % i for i in range(30)])
    report = learner.update()
    assert all("\udcff" not in t.text for t in learner.library)
    assert report.templates >= 1


@pytest.mark.corpus
def test_discovery_on_real_logs(tmp_path: Path) -> None:
    lines = read_corpus([corpus_path("logs", "HDFS", "HDFS_2k.log")])
    with pytest.warns(AuraWarning, match="barely vary"):
        profile = train([Sample(s.data) for s in lines[:1000]], tmp_path)
    pipe = Pipeline.from_config(profile.config_path, codecs=["binary_semantic"])
    test = [s.data for s in lines[1000:]]
    frames = [pipe.encode(m) for m in test]
    assert [pipe.decode_bytes(f) for f in frames] == test
    templated = sum(pipe.method_of(f) == "binary_semantic" for f in frames)
    assert templated > 0.85 * len(test)
    assert sum(map(len, frames)) < sum(map(len, test)) / 2
