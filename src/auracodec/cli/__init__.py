"""The ``auracodec`` command.

::

    auracodec bench [CORPUS...] [--config FILE] [--json OUT] [--plot OUT.png]
    auracodec train CORPUS... -o DIR [--config FILE]
    auracodec compress [FILE...] [--config FILE] [--raw]
    auracodec decompress [FILE...] [--config FILE] [--raw]
    auracodec plugins [--config FILE]
    auracodec conformance [CODEC...] [--config FILE] [-- PYTEST ARGS]

``--config`` takes an ``auracodec.toml``, a ``pyproject.toml`` or a directory
written by ``auracodec train``. Exit status: 0 on success, 1 when the work
found failures (a frame that did not decode, a conformance test that failed),
2 for usage, configuration and input errors.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ._version import __version__
from .benchmark import BUCKETS, Result, bench
from .core.config import Config
from .core.corpus import Sample, builtin_sample, read_corpus
from .core.errors import AuraError, DecodeError
from .core.pipeline import Pipeline
from .core.registry import Registry
from .core.training import train

__all__ = ["main"]


class _Failed(Exception):
    """The command ran and found failures (exit status 1)."""


def main(argv: Sequence[str] | None = None) -> int:
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
    console = Console(stderr=True, soft_wrap=True)  # messages are not cut into lines
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = lambda message, category, *a, **k: console.print(
            f"[yellow]warning:[/] {message}", highlight=False
        )
        try:
            return int(args.run(args, console) or 0)
        except _Failed as exc:
            console.print(f"[red]auracodec {args.command}: {exc}[/]", highlight=False)
            return 1
        except (AuraError, OSError) as exc:
            console.print(f"[red]auracodec {args.command}: error:[/] {exc}", highlight=False)
            return 2
        except KeyboardInterrupt:
            return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="auracodec",
        description="Per-message compression for the wire.",
        epilog="Run 'auracodec COMMAND --help' for a command's options.",
    )
    p.add_argument("--version", action="version", version=f"auracodec {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, run: Any) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help, description=help)
        c.set_defaults(run=run)
        return c

    def config_option(c: argparse.ArgumentParser) -> None:
        c.add_argument(
            "--config",
            metavar="FILE",
            help="auracodec.toml, pyproject.toml, or a "
            "trained profile directory (default: built-in defaults)",
        )

    c = command(
        "bench", "Compare every method on a corpus (default: the built-in sample).", _cmd_bench
    )
    c.add_argument("corpus", nargs="*", metavar="CORPUS", help="JSONL or text files, directories")
    config_option(c)
    c.add_argument("--json", metavar="OUT", help="write the results as JSON")
    c.add_argument("--plot", metavar="OUT.png", help="plot ratio by size bucket (matplotlib)")
    c.add_argument("--limit", type=int, metavar="N", help="use only the first N messages")
    c.add_argument("--no-baselines", action="store_true", help="skip zstd-3, brotli-5, deflate")

    c = command("train", "Train every trainable plugin on a corpus; write a profile.", _cmd_train)
    c.add_argument("corpus", nargs="+", metavar="CORPUS")
    c.add_argument("-o", "--output", required=True, metavar="DIR", help="profile directory")
    config_option(c)

    c = command("compress", "Encode messages into frames.", _cmd_compress)
    c.add_argument("files", nargs="*", metavar="FILE", help="corpus files (default: stdin)")
    config_option(c)
    c.add_argument(
        "--raw",
        action="store_true",
        help="the whole input is one message; write the binary frame to stdout",
    )

    c = command("decompress", "Decode frames into messages.", _cmd_decompress)
    c.add_argument("files", nargs="*", metavar="FILE", help="JSONL from compress (default: stdin)")
    config_option(c)
    c.add_argument(
        "--raw",
        action="store_true",
        help="the whole input is one binary frame; write the message to stdout",
    )

    c = command("demo", "Replay a conversation over a loopback WebSocket server.", _cmd_demo)
    c.add_argument("corpus", nargs="*", metavar="CORPUS", help="default: the built-in sample")
    config_option(c)
    c.add_argument(
        "--conv",
        metavar="ID",
        help="the conversation to replay (default: a long chat conversation)",
    )

    c = command(
        "stress", "Concurrent WebSocket clients replay conversations on 127.0.0.1.", _cmd_stress
    )
    c.add_argument("--users", type=int, default=10, metavar="N", help="concurrent clients")
    c.add_argument(
        "--messages",
        type=int,
        default=50,
        metavar="M",
        help="messages each client exchanges (both directions)",
    )
    c.add_argument("--corpus", nargs="+", metavar="CORPUS", help="default: the built-in sample")
    config_option(c)
    c.add_argument(
        "--warmup",
        type=int,
        default=5,
        metavar="K",
        help="messages per client left out of the latency figures",
    )
    c.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="stop after S seconds; what has not arrived counts as lost",
    )
    c.add_argument("--json", metavar="OUT", help="write the report as JSON")

    c = command("plugins", "List plugins: codecs, policies, normalizers.", _cmd_plugins)
    config_option(c)

    c = command("conformance", "Run the conformance suite on installed codecs.", _cmd_conformance)
    c.add_argument("codecs", nargs="*", metavar="CODEC", help="default: every enabled codec")
    config_option(c)
    c.epilog = "Arguments after -- go to pytest, e.g. auracodec conformance zstd -- -x -q"
    return p


def _load(args: argparse.Namespace) -> Pipeline:
    return Pipeline.from_config(args.config)


# -- bench --------------------------------------------------------------------


def _cmd_bench(args: argparse.Namespace, console: Console) -> int:
    if args.corpus:
        samples = read_corpus(args.corpus)
        source = ", ".join(args.corpus)
    else:
        samples = builtin_sample()
        source = "the built-in sample (auracodec/data/sample.jsonl)"
    if args.limit is not None:
        samples = samples[: args.limit]
    if not samples:
        raise AuraError("the corpus holds no messages")
    pipe = _load(args)
    total = sum(len(s.data) for s in samples)
    console.print(f"[bold]auracodec bench[/] on {source}: {len(samples)} messages, {total} bytes")
    console.print(f"pipeline: {_describe(pipe)}", highlight=False)
    with _progress(console) as progress:
        results = bench(
            samples, pipe, with_baselines=not args.no_baselines, progress=_stepper(progress)
        )
    out = _stdout()
    out.print(_results_table(results))
    pipeline = next(r for r in results if r.kind == "pipeline")
    shares = ", ".join(
        f"{n} {c / pipeline.messages:.0%}"
        for n, c in sorted(pipeline.methods.items(), key=lambda kv: -kv[1])
    )
    out.print(f"pipeline methods: {shares}", highlight=False)
    templates = pipeline.codecs.get("binary_semantic")
    if templates:
        top = list(templates["per_template"].values())[:3]
        best = "; ".join(f"{t['text'][:50]!r} x{t['hits']}" for t in top)
        out.print(
            f"templates: {templates['templates']} loaded, hit rate {templates['hit_rate']:.1%} "
            f"({templates['matched']} of {templates['attempts']} messages)"
            + (f"; most bytes saved: {best}" if best else ""),
            highlight=False,
        )
    if args.json:
        payload = {
            "corpus": source,
            "messages": len(samples),
            "bytes": total,
            "fingerprint": pipe.fingerprint,
            "results": [r.to_dict() for r in results],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {args.json}")
    if args.plot:
        _plot(results, args.plot, title=f"auracodec bench: {source}")
        console.print(f"wrote {args.plot}")
    failures = sum(r.failures for r in results if r.kind != "baseline")
    if failures:
        raise _Failed(f"{failures} messages did not round-trip")
    return 0


def _stdout() -> Console:
    # Tables are wide; when piped, do not squeeze them into 80 columns.
    return Console() if sys.stdout.isatty() else Console(width=160)


def _describe(pipe: Pipeline) -> str:
    codecs = ", ".join(f"{c.name} (0x{c.method_id:02x})" for c in pipe.codecs.values())
    where = pipe.config.path or "built-in defaults"
    return f"{codecs}; policy {pipe.config.policy}; {where}; fingerprint {pipe.fingerprint}"


def _results_table(results: Sequence[Result]) -> Table:
    t = Table(title="ratio = message bytes / frame bytes (higher is better)", title_justify="left")
    t.add_column("method")
    t.add_column("ratio", justify="right")
    labels = [label for label, _, _ in BUCKETS if any(label in r.buckets for r in results)]
    for label in labels:
        t.add_column(label, justify="right")
    t.add_column("expanded", justify="right")
    t.add_column("encode µs p50/p95/p99", justify="right")
    t.add_column("decode µs p50/p95/p99", justify="right")
    kinds = {"codec": "", "pipeline": "bold", "baseline": "dim"}
    for r in results:
        label = r.name if r.kind != "codec" else f"{r.name} alone"
        cells = [f"{r.buckets[b].ratio:.2f}" if b in r.buckets else "" for b in labels]
        t.add_row(
            label,
            f"{r.ratio:.3f}",
            *cells,
            str(r.expanded),
            _pct(r.encode_us),
            _pct(r.decode_us),
            style=kinds[r.kind],
        )
    return t


def _pct(p: Any) -> str:
    return f"{p.p50:.1f}/{p.p95:.1f}/{p.p99:.1f}"


def _plot(results: Sequence[Result], path: str, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise AuraError("--plot needs matplotlib: pip install 'auracodec[plot]'") from None
    labels = [label for label, _, _ in BUCKETS if any(label in r.buckets for r in results)]
    groups = [*labels, "all"]
    fig, ax = plt.subplots(figsize=(max(7.0, 1.6 * len(groups)), 4.2), dpi=120)
    width = 0.8 / len(results)
    for i, r in enumerate(results):
        values = [r.buckets[b].ratio if b in r.buckets else 0.0 for b in labels] + [r.ratio]
        xs = [g + (i - (len(results) - 1) / 2) * width for g in range(len(groups))]
        hatch = "//" if r.kind == "baseline" else None
        ax.bar(
            xs,
            values,
            width,
            label=r.name if r.kind != "codec" else f"{r.name} alone",
            hatch=hatch,
            edgecolor="white" if hatch else None,
        )
    ax.set_xticks(range(len(groups)), [f"{g} B" if g != "all" else g for g in groups])
    ax.set_ylabel("ratio (higher is better)")
    ax.set_xlabel("message size")
    ax.set_title(title, fontsize=10)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.legend(fontsize=8, ncols=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# -- train --------------------------------------------------------------------


def _cmd_train(args: argparse.Namespace, console: Console) -> int:
    samples = read_corpus(args.corpus)
    if not samples:
        raise AuraError("the corpus holds no messages")
    config = Config.load(args.config) if args.config else None
    console.print(
        f"training on {len(samples)} messages ({sum(len(s.data) for s in samples)} bytes)"
    )
    with _progress(console) as progress:
        profile = train(samples, args.output, config=config, progress=_TaskProgress(progress))
    for r in profile.results:
        console.print(f"  {r.codec}: {r.summary}", highlight=False)
    pipe = Pipeline.from_config(profile.config_path)  # proves the profile loads
    console.print(f"wrote {profile.config_path} (fingerprint {pipe.fingerprint})")
    return 0


class _TaskProgress:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def task(self, description: str, total: float) -> Any:
        task = self._progress.add_task(description, total=total)
        return lambda amount: self._progress.advance(task, amount)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _stepper(progress: Progress) -> Any:
    def make(description: str, total: int) -> Any:
        task = progress.add_task(description, total=total)
        return lambda n: progress.advance(task, n)

    return make


# -- compress / decompress --------------------------------------------------------


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


def _cmd_compress(args: argparse.Namespace, console: Console) -> int:
    pipe = _load(args)
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


def _cmd_decompress(args: argparse.Namespace, console: Console) -> int:
    pipe = _load(args)
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
            console.print(f"[red]{where}: {exc}[/]", highlight=False)
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
        raise _Failed(f"{failures} frames did not decode")
    return 0


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


# -- demo and stress ----------------------------------------------------------------


def _scripts(corpus: Sequence[str] | None) -> list[Any]:
    from .loopback import conversations

    samples = read_corpus(corpus) if corpus else builtin_sample()
    scripts = conversations(samples)
    if not scripts:
        raise AuraError("the corpus holds no conversations to replay")
    return scripts


def _websockets_needed() -> None:
    try:
        import websockets  # noqa: F401
    except ImportError:
        raise AuraError(
            "this command needs the websockets library: pip install 'auracodec[websocket]'"
        ) from None


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
    import asyncio

    _websockets_needed()
    from .core.corpus import CLIENT_ROLES
    from .loopback import Turn, demo

    pipe = _load(args)
    samples = read_corpus(args.corpus) if args.corpus else builtin_sample()
    if args.conv:
        script = [Turn(s.role in CLIENT_ROLES, s.data) for s in samples if s.conv == args.conv]
        if not script:
            raise AuraError(f"no conversation {args.conv!r} in the corpus")
    else:
        chats = [
            t
            for t in _scripts(args.corpus)
            if any(turn.from_client for turn in t) and not all(turn.from_client for turn in t)
        ]
        if not chats:
            raise AuraError("the corpus holds no two-sided conversation")
        script = max(chats, key=lambda t: (len(t), sum(len(x.data) for x in t)))
    console.print(f"pipeline: {_describe(pipe)}", highlight=False)
    result = asyncio.run(demo(pipe, script))
    t = Table(
        title="one conversation over ws://127.0.0.1 (auracodec session)", title_justify="left"
    )
    for col, just in (
        ("#", "right"),
        ("from", "left"),
        ("message", "left"),
        ("method", "left"),
        ("bytes", "right"),
        ("frame", "right"),
        ("ratio", "right"),
        ("verified", "left"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for i, e in enumerate(result.exchanges, 1):
        t.add_row(
            str(i),
            "client" if e.from_client else "server",
            e.preview,
            e.method,
            str(e.size),
            str(e.frame_size),
            f"{e.size / e.frame_size:.2f}",
            "yes" if e.verified else "[red]NO[/]",
        )
    out = _stdout()
    out.print(t)
    total, frames = result.message_bytes, result.frame_bytes
    out.print(
        f"{len(result.exchanges)} messages, {total} bytes: auracodec session {frames} bytes "
        f"(ratio {total / frames:.2f}); the same pipeline without session context "
        f"{result.stateless_bytes}; permessage-deflate (websockets defaults, context "
        f"takeover) {result.deflate_bytes} bytes (ratio {total / result.deflate_bytes:.2f})",
        highlight=False,
    )
    if not all(e.verified for e in result.exchanges):
        raise _Failed("some messages arrived altered")
    return 0


def _cmd_stress(args: argparse.Namespace, console: Console) -> int:
    import asyncio

    _websockets_needed()
    from .loopback import stress

    if args.users < 1 or args.messages < 1:
        raise AuraError("--users and --messages must be at least 1")
    pipe = _load(args)
    scripts = _scripts(args.corpus)
    console.print(
        f"{args.users} clients x {args.messages} messages on 127.0.0.1; "
        f"pipeline: {_describe(pipe)}",
        highlight=False,
    )
    with _progress(console) as progress:
        task = progress.add_task("messages", total=args.users * args.messages)
        result = asyncio.run(
            stress(
                pipe,
                scripts,
                users=args.users,
                messages=args.messages,
                warmup=args.warmup,
                timeout=args.timeout,
                progress=lambda n: progress.advance(task, n),
            )
        )
    out = _stdout()
    shares = ", ".join(
        f"{n} {c / result.messages:.0%}"
        for n, c in sorted(result.methods.items(), key=lambda kv: -kv[1])
    )
    out.print(
        f"{result.messages} messages in {result.seconds:.1f} s; methods: {shares}", highlight=False
    )
    out.print(
        f"bytes: {result.message_bytes} -> {result.frame_bytes} (ratio {result.ratio:.2f}); "
        f"permessage-deflate {result.deflate_bytes} "
        f"({result.frame_bytes / result.deflate_bytes:.2f}x of it)",
        highlight=False,
    )
    out.print(
        f"encode µs p50/p95/p99 {_pct(result.encode_us)}; decode {_pct(result.decode_us)}; "
        f"round trip {_pct(result.round_trip_us)}",
        highlight=False,
    )
    out.print(
        f"lost {result.lost}, altered {result.altered}, errors {len(result.errors)}",
        highlight=False,
    )
    for e in result.errors[:10]:
        console.print(f"[red]{e}[/]", highlight=False)
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {args.json}")
    if result.lost or result.altered or result.errors:
        raise _Failed("messages were lost or altered")
    return 0


# -- plugins ------------------------------------------------------------------------


def _cmd_plugins(args: argparse.Namespace, console: Console) -> int:
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
            kind = {
                "auracodec_codec_types": "codec",
                "auracodec_selector_policies": "policy",
                "auracodec_normalizers": "normalizer",
                "auracodec_observer_types": "observer",
            }[hook]
            provides.append(f"{kind} {name}")
            if kind == "codec":
                ids.append(f"0x{registry.codec_types[name].method_id:02x}")
        status = (
            "yes"
            if info.enabled and not info.error
            else ("disabled" if not info.enabled else f"skipped: {info.error}")
        )
        t.add_row(
            info.name,
            ", ".join(provides) or "-",
            ", ".join(ids) or "-",
            info.package,
            info.version,
            status,
            style=None if info.enabled and not info.error else "dim",
        )
    _stdout().print(t)
    return 0


# -- conformance ------------------------------------------------------------------


def _cmd_conformance(args: argparse.Namespace, console: Console) -> int:
    pipe = _load(args)
    names = args.codecs or list(pipe.codecs)
    for name in names:
        if name not in pipe.codecs:
            raise AuraError(f"no such codec {name!r} (enabled: {', '.join(pipe.codecs)})")
    config = os.fspath(Path(args.config).resolve()) if args.config else None
    classes = "\n\n".join(
        textwrap.dedent(f"""\
            class Test_{name}(CodecConformance):
                def make_codec(self):
                    return Pipeline.from_config({config!r}).codecs[{name!r}]
            """)
        for name in names
    )
    module = (
        "from auracodec import Pipeline\n"
        "from auracodec.conformance import CodecConformance\n\n\n" + classes
    )
    extra = args.pytest_args
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
                *extra,
            ],
            check=False,
        ).returncode
    if code == 0:
        return 0
    raise _Failed(f"conformance suite failed for {', '.join(names)} (pytest exit {code})")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
