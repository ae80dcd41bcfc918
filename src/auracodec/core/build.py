"""Assembling a pipeline's parts from a config and the registry.

:func:`assemble` builds the codecs a pipeline uses (each from its validated
``[codecs.<name>]`` settings), binds the codecs that compose others, registers
the configured observers and builds the selector policy. The pipeline then
makes its dispatch tables from the result.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from .codec import BindContext, Codec
from .config import Config
from .errors import ConfigError, PluginError
from .registry import Registry
from .selector import Policy
from .settings import SettingError

__all__ = ["RAW_CODEC", "Assembly", "assemble"]

#: The codec every pipeline has: the raw message, the fallback.
RAW_CODEC = "identity"


@attrs.frozen
class Assembly:
    """What :func:`assemble` built."""

    #: The codecs by name, raw included, built and bound.
    codecs: dict[str, Codec]
    policy: Policy


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
    available = list(registry.codec_types)
    config.check_codec_tables(available)
    wanted = list(only) if only is not None else config.codecs
    if wanted is not None:
        key = "pipeline.codecs"
        for name in wanted:
            if name not in registry.codec_types:
                raise ConfigError(
                    f"no such codec {name!r} (installed and enabled: {', '.join(available)})",
                    path=None if only is not None else config.path,
                    key=None if only is not None else key,
                )
        names = [n for n in available if n in wanted or n == RAW_CODEC]
    else:
        names = available

    built: dict[str, Codec] = {}
    for name in names:
        ctype = registry.codec_types[name]
        settings = config.codec_settings(name, ctype.settings)
        try:
            codec = ctype.factory(settings)
        except SettingError as exc:
            raise ConfigError(str(exc), path=config.path, key=f"codecs.{name}.{exc.key}") from exc
        if codec.name != name or codec.method_id != ctype.method_id:
            owner = registry.codec_owner(name)
            raise PluginError(
                f"codec type {name!r} (0x{ctype.method_id:02x}) built a codec named "
                f"{codec.name!r} with id 0x{codec.method_id:02x}",
                plugin=owner.name,
                package=owner.origin,
            )
        built[name] = codec

    context = BindContext(built, registry.normalizer_types)
    for name, codec in built.items():
        bind = getattr(codec, "bind", None)
        if bind is None:
            continue
        try:
            bind(context)
        except SettingError as exc:
            raise ConfigError(str(exc), path=config.path, key=f"codecs.{name}.{exc.key}") from exc

    for name in config.observer_tables:
        otype = registry.observer_types.get(name)
        if otype is None:
            raise ConfigError(
                f"no such observer (available: {', '.join(sorted(registry.observer_types))})",
                path=config.path,
                key=f"observers.{name}",
            )
        settings = config.observer_settings(name, otype.settings)
        try:
            observer = otype.factory(settings, registry.pm.hook)
        except SettingError as exc:
            raise ConfigError(
                str(exc), path=config.path, key=f"observers.{name}.{exc.key}"
            ) from exc
        registry.pm.register(observer, name=f"observer:{name}")

    policy_type = registry.policy_types.get(config.policy)
    if policy_type is None:
        raise ConfigError(
            f"no such selector policy {config.policy!r} "
            f"(available: {', '.join(sorted(registry.policy_types))})",
            path=config.path,
            key="selector.policy",
        )
    policy = policy_type.factory(config.policy_settings(policy_type.settings))

    return Assembly(built, policy)
