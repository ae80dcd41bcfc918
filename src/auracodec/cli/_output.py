"""Terminal output of the commands: consoles, messages, progress bars, JSON reports.

Every console here has rich's markup, emoji codes and highlighting switched
off, so a file name, a corpus message or an exception's text is printed as it
is: ``pip install 'auracodec[websocket]'`` keeps its brackets, and a file
named ``x[/].jsonl`` is a name, not a closing tag. Style is given with
``style=`` or :class:`rich.text.Text`, never as markup inside a string.

Results go to stdout, everything else (progress, notes, warnings, errors) to
stderr, so ``auracodec bench > report.txt`` holds the report alone.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

__all__ = [
    "STDOUT",
    "TaskProgress",
    "progress_bars",
    "report_console",
    "stderr_console",
    "stepper",
    "tagged",
    "write_json",
]

#: The file name that means standard output (``--json -``).
STDOUT = "-"


def stderr_console() -> Console:
    """Where progress, notes and errors go; lines are not cut to the width."""
    return Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)


def report_console(*, stdout_taken: bool = False) -> Console:
    """Where a command's report goes: stdout, or stderr when stdout carries data
    (``--json -``), so that what is piped stays parseable."""
    stream = sys.stderr if stdout_taken else sys.stdout
    # Tables are wide; when piped, do not squeeze them into 80 columns.
    width = None if stream.isatty() else 160
    return Console(stderr=stdout_taken, width=width, markup=False, emoji=False, highlight=False)


def tagged(tag: str, text: str, style: str = "red") -> Text:
    """``tag`` in ``style``, then ``text`` as it is."""
    return Text.assemble((tag, style), text)


def write_json(dest: str, payload: Any, console: Console) -> None:
    """Write ``payload`` as JSON to the file ``dest``, or to stdout if it is ``-``."""
    text = json.dumps(payload, indent=2) + "\n"
    if dest == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    Path(dest).write_text(text, encoding="utf-8")
    console.print(f"wrote {dest}")


def progress_bars(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}", markup=False),  # descriptions name plugins
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


class TaskProgress:
    """Progress bars for :func:`auracodec.core.training.train` (its ``Progress``)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def task(self, description: str, total: float) -> Callable[[float], None]:
        task = self._progress.add_task(description, total=total)
        return lambda amount: self._progress.advance(task, amount)


def stepper(progress: Progress) -> Callable[[str, int], Callable[[int], None]]:
    """Progress bars for :func:`auracodec.benchmark.bench` (its ``progress``)."""

    def make(description: str, total: int) -> Callable[[int], None]:
        task = progress.add_task(description, total=total)
        return lambda n: progress.advance(task, n)

    return make
