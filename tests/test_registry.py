"""Plugin loading through real entry points: isolation, validation, clashes.

Each test installs throwaway distributions (a ``*.dist-info`` with
``entry_points.txt`` and a module) on ``sys.path``, which is how
``importlib.metadata`` finds installed packages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auracodec import ConfigError, Pipeline, PluginError, PluginWarning
from auracodec.core.config import Config
from auracodec.core.registry import Registry
from plugin_packages import codec, install


def test_builtins_come_from_entry_points() -> None:
    reg = Registry.load()
    names = {p.name: p for p in reg.plugins}
    for name in ("identity", "zstd", "brotli", "selectors"):
        assert names[name].builtin and names[name].package == "auracodec"
    assert {"identity", "zstd", "brotli"} <= set(reg.codec_types)
    assert {"smallest", "rules"} <= set(reg.policy_types)


def test_third_party_codec_is_used(site: Path) -> None:
    install(site, "goodpkg", {"good": codec("good", 0xC5)})
    pipe = Pipeline.from_config()
    assert pipe.codecs["good"].method_id == 0xC5
    info = pipe.registry.codec_owner("good")
    assert (info.package, info.version, info.builtin) == ("goodpkg", "1.0", False)


def test_import_error_is_reported_and_skipped(site: Path) -> None:
    install(site, "brokenpkg", {"broken": "import does_not_exist_anywhere\n"})
    install(site, "goodpkg", {"good": codec("good", 0xC5)})
    with pytest.warns(
        PluginWarning,
        match=r"'broken' from brokenpkg 1.0 was skipped: could not "
        r"be loaded: ModuleNotFoundError",
    ):
        pipe = Pipeline.from_config()
    assert "good" in pipe.codecs and "zstd" in pipe.codecs
    broken = next(p for p in pipe.registry.plugins if p.name == "broken")
    assert broken.error and "does_not_exist_anywhere" in broken.error


def test_bad_declarations_are_skipped(site: Path) -> None:
    install(
        site,
        "badpkg",
        {
            "builtin_range": codec("sneaky", 0x02),
            "reserved": codec("ff", 0xFF),
            "bad_name": codec("Bad-Name", 0xC7),
            "registered": codec("notlz4", 0x40),
            "not_a_list": "from auracodec.plugin import hookimpl\n"
            "@hookimpl\ndef auracodec_codec_types():\n    return 42\n",
            "raises": "from auracodec.plugin import hookimpl\n"
            "@hookimpl\ndef auracodec_codec_types():\n    raise RuntimeError('boom')\n",
            "bad_hook": "from auracodec.plugin import hookimpl\n"
            "@hookimpl\ndef auracodec_codec_types(nonsense):\n    return []\n",
        },
    )
    with pytest.warns(PluginWarning) as record:
        pipe = Pipeline.from_config()
    text = "\n".join(str(w.message) for w in record)
    assert "in auracodec's own range 0x00-0x3f" in text
    assert "0xff is reserved" in text
    assert "'Bad-Name'; names are lower-case identifiers" in text
    assert "registered to 'lz4'" in text
    assert "must return a list of declarations" in text
    assert "raised in auracodec_codec_types: RuntimeError: boom" in text
    assert "nonsense" in text  # pluggy's signature check
    assert all("badpkg 1.0" in str(w.message) for w in record)
    assert len(record) == 7
    assert pipe.codecs["zstd"].name == "zstd"  # the built-in is untouched


def test_duplicate_ids_name_both_plugins(site: Path) -> None:
    install(site, "onepkg", {"one": codec("one", 0xD0)})
    install(site, "twopkg", {"two": codec("two", 0xD0)})
    clash = (
        r"0xd0 is claimed by codec 'one' of plugin 'one' "
        r"\(onepkg 1.0\) and codec 'two' of plugin 'two' \(twopkg 1.0\)"
    )
    # Reported when loading, not raised: other pipelines do not use the id.
    with pytest.warns(PluginWarning, match=clash):
        reg = Registry.load()
    assert "one" not in reg.codec_types and "two" not in reg.codec_types
    assert {p.name: p.status for p in reg.plugins if p.name in ("one", "two")} == {
        "one": "conflict",
        "two": "conflict",
    }
    # The default pipeline takes every codec, so it refuses, naming both.
    with pytest.warns(PluginWarning, match=clash), pytest.raises(PluginError, match=clash):
        Pipeline.from_config()
    # Disabling one of them resolves the clash.
    cfg = Config.from_mapping({"plugins": {"disable": ["two"]}})
    assert "one" in Pipeline.from_config(cfg).codecs


def test_duplicate_codec_names_name_both(site: Path) -> None:
    install(site, "onepkg", {"one": codec("same", 0xD1)})
    install(site, "twopkg", {"two": codec("same", 0xD2)})
    clash = r"codec 'same' is declared by two plugins: 'one' \(onepkg 1.0\) and 'two'"
    with pytest.warns(PluginWarning, match=clash), pytest.raises(PluginError, match=clash):
        Pipeline.from_config(codecs=["same"])


def test_disabled_plugin_is_not_even_imported(site: Path) -> None:
    install(site, "brokenpkg", {"broken": "raise SystemError('must not be imported')\n"})
    cfg = Config.from_mapping({"plugins": {"disable": ["broken", "brotli"]}})
    pipe = Pipeline.from_config(cfg)
    assert "brotli" not in pipe.codecs
    assert [p.enabled for p in pipe.registry.plugins if p.name == "broken"] == [False]


def test_identity_cannot_be_disabled() -> None:
    cfg = Config.from_mapping({"plugins": {"disable": ["identity"]}})
    with pytest.raises(ConfigError, match=r"plugins.disable: 'identity' is the raw fallback"):
        Pipeline.from_config(cfg)


def test_broken_builtin_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import auracodec.plugins.brotli as brotli_plugin

    def boom() -> list[object]:
        raise RuntimeError("installation damaged")

    monkeypatch.setattr(brotli_plugin, "auracodec_codec_types", boom)
    monkeypatch.setattr(boom, "auracodec_impl", {}, raising=False)
    with pytest.raises(PluginError, match=r"built-in plugin 'brotli'.*broken"):
        Pipeline.from_config()
