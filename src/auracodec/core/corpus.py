"""Reading corpora: the messages that training and benchmarks work on.

Two formats, chosen by file name:

* ``*.jsonl``: one JSON object per line with a ``text`` string (the message);
  optional ``conv`` groups the messages of one conversation (one connection),
  and ``role`` (``user``/``human`` or ``assistant``/``server``...) says which
  side sent it.
* anything else: text, one message per line (``\\n`` or ``\\r\\n``), empty
  lines skipped. Lines are taken as bytes, so any encoding works.

A directory is read recursively, in sorted order, taking only ``*.jsonl``,
``*.txt`` and ``*.log`` files; a file named explicitly is read whatever its
name. Errors name the file and line (:class:`~auracodec.CorpusError`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

import attrs

from .errors import CorpusError

__all__ = ["Sample", "builtin_sample", "corpus_files", "read_corpus"]

_DIRECTORY_SUFFIXES = (".jsonl", ".txt", ".log")
#: Roles that mean "sent by the client" (the other side is the server).
CLIENT_ROLES = frozenset({"user", "human", "client", "prompt"})


@attrs.frozen
class Sample:
    """One message of a corpus."""

    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    conv: str | None = None
    role: str | None = None

    @property
    def direction(self) -> str:
        """``"in"`` for what a client sends, ``"out"`` for what a server sends."""
        return "in" if self.role in CLIENT_ROLES else "out"


def read_corpus(paths: Iterable[str | os.PathLike[str]]) -> list[Sample]:
    """Read every message of the given files and directories, in order."""
    out: list[Sample] = []
    for path in corpus_files(paths):
        out.extend(_read_file(path))
    return out


def builtin_sample() -> list[Sample]:
    """The small sample shipped with auracodec (chat, API payloads, log lines).

    All of it was written for the project; see ``auracodec/data/README.md``.
    """
    ref = resources.files("auracodec") / "data" / "sample.jsonl"
    with resources.as_file(ref) as path:
        return list(_read_jsonl(path))


def corpus_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The files a corpus argument names: files as given, directories searched
    recursively for ``*.jsonl``, ``*.txt`` and ``*.log``; :class:`CorpusError`
    for a missing path or a directory without such files."""
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*") if f.is_file() and f.name.endswith(_DIRECTORY_SUFFIXES)
            )
            if not found:
                raise CorpusError(f"{p}: no *.jsonl, *.txt or *.log files in this directory")
            yield from found
        elif p.is_file():
            yield p
        else:
            raise CorpusError(f"{p}: no such file or directory")


def _read_file(path: Path) -> Iterator[Sample]:
    if path.name.endswith(".jsonl"):
        yield from _read_jsonl(path)
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    for line in data.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line:
            yield Sample(line)


def _read_jsonl(path: Path) -> Iterator[Sample]:
    try:
        f = path.open("rb")
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise CorpusError(f"{where}: not a JSON line ({exc})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise CorpusError(f"{where}: expected an object with a string 'text' field")
            try:
                data = obj["text"].encode("utf-8")
            except UnicodeEncodeError:
                raise CorpusError(f"{where}: 'text' holds a lone surrogate, not text") from None
            conv = obj.get("conv")
            role = obj.get("role")
            yield Sample(
                data,
                None if conv is None else str(conv),
                role if isinstance(role, str) else None,
            )
