"""Finding, loading and checking plugins.

Plugins come from the entry-point group ``auracodec.plugins``; auracodec's own
codecs and policies are registered there by its own ``pyproject.toml``, exactly
as a third party's are. The entry-point name is the plugin's name, which is
what ``[plugins] disable = [...]`` refers to.

Loading is contained per plugin. A third-party plugin that fails to import
(any :data:`~auracodec.core.errors.CONTAINED` exception, ``SystemExit``
included; ``KeyboardInterrupt`` goes through), fails pluggy's signature
checks, raises while declaring, or declares something invalid is skipped with
a :class:`~auracodec.PluginWarning` naming its package, and the others carry
on. A built-in plugin that fails is a broken installation and raises
:class:`~auracodec.PluginError`.

Clashes are recorded, not raised. Two codecs claiming one method id, or two
declarations of one kind with one name, are a :class:`Conflict`: both
declarations are kept out of the tables, both plugins carry it in
:attr:`PluginInfo.conflict`, and a warning names both plugins and packages.
Only a pipeline that would use the contested codec, policy, normalizer or
observer refuses to build (:func:`auracodec.core.build.assemble`), since
silently preferring one would make frames decode differently depending on
install order. A third party that takes the name of a built-in loses: the
built-in is used and the third party's declaration is ignored, with a warning.
Two plugins with one entry-point name cannot be told apart by ``disable``, so
neither is loaded (unless one is built in, which wins).

Nothing happens at import time; :meth:`Registry.load` does the work.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from typing import Any, Literal

import attrs
import pluggy

from . import hookspecs
from .codec import NAME_RE, CodecType, oneline, shown
from .errors import CONTAINED, PluginError, PluginWarning
from .events import ObserverType
from .methods import REGISTERED_IDS, check_method_id
from .normalize import NormalizerType
from .selector import PolicyType
from .settings import Setting

__all__ = ["DECLARATION_HOOKS", "ENTRY_POINT_GROUP", "Conflict", "PluginInfo", "Registry"]

ENTRY_POINT_GROUP = "auracodec.plugins"
_DISTRIBUTION = "auracodec"
#: Warnings name the first frame outside this directory (the package).
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

#: The declaration hooks: what each declares, in the words messages use, and
#: the class of its declarations.
DECLARATION_HOOKS: dict[str, tuple[str, type]] = {
    "auracodec_codec_types": ("codec", CodecType),
    "auracodec_selector_policies": ("policy", PolicyType),
    "auracodec_normalizers": ("normalizer", NormalizerType),
    "auracodec_observer_types": ("observer", ObserverType),
}
_CODECS = "auracodec_codec_types"


@attrs.frozen
class PluginInfo:
    """One plugin as found: where it comes from and whether it is in use.

    ``error`` is why the plugin was skipped (it is not in use at all);
    ``conflict`` what it clashes with, naming both plugins and packages (the
    contested declarations are not usable; the plugin's others are).
    """

    name: str
    target: str
    package: str
    version: str
    builtin: bool
    enabled: bool
    error: str | None = None
    conflict: str | None = None

    @property
    def origin(self) -> str:
        return f"{self.package} {self.version}".strip()

    @property
    def status(self) -> Literal["ok", "disabled", "skipped", "conflict"]:
        """``"disabled"`` by config, ``"skipped"`` (see ``error``), ``"conflict"`` or ``"ok"``."""
        if not self.enabled:
            return "disabled"
        if self.error is not None:
            return "skipped"
        if self.conflict is not None:
            return "conflict"
        return "ok"


@attrs.frozen
class Conflict:
    """Plugins contesting one declaration: its name, or its codec's method id.

    ``reasons`` (one clash each) name every declaration, plugin and package
    involved; ``plugins`` are the plugins' names, what ``[plugins] disable``
    takes.
    """

    reasons: tuple[str, ...]
    plugins: tuple[str, ...]

    @property
    def message(self) -> str:
        return "; ".join(self.reasons)


class _Skip(Exception):
    """Internal: a plugin declared something invalid."""


@attrs.define
class Registry:
    """The plugins of one pipeline and what they declare.

    ``codec_types``, ``policy_types``, ``normalizer_types`` and
    ``observer_types`` map names to usable declarations; ``owner`` maps
    ``(hook name, declared name)`` of each of them to the plugin declaring it.
    ``conflicts`` maps ``(hook name, declared name)`` of each contested
    declaration, which is in none of the tables, to the :class:`Conflict`.
    """

    pm: pluggy.PluginManager
    plugins: tuple[PluginInfo, ...]
    codec_types: dict[str, CodecType]
    policy_types: dict[str, PolicyType]
    normalizer_types: dict[str, NormalizerType]
    observer_types: dict[str, ObserverType]
    owner: dict[tuple[str, str], PluginInfo]
    conflicts: dict[tuple[str, str], Conflict] = attrs.field(factory=dict)

    @classmethod
    def load(
        cls,
        *,
        disable: Iterable[str] = (),
        extra: Sequence[tuple[str, object]] = (),
    ) -> Registry:
        """Load every plugin of the entry-point group, except ``disable``.

        ``extra`` adds ``(name, plugin object)`` pairs registered in code (a
        codec in an application, a test double); they are treated like
        third-party plugins. Never raises for a third party's fault; raises
        :class:`~auracodec.PluginError` for a broken built-in plugin.
        """
        disabled = set(disable)
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        candidates: list[tuple[PluginInfo, Callable[[], object]]] = []

        for ep in _entry_points():
            dist = ep.dist
            package = dist.name if dist is not None else "?"
            version = dist.version if dist is not None else ""
            info = PluginInfo(
                name=ep.name,
                target=ep.value,
                package=package,
                version=version,
                builtin=package == _DISTRIBUTION,
                enabled=ep.name not in disabled,
            )
            candidates.append((info, ep.load))
        for name, obj in extra:
            info = PluginInfo(name, shown(obj), "<in-process>", "", False, name not in disabled)
            candidates.append((info, _given(obj)))

        infos: list[PluginInfo] = []
        for info, load in _settle_names(candidates):
            if info.status != "ok":
                infos.append(info)
                continue
            try:
                pm.register(load(), name=info.name)
            # A third party's import can raise anything, SystemExit included;
            # containing it is the point.
            except CONTAINED as exc:
                if pm.get_plugin(info.name) is not None:  # pluggy < 1.7 registers partly
                    pm.unregister(name=info.name)
                infos.append(_fail(info, f"could not be loaded: {oneline(exc)}", exc))
                continue
            infos.append(info)

        reg = cls(pm, (), {}, {}, {}, {}, {})
        reg.plugins = tuple(reg._collect(infos))
        return reg

    # -- declarations -----------------------------------------------------

    def _collect(self, infos: list[PluginInfo]) -> list[PluginInfo]:
        # Loaded plugins have distinct names (_settle_names saw to that).
        loaded = {i.name: i for i in infos if i.status == "ok"}

        # First pass: every plugin's declarations, each checked on its own.
        declared: dict[str, list[tuple[str, Any]]] = {}
        for hook_name, (what, kind) in DECLARATION_HOOKS.items():
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                info = loaded.get(impl.plugin_name)
                if info is None or info.error:
                    continue
                try:
                    decls = _call_declaration(impl, hook_name)
                    for d in decls:
                        _check_declaration(d, kind, what, info)
                    mine = declared.setdefault(info.name, [])
                    _check_own(mine, hook_name, decls)
                    mine.extend((hook_name, d) for d in decls)
                except _Skip as exc:
                    loaded[info.name] = _fail(info, str(exc), None)
                # A declaration hook is a third party's code: anything may come out.
                except CONTAINED as exc:
                    why = f"raised in {hook_name}: {oneline(exc)}"
                    loaded[info.name] = _fail(info, why, exc)
                else:
                    continue
                self.pm.unregister(name=info.name)
                declared.pop(info.name, None)

        # Second pass: clashes between plugins, in the order plugins were found.
        order = [i.name for i in infos if i.name in declared and i.name in loaded]
        claims: dict[tuple[str, str], list[tuple[Any, PluginInfo]]] = {}
        for plugin_name in order:
            for hook_name, d in declared[plugin_name]:
                claims.setdefault((hook_name, d.name), []).append((d, loaded[plugin_name]))
        winners, self.conflicts, notes = _settle_claims(claims)
        by_plugin: dict[str, list[str]] = {}
        for plugin_name, text in notes:
            by_plugin.setdefault(plugin_name, []).append(text)
        for plugin_name, texts in by_plugin.items():
            loaded[plugin_name] = attrs.evolve(loaded[plugin_name], conflict="; ".join(texts))

        tables: dict[str, dict[str, Any]] = {
            _CODECS: self.codec_types,
            "auracodec_selector_policies": self.policy_types,
            "auracodec_normalizers": self.normalizer_types,
            "auracodec_observer_types": self.observer_types,
        }
        for (hook_name, name), (d, info) in winners.items():
            tables[hook_name][name] = d
            self.owner[(hook_name, name)] = loaded[info.name]
        return [loaded.get(i.name, i) if i.status == "ok" else i for i in infos]

    def codec_owner(self, codec: str) -> PluginInfo:
        return self.owner[(_CODECS, codec)]

    def enabled_plugin_names(self) -> list[str]:
        return [p.name for p in self.plugins if p.enabled and not p.error]


_Claims = dict[tuple[str, str], list[tuple[Any, PluginInfo]]]


def _settle_claims(
    claims: _Claims,
) -> tuple[
    dict[tuple[str, str], tuple[Any, PluginInfo]],
    dict[tuple[str, str], Conflict],
    list[tuple[str, str]],
]:
    """Decide who gets each declared name and method id.

    A name claimed once is usable. A built-in's name is the built-in's; a third
    party claiming it loses (warned, its declaration ignored). A name claimed by
    several third parties, and every codec of a method id claimed more than
    once, is a :class:`Conflict`: none of the claimants is usable.

    Returns the usable declarations with their plugins, the conflicts by
    contested declaration, and ``(plugin name, what it clashes with)`` for
    every plugin in a conflict or beaten by a built-in.
    """
    winners: dict[tuple[str, str], tuple[Any, PluginInfo]] = {}
    notes: list[tuple[str, str]] = []
    found: dict[tuple[str, str], list[Conflict]] = {}
    by_id: dict[int, list[tuple[CodecType, PluginInfo]]] = {}
    for key, claimants in claims.items():
        hook_name, name = key
        what = DECLARATION_HOOKS[hook_name][0]
        builtins = [c for c in claimants if c[1].builtin]
        if len(builtins) > 1:
            raise PluginError(
                f"built-in plugins {', '.join(repr(i.name) for _, i in builtins)} all "
                f"declare the {what} {name!r}; the auracodec installation is broken "
                "(reinstall it)",
                plugin=builtins[-1][1].name,
                package=builtins[-1][1].origin,
            )
        if builtins:
            winner = builtins[0]
            winners[key] = winner
            for _, info in claimants:
                if info.builtin:
                    continue
                text = (
                    f"{what} {name!r} of plugin {info.name!r} ({info.origin}) has the name "
                    f"of the built-in {what} of plugin {winner[1].name!r} "
                    f"({winner[1].origin}); the built-in one is used"
                )
                notes.append((info.name, text))
                _warn(f"auracodec plugin {info.name!r} from {info.origin}: {text}")
            claimants = [winner]
        elif len(claimants) > 1:
            listing = " and ".join(f"{i.name!r} ({i.origin})" for _, i in claimants)
            found.setdefault(key, []).append(
                Conflict(
                    (f"{what} {name!r} is declared by {_count(claimants)} plugins: {listing}",),
                    tuple(i.name for _, i in claimants),
                )
            )
        else:
            winners[key] = claimants[0]
        if hook_name == _CODECS:
            for d, info in claimants:
                by_id.setdefault(d.method_id, []).append((d, info))

    for method_id, group in by_id.items():
        if len(group) < 2:
            continue
        listing = " and ".join(
            f"codec {d.name!r} of plugin {i.name!r} ({i.origin})" for d, i in group
        )
        if all(i.builtin for _, i in group):
            raise PluginError(
                f"method id 0x{method_id:02x} is claimed by {listing}; the auracodec "
                "installation is broken (reinstall it)",
                plugin=group[-1][1].name,
                package=group[-1][1].origin,
            )
        conflict = Conflict(
            (f"method id 0x{method_id:02x} is claimed by {listing}",),
            tuple(i.name for _, i in group),
        )
        for d, _ in group:
            found.setdefault((_CODECS, d.name), []).append(conflict)

    clashes: dict[tuple[str, str], Conflict] = {}
    for key, conflicts in found.items():
        winners.pop(key, None)
        clashes[key] = (
            conflicts[0]
            if len(conflicts) == 1
            else Conflict(
                tuple(r for c in conflicts for r in c.reasons),
                tuple(dict.fromkeys(p for c in conflicts for p in c.plugins)),
            )
        )
    for conflict in {c.message: c for cs in found.values() for c in cs}.values():
        notes.extend((p, conflict.message) for p in conflict.plugins)
        _warn(
            f"auracodec plugins clash: {conflict.message}. Pipelines that use it will "
            f"not build until one of the plugins is disabled ([plugins] disable = "
            f"{' or '.join(repr([p]) for p in conflict.plugins)})"
        )
    return winners, clashes, notes


def _count(items: Sequence[object]) -> str:
    return {2: "two", 3: "three"}.get(len(items), str(len(items)))


def _settle_names(
    candidates: list[tuple[PluginInfo, Callable[[], object]]],
) -> list[tuple[PluginInfo, Callable[[], object]]]:
    """Mark plugins that share an entry-point name: ``disable`` cannot tell them apart.

    A built-in keeps its name and the others are not loaded; among third
    parties, none is.
    """
    groups: dict[str, list[int]] = {}
    for index, (info, _) in enumerate(candidates):
        groups.setdefault(info.name, []).append(index)
    out = list(candidates)
    for name, indexes in groups.items():
        if len(indexes) < 2:
            continue
        infos = [candidates[i][0] for i in indexes]
        listing = " and ".join(f"{i.target} from {i.origin}" for i in infos)
        builtin = next((i for i in infos if i.builtin), None)
        if builtin is not None:
            text = (
                f"the plugin name {name!r} is taken by the built-in plugin "
                f"({builtin.target} from {builtin.origin}); {listing} share it, "
                "only the built-in is loaded"
            )
        else:
            text = (
                f"{_count(infos)} plugins are named {name!r}: {listing}; neither is "
                "loaded ([plugins] disable cannot tell them apart: uninstall all but one)"
            )
        if any(i.enabled for i in infos):
            _warn(f"auracodec plugins clash: {text}")
        for index, info in zip(indexes, infos, strict=True):
            if not info.builtin:
                out[index] = (attrs.evolve(info, conflict=text), candidates[index][1])
    return out


def _given(obj: object) -> Callable[[], object]:
    return lambda: obj


def _entry_points() -> list[metadata.EntryPoint]:
    eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
    # Built-ins first, then by name: a stable order whatever the install order.
    unique = {(ep.name, ep.value, getattr(ep.dist, "name", "")): ep for ep in eps}
    return sorted(
        unique.values(),
        key=lambda ep: (
            getattr(ep.dist, "name", "") != _DISTRIBUTION,
            ep.name,
            getattr(ep.dist, "name", ""),
            ep.value,
        ),
    )


def _call_declaration(impl: pluggy.HookImpl, hook_name: str) -> list[Any]:
    result = impl.function()
    if result is None:
        return []
    if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
        raise _Skip(f"{hook_name} must return a list of declarations, got {shown(result)}")
    return list(result)


def _check_declaration(d: object, kind: type, what: str, info: PluginInfo) -> None:
    """Refuse a declaration whose fields have the wrong type or form."""
    if not isinstance(d, kind):
        raise _Skip(f"declared {shown(d)}, expected a {kind.__name__}")
    name = getattr(d, "name", None)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise _Skip(
            f"declared the name {shown(name)}; names are lower-case identifiers "
            "([a-z][a-z0-9_]*, at most 32 characters)"
        )
    factory = getattr(d, "factory", None)
    if not callable(factory):
        raise _Skip(f"{what} {name!r}: factory is {shown(factory)}, expected a callable")
    settings = getattr(d, "settings", None)
    if isinstance(settings, (str, bytes)) or not isinstance(settings, Sequence):
        raise _Skip(
            f"{what} {name!r}: settings is {shown(settings)}, expected a sequence of Setting"
        )
    keys: set[str] = set()
    for s in settings:
        if not isinstance(s, Setting):
            raise _Skip(f"{what} {name!r}: settings holds {shown(s)}, expected a Setting")
        if not isinstance(s.name, str) or not s.name or not callable(s.check):
            raise _Skip(
                f"{what} {name!r}: setting {shown(s.name)} needs a non-empty str name "
                "and a callable check"
            )
        if s.name in keys:
            raise _Skip(f"{what} {name!r}: the setting {s.name!r} is declared twice")
        keys.add(s.name)
    summary = getattr(d, "summary", None)
    if not isinstance(summary, str):
        raise _Skip(f"{what} {name!r}: summary is {shown(summary)}, expected a str")
    if isinstance(d, CodecType):
        problem = check_method_id(d.method_id, d.name, builtin=info.builtin)
        if problem is None and not info.builtin:
            registered = REGISTERED_IDS.get(d.method_id)
            if registered is not None and registered[0] != d.name:
                problem = (
                    f"method id 0x{d.method_id:02x} is registered to "
                    f"{registered[0]!r} ({registered[1]}), not {d.name!r}"
                )
        if problem:
            raise _Skip(f"codec {d.name!r}: {problem}")


def _check_own(mine: list[tuple[str, Any]], hook_name: str, decls: list[Any]) -> None:
    """Refuse a plugin that contradicts itself: one name, or one method id, twice."""
    what = DECLARATION_HOOKS[hook_name][0]
    names = {d.name for h, d in mine if h == hook_name}
    ids = {d.method_id: d.name for h, d in mine if h == _CODECS}
    for d in decls:
        if d.name in names:
            raise _Skip(f"declares the {what} {d.name!r} twice")
        names.add(d.name)
        if hook_name == _CODECS:
            if d.method_id in ids:
                raise _Skip(
                    f"declares two codecs with method id 0x{d.method_id:02x}: "
                    f"{ids[d.method_id]!r} and {d.name!r}"
                )
            ids[d.method_id] = d.name


def _fail(info: PluginInfo, why: str, exc: BaseException | None) -> PluginInfo:
    if info.builtin:
        raise PluginError(
            f"built-in plugin {info.name!r} {why}; the auracodec installation "
            "is broken (reinstall it)",
            plugin=info.name,
            package=info.origin,
        ) from exc
    _warn(f"auracodec plugin {info.name!r} from {info.origin} was skipped: {why}")
    return attrs.evolve(info, error=why)


def warn_plugin(message: str) -> None:
    """Warn with a :class:`~auracodec.PluginWarning`, attributed to the caller of auracodec."""
    level, frame = 2, sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, PluginWarning, stacklevel=level)


_warn = warn_plugin
