"""``auracodec compress`` and ``decompress``: messages to frames and back.

JSONL in, JSONL out, one object per message; or, with ``--raw``, one message
in and one binary frame out (and back). ``compress`` writes the frame in
base64, its method and sizes, and every field of the corpus line but ``text``
as it was; ``decompress`` writes ``text`` (or ``data``, base64, for a message
that is not UTF-8) and those fields. So ``compress | decompress`` gives the
corpus lines back.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from rich.console import Console

from ..core.corpus import corpus_files, read_corpus
from ..core.errors import AuraError, DecodeError
from ._command import Failed, Subparsers, add_command, add_config_option, load_pipeline

#: The fields compress writes. A corpus line's own field of one of these names
#: could not be told apart from it, so it is refused.
FRAME_FIELDS = ("frame", "method", "size", "frame_size")


def add_parser(sub: Subparsers) -> None:
    c = add_command(sub, "compress", "Encode messages into frames.", run_compress)
    c.add_argument("files", nargs="*", metavar="FILE", help="corpus files (default: stdin)")
    add_config_option(c)
    c.add_argument(
        "--raw",
        action="store_true",
        help="the whole input is one message; write the binary frame to stdout",
    )

    c = add_command(sub, "decompress", "Decode frames into messages.", run_decompress)
    c.add_argument("files", nargs="*", metavar="FILE", help="JSONL from compress (default: stdin)")
    add_config_option(c)
    c.add_argument(
        "--raw",
        action="store_true",
        help="the whole input is one binary frame; write the message to stdout",
    )


def run_compress(args: argparse.Namespace, err: Console) -> int:
    pipe = load_pipeline(args)
    out = sys.stdout.buffer
    if args.raw:
        out.write(pipe.encode(_read_raw(args.files)))
        return 0
    for data, fields in _messages(args.files):
        frame = pipe.encode(data)
        record: dict[str, Any] = {
            "frame": base64.b64encode(frame).decode("ascii"),
            "method": pipe.method_of(frame),
            "size": len(data),
            "frame_size": len(frame),
            **fields,
        }
        _write_line(out, record)
    return 0


def run_decompress(args: argparse.Namespace, err: Console) -> int:
    pipe = load_pipeline(args)
    out = sys.stdout.buffer
    if args.raw:
        out.write(pipe.decode_bytes(_read_raw(args.files)))
        return 0
    failures = 0
    for where, record in _frames(args.files):
        try:
            frame = base64.b64decode(record["frame"], validate=True)
            data = pipe.decode_bytes(frame)
        except (DecodeError, ValueError) as exc:
            failures += 1
            err.print(f"{where}: {exc}", style="red")
            continue
        result: dict[str, Any]
        try:
            result = {"text": data.decode("utf-8")}
        except UnicodeDecodeError:
            result = {"data": base64.b64encode(data).decode("ascii")}
        # Every field compress carried, as it was (the decoded message wins a clash).
        carried = {k: v for k, v in record.items() if k not in FRAME_FIELDS}
        result.update((k, v) for k, v in carried.items() if k not in result)
        _write_line(out, result)
    if failures:
        raise Failed(f"{failures} frames did not decode")
    return 0


def _messages(files: Sequence[str]) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """Every message of the inputs (default: stdin), with the other fields of its line."""
    if files:
        for path in corpus_files(files):
            yield from _file_messages(path)
        return
    data = sys.stdin.buffer.read()
    with tempfile.TemporaryDirectory() as tmp:
        name = "stdin.jsonl" if data.lstrip().startswith(b"{") else "stdin.txt"
        path = Path(tmp) / name
        path.write_bytes(data)
        yield from _file_messages(path)


def _file_messages(path: Path) -> Iterator[tuple[bytes, dict[str, Any]]]:
    # The corpus reader decides what a message is and refuses bad lines; the
    # lines are then read again for their other fields, one per message.
    samples = read_corpus([path])
    if not path.name.endswith(".jsonl"):
        for s in samples:
            yield s.data, {}
        return
    with path.open("rb") as f:
        lines = [(number, line) for number, line in enumerate(f, 1) if line.strip()]
    for s, (number, line) in zip(samples, lines, strict=True):
        fields = json.loads(line)
        del fields["text"]
        for name in FRAME_FIELDS:
            if name in fields:
                raise AuraError(
                    f"{path}:{number}: the line has a field {name!r}, which compress "
                    "writes itself; rename it to carry it through"
                )
        yield s.data, fields


def _read_raw(files: Sequence[str]) -> bytes:
    if len(files) > 1:
        raise AuraError("--raw takes one input (a file or stdin)")
    return Path(files[0]).read_bytes() if files else sys.stdin.buffer.read()


def _frames(files: Sequence[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    streams: list[tuple[str, BinaryIO]] = (
        [(f, open(f, "rb")) for f in files] if files else [("<stdin>", sys.stdin.buffer)]
    )
    for name, stream in streams:
        with stream:
            for number, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise AuraError(f"{name}:{number}: not a JSON line ({exc})") from None
                if not isinstance(record, dict) or not isinstance(record.get("frame"), str):
                    raise AuraError(
                        f"{name}:{number}: expected an object with a 'frame' "
                        "(base64) field, as `auracodec compress` writes"
                    )
                yield f"{name}:{number}", record


def _write_line(out: BinaryIO, record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
