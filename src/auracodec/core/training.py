"""Training a profile: every trainable plugin learns from a corpus.

:func:`train` calls the ``auracodec_train`` hook of every enabled plugin, each
of which writes its artifacts into the output directory and returns the
settings that use them. The result is a directory that ``Pipeline.from_config``
loads as is::

    profile/
      auracodec.toml     the starting config, plus every trained codec's table
      zstd.dict          artifacts, referenced relative to auracodec.toml
      ...

What only training needs (the template miner's state, which holds training
messages verbatim) goes into a separate training state directory, private
(mode 0700) when training makes it; ``auracodec train -o profile`` keeps it
beside the profile::

    profile.training/
      README.txt         what this is: training messages, never to be served
      templates.state.json

Training again into an existing profile starts from a copy of it and of its
state (template discovery resumes) made beside them by
:class:`ProfileUpdate`, which puts the new profile and state in place only
once they are complete, so a failed or refused run leaves the old ones as they
were. A profile store (:mod:`auracodec.core.store`) keeps versions and their
states apart instead.
"""

from __future__ import annotations

import datetime
import os
import secrets
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import attrs

from .._version import __version__
from .config import Config, dump_toml
from .corpus import Sample
from .cost import Prices, size_class, write_estimates
from .errors import AuraError, AuraWarning, ConfigError, PluginError
from .refs import is_store, store_of
from .registry import Registry, warn_plugin
from .settings import Setting, SettingError
from .sizing import sized_config

__all__ = [
    "STATE_README",
    "NullProgress",
    "ProfileUpdate",
    "Progress",
    "TrainResult",
    "TrainedProfile",
    "default_state_dir",
    "train",
]

CONFIG_NAME = "auracodec.toml"
#: The file that marks a training state directory and says what it holds.
STATE_README_NAME = "README.txt"
STATE_README = """\
auracodec training state

This directory holds what only training needs: the template miner's state
(templates.state.json) and whatever else plugins keep to continue training.

It contains TRAINING MESSAGES VERBATIM: the miner keeps sample messages of
every group of similar messages it found. Protect it as you protect the
training corpus itself.

It is needed only to continue training (auracodec train into the same
profile, or --from a version of a profile store). Encoding and decoding never
read it: do not serve it to clients, ship it with an application or copy it
into a profile directory. Deleting it loses nothing a peer needs; template
discovery then keeps its library and ids and starts its miner afresh.

See docs/profiles.md: what each artifact can reveal of the training traffic.
"""


class Progress(Protocol):
    """Where long work reports how far it got.

    ``task(description, total)`` starts a task and returns ``advance(amount)``.
    """

    def task(self, description: str, total: float) -> Callable[[float], None]: ...


class NullProgress:
    """Progress that goes nowhere (library use)."""

    def task(self, description: str, total: float) -> Callable[[float], None]:
        return lambda amount: None


@attrs.frozen
class TrainResult:
    """What one plugin learned: settings for ``[codecs.<codec>]``.

    Paths in ``settings`` are relative to the output directory.
    """

    codec: str
    settings: Mapping[str, Any]
    summary: str = ""


@attrs.frozen
class TrainedProfile:
    """The outcome of :func:`train`."""

    config_path: Path
    results: tuple[TrainResult, ...]
    messages: int
    message_bytes: int
    #: Messages the codecs' costs were measured on (0: not measured).
    costs_measured: int = 0


def train(
    corpus: Sequence[Sample],
    outdir: str | os.PathLike[str],
    *,
    config: Config | None = None,
    progress: Progress | None = None,
    plugins: Sequence[tuple[str, object]] = (),
    state_dir: str | os.PathLike[str] | None = None,
) -> TrainedProfile:
    """Train every enabled plugin on ``corpus``; write ``outdir/auracodec.toml``.

    ``config`` is the starting point (its selector, limits and untrained codec
    settings carry over); the built-in defaults if ``None``. ``state_dir`` is
    the training state directory: what the previous training of this profile
    left there is read, the new state written, and a ``README.txt`` says it
    holds training messages (``auracodec train -o DIR`` keeps it beside the
    profile, :func:`default_state_dir`). ``None``: a private temporary
    directory, removed afterwards, so that no training message is left
    anywhere unasked; training this profile again then keeps its templates
    and their ids, and only template discovery's miner starts afresh.
    """
    if state_dir is not None:
        return _train(corpus, Path(outdir), Path(state_dir), config, progress, plugins)
    with tempfile.TemporaryDirectory(prefix="auracodec-state-") as tmp:  # mode 0o700
        return _train(corpus, Path(outdir), Path(tmp), config, progress, plugins)


def _train(
    corpus: Sequence[Sample],
    out: Path,
    state: Path,
    config: Config | None,
    progress: Progress | None,
    plugins: Sequence[tuple[str, object]],
) -> TrainedProfile:
    config = config or Config.defaults()
    out.mkdir(parents=True, exist_ok=True)
    prepare_state_dir(state)
    full = corpus
    corpus, held_out = hold_out(corpus)
    registry = Registry.load(disable=config.disable, extra=plugins)
    config.check_codec_tables(list(registry.codec_types))
    progress = progress or NullProgress()
    arguments = {
        "corpus": corpus,
        "outdir": out,
        # [training] size fills in training settings for the plugins; the
        # profile records the size class, not the settings it chose.
        "config": sized_config(config, list(registry.codec_types)),
        "progress": progress,
        "normalizers": registry.normalizer_types,
        "statedir": state,
    }
    results: list[TrainResult] = []
    # One implementation at a time (in pluggy's order), so that a setting a
    # plugin cannot train with is reported in the table of that plugin's codec.
    infos = {info.name: info for info in registry.plugins}
    for impl in reversed(registry.pm.hook.auracodec_train.get_hookimpls()):
        info = infos.get(impl.plugin_name)
        if info is not None and info.conflict:
            # Its codec is in no pipeline until the conflict is resolved.
            warn_plugin(
                f"auracodec plugin {info.name!r} from {info.origin} was not trained: "
                f"{info.conflict}"
            )
            continue
        try:
            result = impl.function(*[arguments[a] for a in impl.argnames])
        except SettingError as exc:
            raise ConfigError(
                str(exc), path=config.path, key=_setting_key(registry, impl.plugin_name, exc)
            ) from exc
        if isinstance(result, TrainResult):
            results.append(result)
        elif result is not None:
            raise PluginError(
                f"auracodec_train of plugin {impl.plugin_name!r} returned {result!r:.80}, "
                "expected a TrainResult or None",
                plugin=impl.plugin_name,
            )
    tables = _profile_tables(config, registry, results)
    total = sum(len(s.data) for s in full)
    header = (
        f"Written by auracodec {__version__} `auracodec train` on "
        f"{datetime.date.today().isoformat()}\n"
        f"from {len(full)} messages ({total} bytes); "
        + (
            f"{len(held_out)} of them held out to measure costs. "
            if len(corpus) < len(full)
            else f"costs measured on {len(held_out)} of them. "
        )
        + "Paths are relative to this file."
    )
    path = out / CONFIG_NAME
    path.write_text(dump_toml(tables, header), encoding="utf-8")
    measured_on = 0
    if held_out:
        # Measured with the trained profile as written, then referenced from it.
        try:
            measured = measure_costs(Config.load(path), held_out, progress, plugins)
        except AuraError as exc:
            # The profile builds no pipeline as it stands (plugins in
            # conflict, say): the user settles that; nothing to measure yet.
            warnings.warn(
                f"auracodec train: costs not measured ({exc}); the cost policy starts "
                "from the codecs' declared cost models",
                AuraWarning,
                stacklevel=2,
            )
        else:
            write_estimates(out / ESTIMATES_NAME, measured, len(held_out))
            tables["selector"]["estimates"] = ESTIMATES_NAME
            path.write_text(dump_toml(tables, header), encoding="utf-8")
            measured_on = len(held_out)
    return TrainedProfile(path, tuple(results), len(full), total, measured_on)


def default_state_dir(profile: str | os.PathLike[str]) -> Path:
    """Where the training state of a plain profile directory lives: beside it,
    ``profile.training/`` (never inside the profile, which may be served)."""
    p = Path(profile).resolve()
    return p.with_name(p.name + ".training")


def check_state_dir(state: Path) -> None:
    """Refuse (:class:`~auracodec.AuraError`) a ``state`` that is a file, or a
    directory that holds files but no ``README.txt``: it is something else,
    which training would mix its state into."""
    if state.exists() and not state.is_dir():
        raise AuraError(f"{state} is a file; a training state is a directory")
    if state.is_dir() and not (state / STATE_README_NAME).exists() and any(state.iterdir()):
        raise AuraError(
            f"{state} holds files but no {STATE_README_NAME}, so it is not a training "
            "state directory; name a new or empty directory"
        )


def prepare_state_dir(state: Path) -> None:
    """Make ``state`` a training state directory, with its ``README.txt``
    (:data:`STATE_README`); :func:`check_state_dir` first."""
    check_state_dir(state)
    # Private unless it exists already: it holds training messages.
    state.parent.mkdir(parents=True, exist_ok=True)
    state.mkdir(mode=0o700, exist_ok=True)
    (state / STATE_README_NAME).write_text(STATE_README, encoding="utf-8")


#: Where ``auracodec train`` writes the cost estimates, in the profile.
ESTIMATES_NAME = "costs.json"
# Held out from training to measure costs: one conversation (or message) in
# HOLD_OUT_EVERY, at most HOLD_OUT_MAX messages, from corpora of at least
# HOLD_OUT_MIN messages (smaller ones are measured on what they trained on).
HOLD_OUT_EVERY = 20
HOLD_OUT_MAX = 2000
HOLD_OUT_MIN = 200
MEASURE_MAX = 500


def hold_out(corpus: Sequence[Sample]) -> tuple[Sequence[Sample], list[Sample]]:
    """Split ``corpus`` into what trains and what measures the trained profile.

    Whole conversations are held out where the corpus has conversation ids, so
    that session contexts are measured on real conversations.
    """
    if len(corpus) < HOLD_OUT_MIN:
        return corpus, list(corpus[:MEASURE_MAX])
    convs: dict[str | None, int] = {}
    for s in corpus:
        if s.conv is not None and s.conv not in convs:
            convs[s.conv] = len(convs)
    train: list[Sample] = []
    held: list[Sample] = []
    for i, s in enumerate(corpus):
        key = convs[s.conv] if s.conv is not None else i
        if key % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1 and len(held) < HOLD_OUT_MAX:
            held.append(s)
        else:
            train.append(s)
    return train, held


def measure_costs(
    config: Config,
    samples: Sequence[Sample],
    progress: Progress,
    plugins: Sequence[tuple[str, object]] = (),
) -> dict[str, dict[int, dict[str, float]]]:
    """Each codec's and session context's payload sizes and CPU per size class.

    Every codec encodes and decodes every sample; every session context codes
    the samples of each conversation (and direction) in order. Times are the
    thread's CPU time, so that other work on the machine does not inflate
    them (the ``cost`` policy refines them the same way as it runs).
    """
    from .pipeline import Pipeline  # the pipeline imports training's users

    pipe = Pipeline.from_config(config, plugins=plugins)
    limit = pipe.max_message_size
    figures: dict[str, dict[int, dict[str, float]]] = {}
    codecs = [c for c in pipe.wire.candidates]
    contexts = pipe.wire.contexts("out")[0]
    advance = progress.task("measuring costs", len(samples) * (len(codecs) + len(contexts)))
    for codec in codecs:
        table = figures.setdefault(codec.name, {})
        for s in samples:
            _measure_one(table, s.data, codec.encode, codec.decode, limit)
        advance(len(samples))
    streams: dict[tuple[str | None, str], list[bytes]] = {}
    for s in samples:
        streams.setdefault((s.conv, s.direction), []).append(s.data)
    for ctx in contexts:
        table = figures.setdefault(f"{ctx.name}+context", {})
        for messages in streams.values():
            outgoing = pipe.wire.contexts("out")[0]
            incoming = pipe.wire.contexts("in")[0]
            sender = next(c for c in outgoing if c.method_id == ctx.method_id)
            receiver = next(c for c in incoming if c.method_id == ctx.method_id)
            for m in messages:
                _measure_one(table, m, sender.encode, receiver.decode, limit, receiver.absorb)
            advance(len(messages))
    return figures


def _measure_one(
    table: dict[int, dict[str, float]],
    message: bytes,
    encode: Callable[[bytes], bytes | None],
    decode: Callable[[bytes, int], bytes],
    limit: int,
    absorb: Callable[[bytes], None] | None = None,
) -> None:
    k = size_class(len(message))
    f = table.setdefault(
        k,
        {
            "messages": 0,
            "bytes": 0,
            "declined": 0,
            "coded_bytes": 0,
            "payload": 0,
            "spread": 0.0,
            "encode_ns": 0,
            "coded_encode_ns": 0,
            "decode_ns": 0,
        },
    )
    start = time.thread_time_ns()
    payload = encode(message)
    took = time.thread_time_ns() - start
    f["messages"] += 1
    f["bytes"] += len(message)
    f["encode_ns"] += took
    if payload is None:
        f["declined"] += 1
        if absorb is not None:
            absorb(message)
        return
    start = time.thread_time_ns()
    back = decode(payload, limit)
    f["decode_ns"] += time.thread_time_ns() - start
    if back != message:
        raise AuraError(f"a trained codec does not round-trip a message of {len(message)} bytes")
    n = f["messages"] - f["declined"]
    f["coded_encode_ns"] += took
    f["coded_bytes"] += len(message)
    f["payload"] += len(payload)
    # running mean absolute deviation of the payload ratio from the class mean
    mean = f["payload"] / f["coded_bytes"]
    f["spread"] += (abs(len(payload) / max(len(message), 1) - mean) - f["spread"]) / n


def _setting_key(registry: Registry, plugin: str, exc: SettingError) -> str:
    """``codecs.<codec>.<key>`` when ``plugin`` declares one codec, else the bare key."""
    codecs = [
        name
        for (hook, name), owner in registry.owner.items()
        if hook == "auracodec_codec_types" and owner.name == plugin
    ]
    return f"codecs.{codecs[0]}.{exc.key}" if len(codecs) == 1 else exc.key


def _profile_tables(
    config: Config, registry: Registry, results: Sequence[TrainResult]
) -> dict[str, dict[str, Any]]:
    tables: dict[str, dict[str, Any]] = {}
    pipeline: dict[str, Any] = {"max_message_size": config.max_message_size}
    if config.codecs is not None:
        pipeline["codecs"] = list(config.codecs)
    tables["pipeline"] = pipeline
    if config.disable:
        tables["plugins"] = {"disable": list(config.disable)}
    if config.session_check_every:
        tables["session"] = {"check_every": config.session_check_every}
    if config.training_size is not None:  # the size class it was trained for
        tables["training"] = {"size": config.training_size}
    tables["selector"] = {"policy": config.policy, "verify": config.verify, **config.selector_table}
    if config.prices != Prices():  # the starting config's prices carry over
        tables["selector"]["egress_usd_per_gb"] = config.prices.egress_usd_per_gb
        tables["selector"]["cpu_usd_per_core_hour"] = config.prices.cpu_usd_per_core_hour
    trained = {r.codec: r for r in results}
    for name in sorted(set(config.codec_tables) | set(trained)):
        codec_type = registry.codec_types.get(name)
        if codec_type is None:
            raise ConfigError(f"plugin trained unknown codec {name!r}", key=f"codecs.{name}")
        table = _carried(config, config.codec_tables.get(name, {}), codec_type.settings)
        if name in trained:
            table.update(trained[name].settings)
        tables[f"codecs.{name}"] = table
    for name, base in sorted(config.observer_tables.items()):
        otype = registry.observer_types.get(name)
        settings = otype.settings if otype is not None else ()
        tables[f"observers.{name}"] = _carried(config, base, settings)
    return tables


def _carried(
    config: Config, base: Mapping[str, Any], settings: Sequence[Setting]
) -> dict[str, Any]:
    """The starting config's values for a table; paths made absolute, since the
    new file lives elsewhere."""
    kinds = {s.name: s.kind for s in settings}
    table: dict[str, Any] = {}
    for key, value in base.items():
        if kinds.get(key) == "path":
            value = str(config.base_dir / value)
        elif kinds.get(key) == "paths":
            value = [str(config.base_dir / v) for v in value]
        table[key] = value
    return table


@attrs.define
class ProfileUpdate:
    """A profile and its training state written beside them, then put in place whole.

    :meth:`begin` makes a staging directory next to ``target`` (on the same
    file system, so the swap is two renames), holding a copy of the existing
    profile if there is one, and likewise one next to ``state_target`` for
    the training state (default :func:`default_state_dir`). Train into
    :attr:`staging` with :attr:`state_staging` as the state directory, then
    :meth:`commit`; leaving the ``with`` block without committing removes the
    staging directories and leaves the targets untouched::

        with ProfileUpdate.begin("profile") as update:
            train(corpus, update.staging, state_dir=update.state_staging)
            update.commit()

    :meth:`commit` puts the profile in place, then the state. Between the two
    renames of each swap the old directory sits beside the target under a
    ``.replaced-`` name, and is put back if the second fails; should the
    state's swap fail after the profile's, the new profile is in place with
    the previous state, from which training can still continue.
    """

    target: Path
    staging: Path
    #: Whether ``target`` held a profile (an ``auracodec.toml``).
    existing: bool
    state_target: Path
    state_staging: Path
    _done: bool = False

    @classmethod
    def begin(
        cls, target: str | os.PathLike[str], state: str | os.PathLike[str] | None = None
    ) -> ProfileUpdate:
        """Stage an update of ``target``: a new directory, or an existing profile.

        Refuses (:class:`~auracodec.AuraError`) a ``target`` that is a file, or
        a directory that holds files but no ``auracodec.toml``: replacing it
        would delete what is not a profile; a version of a profile store or the
        store itself, which never change this way; a ``state`` inside the
        profile or holding it, or that is not a training state directory.
        """
        out = Path(target).resolve()
        existing = (out / CONFIG_NAME).is_file()
        if out.exists() and not out.is_dir():
            raise AuraError(f"{out} is a file; a profile is a directory")
        store = store_of(out)
        if store is not None:
            raise AuraError(
                f"{out} is a version of the profile store {store}, and versions never "
                f"change: train a new one with --store {store} --from {out.name[:12]}"
            )
        if is_store(out):
            raise AuraError(f"{out} is a profile store: train into it with --store {out}, not -o")
        if out.is_dir() and not existing and any(out.iterdir()):
            raise AuraError(
                f"{out} holds files but no {CONFIG_NAME}, so it is not a profile; "
                "name a new or empty directory"
            )
        state_out = Path(state).resolve() if state is not None else default_state_dir(out)
        if state_out.is_relative_to(out) or out.is_relative_to(state_out):
            raise AuraError(
                f"the training state ({state_out}) must be a directory apart from the "
                f"profile ({out}): it holds training messages, and a profile may be served"
            )
        check_state_dir(state_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        state_out.parent.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(4)
        staging = out.parent / f".{out.name}.training-{token}"
        state_staging = state_out.parent / f".{state_out.name}.staging-{token}"
        staging.mkdir()  # mode from the umask, as a new profile directory gets
        try:
            state_staging.mkdir(mode=0o700)  # training messages: private (or as before)
            if existing:
                shutil.copytree(out, staging, symlinks=True, dirs_exist_ok=True)
            if state_out.is_dir():
                shutil.copytree(state_out, state_staging, symlinks=True, dirs_exist_ok=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(state_staging, ignore_errors=True)
            raise
        return cls(out, staging, existing, state_out, state_staging)

    def commit(self) -> None:
        """Put the staged profile in place of ``target``, then the staged state
        in place of ``state_target`` (either may not exist)."""
        if self._done:
            raise RuntimeError("this profile update is over")
        _swap(self.staging, self.target)
        self._done = True
        _swap(self.state_staging, self.state_target)

    def discard(self) -> None:
        """Remove the staged profile and state; the targets stay as they were."""
        if not self._done:
            self._done = True
            shutil.rmtree(self.staging, ignore_errors=True)
        shutil.rmtree(self.state_staging, ignore_errors=True)

    def __enter__(self) -> ProfileUpdate:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()


def _swap(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``, replacing it; the old one is put back on failure."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.replaced-{secrets.token_hex(4)}"
        target.rename(old)
    try:
        staging.rename(target)
    except BaseException:
        if old is not None:
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old)
