"""Profiles sized for clients: ``[training] size`` / ``--size``, transfer size, break-even."""

from __future__ import annotations

import gzip
import json
import tomllib
from pathlib import Path

import attrs
import brotli
import pytest

from auracodec import ConfigError, Pipeline
from auracodec.cli import main
from auracodec.core.config import Config
from auracodec.core.corpus import builtin_sample
from auracodec.core.sizing import (
    MIN_TARGET,
    PRESETS,
    break_even,
    describe_transfer,
    parse_size,
    profile_transfer,
    settings_for,
    sized_config,
    transfer_size,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "auracodec.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("client", "client"),
        ("server", "server"),
        (300_000, 300_000),
        ("300000", 300_000),
        ("300KB", 300_000),
        ("300kb", 300_000),
        ("300KiB", 307_200),
        ("2MB", 2_000_000),
        ("1MiB", 1_048_576),
    ],
)
def test_sizes_parse(value: object, size: object) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("tiny", r"expected 'client', 'server' or a transfer size in bytes .*got 'tiny'"),
        ("Client", r"got 'Client'"),
        (True, r"got True"),
        (1.5, r"got 1\.5"),
        ("-300KB", r"got '-300KB'"),
        ("300 KB", r"got '300 KB'"),
        ("300GB", r"got '300GB'"),
        (" 300", r"got ' 300'"),
        ("\u0663\u0660\u0660", r"got '\u0663\u0660\u0660'"),
        (1000, rf"a profile transfers at least {MIN_TARGET} bytes .*got 1000"),
    ],
)
def test_bad_sizes_are_refused(value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_size(value)


def test_training_size_in_a_config_file(tmp_path: Path) -> None:
    assert Config.load(write(tmp_path, '[training]\nsize = "client"\n')).training_size == "client"
    assert Config.load(write(tmp_path, '[training]\nsize = "300KB"\n')).training_size == 300_000
    assert Config.defaults().training_size is None


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[training]\nsize = "small"\n', r"auracodec\.toml: training\.size: expected 'client'"),
        ("[training]\nsize = 10\n", r"training\.size: a profile transfers at least"),
        ("[training]\nsizes = 10\n", r"training\.sizes: unknown key \(known keys: size\)"),
        ("training = 3\n", r"training: expected a table"),
    ],
)
def test_bad_training_table_names_the_key(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Config.load(write(tmp_path, text))


def test_size_flag_errors_name_the_flag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello\n", encoding="utf-8")
    code = main(["train", str(corpus), "-o", str(tmp_path / "p"), "--size", "huge"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--size: expected 'client', 'server' or a transfer size in bytes" in err
    assert "got 'huge'" in err and not (tmp_path / "p").exists()


# -- presets -------------------------------------------------------------------


def test_server_is_the_defaults_and_presets_fill_in_only_what_is_unset() -> None:
    assert settings_for("server") == {}
    config = Config.from_mapping(
        {"training": {"size": "client"}, "codecs": {"brio": {"model_size": 500_000}}}
    )
    sized = sized_config(config, ["brio", "zstd"])
    brio = dict(PRESETS["client"]["brio"], model_size=500_000)  # the user's key wins
    assert sized.codec_tables == {"brio": brio, "zstd": {"dictionary_size": 16 * 1024}}
    # Codecs that are not there (disabled, not installed) get no table.
    assert sized_config(config, ["zstd"]).codec_tables == {
        "brio": {"model_size": 500_000},
        "zstd": {"dictionary_size": 16 * 1024},
    }
    assert sized_config(Config.defaults(), ["brio"]) == Config.defaults()


def test_a_target_transfer_size_chooses_the_sizes_by_the_documented_rule() -> None:
    small, large = settings_for(200_000), settings_for(3_000_000)
    assert small["zstd"] == {"dictionary_size": 16 * 1024}
    assert large["zstd"] == {"dictionary_size": 112 * 1024}
    # BRIO: the fixed tables, then 1 / 0.35 model bytes per byte to transfer.
    rest = 200_000 - 4_000 - 6_000 - 47_000
    assert small["brio"]["model_size"] == 388_352 + int(rest / 0.35)
    assert small["brio"]["apm_precision"] == PRESETS["client"]["brio"]["apm_precision"]
    assert settings_for(MIN_TARGET)["brio"]["model_size"] == 388_352
    assert large["brio"]["model_size"] > small["brio"]["model_size"]


# -- break-even ----------------------------------------------------------------


def test_break_even_by_hand() -> None:
    # A 1,000-byte download; 30 messages saved 300 bytes: 10 a message, so the
    # 100th message repays it.
    assert break_even(1000, 300, 30) == 100
    # 1,001 bytes: 100 messages save 1,000, the 101st repays the rest.
    assert break_even(1001, 300, 30) == 101
    # 7 bytes saved over 3 messages (2.33 a message): 1,000 bytes in 429.
    assert break_even(1000, 7, 3) == 429 and 428 * 7 / 3 < 1000 <= 429 * 7 / 3
    assert break_even(0, 300, 30) == 0 and break_even(-5, 0, 30) == 0  # nothing to repay
    assert break_even(1000, 0, 30) is None and break_even(1000, -40, 30) is None  # never


# -- training and transfer -----------------------------------------------------


@pytest.fixture(scope="module")
def sample_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for s in builtin_sample():
            f.write(json.dumps({"text": s.data.decode(), "conv": s.conv, "role": s.role}) + "\n")
    return path


@pytest.fixture(scope="module")
def client_profile(tmp_path_factory: pytest.TempPathFactory, sample_corpus: Path) -> Path:
    """``auracodec train --size client`` on the built-in sample."""
    profile = tmp_path_factory.mktemp("client") / "profile"
    assert main(["train", str(sample_corpus), "-o", str(profile), "--size", "client"]) == 0
    return profile


def test_client_training_writes_a_small_model_and_a_profile_that_round_trips(
    client_profile: Path,
) -> None:
    model = (client_profile / "brio.model").read_bytes()
    target = PRESETS["client"]["brio"]["model_size"]
    assert target - 4 * 17 < len(model) <= target  # whole groups of 4 buckets of 17 bytes
    assert int.from_bytes(model[12:16], "little") == 6  # apm2_bits, in the header
    assert (client_profile / "zstd.dict").stat().st_size == 16 * 1024
    text = (client_profile / "auracodec.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["training"] == {"size": "client"}
    pipe = Pipeline.from_config(client_profile)
    assert pipe.config.training_size == "client"
    client, server = pipe.session(), pipe.session()
    for s in builtin_sample():
        assert pipe.decode_bytes(pipe.encode(s.data)) == s.data
        assert server.decode_bytes(client.encode(s.data)) == s.data
    # What a client downloads: the config and the artifacts, not costs.json.
    artifacts = {"brio": ["model"], "zstd": ["dictionary"], "binary_semantic": ["libraries"]}
    transfer = transfer_size(pipe.config, artifacts)
    names = [f.name for f in transfer.files]
    assert names == ["auracodec.toml", "templates.toml", "brio.model", "zstd.dict"]
    model_file = transfer.files[2]
    assert model_file.identity == len(model)
    assert model_file.gzip == len(gzip.compress(model, 9, mtime=0))
    assert model_file.brotli == len(brotli.compress(model, quality=11))
    assert model_file.served == model_file.brotli and model_file.encoding == "br"
    assert transfer.served == sum(f.served for f in transfer.files) < len(model) // 4
    assert profile_transfer(pipe) == transfer


def test_training_for_a_target_says_whether_it_was_met(client_profile: Path) -> None:
    pipe = Pipeline.from_config(client_profile)
    served = profile_transfer(pipe).served
    line = describe_transfer(pipe)
    assert line.startswith(f"transfer to clients: {served / 1000:,.1f} KB as served (")
    assert "auracodec.toml" in line and "brio.model" in line and "target" not in line
    for target, exceeded in ((served, False), (served - 100, True)):
        config = attrs.evolve(pipe.config, training_size=target)
        line = describe_transfer(Pipeline.from_config(config))
        assert f"; target {target / 1000:,.1f} KB" in line
        assert ("exceeded by 0.1 KB" in line) is exceeded


def test_bench_reports_transfer_and_break_even(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_corpus: Path, client_profile: Path
) -> None:
    out_json = tmp_path / "bench.json"
    argv = ["bench", str(sample_corpus), "--config", str(client_profile), "--limit", "150"]
    code = main([*argv, "--json", str(out_json)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "profile for clients" in out and "break-even vs permessage-deflate" in out
    assert "transfer: auracodec.toml" in out and "brio.model" in out
    client = json.loads(out_json.read_text())["client"]
    assert client["size_class"] == "client" and client["messages"] == 150
    files = client["transfer"]["files"]
    assert set(files) == {"auracodec.toml", "templates.toml", "brio.model", "zstd.dict"}
    assert client["transfer"]["served"] == sum(f["served"] for f in files.values())
    saved = client["deflate_session_bytes"] - client["session_bytes"]
    assert saved > 0
    assert client["break_even_messages"]["permessage_deflate"] == break_even(
        client["transfer"]["served"], saved, client["messages"]
    )
    assert "zstd_with_dictionary" in client["break_even_messages"]
    # Without baselines there is nothing to break even against.
    code = main([*argv, "--no-baselines"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "profile for clients" not in out
