"""``auracodec plugins``: every plugin found, what it provides, and whether it is in use.

It always lists: a plugin that is broken or in conflict is a row with its
status, and its reason is printed below the table. The exit status is 0
whatever the plugins' state (a pipeline that needs a missing or contested
codec is refused when it is built, with the same reason).
"""

from __future__ import annotations

import argparse
import warnings

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.build import probe_codecs
from ..core.config import Config
from ..core.errors import PluginWarning
from ..core.registry import DECLARATION_HOOKS, PluginInfo, Registry
from ._command import Subparsers, add_command, add_config_option
from ._output import report_console

_STYLES = {"ok": "", "disabled": "dim", "skipped": "yellow", "conflict": "red"}


def add_parser(sub: Subparsers) -> None:
    c = add_command(sub, "plugins", "List plugins: codecs, policies, normalizers.", run)
    add_config_option(c)


def run(args: argparse.Namespace, err: Console) -> int:
    config = Config.load(args.config) if args.config else Config.defaults()
    with warnings.catch_warnings():
        # Each skipped or conflicting plugin is a row below, with its reason.
        warnings.simplefilter("ignore", PluginWarning)
        registry = Registry.load(disable=config.disable)
        # Failures that show only when a codec is built (its factory raises,
        # fingerprint() has the wrong type...) mark their plugins too.
        probe_codecs(config, registry)
    t = Table(title="auracodec plugins (entry-point group auracodec.plugins)", title_justify="left")
    for col in ("plugin", "provides", "id", "package", "version", "status"):
        t.add_column(col, justify="right" if col == "id" else "left")
    reasons: list[Text] = []
    for info in registry.plugins:
        provides, ids = _provides(registry, info)
        status = info.status
        t.add_row(
            Text(info.name),  # everything a plugin or its package says is text, not markup
            Text(", ".join(provides) or "-"),
            ", ".join(ids) or "-",
            Text(info.package),
            Text(info.version),
            status,
            style=_STYLES.get(status, ""),
        )
        reason = info.conflict or info.error
        if status != "ok" and reason:
            reasons.append(Text.assemble((f"{info.name}: {status}: ", _STYLES[status]), reason))
    out = report_console()
    out.print(t)
    for line in reasons:
        out.print(line)
    return 0


def _provides(registry: Registry, info: PluginInfo) -> tuple[list[str], list[str]]:
    """What ``info`` declares that is usable, as ``kind name``, and its codecs' ids.

    A contested declaration is in no table; the plugin's conflict says which.
    """
    provides: list[str] = []
    ids: list[str] = []
    for (hook, name), owner in registry.owner.items():
        if owner.name != info.name:
            continue
        kind = DECLARATION_HOOKS[hook][0]
        provides.append(f"{kind} {name}")
        if kind == "codec":
            ids.append(f"0x{registry.codec_types[name].method_id:02x}")
    return provides, ids
