"""Profile stores: immutable, content-addressed versions, references, training state apart."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from auracodec import AuraError, ConfigError, DecodeError, Pipeline
from auracodec.core.config import Config
from auracodec.core.corpus import builtin_sample, read_corpus
from auracodec.core.refs import locate, resolve
from auracodec.core.store import GcResult, ProfileStore, StoredVersion, version_id
from auracodec.core.training import train
from conftest import corpus_path


def hand_made_store(root: Path, ids: list[str], current: str | None) -> Path:
    """A store laid out by hand: each version a one-line profile (no artifacts)."""
    (root / "refs").mkdir(parents=True)
    (root / "auracodec-store.toml").write_text("format = 1\n")
    for n, i in enumerate(ids):
        version = root / "versions" / i
        version.mkdir(parents=True)
        (version / "auracodec.toml").write_text(
            f'[pipeline]\nmax_message_size = {1000 + n}\ncodecs = ["zstd"]\n'
        )
    if current is not None:
        (root / "refs" / "current").write_text(current + "\n")
    return root


A = "ab12" + "0" * 60
B = "ab34" + "1" * 60
C = "cd56" + "2" * 60


def test_references_name_one_version(tmp_path: Path) -> None:
    store = hand_made_store(tmp_path / "store", [A, B, C], current=B)
    assert resolve(store, "current") == B
    assert resolve(store, "cd56") == resolve(store, C) == resolve(store, "CD56") == C
    assert resolve(store, "ab12") == A
    too_short = r"expected 'current' or a version id or prefix of at least 4 hex digits, got "
    with pytest.raises(ConfigError, match=too_short + "'ab1'"):
        resolve(store, "ab1")
    with pytest.raises(ConfigError, match=r"no version 'ffff' in this profile store \(3 versions"):
        resolve(store, "ffff")
    with pytest.raises(ConfigError, match=too_short + "'latest'"):
        resolve(store, "latest")
    # Ambiguous: two versions start with it.
    with pytest.raises(ConfigError, match=r"prefix 'ab12' is ambiguous: 2 versions"):
        resolve(hand_made_store(tmp_path / "two", [A, "ab12" + "f" * 60], current=A), "ab12")
    with pytest.raises(ConfigError, match=r"not a profile store \(no auracodec-store\.toml\)"):
        resolve(tmp_path, "current")


def test_config_load_takes_a_store_or_a_version_of_one(tmp_path: Path) -> None:
    store = hand_made_store(tmp_path / "store", [A, B, C], current=C)
    assert Config.load(store).max_message_size == 1002  # the current version
    assert Config.load(store).path == store.resolve() / "versions" / C / "auracodec.toml"
    assert Config.load(f"{store}@ab34").max_message_size == 1001
    assert Config.load(f"{store}@current").max_message_size == 1002
    assert Pipeline.from_config(f"{store}@{A}").max_message_size == 1000
    with pytest.raises(ConfigError, match=rf"^{store}: no version 'beef'"):
        Config.load(f"{store}@beef")
    # Not a store: an ordinary path, whatever it contains.
    odd = tmp_path / "a@b"
    odd.mkdir()
    (odd / "auracodec.toml").write_text("[pipeline]\nmax_message_size = 7\n")
    assert locate(odd) is None and Config.load(odd).max_message_size == 7
    with pytest.raises(ConfigError, match=r"cannot read config file"):
        Config.load(tmp_path / "nothing@ab12")


def test_a_store_without_a_current_version_says_so(tmp_path: Path) -> None:
    store = hand_made_store(tmp_path / "store", [A], current=None)
    with pytest.raises(ConfigError, match=r"has no current version yet: train one with"):
        Config.load(store)
    (store / "refs" / "current").write_text(C + "\n")
    with pytest.raises(ConfigError, match=r"refs/current names version cd5622222222, which is not"):
        Config.load(store)
    (store / "refs" / "current").write_text("garbage\n")
    with pytest.raises(ConfigError, match=r"current: expected a version id \(64 hex digits\)"):
        Config.load(store)


# -- stores made by training ------------------------------------------------------------

SAMPLE = builtin_sample()
NO_BRIO = Config.from_mapping({"plugins": {"disable": ["brio"]}})


@attrs.frozen
class Trained:
    """A store with two versions: v1 trained on half the sample (every other message),
    v2 continued from it on the whole sample; frames v1 made before v2."""

    root: Path
    v1: StoredVersion
    v2: StoredVersion
    messages: list[bytes]
    frames: list[bytes]
    #: Each conversation's frames, made by one v1 session.
    sessions: list[tuple[list[bytes], list[bytes]]]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("trained") / "store"
    store = ProfileStore.create(root)
    v1 = store.train(SAMPLE[::2])
    pipe = Pipeline.from_config(root)
    messages = [s.data for s in SAMPLE]
    frames = [pipe.encode(m) for m in messages]
    conversations: dict[str | None, list[bytes]] = {}
    for s in SAMPLE:
        if s.conv is not None:
            conversations.setdefault(s.conv, []).append(s.data)
    sessions = []
    for conv in list(conversations.values())[:20]:
        session = pipe.session()
        sessions.append((conv, [session.encode(m) for m in conv]))
    v2 = store.train(SAMPLE, parent="current")
    return Trained(root, v1, v2, messages, frames, sessions)


def copy_store(trained: Trained, dest: Path) -> ProfileStore:
    shutil.copytree(trained.root, dest)
    return ProfileStore.open(dest)


def test_continued_training_keeps_template_ids_and_earlier_frames_decode(
    trained: Trained,
) -> None:
    store = ProfileStore.open(trained.root)
    v1, v2 = trained.v1, trained.v2
    assert v1.id != v2.id and v1.fingerprint != v2.fingerprint
    assert (v2.parent, v1.parent) == (v1.id, None)
    assert v2.state_resumed and v1.new and v2.new
    assert store.current == v2.id and Config.load(trained.root).path == (
        store.path(v2.id) / "auracodec.toml"
    )
    # Templates keep their ids: every v1 template has the same text in v2.
    t1 = template_texts(store.path(v1.id))
    t2 = template_texts(store.path(v2.id))
    assert t1 and len(t2) > len(t1)
    assert {i: t2[i] for i in t1} == t1
    # Every frame v1 made decodes with v1's pipeline, loaded fresh from the
    # store, by id and through pipelines(); not with v2's.
    fresh = Pipeline.from_config(f"{trained.root}@{v1.id[:8]}")
    versions = store.pipelines()
    assert list(versions) == [v2.fingerprint, v1.fingerprint]  # current first
    held = versions[v1.fingerprint]
    for p in (fresh, held):
        assert p.fingerprint == v1.fingerprint
        assert [p.decode_bytes(f) for f in trained.frames] == trained.messages
        for conv, frames in trained.sessions:
            session = p.session()
            assert [session.decode_bytes(f) for f in frames] == conv
    current = versions.current
    assert current.fingerprint == v2.fingerprint
    failures = 0
    for f, m in zip(trained.frames, trained.messages, strict=True):
        try:
            failures += current.decode_bytes(f) != m
        except DecodeError:
            failures += 1
    assert failures > 0  # why the store keeps v1: v2 alone would not do


def test_versions_hold_no_training_state(trained: Trained) -> None:
    store = ProfileStore.open(trained.root)
    for v in (trained.v1, trained.v2):
        files = {p.name for p in store.path(v.id).iterdir()}
        assert files == {
            "auracodec.toml",
            "brio.model",
            "zstd.dict",
            "templates.toml",
            "costs.json",
            "manifest.json",
        }
        state = store.state_path(v.id)
        assert sorted(p.name for p in state.iterdir()) == ["README.txt", "templates.state.json"]
        assert "TRAINING MESSAGES VERBATIM" in (state / "README.txt").read_text()
        # Read-only, all of them.
        assert all(p.stat().st_mode & 0o222 == 0 for p in store.path(v.id).iterdir())


def test_the_manifest_records_what_a_version_is(trained: Trained) -> None:
    store = ProfileStore.open(trained.root)
    m = store.manifest(trained.v2.id)
    assert (m.id, m.parent, m.fingerprint) == (trained.v2.id, trained.v1.id, trained.v2.fingerprint)
    assert m.messages == len(SAMPLE) and m.message_bytes == sum(len(s.data) for s in SAMPLE)
    roles = {f.name: f.role for f in m.files}
    assert roles == {
        "auracodec.toml": "config",
        "brio.model": "decoding",
        "zstd.dict": "decoding",
        "templates.toml": "decoding",
        "costs.json": "encoding",
    }
    for f in m.files:
        data = (store.path(m.id) / f.name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (f.size, f.sha256)
    # What training chose, chosen again when training continues (BRIO's
    # fitted ratio cap among them); what the starting config set is not listed.
    assert "max_ratio" in m.trained["codecs.brio"]
    assert version_id(store.path(m.id)) == m.id
    assert store.verify(m.id) == []


def test_the_same_content_is_the_same_version(trained: Trained, tmp_path: Path) -> None:
    store = copy_store(trained, tmp_path / "store")
    v1 = store.path(trained.v1.id)
    before = {p.name: p.stat().st_mtime_ns for p in v1.iterdir()}
    history = store.history()
    # Training on the same messages from scratch makes the same version: it is
    # not written again, and becomes current.
    again = store.train(SAMPLE[::2])
    assert (again.id, again.new, again.fingerprint) == (
        trained.v1.id,
        False,
        trained.v1.fingerprint,
    )
    assert {p.name: p.stat().st_mtime_ns for p in v1.iterdir()} == before
    assert store.current == trained.v1.id
    assert [h.reason for h in store.history()[len(history) :]] == ["train"]
    # A plain profile with the same content, added: the same id and fingerprint.
    plain = tmp_path / "plain"
    shutil.copytree(v1, plain)
    (plain / "manifest.json").chmod(0o644)
    (plain / "manifest.json").unlink()
    other = ProfileStore.create(tmp_path / "other")
    added = other.add(plain)
    assert (added.id, added.fingerprint, added.new) == (trained.v1.id, trained.v1.fingerprint, True)
    # The plain profile was copied, not moved or changed.
    assert sorted(p.name for p in plain.iterdir()) == sorted(set(before) - {"manifest.json"})
    assert store.path(trained.v1.id).is_dir()


def test_the_id_is_the_decoding_content(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    train(SAMPLE, profile, config=NO_BRIO)
    base = version_id(profile)

    def variant(name: str, change: Callable[[Path], None]) -> str:
        copy = tmp_path / name
        shutil.copytree(profile, copy)
        change(copy)
        return version_id(copy)

    def edit(path: Path, old: str, new: str) -> None:
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))

    def rename_dictionary(p: Path) -> None:
        (p / "zstd.dict").rename(p / "words.bin")
        edit(p / "auracodec.toml", '"zstd.dict"', '"./words.bin"')

    def flip_dictionary_byte(p: Path) -> None:
        data = bytearray((p / "zstd.dict").read_bytes())
        data[-1] ^= 1
        (p / "zstd.dict").write_bytes(bytes(data))

    # Not in the id: comments, the selector's estimates and settings, names.
    assert variant("comment", lambda p: edit(p / "auracodec.toml", "# Written", "# Made")) == base
    assert variant("costs", lambda p: (p / "costs.json").write_text("{}")) == base
    assert variant("policy", lambda p: edit(p / "auracodec.toml", '"cost"', '"smallest"')) == base
    assert variant("renamed", rename_dictionary) == base
    # In it: every artifact's bytes and every decoding setting.
    assert variant("dict", flip_dictionary_byte) != base
    assert variant("level", lambda p: edit(p / "auracodec.toml", "level = 19", "level = 3")) != base
    assert variant("limit", lambda p: edit(p / "auracodec.toml", "4194304", "1048576")) != base
    library = variant("library", lambda p: edit(p / "templates.toml", "hits = ", "hits = 1"))
    assert library != base


def test_versions_are_self_contained(tmp_path: Path) -> None:
    # A config that names a template library outside the profile: the version
    # gets a copy, named relative to it, and survives the original's removal.
    mine = tmp_path / "mine.toml"
    mine.write_text(
        '[library]\nformat = 1\nname = "mine"\n\n[[template]]\nid = 9000\n'
        'text = "deploy {word} finished in {int} s"\n'
    )
    start = Config.from_mapping(
        {"codecs": {"binary_semantic": {"libraries": [str(mine)]}}, **NO_BRIO_TABLES},
        base=tmp_path / "auracodec.toml",
    )
    store = ProfileStore.create(tmp_path / "store")
    v = store.train(SAMPLE, config=start)
    assert v.copied_in == ("mine.toml",)
    mine.unlink()
    config = tomllib.loads((store.path(v.id) / "auracodec.toml").read_text())
    assert config["codecs"]["binary_semantic"]["libraries"] == ["mine.toml", "templates.toml"]
    pipe = store.pipeline(v.id)
    message = b"deploy api finished in 42 s"
    assert pipe.decode_bytes(pipe.encode(message)) == message
    assert store.verify(v.id) == []
    # Continuing from it keeps the library, from inside the version.
    child = store.train(SAMPLE, parent=v.id)
    assert child.copied_in == ()
    assert "mine.toml" in {p.name for p in store.path(child.id).iterdir()}


NO_BRIO_TABLES: dict[str, Any] = {"plugins": {"disable": ["brio"]}}


def small_store(root: Path, ratios: Sequence[int]) -> tuple[ProfileStore, list[str]]:
    """A store with one version per template ratio cap, each of its own
    fingerprint (no BRIO: small and quick)."""
    profile = root.parent / f"{root.name}-profile"
    train(SAMPLE, profile, config=NO_BRIO)
    text = (profile / "auracodec.toml").read_text()
    store = ProfileStore.create(root)
    ids = []
    for ratio in ratios:
        (profile / "auracodec.toml").write_text(
            text.replace(
                "[codecs.binary_semantic]\n", f"[codecs.binary_semantic]\nmax_ratio = {ratio}\n"
            )
        )
        ids.append(store.add(profile).id)
    return store, ids


def test_select_and_rollback(tmp_path: Path) -> None:
    store, (a, b) = small_store(tmp_path / "store", [8, 9])
    assert store.current == b
    assert store.select(a[:6]) == a
    assert store.current == a and Config.load(store.root).path == store.path(a) / "auracodec.toml"
    assert [(h.id, h.reason) for h in store.history()] == [
        (a, "add"),
        (b, "add"),
        (a, "rollback"),
    ]
    store.select(b)
    assert store.history()[-1].reason == "select"


def test_gc_keeps_current_recent_and_young_versions(tmp_path: Path) -> None:
    store, ids = small_store(tmp_path / "store", [8, 9, 10, 11, 12])
    for i in ids:  # a training state each, as training leaves
        (store.root / "training" / i / "templates.state.json").write_text("{}")
    store.select(ids[2])  # history: 0 1 2 3 4 2; current 2
    young = {i: "younger than 7 days" for i in ids if i != ids[2]}
    # Nothing is older than a week yet: nothing goes.
    assert store.gc(keep_recent=1) == GcResult((), {ids[2]: "current"} | young, 0)
    orphan = store.root / "training" / ("f" * 64)
    orphan.mkdir()
    stale = store.root / ".staging-dead"
    stale.mkdir()
    (stale / "x").write_bytes(b"x" * 100)
    os.utime(stale, (0, 0))
    later = time.time() + 30 * 86400
    dry = store.gc(keep_recent=2, now=later, dry_run=True)
    assert set(dry.removed) == {ids[0], ids[1], ids[3]}
    assert dry.kept == {ids[2]: "current", ids[4]: "recent history"}
    assert store.ids() == sorted(ids)  # a dry run removes nothing
    sizes = sum(_tree(store.path(i)) + _tree(store.state_path(i)) for i in dry.removed)
    assert dry.freed == sizes + 100
    done = store.gc(keep_recent=2, now=later)
    assert done.removed == dry.removed and done.freed == dry.freed
    assert set(done.leftovers) == {f"training/{'f' * 64}", ".staging-dead"}
    assert store.ids() == sorted([ids[2], ids[4]])
    assert sorted(p.name for p in (store.root / "training").iterdir()) == sorted([ids[2], ids[4]])
    assert not stale.exists() and not orphan.exists()
    assert not [p for p in store.root.iterdir() if p.name.startswith(".removing")]
    # Every kept version still loads and verifies.
    for i in store.ids():
        assert store.verify(i) == []


def _tree(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_verify_finds_what_changed(tmp_path: Path) -> None:
    store, (a,) = small_store(tmp_path / "store", [8])
    path = store.path(a)
    (path / "zstd.dict").chmod(0o644)
    with (path / "zstd.dict").open("r+b") as f:
        f.seek(100)
        f.write(b"\xff")
    (path / "stray.txt").write_text("hello")
    problems = store.verify(a)
    assert any(p.startswith("zstd.dict: changed (") for p in problems)
    assert "stray.txt: not in the manifest" in problems
    assert any(p.startswith("the content's id is ") for p in problems)
    # zstd checks its dictionary against the config's dictionary_sha256 too.
    assert any("does not build a pipeline" in p and "dictionary_sha256" in p for p in problems)


def test_a_pipeline_that_is_not_what_its_manifest_says_is_refused(tmp_path: Path) -> None:
    store, (a, b) = small_store(tmp_path / "store", [8, 9])
    versions = store.pipelines()
    fa, fb = store.manifest(a).fingerprint, store.manifest(b).fingerprint
    assert list(versions) == [fb, fa] and versions.current_fingerprint == fb
    assert not versions.is_built(fa) and versions.id_of(fa) == a
    assert versions.for_fingerprint("0" * 16) is None
    assert versions.max_message_size == 4 * 1024 * 1024
    manifest = store.path(a) / "manifest.json"
    manifest.chmod(0o644)
    manifest.write_text(manifest.read_text().replace(fa, "0123456789abcdef"))
    tampered = store.pipelines([a])
    with pytest.raises(ConfigError, match=r"builds a pipeline of fingerprint .* but its manifest"):
        tampered.current  # noqa: B018


def test_diff_says_what_changed(trained: Trained) -> None:
    store = ProfileStore.open(trained.root)
    d = store.diff(trained.v1.id, trained.v2.id)
    status = {f.name: f.status for f in d.files}
    assert status["templates.toml"] == "changed" and status["auracodec.toml"] in {"same", "changed"}
    assert {f.name for f in d.files} >= {"brio.model", "zstd.dict", "costs.json"}
    same = store.diff(trained.v1.id, trained.v1.id[:10])
    assert {f.status for f in same.files} == {"same"} and same.config == ()


def test_stores_refuse_what_they_are_not(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("keep me")
    with pytest.raises(AuraError, match=r"holds other files, not a profile store"):
        ProfileStore.create(notes)
    with pytest.raises(ConfigError, match=r"not a profile store \(no auracodec-store\.toml\)"):
        ProfileStore.open(notes)
    store = ProfileStore.create(tmp_path / "empty")
    assert store.ids() == [] and store.current is None and store.versions() == []
    with pytest.raises(ConfigError, match=r"has no version yet"):
        store.pipelines()
    (store.root / "auracodec-store.toml").write_text("format = 2\n")
    with pytest.raises(ConfigError, match=r"store format 2, this auracodec reads format 1"):
        ProfileStore.open(store.root)
    with pytest.raises(AuraError, match=r"is not a profile directory"):
        ProfileStore.create(tmp_path / "s2").add(notes)


def template_texts(profile: Path) -> dict[int, str]:
    data = tomllib.loads((profile / "templates.toml").read_text(encoding="utf-8"))
    return {t["id"]: t["text"] for t in data["template"]}


@pytest.mark.corpus
def test_retraining_on_chat_keeps_earlier_frames_decodable(tmp_path: Path) -> None:
    # bench/profiles_retrain.py in small: two successive trainings on chat.
    train_split = read_corpus([corpus_path("chat", "train.jsonl")])[:3000]
    test_split = read_corpus([corpus_path("chat", "test.jsonl")])[:400]
    store = ProfileStore.create(tmp_path / "store")
    v1 = store.train(train_split[:1500])
    pipe = store.pipeline()
    frames = [pipe.encode(s.data) for s in test_split]
    v2 = store.train(train_split, parent=v1.id)
    assert store.current == v2.id and v2.fingerprint != v1.fingerprint
    old = ProfileStore.open(store.root).pipelines()[v1.fingerprint]
    assert [old.decode_bytes(f) for f in frames] == [s.data for s in test_split]
    t1, t2 = template_texts(store.path(v1.id)), template_texts(store.path(v2.id))
    assert t1 and {i: t2[i] for i in t1} == t1
