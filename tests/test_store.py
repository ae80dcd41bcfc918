"""Profile stores: immutable, content-addressed versions, references, training state apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from auracodec import ConfigError, Pipeline
from auracodec.core.config import Config
from auracodec.core.refs import locate, resolve


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
