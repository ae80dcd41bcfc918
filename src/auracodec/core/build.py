"""Assembling a pipeline's parts from a config and the registry.

:func:`assemble` builds the codecs a pipeline uses (each from its validated
``[codecs.<name>]`` settings), checks what each built codec declares, binds the
codecs that compose others, reads each codec's fingerprint once, builds the
selector policy and registers the configured observers. The pipeline then makes
its dispatch tables from the result.

Everything a plugin does here may fail, and the failure is kept to that plugin:

* A :class:`~auracodec.core.settings.SettingError` from a factory or from
  ``bind`` is the user's mistake: a :class:`~auracodec.ConfigError` naming the
  key.
* Anything else a codec's plugin gets wrong (its factory raises, the codec's
  declarations have the wrong type or contradict its :class:`CodecType`,
  ``bind`` raises, ``fingerprint()`` raises or returns something other than a
  mapping of str to str or int) leaves that codec out, with a
  :class:`~auracodec.PluginWarning` naming codec, plugin, package and reason.
  If the codec was asked for by name (``only``, ``[pipeline] codecs``), it is a
  :class:`~auracodec.PluginError` with the same explanation instead. A built-in
  codec that fails is a broken installation: a ``PluginError`` too.
* A codec whose ``bind`` looked at a codec that was then left out is bound
  again without it, under the same rules.
* A pipeline that would use a contested declaration (see
  :class:`~auracodec.core.registry.Conflict`) refuses to build, naming both
  plugins and packages: a codec it asks for, any contested codec when it takes
  every installed codec, the configured policy or observer, or a codec or
  normalizer a ``bind`` looks up (listing the normalizers uses them all).
* Policies and observers are chosen by name in the config: a factory's
  ``SettingError`` is a ``ConfigError``, anything else a ``PluginError``
  naming plugin and package.

A plugin whose codec was left out shows as skipped on ``registry.plugins``
(its ``error`` says why). :func:`probe_codecs` builds every codec the same way
without stopping at anything, for ``auracodec plugins``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from .codec import BindContext, Codec, checked_fingerprint, contract_problem, oneline, shown
from .config import Config
from .errors import CONTAINED, ConfigError, PluginError
from .normalize import Normalizer, NormalizerType
from .registry import Conflict, PluginInfo, Registry, warn_plugin
from .selector import Policy
from .settings import SettingError

__all__ = ["RAW_CODEC", "Assembly", "assemble", "probe_codecs"]

#: The codec every pipeline has: the raw message, the fallback.
RAW_CODEC = "identity"

_CODECS = "auracodec_codec_types"
_POLICIES = "auracodec_selector_policies"
_NORMALIZERS = "auracodec_normalizers"
_OBSERVERS = "auracodec_observer_types"

_V = TypeVar("_V")


@attrs.frozen
class Assembly:
    """What :func:`assemble` built."""

    #: The codecs by name, raw included, built and bound.
    codecs: dict[str, Codec]
    policy: Policy
    #: Each codec's ``fingerprint()``, by codec name: called once, after
    #: binding, and checked to be a dict of str to str or int.
    fingerprints: dict[str, dict[str, str | int]] = attrs.field(factory=dict)
    #: Codecs left out because their plugin failed, by name, with the reason
    #: (each was also reported as a :class:`~auracodec.PluginWarning`).
    skipped: dict[str, str] = attrs.field(factory=dict)


def assemble(config: Config, registry: Registry, only: Sequence[str] | None) -> Assembly:
    """Build the codecs, observers and policy of a pipeline.

    :param only: use only these codecs (raw always stays); ``None`` for
        ``[pipeline] codecs``, or every installed and enabled codec.
    """
    if RAW_CODEC in config.disable:
        raise ConfigError(
            f"{RAW_CODEC!r} is the raw fallback of every pipeline and cannot be disabled",
            path=config.path,
            key="plugins.disable",
        )
    if RAW_CODEC not in registry.codec_types:
        raise PluginError(
            "the built-in codecs are not registered; is auracodec installed "
            "(pip install auracodec, or pip install -e . in a checkout)?"
        )
    names, asked, where = _codec_names(config, registry, only)
    codecs = _Codecs(config, registry, asked, where)
    codecs.build(names)
    codecs.bind_and_fingerprint()
    policy = _policy(config, registry)
    _register_observers(config, registry)
    return Assembly(codecs.active, policy, codecs.fingerprints, codecs.skipped)


# -- which codecs ------------------------------------------------------------------


def _codec_names(
    config: Config, registry: Registry, only: Sequence[str] | None
) -> tuple[list[str], frozenset[str], str]:
    """The codecs to build, those asked for by name, and where they were asked for."""
    available = list(registry.codec_types)
    contested = {n: c for (h, n), c in registry.conflicts.items() if h == _CODECS}
    # A table may belong to a plugin that failed to load (it was warned of):
    # then an unknown table is not refused, or every pipeline would be.
    idle = any(p.status in ("skipped", "conflict") for p in registry.plugins)
    for table in config.codec_tables:
        if table not in registry.codec_types and table not in contested and not idle:
            raise ConfigError(
                f"no such codec (installed and enabled: {', '.join(sorted(available))})"
                f"{_not_in_use(registry)}",
                path=config.path,
                key=f"codecs.{table}",
            )
    wanted = list(only) if only is not None else config.codecs
    if wanted is None:
        if contested:
            raise _conflict_error(
                list(contested.values()),
                registry,
                "this pipeline takes every installed codec ([pipeline] codecs is not set)",
                "or list the codecs to use in [pipeline] codecs",
            )
        return available, frozenset(), ""
    where = "codecs=[...]" if only is not None else "[pipeline] codecs"
    for name in wanted:
        if name in contested:
            raise _conflict_error(
                [contested[name]],
                registry,
                f"this pipeline asks for codec {name!r} ({where})",
                "or leave the codec out",
            )
        if name not in registry.codec_types:
            raise ConfigError(
                f"no such codec {name!r} (installed and enabled: {', '.join(available)})"
                f"{_not_in_use(registry)}",
                path=None if only is not None else config.path,
                key=None if only is not None else "pipeline.codecs",
            )
    names = [n for n in available if n in wanted or n == RAW_CODEC]
    return names, frozenset(wanted), where


# -- building and binding codecs ---------------------------------------------------


@attrs.define
class _Codecs:
    """The codecs of one pipeline while they are built, bound and fingerprinted.

    ``probing`` (for :func:`probe_codecs`) turns every error that would stop
    the build into the codec being left out, and warns of nothing.
    """

    config: Config
    registry: Registry
    #: Codecs asked for by name: their failures stop the build.
    asked: frozenset[str]
    where: str
    probing: bool = False
    active: dict[str, Codec] = attrs.field(factory=dict)
    fingerprints: dict[str, dict[str, str | int]] = attrs.field(factory=dict)
    #: Codecs left out for their plugin's fault, with the reason.
    skipped: dict[str, str] = attrs.field(factory=dict)
    #: When probing: codecs left out for another reason (config, conflict).
    unbuilt: dict[str, str] = attrs.field(factory=dict)
    #: What each bind looked up among the codecs (itself excluded).
    _looked_at: dict[str, set[str]] = attrs.field(factory=dict)
    #: The normalizers binds get, each factory guarded (see _guard).
    _normalizers: dict[str, NormalizerType] = attrs.field(factory=dict)
    #: What each bind looked up among the normalizers.
    _used_normalizers: dict[str, set[str]] = attrs.field(factory=dict)

    def build(self, names: Sequence[str]) -> None:
        for name in names:
            ctype = self.registry.codec_types[name]
            try:
                settings = self.config.codec_settings(name, ctype.settings)
                codec = ctype.factory(settings)
            except ConfigError as exc:
                self._stop(name, exc, None)
                continue
            except SettingError as exc:
                self._stop(name, self._setting_error(name, exc), exc)
                continue
            # A plugin's factory (or its settings' checks) may raise anything.
            except CONTAINED as exc:
                self._fail(name, f"its factory raised {oneline(exc)}", exc)
                continue
            try:
                problem = contract_problem(codec, ctype)
            # Reading attributes runs the plugin's properties.
            except CONTAINED as exc:
                self._fail(name, f"reading its declarations raised {oneline(exc)}", exc)
                continue
            if problem is not None:
                self._fail(name, problem, None)
                continue
            self.active[name] = codec

    def bind_and_fingerprint(self) -> None:
        """Bind every codec that composes others, then read every fingerprint.

        A codec left out at either step may have been looked up by another's
        bind; that one is bound again, and so on until nothing more drops. A
        normalizer whose factory fails while a codec binds is left out the
        same way, and the codecs that used it are bound again without it.
        """
        self._normalizers = {
            n: self._guard(n, t) for n, t in self.registry.normalizer_types.items()
        }
        to_bind = list(self.active)
        while True:
            dropped: set[str] = set()
            normalizers = set(self._normalizers)
            for name in to_bind:
                if name in self.active and not self._bind(name):
                    dropped.add(name)
            for name in list(self.active):
                if name not in self.fingerprints and not self._fingerprint(name):
                    dropped.add(name)
            gone = normalizers - set(self._normalizers)
            if not dropped and not gone:
                return
            to_bind = [
                n
                for n in self.active
                if self._looked_at.get(n, set()) & dropped
                or self._used_normalizers.get(n, set()) & gone
            ]
            for name in to_bind:
                self.fingerprints.pop(name, None)

    def _bind(self, name: str) -> bool:
        while True:
            codecs = _Watched(self.active)
            normalizers = _Watched(self._normalizers)
            error: BaseException | None = None
            try:
                bind = getattr(self.active[name], "bind", None)
                if bind is None:
                    return True
                bind(BindContext(codecs, normalizers))
            # bind() is the plugin's code; what it raises is judged below.
            except CONTAINED as exc:
                error = exc
            self._looked_at[name] = (set(codecs) if codecs.listed else codecs.looked_up) - {name}
            self._used_normalizers[name] = (
                set(normalizers) if normalizers.listed else normalizers.looked_up
            )
            failed = _normalizer_failure(error)
            if failed is None or failed.normalizer not in self._normalizers:
                break
            # A normalizer's fault, not the codec's: leave it out and bind again.
            self._drop_normalizer(failed)
        refusal = self._contested(name, codecs, normalizers)
        if refusal is not None:
            self._stop(name, refusal, error)
        elif isinstance(error, SettingError):
            self._stop(name, self._setting_error(name, error), error)
        elif error is not None:
            self._fail(name, f"bind() raised {oneline(error)}", error)
        else:
            return True
        return False

    def _fingerprint(self, name: str) -> bool:
        try:
            value = self.active[name].fingerprint()
        # fingerprint() is the plugin's code.
        except CONTAINED as exc:
            self._fail(name, f"fingerprint() raised {oneline(exc)}", exc)
            return False
        try:
            self.fingerprints[name] = checked_fingerprint(value)
        except TypeError as exc:
            self._fail(name, str(exc), None)
            return False
        return True

    def _contested(
        self, name: str, codecs: _Watched[Any], normalizers: _Watched[Any]
    ) -> PluginError | None:
        """The refusal of the pipeline if ``name``'s bind used a contested codec or normalizer."""
        conflicts = self.registry.conflicts
        used = [f"codec {n!r}" for n in sorted(codecs.looked_up) if (_CODECS, n) in conflicts]
        found = [
            conflicts[(_CODECS, n)] for n in sorted(codecs.looked_up) if (_CODECS, n) in conflicts
        ]
        contested = {n: c for (h, n), c in conflicts.items() if h == _NORMALIZERS}
        if normalizers.listed and contested:
            used.append("every normalizer")
            found.extend(contested.values())
        else:
            for n in sorted(normalizers.looked_up & contested.keys()):
                used.append(f"normalizer {n!r}")
                found.append(contested[n])
        if not found:
            return None
        owner = self.registry.codec_owner(name)
        return _conflict_error(
            found,
            self.registry,
            f"codec {name!r} of plugin {owner.name!r} ({owner.origin}) in this pipeline "
            f"uses {', '.join(used)}",
            f"or build the pipeline without codec {name!r}",
        )

    def _setting_error(self, name: str, exc: SettingError) -> ConfigError:
        message = str(exc)
        gone = sorted(self._looked_at.get(name, set()) & set(self.skipped))
        if gone:
            message += "; " + "; ".join(
                f"codec {n!r} was left out: {self.skipped[n]}" for n in gone
            )
        return ConfigError(message, path=self.config.path, key=f"codecs.{name}.{exc.key}")

    def _stop(self, name: str, error: Exception, cause: BaseException | None) -> None:
        """Stop the build with ``error`` (a probe leaves codec ``name`` out instead)."""
        if not self.probing:
            raise error from cause
        self.unbuilt[name] = str(error)
        self._drop(name)

    def _fail(self, name: str, reason: str, exc: BaseException | None) -> None:
        """Leave codec ``name`` out for its plugin's fault, or stop if it must not be."""
        owner = self.registry.codec_owner(name)
        who = f"codec {name!r} of plugin {owner.name!r} ({owner.origin})"
        if not self.probing:
            if owner.builtin:
                raise PluginError(
                    f"built-in {who}: {reason}; the auracodec installation is broken "
                    "(reinstall it)",
                    plugin=owner.name,
                    package=owner.origin,
                ) from exc
            if name in self.asked:
                raise PluginError(
                    f"{who}: {reason}; the pipeline asks for it ({self.where}), so it "
                    "cannot be built: leave the codec out, or fix or disable the plugin "
                    f"([plugins] disable = [{owner.name!r}])",
                    plugin=owner.name,
                    package=owner.origin,
                ) from exc
            warn_plugin(f"{who}: {reason}; skipped")
        self.skipped[name] = reason
        _mark(self.registry, owner, f"codec {name!r} was skipped: {reason}")
        self._drop(name)

    def _drop(self, name: str) -> None:
        self.active.pop(name, None)
        self.fingerprints.pop(name, None)

    def _guard(self, name: str, ntype: NormalizerType) -> NormalizerType:
        """``ntype`` with a factory whose failures name the normalizer and its plugin."""
        owner = self.registry.owner[(_NORMALIZERS, name)]
        who = f"normalizer {name!r} of plugin {owner.name!r} ({owner.origin})"

        def factory(settings: Mapping[str, Any]) -> Normalizer:
            try:
                made = ntype.factory(settings)
            except SettingError:
                raise
            # A plugin's factory may raise anything.
            except CONTAINED as exc:
                raise _NormalizerFailed(name, who, f"its factory raised {oneline(exc)}") from exc
            try:
                problem = _normalizer_problem(made)
            # Reading attributes runs the plugin's properties.
            except CONTAINED as exc:
                problem = f"reading what its factory returned raised {oneline(exc)}"
            if problem is not None:
                raise _NormalizerFailed(name, who, problem)
            return made

        return attrs.evolve(ntype, factory=factory)

    def _drop_normalizer(self, failed: _NormalizerFailed) -> None:
        owner = self.registry.owner[(_NORMALIZERS, failed.normalizer)]
        if not self.probing:
            if owner.builtin:
                raise PluginError(
                    f"built-in {failed}; the auracodec installation is broken (reinstall it)",
                    plugin=owner.name,
                    package=owner.origin,
                ) from failed
            warn_plugin(f"{failed}; skipped")
        _mark(
            self.registry, owner, f"normalizer {failed.normalizer!r} was skipped: {failed.reason}"
        )
        del self._normalizers[failed.normalizer]


class _NormalizerFailed(PluginError):
    """A normalizer's factory failed while a codec was binding."""

    def __init__(self, normalizer: str, who: str, reason: str) -> None:
        super().__init__(f"{who}: {reason}")
        self.normalizer = normalizer
        self.reason = reason


def _normalizer_failure(error: BaseException | None) -> _NormalizerFailed | None:
    """The normalizer failure behind ``error`` (its cause or context), if any."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, _NormalizerFailed):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _normalizer_problem(made: object) -> str | None:
    for method in ("match", "pack", "unpack"):
        value = getattr(made, method, None)
        if not callable(value):
            return f"its factory returned {shown(made)}, which has no {method} method"
    return None


def _mark(registry: Registry, owner: PluginInfo, why: str) -> None:
    """Record on ``registry.plugins`` (and ``owner``) that a codec of ``owner`` was skipped."""

    def same(p: PluginInfo) -> bool:
        return (p.name, p.target, p.package) == (owner.name, owner.target, owner.package)

    marked = {
        id(p): attrs.evolve(p, error=f"{p.error}; {why}" if p.error else why)
        for p in registry.plugins
        if same(p)
    }
    registry.plugins = tuple(marked.get(id(p), p) for p in registry.plugins)
    if marked:
        info = next(iter(marked.values()))
        for key, p in registry.owner.items():
            if same(p):
                registry.owner[key] = info


def probe_codecs(config: Config, registry: Registry) -> dict[str, str]:
    """Build every usable codec as the default pipeline would, to find those that fail.

    For ``auracodec plugins``: afterwards, a plugin whose codec fails only when
    built (its factory raises, the built codec's declarations are wrong,
    ``bind`` or ``fingerprint()`` fails) is skipped on ``registry.plugins``,
    with the reason in ``error``. Raises nothing and warns of nothing (but
    what is not :data:`~auracodec.core.errors.CONTAINED`:
    ``KeyboardInterrupt``). Returns every codec that could not be built, with
    the reason: those above, and those that fail for the config's sake (a
    setting) or because a ``bind`` uses a contested declaration.
    """
    codecs = _Codecs(config, registry, frozenset(), "", probing=True)
    codecs.build(list(registry.codec_types))
    codecs.bind_and_fingerprint()
    return {**codecs.unbuilt, **codecs.skipped}


class _Watched(Mapping[str, _V]):
    """A read-only view of a table that remembers what was looked up in it.

    ``looked_up`` holds every key asked for (``[]``, ``in``, ``get``);
    ``listed`` says whether the keys were listed (iteration, ``len``, views).
    """

    def __init__(self, data: Mapping[str, _V]) -> None:
        self._data = dict(data)
        self.looked_up: set[str] = set()
        self.listed = False

    def __getitem__(self, key: str) -> _V:
        self.looked_up.add(key)
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        self.listed = True
        return iter(self._data)

    def __len__(self) -> int:
        self.listed = True
        return len(self._data)


# -- policy and observers ----------------------------------------------------------


def _policy(config: Config, registry: Registry) -> Policy:
    name = config.policy
    conflict = registry.conflicts.get((_POLICIES, name))
    if conflict is not None:
        raise _conflict_error(
            [conflict],
            registry,
            f"this pipeline's selector policy is {name!r}",
            "or choose another policy ([selector] policy)",
        )
    policy_type = registry.policy_types.get(name)
    if policy_type is None:
        raise ConfigError(
            f"no such selector policy {name!r} "
            f"(available: {', '.join(sorted(registry.policy_types))}){_not_in_use(registry)}",
            path=config.path,
            key="selector.policy",
        )
    owner = registry.owner[(_POLICIES, name)]
    who = f"selector policy {name!r} of plugin {owner.name!r} ({owner.origin})"
    policy = _made(
        who,
        owner,
        lambda: policy_type.factory(config.policy_settings(policy_type.settings)),
        config,
        "selector",
    )
    try:
        select = getattr(policy, "select", None)
    # Reading an attribute runs the plugin's property, if it is one.
    except CONTAINED as exc:
        raise PluginError(
            f"{who}: reading its select method raised {oneline(exc)}",
            plugin=owner.name,
            package=owner.origin,
        ) from exc
    if not callable(select):
        raise PluginError(
            f"{who}: its factory returned {shown(policy)}, expected an object with a "
            "select(message, codecs) method",
            plugin=owner.name,
            package=owner.origin,
        )
    return policy


def _register_observers(config: Config, registry: Registry) -> None:
    registered: list[str] = []
    try:
        for name in config.observer_tables:
            registered.append(_register_observer(config, registry, name))
    except BaseException:
        for plugin_name in registered:
            registry.pm.unregister(name=plugin_name)
        raise


def _register_observer(config: Config, registry: Registry, name: str) -> str:
    """Build the configured observer ``name`` and register it; return its plugin name."""
    conflict = registry.conflicts.get((_OBSERVERS, name))
    if conflict is not None:
        raise _conflict_error(
            [conflict],
            registry,
            f"this pipeline configures the observer {name!r}",
            f"or remove [observers.{name}]",
        )
    otype = registry.observer_types.get(name)
    if otype is None:
        raise ConfigError(
            f"no such observer (available: {', '.join(sorted(registry.observer_types))})"
            f"{_not_in_use(registry)}",
            path=config.path,
            key=f"observers.{name}",
        )
    owner = registry.owner[(_OBSERVERS, name)]
    who = f"observer {name!r} of plugin {owner.name!r} ({owner.origin})"
    observer = _made(
        who,
        owner,
        lambda: otype.factory(config.observer_settings(name, otype.settings), registry.pm.hook),
        config,
        f"observers.{name}",
    )
    if observer is None:
        raise PluginError(
            f"{who}: its factory returned None, expected an object with hook implementations",
            plugin=owner.name,
            package=owner.origin,
        )
    plugin_name = f"observer:{name}"
    try:
        registry.pm.register(observer, name=plugin_name)
    # pluggy reads the observer's attributes, which runs the plugin's code.
    except CONTAINED as exc:
        if registry.pm.get_plugin(plugin_name) is observer:  # pluggy < 1.7 registers partly
            registry.pm.unregister(name=plugin_name)
        raise PluginError(
            f"{who}: could not be registered: {oneline(exc)}",
            plugin=owner.name,
            package=owner.origin,
        ) from exc
    return plugin_name


def _made(who: str, owner: PluginInfo, make: Callable[[], _V], config: Config, table: str) -> _V:
    """Call a policy's or observer's factory.

    Its ``SettingError`` is the user's mistake, anything else the plugin's.
    """
    try:
        return make()
    except ConfigError:
        raise
    except SettingError as exc:
        raise ConfigError(str(exc), path=config.path, key=f"{table}.{exc.key}") from exc
    # A plugin's factory (or its settings' checks) may raise anything.
    except CONTAINED as exc:
        raise PluginError(
            f"{who}: its factory raised {oneline(exc)}",
            plugin=owner.name,
            package=owner.origin,
        ) from exc


# -- messages ----------------------------------------------------------------------


def _conflict_error(
    conflicts: Sequence[Conflict], registry: Registry, use: str, otherwise: str
) -> PluginError:
    """The error of a pipeline that would use contested declarations."""
    reasons = list(dict.fromkeys(r for c in conflicts for r in c.reasons))
    plugins = list(dict.fromkeys(p for c in conflicts for p in c.plugins))
    origins = {p.name: p.origin for p in registry.plugins}
    choices = " or ".join(repr([p]) for p in plugins)
    return PluginError(
        f"{use}, but {'; '.join(reasons)}. Disable all but one of "
        f"the plugins ([plugins] disable = {choices}), {otherwise}",
        plugin=", ".join(plugins),
        package=", ".join(origins.get(p, "?") for p in plugins),
    )


def _not_in_use(registry: Registry) -> str:
    """A hint naming the plugins that are installed but not in use, or ``""``."""
    idle = [p for p in registry.plugins if p.status in ("skipped", "conflict")]
    if not idle:
        return ""
    listing = ", ".join(f"{p.name!r} ({p.origin}, {p.status})" for p in idle)
    return f"; plugins not in use: {listing} (see `auracodec plugins`)"
