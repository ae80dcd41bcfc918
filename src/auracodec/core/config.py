"""Configuration: ``auracodec.toml`` or ``[tool.auracodec]`` in a ``pyproject.toml``.

::

    [pipeline]
    max_message_size = 4194304      # bytes; the decoder's output limit
    codecs = ["zstd", "brotli"]     # optional: use only these (raw always stays)

    [plugins]
    disable = ["brio"]              # plugins (entry-point names) not to load

    [selector]
    policy = "cost"                 # a selector policy plugin
    verify = false                  # decode every frame before returning it
    egress_usd_per_gb = 0.09        # prices: what the cost policy weighs
    cpu_usd_per_core_hour = 0.045
    estimates = "costs.json"        # measured by `auracodec train`
    # ...the policy's own settings

    [codecs.zstd]                   # one table per codec, checked against
    level = 19                      # the settings the codec declares
    dictionary = "zstd.dict"        # paths are relative to this file

A profile store (:mod:`auracodec.core.store`) loads as its current
version's profile: ``Config.load("store/")``, or ``"store/@3f9a"`` for the
version whose id starts ``3f9a``.

Loading is in two steps. :meth:`Config.load` reads the file and checks the
kernel's own keys; the tables of codecs and policies are checked once the
plugins are known (:meth:`Config.codec_settings`, :meth:`Config.policy_settings`),
against the settings each plugin declares. Every mistake is a
:class:`~auracodec.ConfigError` naming the file, the key and what was expected.
``docs/config.md`` lists every key.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import tomli_w

from .codec import NAME_RE
from .cost import Prices
from .errors import ConfigError
from .health import HEALTH_SETTINGS
from .refs import locate
from .settings import Setting, SettingError, check_settings
from .sizing import SIZE_EXPECTED, parse_size

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "KERNEL_SETTINGS",
    "Config",
    "dump_toml",
]

#: The default output limit: 4 MiB. Four times websockets' default frame limit,
#: far above any chat or API message, small enough that a hostile frame cannot
#: make a decoder allocate much.
DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024

#: A config file larger than this is refused before it is parsed.
MAX_CONFIG_FILE_SIZE = 1024 * 1024
#: Tables and arrays nested deeper than this are refused.
MAX_NESTING = 8


#: An entry-point name, as packaging allows it (``my-plugin``, ``org.codec``).
_PLUGIN_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+\Z")


def _plugin_names_check(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(
        isinstance(s, str) and _PLUGIN_NAME_RE.match(s) for s in v
    ):
        raise ValueError(f"expected a list of plugin (entry-point) names, got {v!r}")
    return tuple(v)


def _names_check(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(s, str) and NAME_RE.match(s) for s in v):
        raise ValueError(f"expected a list of plugin or codec names, got {v!r}")
    return tuple(v)


#: The kernel's own tables and their keys.
KERNEL_SETTINGS: dict[str, tuple[Setting, ...]] = {
    "pipeline": (
        Setting.integer(
            "max_message_size",
            DEFAULT_MAX_MESSAGE_SIZE,
            1,
            1 << 31,
            "Largest message, in bytes, that encode accepts and decode produces. "
            "Both ends should agree on it.",
        ),
        Setting(
            "codecs",
            None,
            "a list of codec names",
            "Use only these codecs (raw stays available). Absent: every enabled codec.",
            _names_check,
        ),
    ),
    "plugins": (
        Setting(
            "disable",
            (),
            "a list of plugin names",
            "Plugins (entry-point names, see `auracodec plugins`) not to load.",
            _plugin_names_check,
        ),
    ),
    "session": (
        Setting.integer(
            "check_every",
            0,
            0,
            1 << 20,
            "Every this many messages, a session frame carries a 2-byte digest of its "
            "direction so far, and the peer refuses the frame if its own differs (a "
            "desynchronised context). 5 bytes per check; 0: never.",
        ),
    ),
    "health": HEALTH_SETTINGS,
    "training": (
        Setting(
            "size",
            None,
            SIZE_EXPECTED,
            "What `auracodec train` sizes the profile for: `server` (the codecs' defaults), "
            "`client` (a profile a browser downloads: about 80 KB to transfer) or a target "
            "transfer size in bytes; fills in the codecs' training settings not set in their "
            "tables (docs/client-profiles.md).",
            parse_size,
            training_only=True,
        ),
    ),
    # [selector] is checked against the chosen policy's settings, plus these:
    "selector": (
        Setting.text("policy", "cost", "The selector policy (a plugin)."),
        Setting.boolean(
            "verify",
            False,
            "Decode every chosen frame before returning it; a frame that does "
            "not decode to the message is replaced by raw (and counted).",
        ),
        Setting.number(
            "egress_usd_per_gb",
            0.09,
            0.0,
            1e6,
            "What a GB (2**30 bytes) of egress costs, in dollars: the price of a byte "
            "for the `cost` policy and `auracodec bench --cost`.",
        ),
        Setting.number(
            "cpu_usd_per_core_hour",
            0.045,
            0.0,
            1e6,
            "What an hour of one CPU core costs, in dollars: the price of encoding and "
            "decoding for the `cost` policy and `auracodec bench --cost`.",
        ),
        Setting.path(
            "estimates",
            "Cost estimates measured at training (`costs.json`, written by "
            "`auracodec train`): payload sizes and CPU per codec and size class.",
        ),
    ),
}


@attrs.frozen
class Config:
    """A loaded configuration. Use :meth:`load` or :meth:`defaults`."""

    path: Path | None
    max_message_size: int
    codecs: tuple[str, ...] | None
    disable: tuple[str, ...]
    policy: str
    verify: bool
    selector_table: Mapping[str, Any]
    codec_tables: Mapping[str, Mapping[str, Any]]
    observer_tables: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    session_check_every: int = 0
    #: ``[selector] egress_usd_per_gb`` and ``cpu_usd_per_core_hour``.
    prices: Prices = attrs.field(factory=Prices)
    #: ``[selector] estimates`` as written (relative to the config file); see
    #: :attr:`estimates_path`.
    estimates: str | None = None
    #: ``[training] size``: a size class or a target transfer size in bytes
    #: (:mod:`auracodec.core.sizing`); ``None``: the codecs' defaults.
    training_size: str | int | None = None
    #: ``[health]``: the targets :meth:`Pipeline.health` checks, every key filled in.
    health: Mapping[str, float] = attrs.field(factory=dict)

    @classmethod
    def defaults(cls) -> Config:
        """The built-in defaults: every codec, ``cost`` policy."""
        return cls._from_table({}, None)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Config:
        """Read a config file (or a directory holding ``auracodec.toml``).

        A profile store (``STORE``) stands for its current version's profile,
        ``STORE@ID`` for the version whose id is or starts with ``ID``
        (:mod:`auracodec.core.refs`); a reference that names no version, or
        several, is a :class:`~auracodec.ConfigError` naming the store.
        """
        p = locate(path) or Path(path)
        if p.is_dir():
            p = p / "auracodec.toml"
        try:
            size = p.stat().st_size
            if size > MAX_CONFIG_FILE_SIZE:
                raise ConfigError(
                    f"file is {size} bytes, more than the {MAX_CONFIG_FILE_SIZE} a "
                    "config file may have",
                    path=p,
                )
            raw = p.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read config file: {exc.strerror or exc}", path=p) from exc
        try:
            text = raw.decode("utf-8")
            data = tomllib.loads(text)
        except UnicodeDecodeError as exc:
            raise ConfigError(f"not UTF-8 text: {exc}", path=p) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}", path=p) from None
        except RecursionError:
            raise ConfigError(
                f"invalid TOML: nested more deeply than {MAX_NESTING} levels", path=p
            ) from None
        if p.name == "pyproject.toml":
            tool = data.get("tool")
            if not isinstance(tool, dict) or "auracodec" not in tool:
                raise ConfigError("no [tool.auracodec] table", path=p, key="tool.auracodec")
            data = tool["auracodec"]
            if not isinstance(data, dict):
                raise ConfigError("expected a table", path=p, key="tool.auracodec")
        return cls._from_table(data, p.resolve())

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base: Path | None = None) -> Config:
        """A config from an already parsed table (as in the TOML file).

        ``base`` is where relative artifact paths start; it stands for the
        file's path.
        """
        return cls._from_table(data, base)

    @classmethod
    def _from_table(cls, data: Mapping[str, Any], path: Path | None) -> Config:
        _check_nesting(data, path)
        allowed = {
            "pipeline",
            "plugins",
            "selector",
            "session",
            "codecs",
            "observers",
            "training",
            "health",
        }
        for key, value in data.items():
            if key not in allowed:
                raise ConfigError(
                    f"unknown table (known: {', '.join(sorted(allowed))})", path=path, key=key
                )
            if not isinstance(value, dict):
                raise ConfigError(f"expected a table, got {value!r}", path=path, key=key)

        def kernel(table: str, only: Sequence[str] | None = None) -> dict[str, Any]:
            settings = KERNEL_SETTINGS[table]
            raw = dict(data.get(table, {}))
            if only is not None:
                raw = {k: v for k, v in raw.items() if k in only}
            try:
                return check_settings(raw, settings)
            except SettingError as exc:
                raise ConfigError(str(exc), path=path, key=f"{table}.{exc.key}") from None

        pipeline = kernel("pipeline")
        plugins = kernel("plugins")
        session = kernel("session")
        training = kernel("training")
        health = kernel("health")
        selector_raw = dict(data.get("selector", {}))
        kernel_keys = tuple(s.name for s in KERNEL_SETTINGS["selector"])
        selector = kernel("selector", only=kernel_keys)
        for k in kernel_keys:
            selector_raw.pop(k, None)
        if not NAME_RE.match(selector["policy"]):
            raise ConfigError(
                f"expected a policy name, got {selector['policy']!r}",
                path=path,
                key="selector.policy",
            )
        tables: dict[str, dict[str, Mapping[str, Any]]] = {"codecs": {}, "observers": {}}
        for group, found in tables.items():
            for name, table in data.get(group, {}).items():
                if not isinstance(table, dict):
                    raise ConfigError(
                        f"expected a table, got {table!r}", path=path, key=f"{group}.{name}"
                    )
                found[name] = table
        return cls(
            path=path,
            max_message_size=pipeline["max_message_size"],
            codecs=pipeline["codecs"],
            disable=plugins["disable"],
            policy=selector["policy"],
            verify=selector["verify"],
            prices=Prices(selector["egress_usd_per_gb"], selector["cpu_usd_per_core_hour"]),
            estimates=selector["estimates"],
            selector_table=selector_raw,
            codec_tables=tables["codecs"],
            observer_tables=tables["observers"],
            session_check_every=session["check_every"],
            training_size=training["size"],
            health=health,
        )

    # -- second step: plugin tables ---------------------------------------

    @property
    def base_dir(self) -> Path:
        """Where relative artifact paths start."""
        if self.path is None:
            return Path.cwd()
        return self.path.parent

    def codec_settings(self, name: str, settings: Sequence[Setting]) -> dict[str, Any]:
        """Validate ``[codecs.<name>]`` against the codec's declared settings."""
        return self._check(self.codec_tables.get(name, {}), settings, f"codecs.{name}")

    def observer_settings(self, name: str, settings: Sequence[Setting]) -> dict[str, Any]:
        """Validate ``[observers.<name>]`` against the observer's declared settings."""
        return self._check(self.observer_tables.get(name, {}), settings, f"observers.{name}")

    @property
    def estimates_path(self) -> Path | None:
        """``[selector] estimates``, resolved against the config file's directory."""
        if self.estimates is None:
            return None
        return (self.base_dir / self.estimates).resolve()

    def policy_settings(self, settings: Sequence[Setting]) -> dict[str, Any]:
        """Validate the policy's keys of ``[selector]``."""
        return self._check(self.selector_table, settings, "selector")

    def check_codec_tables(self, known: Sequence[str]) -> None:
        """Refuse ``[codecs.X]`` tables for codecs that do not exist."""
        for name in self.codec_tables:
            if name not in known:
                raise ConfigError(
                    f"no such codec (installed and enabled: {', '.join(sorted(known))})",
                    path=self.path,
                    key=f"codecs.{name}",
                )

    def _check(
        self, table: Mapping[str, Any], settings: Sequence[Setting], prefix: str
    ) -> dict[str, Any]:
        try:
            values = check_settings(table, settings)
        except SettingError as exc:
            raise ConfigError(str(exc), path=self.path, key=f"{prefix}.{exc.key}") from None
        for s in settings:
            if s.kind == "path" and values[s.name] is not None:
                values[s.name] = (self.base_dir / values[s.name]).resolve()
            elif s.kind == "paths":
                values[s.name] = tuple((self.base_dir / v).resolve() for v in values[s.name])
        return values

    def error(self, message: str, key: str) -> ConfigError:
        """A :class:`ConfigError` about ``key`` of this config."""
        return ConfigError(message, path=self.path, key=key)


def _check_nesting(data: Mapping[str, Any], path: Path | None) -> None:
    """Refuse structures nested deeper than :data:`MAX_NESTING`, iteratively."""
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        key, value, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ConfigError(
                f"nested more deeply than {MAX_NESTING} levels", path=path, key=key or None
            )
        if isinstance(value, dict):
            stack.extend((f"{key}.{k}" if key else str(k), v, depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{key}[{i}]", v, depth + 1) for i, v in enumerate(value))


# -- writing ----------------------------------------------------------------


def dump_toml(data: Mapping[str, Mapping[str, Any]], header: str = "") -> str:
    """TOML text for ``data``, opened by ``header`` as comment lines.

    ``data`` maps dotted table names (``"codecs.zstd"``) to tables whose values
    are strings, paths, ints, finite floats, bools, and lists and tables of
    those. tomli-w writes it; this nests the dotted names, writes paths as
    strings, and refuses non-finite floats, which no setting means.
    """
    root: dict[str, Any] = {}
    for name, values in data.items():
        table = root
        for part in name.split("."):
            table = table.setdefault(part, {})
        table.update(_plain(values))
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    body = tomli_w.dumps(root)
    return comments + "\n" + body if comments and body else comments + body


def _plain(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot write {value!r} to TOML")
    if isinstance(value, Mapping):
        return {key: _plain(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
