"""The ``auracodec`` command.

::

    auracodec bench [CORPUS...] [--config FILE] [--json OUT] [--plot OUT.png]
    auracodec train CORPUS... (-o DIR | --store STORE [--from ID]) [--config FILE]
    auracodec profiles (list | show | diff | select | gc | add) STORE ...
    auracodec compress [FILE...] [--config FILE] [--raw]
    auracodec decompress [FILE...] [--config FILE] [--raw]
    auracodec plugins [--config FILE]
    auracodec conformance [CODEC...] [--config FILE] [-- PYTEST ARGS]
    auracodec demo [CORPUS...] [--config FILE] [--conv ID]
    auracodec stress [--users N] [--messages M] [--config FILE] [--json OUT]

``--config`` takes an ``auracodec.toml``, a ``pyproject.toml``, a directory
written by ``auracodec train -o``, or a profile store (its current version;
``STORE@ID`` for another). Exit status: 0 on success, 1 when the work
found failures (a frame that did not decode, a conformance test that failed),
2 for usage, configuration and input errors.

:func:`main` is the whole public face. Each command is a private module
(``_bench``, ``_train``, ``_profiles``, ``_compress`` for compress and decompress, ``_demo``,
``_stress``, ``_plugins``, ``_conformance``); what they share is in
``_command`` (declaring a command, ``--config``, exit statuses) and
``_output`` (consoles that never read text as markup, progress bars, JSON
reports).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from .._version import __version__
from ..core.errors import AuraError
from . import _bench, _compress, _conformance, _demo, _plugins, _profiles, _stress, _train
from ._command import Failed, HelpFormatter
from ._output import stderr_console, tagged

__all__ = ["main"]

#: In the order ``auracodec --help`` lists them.
_COMMANDS = (_bench, _train, _profiles, _compress, _demo, _stress, _plugins, _conformance)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after "--" goes to pytest (auracodec conformance only).
    passthrough: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    parser = _parser()
    args = parser.parse_args(argv)
    if passthrough and args.command != "conformance":
        parser.error("arguments after -- are only for 'auracodec conformance'")
    args.pytest_args = passthrough
    err = stderr_console()
    name = f"auracodec {args.command}"
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = lambda message, category, *a, **k: err.print(
            tagged("warning: ", str(message), "yellow")
        )
        try:
            return int(args.run(args, err) or 0)
        except Failed as exc:
            err.print(f"{name}: {exc}", style="red")
            return 1
        except BrokenPipeError:
            # The reader went away (`auracodec decompress ... | head`): stop
            # quietly, as a command killed by SIGPIPE would.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 141
        except (AuraError, OSError) as exc:
            err.print(tagged(f"{name}: error: ", str(exc)))
            return 2
        except KeyboardInterrupt:
            return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="auracodec",
        description="Per-message compression for the wire.",
        epilog="Run 'auracodec COMMAND --help' for a command's options.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"auracodec {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in _COMMANDS:
        command.add_parser(sub)
    return p


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
