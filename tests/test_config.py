"""TOML configuration: every mistake is a ConfigError naming file, key and expectation."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from auracodec import ConfigError, Pipeline
from auracodec.core.config import DEFAULT_MAX_MESSAGE_SIZE, Config, dump_toml
from auracodec.core.cost import Prices


def write(tmp_path: Path, text: str, name: str = "auracodec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    c = Config.defaults()
    assert c.max_message_size == DEFAULT_MAX_MESSAGE_SIZE == 4 * 1024 * 1024
    assert (c.policy, c.verify, c.codecs, c.disable) == ("cost", False, None, ())
    assert c.prices == Prices(0.09, 0.045) and c.estimates is None


def test_full_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [pipeline]
        max_message_size = 65536
        codecs = ["zstd", "brotli"]
        [plugins]
        disable = []
        [selector]
        policy = "rules"
        verify = true
        min_size = 24
        margin = 0.1
        windows = { brotli = [64, 65536] }
        [codecs.zstd]
        level = 7
        [codecs.brotli]
        quality = 9
        mode = "generic"
        """,
    )
    pipe = Pipeline.from_config(path)
    assert set(pipe.codecs) == {"zstd", "brotli", "identity"}
    assert pipe.max_message_size == 65536
    assert pipe.config.verify is True
    assert pipe.policy.min_size == 24 and pipe.policy.windows == {"brotli": (64, 65536)}
    assert pipe.decode(pipe.encode("configured " * 20)) == "configured " * 20


def test_pyproject_table(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[project]\nname = "x"\n[tool.auracodec.selector]\npolicy = "rules"\n',
        "pyproject.toml",
    )
    assert Config.load(path).policy == "rules"
    bare = (
        write(tmp_path / "other", "", "pyproject.toml")
        if (tmp_path / "other").mkdir() is None
        else None
    )
    with pytest.raises(ConfigError, match=r"pyproject.toml: tool.auracodec: no \[tool.auracodec\]"):
        Config.load(bare)


def test_directory_means_its_auracodec_toml(tmp_path: Path) -> None:
    write(tmp_path, "[pipeline]\nmax_message_size = 1234\n")
    assert Config.load(tmp_path).max_message_size == 1234


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "[pipelines]\n",
            r"auracodec.toml: pipelines: unknown table \(known: codecs, health, observers",
        ),
        ("pipeline = 3\n", r"pipeline: expected a table, got 3"),
        (
            "[pipeline]\nmax_message_size = 'big'\n",
            r"pipeline.max_message_size: expected an integer from 1 to 2147483648, "
            r"got 'big' \(str\)",
        ),
        ("[pipeline]\nmax_message_size = 0\n", r"pipeline.max_message_size: expected an integer"),
        ("[pipeline]\nmax_message_size = true\n", r"got True \(bool\)"),
        ("[pipeline]\nlimit = 5\n", r"pipeline.limit: unknown key \(known keys: codecs, max_"),
        ("[pipeline]\ncodecs = 'zstd'\n", r"pipeline.codecs: expected a list of plugin or codec"),
        ("[plugins]\ndisable = ['Not A Name']\n", r"plugins.disable: expected a list of plugin"),
        ("[selector]\nverify = 'yes'\n", r"selector.verify: expected true or false, got 'yes'"),
        ("[selector]\npolicy = 'Fancy Policy'\n", r"selector.policy: expected a policy name"),
        ("[codecs]\nzstd = 1\n", r"codecs.zstd: expected a table, got 1"),
        ("x = " + "[" * 40 + "]" * 40, r"x\[0\].*nested more deeply than 8 levels"),
        ("a = 1\na = 2\n", r"invalid TOML: Cannot overwrite a value"),
    ],
)
def test_kernel_mistakes(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        Config.load(write(tmp_path, text))
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[codecs.nope]\nx = 1\n", r"codecs.nope: no such codec \(installed and enabled: "),
        (
            "[codecs.zstd]\nlevel = 99\n",
            r"codecs.zstd.level: expected an integer from 1 to 22, "
            r"got 99 \(int\)",
        ),
        ("[codecs.zstd]\nlevle = 3\n", r"codecs.zstd.levle: unknown key \(known keys: dictionary"),
        (
            "[codecs.brotli]\nmode = 'fast'\n",
            r"codecs.brotli.mode: expected one of 'generic', "
            r"'text', 'font', got 'fast' \(str\)",
        ),
        (
            "[selector]\npolicy = 'nope'\n",
            r"selector.policy: no such selector policy 'nope' "
            r"\(available: cost, rules, smallest\)",
        ),
        (
            "[selector]\nmargin = 0.1\n",
            r"selector.margin: unknown key \(known keys: explore_every, time_budget_us\)",
        ),
        (
            "[selector]\npolicy = 'smallest'\nmargin = 0.1\n",
            r"selector.margin: unknown key \(known keys: none\)",
        ),
        ("[selector]\negress_usd_per_gb = -1\n", r"selector.egress_usd_per_gb: .*"),
        ("[selector]\ncpu_usd_per_core_hour = 'a'\n", r"selector.cpu_usd_per_core_hour: .*"),
        ("[selector]\ntime_budget_us = -5\n", r"selector.time_budget_us: .*"),
        (
            "[selector]\npolicy = 'rules'\nmargin = 2.0\n",
            r"selector.margin: expected a number from 0 to 1, got 2.0",
        ),
        (
            "[selector]\npolicy = 'rules'\nwindows = { zstd = [10, 1] }\n",
            r"selector.windows: expected a table of codec = \[min_size, max_size\] pairs, got zstd",
        ),
        (
            "[codecs.zstd]\ndictionary = 'missing.dict'\n",
            r"codecs.zstd.dictionary: cannot read .*missing.dict: No such file",
        ),
        ("[plugins]\ndisable = ['identity']\n", r"plugins.disable: 'identity' is the raw fallback"),
        ("[pipeline]\ncodecs = ['zstd', 'nope']\n", r"pipeline.codecs: no such codec 'nope'"),
    ],
)
def test_plugin_table_mistakes(tmp_path: Path, text: str, match: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as info:
        Pipeline.from_config(path)
    assert str(path) in str(info.value)


def test_corrupt_artifacts(tmp_path: Path) -> None:
    samples = [f"event {i}: user {i * 7} did thing {i % 13}".encode() for i in range(4000)]
    good = zstandard.train_dictionary(8192, samples).as_bytes()
    (tmp_path / "z.dict").write_bytes(good[:8] + bytes(200) + good[208:])  # tables zeroed
    path = write(tmp_path, "[codecs.zstd]\ndictionary = 'z.dict'\n")
    with pytest.raises(ConfigError, match=r"codecs.zstd.dictionary: .*not a valid zstd dictionary"):
        Pipeline.from_config(path)
    # A dictionary cut short still parses; the recorded hash catches it.
    (tmp_path / "z.dict").write_bytes(good[: len(good) // 2])
    path = write(
        tmp_path,
        "[codecs.zstd]\ndictionary = 'z.dict'\ndictionary_sha256 = "
        f"'{hashlib.sha256(good).hexdigest()}'\n",
    )
    with pytest.raises(ConfigError, match=r"does not match dictionary_sha256"):
        Pipeline.from_config(path)
    (tmp_path / "z.dict").write_bytes(good)
    assert Pipeline.from_config(path).codecs["zstd"].fingerprint()["dictionary"]


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere.toml: cannot read config file"):
        Config.load(tmp_path / "nowhere.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match=r"bin.toml: not UTF-8 text"):
        Config.load(tmp_path / "bin.toml")
    (tmp_path / "huge.toml").write_bytes(b"#" * (2 * 1024 * 1024))
    with pytest.raises(ConfigError, match=r"more than the 1048576 a config file may have"):
        Config.load(tmp_path / "huge.toml")


def test_deeply_nested_arrays_do_not_crash(tmp_path: Path) -> None:
    # tomllib recurses per level and raises RecursionError on deep nesting.
    path = write(tmp_path, "x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ConfigError, match="nested more deeply"):
        Config.load(path)


def test_relative_paths_start_at_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    samples = [f"line {i} of the log from host-{i % 9}".encode() for i in range(4000)]
    sub = tmp_path / "profile"
    sub.mkdir()
    (sub / "z.dict").write_bytes(zstandard.train_dictionary(8192, samples).as_bytes())
    write(sub, "[codecs.zstd]\ndictionary = 'z.dict'\n")
    monkeypatch.chdir(tmp_path)
    assert Pipeline.from_config(sub).codecs["zstd"].fingerprint()["dictionary"]


_scalar = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.text(max_size=30),
    st.floats(allow_nan=False, allow_infinity=False),
)


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=12),
        st.one_of(
            _scalar,
            st.lists(_scalar, max_size=4),
            st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), _scalar, max_size=3),
        ),
        max_size=6,
    )
)
def test_dump_toml_round_trips(table: dict) -> None:
    text = dump_toml({"codecs.x": table}, "a header\nof two lines")
    assert tomllib.loads(text) == {"codecs": {"x": table}}


def test_config_reference_is_current() -> None:
    """docs/config.md is generated from the declared settings; regenerate it
    with ``python docs/make_config_reference.py`` after changing a setting."""
    import importlib.util

    docs = Path(__file__).parents[1] / "docs"
    spec = importlib.util.spec_from_file_location("make_ref", docs / "make_config_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (docs / "config.md").read_text(encoding="utf-8") == module.render()
