"""Every plugin failure at load and build is contained and named.

Each test installs throwaway distributions (a ``*.dist-info`` with
``entry_points.txt`` beside a module) on ``sys.path``, so the plugins come
through real entry points, with a package name and version, exactly as an
installed third party's do. Each checks that the failure is reported naming
the plugin and its package, that ``Registry.plugins`` says what happened, and
that the pipelines which do not need the broken plugin still build and
round-trip messages.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from auracodec import AuraWarning, ConfigError, Pipeline, PluginError, PluginWarning
from auracodec.core.build import assemble, probe_codecs
from auracodec.core.config import Config
from auracodec.core.corpus import builtin_sample
from auracodec.core.registry import Registry
from auracodec.core.training import train
from plugin_packages import codec, install

MESSAGES = [
    b"",
    b"hello",
    b"user 4711 logged in from 10.0.0.7 at 2025-10-23T10:30:00Z",
    b"GET /api/v2/items?page=3 HTTP/1.1 200 1532 bytes " * 4,
]


def round_trips(pipe: Pipeline) -> None:
    for m in MESSAGES:
        assert pipe.decode_bytes(pipe.encode(m)) == m


def status(reg: Registry, name: str) -> tuple[str, str]:
    """A plugin's status and what explains it (error or conflict)."""
    info = next(p for p in reg.plugins if p.name == name)
    return info.status, info.error or info.conflict or ""


def others_work(match: str, *, default: bool = True) -> None:
    """The pipelines that do not need the broken plugin build and round-trip."""
    if default:
        with pytest.warns(PluginWarning, match=match):
            pipe = Pipeline.from_config()
        assert {"zstd", "brotli", "identity", "good"} <= set(pipe.codecs)
        round_trips(pipe)
    with pytest.warns(PluginWarning, match=match):
        pipe = Pipeline.from_config(codecs=["zstd"])
    assert set(pipe.codecs) == {"zstd", "identity"}
    round_trips(pipe)


GOOD = {"good": codec("good", 0xC5)}

# -- at load ----------------------------------------------------------------------


def test_import_raising(site: Path) -> None:
    install(site, "broken-pkg", {"broken": "raise RuntimeError('no GPU found')\n"})
    install(site, "goodpkg", GOOD)
    message = (
        r"plugin 'broken' from broken-pkg 1.0 was skipped: "
        r"could not be loaded: RuntimeError: no GPU found"
    )
    with pytest.warns(PluginWarning, match=message):
        reg = Registry.load()
    assert status(reg, "broken") == ("skipped", "could not be loaded: RuntimeError: no GPU found")
    assert status(reg, "good") == ("ok", "")
    others_work(message)


def test_config_of_a_plugin_that_failed_to_load(site: Path) -> None:
    install(site, "broken-pkg", {"broken": "raise ImportError('needs libfoo')\n"})
    path = site / "auracodec.toml"
    path.write_text("[codecs.broken]\nlevel = 3\n")
    message = r"'broken' from broken-pkg 1.0 was skipped: could not be loaded: ImportError"
    with pytest.warns(PluginWarning, match=message):
        round_trips(Pipeline.from_config(path, codecs=["zstd"]))
    with pytest.warns(PluginWarning, match=message):
        with pytest.raises(
            ConfigError,
            match=r"no such codec 'broken' .*plugins not in use: 'broken' "
            r"\(broken-pkg 1.0, skipped\)",
        ):
            Pipeline.from_config(path, codecs=["broken"])


@pytest.mark.parametrize(
    ("source", "shown"),
    [("import sys\nsys.exit(3)\n", "SystemExit: 3"), ("import sys\nsys.exit()\n", "SystemExit")],
)
def test_import_calling_sys_exit(site: Path, source: str, shown: str) -> None:
    install(site, "exitpkg", {"quitter": source})
    install(site, "goodpkg", GOOD)
    message = rf"'quitter' from exitpkg 1.0 was skipped: could not be loaded: {shown}\Z"
    with pytest.warns(PluginWarning, match=message):
        reg = Registry.load()
    assert status(reg, "quitter") == ("skipped", f"could not be loaded: {shown}")
    others_work(message)


def test_keyboard_interrupt_at_import_is_not_contained(site: Path) -> None:
    install(site, "ctrlcpkg", {"ctrlc": "raise KeyboardInterrupt\n"})
    with pytest.raises(KeyboardInterrupt):
        Registry.load()


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("raise ValueError('no licence key')", "ValueError: no licence key"),
        ("import sys; sys.exit('bye')", "SystemExit: bye"),
    ],
)
def test_declaration_hook_raising(site: Path, body: str, shown: str) -> None:
    source = f"""
        from auracodec.plugin import hookimpl

        @hookimpl
        def auracodec_codec_types():
            {body}
    """
    install(site, "hookpkg", {"hooky": source})
    install(site, "goodpkg", GOOD)
    message = rf"'hooky' from hookpkg 1.0 was skipped: raised in auracodec_codec_types: {shown}"
    with pytest.warns(PluginWarning, match=message):
        reg = Registry.load()
    assert status(reg, "hooky") == ("skipped", f"raised in auracodec_codec_types: {shown}")
    assert reg.pm.get_plugin("hooky") is None  # none of its hooks will run
    others_work(message)


WRONG_DECLARATIONS = {
    "method_id_str": (
        "return [CodecType('wrong', '0xd0', make)]",
        r"codec 'wrong': method_id must be an int, got '0xd0'",
    ),
    "factory_none": (
        "return [CodecType('wrong', 0xD0, None)]",
        r"codec 'wrong': factory is None, expected a callable",
    ),
    "settings_str": (
        "return [CodecType('wrong', 0xD0, make, 'level')]",
        r"codec 'wrong': settings is 'level', expected a sequence of Setting",
    ),
    "setting_dict": (
        "return [CodecType('wrong', 0xD0, make, [{'name': 'level'}])]",
        r"codec 'wrong': settings holds \{'name': 'level'\}, expected a Setting",
    ),
    "name_int": (
        "return [CodecType(42, 0xD0, make)]",
        r"declared the name 42; names are lower-case identifiers",
    ),
    "policy_as_codec": (
        "return [PolicyType('wrong', lambda settings: None)]",
        r"declared PolicyType\(name='wrong'.*\), expected a CodecType",
    ),
    "same_id_twice": (
        "return [CodecType('wrong', 0xD0, make), CodecType('wrong2', 0xD0, make)]",
        r"declares two codecs with method id 0xd0: 'wrong' and 'wrong2'",
    ),
}


@pytest.mark.parametrize("case", WRONG_DECLARATIONS)
def test_declaration_of_the_wrong_type(site: Path, case: str) -> None:
    body, expected = WRONG_DECLARATIONS[case]
    source = codec(
        "wrong",
        0xD0,
        f"""
        @hookimpl
        def auracodec_codec_types():
            {body}
        """,
    )
    install(site, "wrongpkg", {"wrong": source})
    install(site, "goodpkg", GOOD)
    message = rf"'wrong' from wrongpkg 1.0 was skipped: {expected}"
    with pytest.warns(PluginWarning, match=message):
        reg = Registry.load()
    assert status(reg, "wrong")[0] == "skipped"
    assert "wrong" not in reg.codec_types
    others_work(message)


# -- at build: codecs -------------------------------------------------------------

BUILD_FAILURES = {
    "factory_raising": (
        """
        def make(settings):
            raise OSError("model file missing")
        """,
        r"its factory raised OSError: model file missing",
    ),
    "factory_exiting": (
        """
        def make(settings):
            raise SystemExit(2)
        """,
        r"its factory raised SystemExit: 2",
    ),
    "fingerprint_str": (
        "Codec.fingerprint = lambda self: 'abc'",
        r"fingerprint\(\) returned 'abc', expected a mapping of str to str or int",
    ),
    "fingerprint_float": (
        "Codec.fingerprint = lambda self: {'level': 1.5}",
        r"fingerprint\(\) returned \{'level': 1.5\}, expected a mapping of str to str or int "
        r"\(found 'level': 1.5\)",
    ),
    "fingerprint_raising": (
        """
        def fingerprint(self):
            raise LookupError("no model loaded")
        Codec.fingerprint = fingerprint
        """,
        r"fingerprint\(\) raised LookupError: no model loaded",
    ),
    "detects_set": (
        "Codec.detects = {'bitflip'}",
        r"detects is \{'bitflip'\}, expected a frozenset of 'bitflip', 'extension', "
        r"'truncation' \(or an empty one\)",
    ),
    "detects_unknown": (
        "Codec.detects = frozenset({'everything'})",
        r"detects is frozenset\(\{'everything'\}\), expected a frozenset of",
    ),
    "thread_safe_str": ("Codec.thread_safe = 'yes'", r"thread_safe is 'yes', expected True"),
    "cost_negative": ("Codec.cost = -1", r"cost is -1, expected a non-negative int"),
    "cost_float": ("Codec.cost = 2.5", r"cost is 2.5, expected a non-negative int"),
    "decode_missing": ("del Codec.decode", r"decode is None, expected a method"),
    "name_mismatch": (
        "Codec.name = 'other'",
        r"its name is 'other', expected 'bad' as its CodecType declares",
    ),
    "method_id_mismatch": (
        "Codec.method_id = 0xD1",
        r"its method_id is 209, expected 0xd0 as its CodecType declares",
    ),
    "property_raising": (
        "Codec.cost = property(lambda self: 1 // 0)",
        r"reading its declarations raised ZeroDivisionError: integer division or modulo by zero",
    ),
    "bind_raising": (
        """
        def bind(self, context):
            raise RuntimeError("cannot attach")
        Codec.bind = bind
        """,
        r"bind\(\) raised RuntimeError: cannot attach",
    ),
}


@pytest.mark.parametrize("case", BUILD_FAILURES)
def test_codec_failing_at_build_is_skipped(site: Path, case: str) -> None:
    patch, reason = BUILD_FAILURES[case]
    install(site, "bad-pkg", {"bad": codec("bad", 0xD0, patch)})
    install(site, "goodpkg", GOOD)
    named = rf"codec 'bad' of plugin 'bad' \(bad-pkg 1.0\): {reason}"

    # Loading finds nothing wrong: the failure is the built codec's.
    assert status(Registry.load(), "bad") == ("ok", "")

    # The default pipeline leaves it out, says why, and works.
    with pytest.warns(PluginWarning, match=rf"{named}.*; skipped\Z"):
        pipe = Pipeline.from_config()
    assert "bad" not in pipe.codecs and {"good", "zstd", "brotli"} <= set(pipe.codecs)
    round_trips(pipe)
    state, why = status(pipe.registry, "bad")
    assert state == "skipped" and why.startswith("codec 'bad' was skipped: ")
    assert status(pipe.registry, "good") == ("ok", "")

    # A pipeline without it never builds it.
    pipe = Pipeline.from_config(codecs=["zstd"])
    round_trips(pipe)
    assert status(pipe.registry, "bad") == ("ok", "")

    # Asked for by name, it stops the build with the same explanation.
    with pytest.raises(PluginError, match=rf"{named}.*the pipeline asks for it \(codecs="):
        Pipeline.from_config(codecs=["bad"])
    cfg = Config.from_mapping({"pipeline": {"codecs": ["bad", "zstd"]}})
    with pytest.raises(PluginError, match=r"asks for it \(\[pipeline\] codecs\)") as info:
        Pipeline.from_config(cfg)
    assert (info.value.plugin, info.value.package) == ("bad", "bad-pkg 1.0")

    # `auracodec plugins` can show it without building a pipeline.
    reg = Registry.load()
    assert "bad" in probe_codecs(Config.defaults(), reg)
    assert status(reg, "bad")[0] == "skipped"


def test_factory_setting_error_stays_a_config_error(site: Path) -> None:
    patch = """
        from auracodec.plugin import SettingError
        def make(settings):
            raise SettingError("model", "the model file is corrupt")
    """
    install(site, "cfgpkg", {"cfg": codec("cfg", 0xD0, patch)})
    with pytest.raises(ConfigError, match=r"codecs\.cfg\.model: the model file is corrupt"):
        Pipeline.from_config()
    round_trips(Pipeline.from_config(codecs=["zstd"]))


COMPOSER = """
from auracodec.plugin import CodecType, hookimpl

class Wrap:
    name = "wrap"
    method_id = 0xD8
    thread_safe = True
    detects = frozenset()
    cost = 6
    inner = None

    def bind(self, context):
        self.inner = context.codecs[{inner!r}]  # KeyError if it is not in the pipeline

    def encode(self, message):
        return None

    def decode(self, payload, limit):
        return payload

    def max_payload_size(self, size):
        return size

    def fingerprint(self):
        return {{"inner": self.inner.name}}

@hookimpl
def auracodec_codec_types():
    return [CodecType("wrap", 0xD8, lambda settings: Wrap())]
"""


def test_codec_bound_to_a_skipped_codec_is_bound_again(site: Path) -> None:
    # "wrap" binds to "bad"; "bad" is left out only after binding (its
    # fingerprint), so "wrap" is bound again, fails without it, and goes too.
    install(site, "bad-pkg", {"bad": codec("bad", 0xD0, "Codec.fingerprint = lambda self: 'x'")})
    install(site, "wrappkg", {"wrap": COMPOSER.format(inner="bad")})
    install(site, "goodpkg", GOOD)
    with pytest.warns(PluginWarning) as record:
        pipe = Pipeline.from_config()
    text = [str(w.message) for w in record]
    assert text == [
        "codec 'bad' of plugin 'bad' (bad-pkg 1.0): fingerprint() returned 'x', expected "
        "a mapping of str to str or int; skipped",
        "codec 'wrap' of plugin 'wrap' (wrappkg 1.0): bind() raised KeyError: 'bad'; skipped",
    ]
    assert {"good", "zstd"} <= set(pipe.codecs) and not {"bad", "wrap"} & set(pipe.codecs)
    round_trips(pipe)


def test_codec_bound_to_a_good_codec_stays(site: Path) -> None:
    install(site, "bad-pkg", {"bad": codec("bad", 0xD0, "Codec.fingerprint = lambda self: 'x'")})
    install(site, "wrappkg", {"wrap": COMPOSER.format(inner="good")})
    install(site, "goodpkg", GOOD)
    with pytest.warns(PluginWarning, match="codec 'bad'"):
        reg = Registry.load(disable=())
        assembly = assemble(Config.defaults(), reg, None)
    assert "wrap" in assembly.codecs and "bad" not in assembly.codecs
    assert assembly.fingerprints["wrap"] == {"inner": "good"}
    assert assembly.skipped == {
        "bad": "fingerprint() returned 'x', expected a mapping of str to str or int"
    }
    assert set(assembly.fingerprints) == set(assembly.codecs)


# -- clashes ----------------------------------------------------------------------


def test_duplicate_method_id_across_two_plugins(site: Path) -> None:
    install(site, "onepkg", {"one": codec("one", 0xD0)})
    install(site, "two-pkg", {"two": codec("two", 0xD0)})
    install(site, "goodpkg", GOOD)
    clash = (
        r"method id 0xd0 is claimed by codec 'one' of plugin 'one' \(onepkg 1.0\) "
        r"and codec 'two' of plugin 'two' \(two-pkg 1.0\)"
    )
    with pytest.warns(PluginWarning, match=clash):
        reg = Registry.load()
    for name in ("one", "two"):
        state, why = status(reg, name)
        assert state == "conflict" and "onepkg 1.0" in why and "two-pkg 1.0" in why
        assert name not in reg.codec_types
    assert status(reg, "good") == ("ok", "")

    # Pipelines that do not use the id build.
    with pytest.warns(PluginWarning, match=clash):
        round_trips(Pipeline.from_config(codecs=["zstd"]))
    with pytest.warns(PluginWarning, match=clash):
        round_trips(Pipeline.from_config(codecs=["good", "brotli"]))
    # Those that do refuse, naming both and saying how to settle it.
    remedy = r"\[plugins\] disable = \['one'\] or \['two'\]"
    with pytest.warns(PluginWarning, match=clash):
        with pytest.raises(PluginError, match=rf"takes every installed codec.*{clash}.*{remedy}"):
            Pipeline.from_config()
    with pytest.warns(PluginWarning, match=clash):
        with pytest.raises(PluginError, match=rf"asks for codec 'two'.*{clash}"):
            Pipeline.from_config(codecs=["two"])
    # Disabling one settles it.
    pipe = Pipeline.from_config(Config.from_mapping({"plugins": {"disable": ["two"]}}))
    assert "one" in pipe.codecs
    round_trips(pipe)


def test_a_plugin_with_a_hyphenated_name_can_be_disabled(site: Path) -> None:
    # Entry-point names may hold '-' and '.'; disable takes them as they are.
    install(site, "broken-pkg", {"my-codec": "raise RuntimeError('broken on import')\n"})
    config = Config.from_mapping({"plugins": {"disable": ["my-codec"]}})
    reg = Registry.load(disable=config.disable)  # no warning: it is not loaded
    assert status(reg, "my-codec") == ("disabled", "")
    round_trips(Pipeline.from_config(config))


TRAINS = """
from auracodec.plugin import TrainResult

@hookimpl
def auracodec_train(corpus, outdir):
    (outdir / (Codec.name + ".bin")).write_bytes(b"learnt")
    return TrainResult(codec=Codec.name, settings={}, summary="trained")
"""


def test_training_skips_plugins_in_conflict(site: Path, tmp_path: Path) -> None:
    # Their codecs are in no pipeline until the conflict is settled, so
    # training them would write a profile naming a codec no pipeline has.
    install(site, "onepkg", {"one": codec("one", 0xD0, TRAINS)})
    install(site, "two-pkg", {"two": codec("two", 0xD0, TRAINS)})
    install(site, "goodpkg", {"good": codec("good", 0xC5, TRAINS)})
    only = Config.from_mapping(
        {"plugins": {"disable": ["brio", "zstd", "binary_semantic", "brotli"]}}
    )
    with pytest.warns(AuraWarning) as record:
        profile = train(builtin_sample(), tmp_path, config=only)
    skipped = [str(w.message) for w in record if "was not trained" in str(w.message)]
    assert len(skipped) == 2 and all("method id 0xd0" in m for m in skipped)
    assert all(isinstance(w.message, PluginWarning) for w in record if "trained" in str(w.message))
    # No pipeline builds with every codec until the conflict is settled, so
    # costs are not measured (and the profile does not reference any).
    assert any("costs not measured" in str(w.message) for w in record)
    assert not (tmp_path / "costs.json").exists()
    assert [r.codec for r in profile.results] == ["good"]
    assert sorted(p.name for p in tmp_path.glob("*.bin")) == ["good.bin"]


def test_duplicate_codec_names(site: Path) -> None:
    install(site, "onepkg", {"one": codec("same", 0xD1)})
    install(site, "twopkg", {"two": codec("same", 0xD2)})
    install(site, "goodpkg", GOOD)
    clash = (
        r"codec 'same' is declared by two plugins: 'one' \(onepkg 1.0\) and 'two' \(twopkg 1.0\)"
    )
    with pytest.warns(PluginWarning, match=clash):
        reg = Registry.load()
    assert status(reg, "one")[0] == status(reg, "two")[0] == "conflict"
    assert status(reg, "good") == ("ok", "")
    with pytest.warns(PluginWarning, match=clash), pytest.raises(PluginError, match=clash):
        Pipeline.from_config(codecs=["same"])
    with pytest.warns(PluginWarning, match=clash):
        round_trips(Pipeline.from_config(codecs=["zstd"]))


def test_a_plugin_in_two_clashes_hears_of_each_once(site: Path) -> None:
    install(site, "apkg", {"a": codec("x", 0xD0)})
    install(site, "bpkg", {"b": codec("x", 0xD1)})
    install(site, "cpkg", {"c": codec("y", 0xD0)})
    names = r"codec 'x' is declared by two plugins: 'a' \(apkg 1.0\) and 'b' \(bpkg 1.0\)"
    ids = (
        r"method id 0xd0 is claimed by codec 'x' of plugin 'a' \(apkg 1.0\) "
        r"and codec 'y' of plugin 'c' \(cpkg 1.0\)"
    )
    with pytest.warns(PluginWarning) as record:
        reg = Registry.load()
    assert len(record) == 2
    assert re.fullmatch(f"{names}; {ids}", status(reg, "a")[1])
    assert re.fullmatch(names, status(reg, "b")[1])
    assert re.fullmatch(ids, status(reg, "c")[1])
    with pytest.warns(PluginWarning), pytest.raises(PluginError) as info:
        Pipeline.from_config()
    assert re.search(rf"but {names}; {ids}\. Disable", str(info.value))
    assert "['a'] or ['b'] or ['c']" in str(info.value)


def test_third_party_taking_a_builtin_name_loses(site: Path) -> None:
    install(site, "fakepkg", {"fake": codec("zstd", 0xD3)})
    message = (
        r"plugin 'fake' from fakepkg 1.0: codec 'zstd' of plugin 'fake' \(fakepkg 1.0\) has "
        r"the name of the built-in codec of plugin 'zstd' \(auracodec .*\); the built-in one"
    )
    with pytest.warns(PluginWarning, match=message):
        pipe = Pipeline.from_config()
    assert pipe.registry.codec_owner("zstd").builtin
    assert type(pipe.codecs["zstd"]).__module__.startswith("auracodec.")
    assert status(pipe.registry, "fake")[0] == "conflict"
    assert status(pipe.registry, "zstd") == ("ok", "")
    round_trips(pipe)


def test_duplicate_plugin_names(site: Path) -> None:
    install(site, "apkg", {"dup": codec("dup_a", 0xD4)})
    install(site, "bpkg", {"dup": codec("dup_b", 0xD5)})
    install(site, "goodpkg", GOOD)
    clash = r"two plugins are named 'dup': apkg_dup from apkg 1.0 and bpkg_dup from bpkg 1.0"
    with pytest.warns(PluginWarning, match=clash):
        reg = Registry.load()
    dups = [p for p in reg.plugins if p.name == "dup"]
    assert [p.status for p in dups] == ["conflict", "conflict"]
    assert {p.package for p in dups} == {"apkg", "bpkg"}
    assert "apkg_dup" not in sys.modules and "bpkg_dup" not in sys.modules  # neither loaded
    others_work(clash)


def test_duplicate_policy_names(site: Path) -> None:
    policy = """
        from auracodec.plugin import PolicyType, hookimpl

        class Raw:
            def select(self, message, codecs):
                return None

        @hookimpl
        def auracodec_selector_policies():
            return [PolicyType("fancy", lambda settings: Raw())]
    """
    install(site, "onepkg", {"one": policy})
    install(site, "twopkg", {"two": policy})
    install(site, "goodpkg", GOOD)
    clash = r"policy 'fancy' is declared by two plugins: 'one' \(onepkg 1.0\) and 'two'"
    cfg = Config.from_mapping({"selector": {"policy": "fancy"}})
    with pytest.warns(PluginWarning, match=clash):
        with pytest.raises(PluginError, match=rf"selector policy is 'fancy', but {clash}"):
            Pipeline.from_config(cfg)
    others_work(clash)


def test_duplicate_normalizer_names(site: Path) -> None:
    # The template codec uses every normalizer, so a pipeline with it refuses;
    # one without it builds.
    normalizer = """
        from auracodec.plugin import NormalizerType, hookimpl

        @hookimpl
        def auracodec_normalizers():
            return [NormalizerType("hexid", lambda settings: None)]
    """
    install(site, "onepkg", {"one": normalizer})
    install(site, "twopkg", {"two": normalizer})
    clash = r"normalizer 'hexid' is declared by two plugins: 'one' \(onepkg 1.0\) and 'two'"
    with pytest.warns(PluginWarning, match=clash):
        with pytest.raises(
            PluginError, match=rf"codec 'binary_semantic' .* uses every normalizer, but {clash}"
        ):
            Pipeline.from_config()
    with pytest.warns(PluginWarning, match=clash):
        round_trips(Pipeline.from_config(codecs=["zstd", "brotli"]))


@pytest.mark.parametrize(
    ("factory", "reason"),
    [
        ("crash", r"its factory raised RuntimeError: no tables"),
        ("lambda settings: None", r"its factory returned None, which has no match method"),
    ],
)
def test_normalizer_failing_in_a_codecs_bind_is_skipped(
    site: Path, factory: str, reason: str
) -> None:
    # The template codec builds every normalizer when it binds: a third
    # party's failing there is left out, and the template codec bound again.
    source = f"""
        from auracodec.plugin import NormalizerType, hookimpl

        def crash(settings):
            raise RuntimeError("no tables")

        @hookimpl
        def auracodec_normalizers():
            return [NormalizerType("hexid", {factory})]
    """
    install(site, "norm-pkg", {"norm": source})
    message = rf"normalizer 'hexid' of plugin 'norm' \(norm-pkg 1.0\): {reason}; skipped\Z"
    with pytest.warns(PluginWarning, match=message):
        pipe = Pipeline.from_config()
    assert "binary_semantic" in pipe.codecs
    round_trips(pipe)
    state, why = status(pipe.registry, "norm")
    assert state == "skipped" and why.startswith("normalizer 'hexid' was skipped: ")
    round_trips(Pipeline.from_config(codecs=["zstd"]))


# -- policies and observers -------------------------------------------------------

FAILING_FACTORIES = """
from auracodec.plugin import ObserverType, PolicyType, SettingError, hookimpl

def crash(*args):
    raise RuntimeError("crashed")

def refuse(*args):
    raise SettingError("mode", "expected 'a' or 'b'")

@hookimpl
def auracodec_selector_policies():
    return [PolicyType("crashing", crash), PolicyType("refusing", refuse),
            PolicyType("selectless", lambda settings: object())]

@hookimpl
def auracodec_observer_types():
    return [ObserverType("crashing", crash), ObserverType("refusing", refuse)]
"""


@pytest.mark.parametrize(
    ("table", "error", "match"),
    [
        (
            {"selector": {"policy": "crashing"}},
            PluginError,
            r"selector policy 'crashing' of plugin 'ff' \(ffpkg 1.0\): its factory raised "
            r"RuntimeError: crashed",
        ),
        ({"selector": {"policy": "refusing"}}, ConfigError, r"selector\.mode: expected 'a'"),
        (
            {"selector": {"policy": "selectless"}},
            PluginError,
            r"its factory returned <object object.*>, expected an object with a select",
        ),
        (
            {"observers": {"crashing": {}}},
            PluginError,
            r"observer 'crashing' of plugin 'ff' \(ffpkg 1.0\): its factory raised RuntimeError",
        ),
        ({"observers": {"refusing": {}}}, ConfigError, r"observers\.refusing\.mode: expected"),
    ],
)
def test_configured_policy_or_observer_failing(
    site: Path, table: dict[str, object], error: type[Exception], match: str
) -> None:
    install(site, "ffpkg", {"ff": FAILING_FACTORIES})
    with pytest.raises(error, match=match):
        Pipeline.from_config(Config.from_mapping(table))
    round_trips(Pipeline.from_config())  # not configured, not used


def test_in_process_plugin_failure_is_contained() -> None:
    class Broken:
        name = "broken"
        method_id = 0xC9
        thread_safe = True
        detects = frozenset({"nonsense"})
        cost = 1

        def encode(self, message: bytes) -> bytes | None:
            return None

        def decode(self, payload: bytes, limit: int) -> bytes:
            return payload

        def max_payload_size(self, size: int) -> int:
            return size

        def fingerprint(self) -> dict[str, int]:
            return {}

    from auracodec.plugin import CodecType, hookimpl

    class Plugin:
        @hookimpl
        def auracodec_codec_types(self) -> list[CodecType]:
            return [CodecType("broken", 0xC9, lambda settings: Broken())]

    match = r"codec 'broken' of plugin 'inproc' \(<in-process>\): detects is"
    with pytest.warns(PluginWarning, match=match):
        pipe = Pipeline.from_config(plugins=[("inproc", Plugin())])
    round_trips(pipe)
    assert status(pipe.registry, "inproc")[0] == "skipped"
