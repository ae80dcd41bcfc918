"""The JavaScript client's decode speed and size: ``python bench/js.py``.

With ``PYTHONPATH=src`` (this checkout's auracodec, C extensions built in
place) and js/dist built (``cd js && npm run build``). Two suites, each a
profile with its codecs pinned to those the JavaScript client has, and frames
``[method id][payload]`` made by Python, statelessly, one group per codec:

* ``chat``: a profile trained on chat/train.jsonl (``--profile DIR`` or
  ``$AURACODEC_JS_PROFILE``, else trained here); the first ``--messages``
  messages of chat/test.jsonl, each coded by BRIO, by zstd and, where a
  template matches (few chat messages: their remainder, most of them, goes to
  BRIO), by the template codec ``binary_semantic``;
* ``logs``: a profile trained on the first 1,000 lines of each of the ten
  loghub systems; the last ``--log-lines`` lines of each, coded by BRIO and,
  where a template matches, by the template codec: where templates are used.

The same frames are decoded:

* by Python: ``Pipeline.decode_bytes`` (BRIO's and zstd's C code), CPU time
  (``time.process_time_ns``), every codec in every round, best round;
* in Node by the bundle (``js/dist/auracodec.js`` + ``.wasm``,
  ``js/bench/decode.mjs``): ``Pipeline.decodeBytes``, CPU time
  (``process.cpuUsage``), best round;
* in headless Chromium by the bundle (``js/bench/page.html``, puppeteer via
  ``js/test/browser/visit.mjs``): wall time (``performance.now``; a browser
  has no CPU clock), best round.

Python's rounds are interleaved with the JavaScript runs (per suite: Python,
Node, Chromium; ``--repeats`` times) and each side keeps its best, so a slow
moment of the machine hits all alike. Figures: ns per decoded byte;
``x_python`` is a runtime's time per byte over Python's on the same frames
(the goal for BRIO: at most 2); ``x_brio`` is a codec's time per byte over
BRIO's in the same runtime and suite (the goal: below 1 for zstd on chat and
for templates on logs). Sizes: gzip -9 of ``dist/auracodec.js`` (goal 30 KB, read as 30,000 bytes)
and ``dist/auracodec.wasm`` (250 KB). Writes bench/results/js.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import attrs
from _common import CORPUS, LOG_SYSTEMS, ROOT

from auracodec import Pipeline
from auracodec.core.corpus import Sample, read_corpus
from auracodec.core.training import train

JS = ROOT / "js"
CODECS = ["binary_semantic", "brio", "brotli", "identity", "zstd"]
KB = 1000  # the budgets read strictly: 30 KB = 30,000 bytes


def pin_codecs(source: Path, dest: Path) -> Path:
    """A copy of the profile at ``source`` with its codecs pinned to the client's."""
    shutil.copytree(source, dest)
    toml = dest / "auracodec.toml"
    text = toml.read_text()
    pin = f"codecs = {json.dumps(CODECS)}"
    if "[pipeline]\n" in text:
        text = text.replace("[pipeline]\n", f"[pipeline]\n{pin}\n", 1)
    else:
        text += f"\n[pipeline]\n{pin}\n"
    toml.write_text(text)
    return dest


def chat_suite(arg: str | None, work: Path, count: int) -> Suite:
    """BRIO and zstd: chat/test against a profile trained on chat/train."""
    given = arg or os.environ.get("AURACODEC_JS_PROFILE")
    source = Path(given) if given else work / "chat-trained"
    if not given:
        train_into([Sample(s.data) for s in read_corpus([CORPUS / "chat" / "train.jsonl"])], source)
    messages = [s.data for s in read_corpus([CORPUS / "chat" / "test.jsonl"])][:count]
    return Suite(
        "chat",
        pin_codecs(source, work / "chat"),
        messages,
        ["brio", "zstd", "binary_semantic"],
        "trained on chat/train.jsonl",
        f"first {len(messages)} of chat/test.jsonl",
    )


def logs_suite(work: Path, count: int) -> Suite:
    """Templates where they match: the ten loghub systems, a profile trained on
    each system's first 1,000 lines, tested on its last ``count`` lines."""
    head: list[bytes] = []
    tail: list[bytes] = []
    for name in LOG_SYSTEMS:
        lines = [s.data for s in read_corpus([CORPUS / "logs" / name / f"{name}_2k.log"])]
        head += lines[:1000]
        tail += lines[-count:]
    train_into([Sample(m) for m in head], work / "logs-trained")
    return Suite(
        "logs",
        pin_codecs(work / "logs-trained", work / "logs"),
        tail,
        ["brio", "binary_semantic"],
        "trained on the first 1,000 lines of each loghub system",
        f"last {count} lines of each of the {len(LOG_SYSTEMS)} loghub systems",
    )


def train_into(samples: list[Sample], where: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # low-variability notes: not the point here
        train(samples, where)


@attrs.define
class Suite:
    """One profile and the frames Python made with it, per timed codec."""

    name: str
    profile: Path
    messages: list[bytes]
    timed: list[str]
    trained: str
    tested: str
    pipe: Pipeline = attrs.field(init=False)
    groups: dict[str, list[bytes]] = attrs.field(init=False)
    sizes: dict[str, int] = attrs.field(init=False)
    py_best: dict[str, int] = attrs.field(init=False, factory=dict)
    node: dict[str, Any] = attrs.field(init=False, factory=dict)
    chromium: dict[str, Any] = attrs.field(init=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        self.pipe = Pipeline.from_config(self.profile)
        self.groups = frames(self.pipe, self.messages, self.timed)
        self.sizes = {
            n: sum(len(self.pipe.decode_bytes(f)) for f in g) for n, g in self.groups.items()
        }
        (self.profile.parent / f"{self.name}.frames.json").write_text(
            json.dumps({"groups": {n: [f.hex() for f in g] for n, g in self.groups.items()}})
        )


def frames(pipe: Pipeline, messages: list[bytes], timed: list[str]) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {name: [] for name in timed}
    for m in messages:
        for name in timed:
            codec = pipe.codecs[name]
            payload = codec.encode(m)
            if payload is None:
                continue
            frame = bytes([codec.method_id]) + payload
            assert pipe.decode_bytes(frame) == m
            out[name].append(frame)
    return out


def python_round(suite: Suite) -> None:
    decode = suite.pipe.decode_bytes
    for name, group in suite.groups.items():
        t = time.process_time_ns()
        for f in group:
            decode(f)
        suite.py_best[name] = min(suite.py_best.get(name, 1 << 62), time.process_time_ns() - t)


def node_run(suite: Suite, rounds: int) -> dict[str, Any]:
    frames_file = suite.profile.parent / f"{suite.name}.frames.json"
    out = subprocess.run(
        [
            "node",
            str(JS / "bench" / "decode.mjs"),
            str(suite.profile),
            str(frames_file),
            str(rounds),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


class _Files(SimpleHTTPRequestHandler):
    """/dist/ and /bench/ of js/; a suite's profile (/<suite>/...) and frames
    (/<suite>.frames.json) from the work directory."""

    work: Path
    suites: tuple[str, ...]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0]
        if path.startswith(("/dist/", "/bench/")):
            return str(JS / path.lstrip("/"))
        top = path.lstrip("/").split("/", 1)[0]
        if top in self.suites or top in {f"{s}.frames.json" for s in self.suites}:
            return str(self.work / path.lstrip("/"))
        return str(self.work / "nothing-here")

    def guess_type(self, path: Any) -> str:
        s = str(path)
        if s.endswith(".wasm"):
            return "application/wasm"
        if s.endswith((".js", ".mjs")):
            return "text/javascript"
        return super().guess_type(path)


def chromium_run(url: str, suite: Suite, rounds: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            "node",
            str(JS / "test" / "browser" / "visit.mjs"),
            f"{url}bench/page.html?suite={suite.name}&rounds={rounds}",
            "--global",
            "auracodecBench",
            "--timeout",
            "600000",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=JS,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if "error" in result:
        raise RuntimeError(f"Chromium: {result['error']}\n{result.get('console')}")
    result.pop("console", None)
    return result


def keep(best: dict[str, Any], run: dict[str, Any]) -> None:
    """Keep each codec's best round over runs."""
    if not best:
        best.update(run)
        return
    for n, fig in run["codecs"].items():
        if fig["best_ns"] < best["codecs"][n]["best_ns"]:
            best["codecs"][n] = fig


def figures(suite: Suite, run: dict[str, Any]) -> dict[str, Any]:
    """A JavaScript run's figures: per byte, against Python and against BRIO."""
    codecs = run["codecs"]
    brio = codecs["brio"]["ns_per_byte"]
    out = {}
    for n, fig in codecs.items():
        assert fig["bytes"] == suite.sizes[n], (n, fig["bytes"], suite.sizes[n])
        py = suite.py_best[n] / suite.sizes[n]
        out[n] = {
            "frames": fig["frames"],
            "bytes": fig["bytes"],
            "ns_per_byte": round(fig["ns_per_byte"], 2),
            "x_python": round(fig["ns_per_byte"] / py, 2),
            "x_brio": round(fig["ns_per_byte"] / brio, 3),
        }
    return {"runtime": run["runtime"], "clock": run["clock"], "codecs": out}


def report(suite: Suite) -> dict[str, Any]:
    py_brio = suite.py_best["brio"] / suite.sizes["brio"]
    return {
        "profile": f"{suite.trained}, fingerprint {suite.pipe.fingerprint}",
        "messages": suite.tested,
        "python": {
            "clock": "time.process_time_ns",
            "codecs": {
                n: {
                    "frames": len(suite.groups[n]),
                    "bytes": suite.sizes[n],
                    "ns_per_byte": round(suite.py_best[n] / suite.sizes[n], 2),
                    "x_brio": round(suite.py_best[n] / suite.sizes[n] / py_brio, 3),
                }
                for n in suite.groups
            },
        },
        "node": figures(suite, suite.node),
        "chromium": (
            figures(suite, suite.chromium)
            if suite.chromium
            else "not run (no Chromium, or --no-chromium)"
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", help="a profile trained on chat/train.jsonl")
    ap.add_argument("--messages", type=int, default=1000, help="chat/test messages")
    ap.add_argument("--log-lines", type=int, default=500, help="test lines per loghub system")
    ap.add_argument("--rounds", type=int, default=10, help="rounds per run")
    ap.add_argument("--repeats", type=int, default=3, help="Python/Node/Chromium runs, interleaved")
    ap.add_argument("--no-chromium", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "js.json"))
    args = ap.parse_args()
    chromium = (
        not args.no_chromium and Path(os.environ.get("CHROMIUM", "/usr/bin/chromium")).exists()
    )

    with tempfile.TemporaryDirectory(prefix="auracodec-bench-js-") as tmp:
        work = Path(tmp)
        suites = [
            chat_suite(args.profile, work, args.messages),
            logs_suite(work, args.log_lines),
        ]
        handler = type("Files", (_Files,), {"work": work, "suites": tuple(s.name for s in suites)})
        http = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler))
        threading.Thread(target=http.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{http.server_address[1]}/"
        try:
            for rep in range(args.repeats):
                for suite in suites:
                    for _ in range(args.rounds):
                        python_round(suite)
                    keep(suite.node, node_run(suite, args.rounds))
                    if chromium:
                        keep(suite.chromium, chromium_run(url, suite, args.rounds))
                print(f"run {rep + 1} of {args.repeats} done", file=sys.stderr)
        finally:
            http.shutdown()

    sizes = {}
    for name, budget in (("auracodec.js", 30), ("auracodec.wasm", 250)):
        data = (JS / "dist" / name).read_bytes()
        gz = len(gzip.compress(data, 9, mtime=0))
        sizes[name] = {
            "bytes": len(data),
            "gzip9_bytes": gz,
            "gzip9_kb": round(gz / KB, 1),
            "budget_kb": budget,
            "within": gz <= budget * KB,
        }
    reports = {s.name: report(s) for s in suites}
    result: dict[str, Any] = {
        "what": "decode time per byte, the JavaScript client (bundle + wasm) against Python's C "
        "extensions on the same frames; sizes of js/dist after gzip -9 (bench/js.py docstring)",
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "rounds": args.rounds,
        "repeats": args.repeats,
        "suites": reports,
        "sizes": sizes,
    }
    runtimes = ["node"] + (["chromium"] if chromium else [])
    goals = {
        "js_within_30kb_gzip": sizes["auracodec.js"]["within"],
        "wasm_within_250kb_gzip": sizes["auracodec.wasm"]["within"],
    }
    for rt in runtimes:
        chat, logs = reports["chat"][rt]["codecs"], reports["logs"][rt]["codecs"]
        goals[f"brio_{rt}_at_most_2x_python"] = all(
            r[rt]["codecs"]["brio"]["x_python"] <= 2 for r in reports.values()
        )
        goals[f"zstd_faster_than_brio_{rt}"] = chat["zstd"]["x_brio"] < 1
        goals[f"templates_faster_than_brio_{rt}_on_logs"] = logs["binary_semantic"]["x_brio"] < 1
    result["goals_met"] = goals
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
