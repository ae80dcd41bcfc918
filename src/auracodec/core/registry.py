"""Finding, loading and checking plugins.

Plugins come from the entry-point group ``auracodec.plugins``; auracodec's own
codecs and policies are registered there by its own ``pyproject.toml``, exactly
as a third party's are. The entry-point name is the plugin's name, which is
what ``[plugins] disable = [...]`` refers to.

Loading is isolated per plugin: a third-party plugin that fails to import,
fails pluggy's signature checks, raises while declaring, or declares something
invalid is skipped with a :class:`~auracodec.PluginWarning` naming its package,
and the others carry on. A built-in plugin that fails is a broken installation
and raises :class:`~auracodec.PluginError`. Two codecs claiming one method id
(or one name) is an error that names both plugins, since silently preferring
one would make frames decode differently depending on install order.

Nothing happens at import time; :meth:`Registry.load` does the work.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .codec import NAME_RE, CodecType
from .errors import PluginError, PluginWarning
from .events import ObserverType
from .methods import REGISTERED_IDS, check_method_id
from .normalize import NormalizerType
from .selector import PolicyType

__all__ = ["ENTRY_POINT_GROUP", "PluginInfo", "Registry"]

ENTRY_POINT_GROUP = "auracodec.plugins"
_DISTRIBUTION = "auracodec"


@attrs.frozen
class PluginInfo:
    """One plugin as found: where it comes from and whether it is in use."""

    name: str
    target: str
    package: str
    version: str
    builtin: bool
    enabled: bool
    error: str | None = None

    @property
    def origin(self) -> str:
        return f"{self.package} {self.version}".strip()


class _Skip(Exception):
    """Internal: a plugin declared something invalid."""


@attrs.define
class Registry:
    """The plugins of one pipeline and what they declare.

    ``codec_types``, ``policy_types`` and ``normalizer_types`` map names to
    declarations; ``owner`` maps every declared name to the plugin declaring it.
    """

    pm: pluggy.PluginManager
    plugins: tuple[PluginInfo, ...]
    codec_types: dict[str, CodecType]
    policy_types: dict[str, PolicyType]
    normalizer_types: dict[str, NormalizerType]
    observer_types: dict[str, ObserverType]
    owner: dict[tuple[str, str], PluginInfo]

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
        third-party plugins.
        """
        disabled = set(disable)
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        infos: list[PluginInfo] = []
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
            info = PluginInfo(name, repr(obj), "<in-process>", "", False, name not in disabled)
            candidates.append((info, _given(obj)))

        seen: dict[str, PluginInfo] = {}
        for info, load in candidates:
            if info.name in seen:
                raise PluginError(
                    f"two plugins are named {info.name!r}: {seen[info.name].target} "
                    f"from {seen[info.name].origin} and {info.target} from {info.origin}",
                    plugin=info.name,
                    package=info.origin,
                )
            seen[info.name] = info
            if not info.enabled:
                infos.append(info)
                continue
            try:
                plugin = load()
                pm.register(plugin, name=info.name)
            # A third party's import can raise anything; isolating it is the point.
            except Exception as exc:  # noqa: BLE001
                infos.append(_fail(info, f"could not be loaded: {_oneline(exc)}", exc))
                continue
            infos.append(info)

        reg = cls(pm, (), {}, {}, {}, {}, {})
        reg.plugins = tuple(reg._collect(infos))
        return reg

    # -- declarations -----------------------------------------------------

    def _collect(self, infos: list[PluginInfo]) -> list[PluginInfo]:
        by_name = {i.name: i for i in infos}
        kinds: list[tuple[str, type, dict[str, Any]]] = [
            ("auracodec_codec_types", CodecType, self.codec_types),
            ("auracodec_selector_policies", PolicyType, self.policy_types),
            ("auracodec_normalizers", NormalizerType, self.normalizer_types),
            ("auracodec_observer_types", ObserverType, self.observer_types),
        ]
        # First pass: every plugin's declarations, each checked on its own.
        declared: dict[str, list[tuple[str, Any]]] = {}
        for hook_name, kind, _ in kinds:
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                info = by_name[impl.plugin_name]
                if info.error:
                    continue
                try:
                    decls = _call_declaration(impl, hook_name)
                    for d in decls:
                        _check_declaration(d, kind, info)
                    declared.setdefault(info.name, []).extend((hook_name, d) for d in decls)
                except _Skip as exc:
                    by_name[info.name] = _fail(info, str(exc), None)
                    self.pm.unregister(name=info.name)
                    declared.pop(info.name, None)
                except Exception as exc:  # noqa: BLE001 - a declaration hook of a third party
                    by_name[info.name] = _fail(info, f"raised in {hook_name}: {_oneline(exc)}", exc)
                    self.pm.unregister(name=info.name)
                    declared.pop(info.name, None)

        # Second pass: clashes between plugins.
        ids: dict[int, tuple[CodecType, PluginInfo]] = {}
        tables = {hook: table for hook, _, table in kinds}
        for plugin_name, decls in declared.items():
            info = by_name[plugin_name]
            for hook_name, d in decls:
                table = tables[hook_name]
                what = hook_name.removeprefix("auracodec_").rstrip("s").replace("_", " ")
                if d.name in table:
                    other = self.owner[(hook_name, d.name)]
                    raise PluginError(
                        f"{what} {d.name!r} is declared by two plugins: "
                        f"{other.name!r} ({other.origin}) and {info.name!r} "
                        f"({info.origin}); disable one of them",
                        plugin=info.name,
                        package=info.origin,
                    )
                if isinstance(d, CodecType):
                    if d.method_id in ids:
                        o_type, o_info = ids[d.method_id]
                        raise PluginError(
                            f"method id 0x{d.method_id:02x} is claimed by codec "
                            f"{o_type.name!r} of plugin {o_info.name!r} ({o_info.origin}) "
                            f"and codec {d.name!r} of plugin {info.name!r} "
                            f"({info.origin}); disable one of them",
                            plugin=info.name,
                            package=info.origin,
                        )
                    ids[d.method_id] = (d, info)
                table[d.name] = d
                self.owner[(hook_name, d.name)] = info
        return [by_name[i.name] for i in infos]

    def codec_owner(self, codec: str) -> PluginInfo:
        return self.owner[("auracodec_codec_types", codec)]

    def enabled_plugin_names(self) -> list[str]:
        return [p.name for p in self.plugins if p.enabled and not p.error]


def _given(obj: object) -> Callable[[], object]:
    return lambda: obj


def _entry_points() -> list[metadata.EntryPoint]:
    eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
    # Built-ins first, then by name: a stable order whatever the install order.
    unique = {(ep.name, ep.value, getattr(ep.dist, "name", "")): ep for ep in eps}
    return sorted(
        unique.values(),
        key=lambda ep: (getattr(ep.dist, "name", "") != _DISTRIBUTION, ep.name),
    )


def _call_declaration(impl: pluggy.HookImpl, hook_name: str) -> list[Any]:
    result = impl.function()
    if result is None:
        return []
    if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
        raise _Skip(f"{hook_name} must return a list of declarations, got {result!r}")
    return list(result)


def _check_declaration(d: object, kind: type, info: PluginInfo) -> None:
    if not isinstance(d, kind):
        raise _Skip(f"declared {d!r}, expected a {kind.__name__}")
    name = getattr(d, "name", None)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise _Skip(
            f"declared the name {name!r}; names are lower-case identifiers "
            "([a-z][a-z0-9_]*, at most 32 characters)"
        )
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


def _fail(info: PluginInfo, why: str, exc: BaseException | None) -> PluginInfo:
    if info.builtin:
        raise PluginError(
            f"built-in plugin {info.name!r} {why}; the auracodec installation "
            "is broken (reinstall it)",
            plugin=info.name,
            package=info.origin,
        ) from exc
    warnings.warn(
        f"auracodec plugin {info.name!r} from {info.origin} was skipped: {why}",
        PluginWarning,
        stacklevel=4,
    )
    return attrs.evolve(info, error=why)


def _oneline(exc: BaseException, width: int = 400) -> str:
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    if len(text) > width:
        text = text[: width - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
