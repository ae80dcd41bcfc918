"""What every command shares: how it is declared, the ``--config`` option,
the pipeline it loads, and the exit statuses.

A command module defines ``add_parser(subparsers)``, which declares the
command with :func:`add_command` and its options, and a ``run(args, err)``
function, which returns the exit status (or raises: see :func:`auracodec.cli.main`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console

from ..core.errors import AuraError
from ..core.pipeline import Pipeline

__all__ = [
    "Failed",
    "HelpFormatter",
    "Run",
    "Subparsers",
    "add_command",
    "add_config_option",
    "describe",
    "load_pipeline",
    "websockets_needed",
]

#: A command's work: the parsed arguments and the console for messages (stderr).
Run = Callable[[argparse.Namespace, Console], int]

if TYPE_CHECKING:
    # argparse gives the type of add_subparsers() no public name.
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction


class Failed(Exception):
    """The command ran and found failures (exit status 1)."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows each option's default, unless there is none to show
    (``None``, ``False``, nothing) or the help text already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default is None or action.default is False or action.default == []:
            return text
        if "default" in text:
            return text
        return super()._get_help_string(action)


def add_command(sub: Subparsers, name: str, help: str, run: Run) -> argparse.ArgumentParser:
    c = sub.add_parser(name, help=help, description=help, formatter_class=HelpFormatter)
    c.set_defaults(run=run)
    return c


def add_config_option(c: argparse.ArgumentParser) -> None:
    c.add_argument(
        "--config",
        metavar="FILE",
        help="auracodec.toml, pyproject.toml, a trained profile directory, or a profile "
        "store (its current version; STORE@ID for another) (default: built-in defaults)",
    )


def load_pipeline(args: argparse.Namespace) -> Pipeline:
    return Pipeline.from_config(args.config)


def describe(pipe: Pipeline) -> str:
    """One line: the codecs and their ids, the policy, the config, the fingerprint."""
    codecs = ", ".join(f"{c.name} (0x{c.method_id:02x})" for c in pipe.codecs.values())
    where = pipe.config.path or "built-in defaults"
    return f"{codecs}; policy {pipe.config.policy}; {where}; fingerprint {pipe.fingerprint}"


def websockets_needed() -> None:
    """Refuse to start (exit status 2) without the websocket extra, saying how to get it."""
    try:
        import websockets  # noqa: F401
    except ImportError:
        raise AuraError(
            "this command needs the websockets library: pip install 'auracodec[websocket]'"
        ) from None
