"""``auracodec conformance``: the public conformance suite, on installed codecs.

The suite runs on pytest and hypothesis, which come with the extra
``auracodec[conformance]``; without them the command says so (exit status 2).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from ..core.errors import AuraError
from ._command import Failed, Subparsers, add_command, add_config_option, load_pipeline


def add_parser(sub: Subparsers) -> None:
    c = add_command(sub, "conformance", "Run the conformance suite on installed codecs.", run)
    c.add_argument("codecs", nargs="*", metavar="CODEC", help="default: every enabled codec")
    add_config_option(c)
    c.epilog = "Arguments after -- go to pytest, e.g. auracodec conformance zstd -- -x -q"


def run(args: argparse.Namespace, err: Console) -> int:
    _suite_needed()
    pipe = load_pipeline(args)
    names = args.codecs or list(pipe.codecs)
    for name in names:
        if name not in pipe.codecs:
            raise AuraError(f"no such codec {name!r} (enabled: {', '.join(pipe.codecs)})")
    config = os.fspath(Path(args.config).resolve()) if args.config else None
    # The suite's classes for each codec (and its session context, where the
    # codec has one), built as a pipeline from this config builds them.
    module = (
        "from auracodec.conformance import suite_classes\n\n"
        f"globals().update(suite_classes({names!r}, config={config!r}))\n"
    )
    with tempfile.TemporaryDirectory(prefix="auracodec-conformance-") as tmp:
        path = Path(tmp) / "test_conformance.py"
        path.write_text(module, encoding="utf-8")
        # A fresh interpreter: pytest must import the suite itself to rewrite
        # its assertions, and this process has imported auracodec already.
        code = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                str(path),
                "-p",
                "no:cacheprovider",
                "--rootdir",
                tmp,
                *args.pytest_args,
            ],
            check=False,
        ).returncode
    if code == 0:
        return 0
    raise Failed(f"conformance suite failed for {', '.join(names)} (pytest exit {code})")


def _suite_needed() -> None:
    try:
        import hypothesis  # noqa: F401
        import pytest  # noqa: F401
    except ImportError as exc:
        missing = exc.name or "pytest or hypothesis"
        raise AuraError(
            f"the conformance suite needs {missing}, which cannot be imported: "
            "pip install 'auracodec[conformance]'"
        ) from None
