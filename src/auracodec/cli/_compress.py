"""``auracodec compress`` and ``decompress``: messages to frames and back.

JSONL in, JSONL out, one object per message, the frame in base64; or, with
``--raw``, one message in and one binary frame out (and back).
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

from ..core.corpus import Sample, read_corpus
from ..core.errors import AuraError, DecodeError
from ._command import Failed, Subparsers, add_command, add_config_option, load_pipeline


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
    for s in _read_input(args.files):
        frame = pipe.encode(s.data)
        record: dict[str, Any] = {
            "frame": base64.b64encode(frame).decode("ascii"),
            "method": pipe.method_of(frame),
            "size": len(s.data),
            "frame_size": len(frame),
        }
        if s.conv is not None:
            record["conv"] = s.conv
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
        if "conv" in record:
            result["conv"] = record["conv"]
        _write_line(out, result)
    if failures:
        raise Failed(f"{failures} frames did not decode")
    return 0


def _read_input(files: Sequence[str]) -> Iterator[Sample]:
    if files:
        yield from read_corpus(files)
        return
    data = sys.stdin.buffer.read()
    with tempfile.TemporaryDirectory() as tmp:
        stripped = data.lstrip()
        name = "stdin.jsonl" if stripped.startswith(b"{") else "stdin.txt"
        path = Path(tmp) / name
        path.write_bytes(data)
        yield from read_corpus([path])


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
