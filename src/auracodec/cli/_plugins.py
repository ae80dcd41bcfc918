"""``auracodec plugins``: every plugin found, what it provides, and whether it is in use."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.config import Config
from ..core.registry import Registry
from ._command import Subparsers, add_command, add_config_option
from ._output import report_console

_KINDS = {
    "auracodec_codec_types": "codec",
    "auracodec_selector_policies": "policy",
    "auracodec_normalizers": "normalizer",
    "auracodec_observer_types": "observer",
}


def add_parser(sub: Subparsers) -> None:
    c = add_command(sub, "plugins", "List plugins: codecs, policies, normalizers.", run)
    add_config_option(c)


def run(args: argparse.Namespace, err: Console) -> int:
    config = Config.load(args.config) if args.config else Config.defaults()
    registry = Registry.load(disable=config.disable)
    t = Table(title="auracodec plugins (entry-point group auracodec.plugins)", title_justify="left")
    for col in ("plugin", "provides", "id", "package", "version", "enabled"):
        t.add_column(col, justify="right" if col == "id" else "left")
    for info in registry.plugins:
        provides = []
        ids = []
        for (hook, name), owner in registry.owner.items():
            if owner.name != info.name:
                continue
            kind = _KINDS[hook]
            provides.append(f"{kind} {name}")
            if kind == "codec":
                ids.append(f"0x{registry.codec_types[name].method_id:02x}")
        status = (
            "yes"
            if info.enabled and not info.error
            else ("disabled" if not info.enabled else f"skipped: {info.error}")
        )
        t.add_row(
            Text(info.name),
            Text(", ".join(provides) or "-"),
            ", ".join(ids) or "-",
            Text(info.package),
            Text(info.version),
            Text(status),
            style=None if info.enabled and not info.error else "dim",
        )
    report_console().print(t)
    return 0
