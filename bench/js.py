"""The JavaScript client's decode speed and size: ``python bench/js.py``.

With ``PYTHONPATH=src`` (this checkout's auracodec, C extensions built in
place). A profile trained on chat/train.jsonl (``--profile DIR`` or
``$AURACODEC_JS_PROFILE``, else trained into a temporary directory), its
codecs pinned to those the JavaScript client has. The first ``--messages``
messages of chat/test.jsonl are encoded by Python, statelessly, with each of
BRIO, zstd and the template codec (``binary_semantic``: only the messages a
template matches; their remainder goes to BRIO) into frames
``[method id][payload]``. The same frames are decoded:

* by Python: ``Pipeline.decode_bytes`` (BRIO's and zstd's C code), CPU time
  (``time.process_time_ns``), every codec in every round, best round;
* in Node by the bundle (``js/dist/auracodec.js`` + ``.wasm``,
  ``js/bench/decode.mjs``): ``Pipeline.decodeBytes``, CPU time
  (``process.cpuUsage``), best round;
* in headless Chromium by the bundle (``js/bench/page.html``, puppeteer via
  ``js/test/browser/visit.mjs``): wall time (``performance.now``; a browser
  has no CPU clock), best round.

Python's rounds are interleaved with the JavaScript runs (Python, Node,
Chromium, ``--repeats`` times) and each side keeps its best, so a slow moment
of the machine hits all alike. Figures: ns per decoded byte; ``x_python``
is a runtime's time per byte over Python's on the same frames (the goal for
BRIO: at most 2); ``x_brio`` is a codec's time per byte over BRIO's in the
same runtime (the goal for templates and zstd: below 1). Sizes: gzip -9 of
``dist/auracodec.js`` (goal 30 KB) and ``dist/auracodec.wasm`` (250 KB).
Writes bench/results/js.json.
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
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from auracodec import Pipeline
from auracodec.core.corpus import read_corpus

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "js"
CORPUS = Path(os.environ.get("AURACODEC_CORPUS", ROOT.parent / "shared" / "corpus"))
CODECS = ["binary_semantic", "brio", "brotli", "identity", "zstd"]
TIMED = ["brio", "zstd", "binary_semantic"]
KB = 1024


def profile_dir(arg: str | None, work: Path) -> Path:
    source = Path(arg or os.environ.get("AURACODEC_JS_PROFILE") or "")
    if not arg and not os.environ.get("AURACODEC_JS_PROFILE"):
        source = work / "trained"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "auracodec",
                "train",
                str(CORPUS / "chat" / "train.jsonl"),
                "-o",
                str(source),
            ],
            check=True,
            capture_output=True,
        )
    dest = work / "profile"
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


def frames(pipe: Pipeline, messages: list[bytes]) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {name: [] for name in TIMED}
    for m in messages:
        for name in TIMED:
            codec = pipe.codecs[name]
            payload = codec.encode(m)
            if payload is None:
                continue
            frame = bytes([codec.method_id]) + payload
            assert pipe.decode_bytes(frame) == m
            out[name].append(frame)
    return out


def python_round(pipe: Pipeline, groups: dict[str, list[bytes]], best: dict[str, int]) -> None:
    decode = pipe.decode_bytes
    for name, group in groups.items():
        t = time.process_time_ns()
        for f in group:
            decode(f)
        best[name] = min(best.get(name, 1 << 62), time.process_time_ns() - t)


def node_run(profile: Path, frames_file: Path, rounds: int) -> dict[str, Any]:
    out = subprocess.run(
        ["node", str(JS / "bench" / "decode.mjs"), str(profile), str(frames_file), str(rounds)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


class _Files(SimpleHTTPRequestHandler):
    """/dist/ and /bench/ of js/, /profile/ and /frames.json of the work directory."""

    work: Path

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0]
        if path.startswith(("/dist/", "/bench/")):
            return str(JS / path.lstrip("/"))
        if path.startswith("/profile/") or path == "/frames.json":
            return str(self.work / path.lstrip("/"))
        return str(self.work / "nothing-here")

    def guess_type(self, path: Any) -> str:
        s = str(path)
        if s.endswith(".wasm"):
            return "application/wasm"
        if s.endswith((".js", ".mjs")):
            return "text/javascript"
        return super().guess_type(path)


def chromium_run(url: str, rounds: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            "node",
            str(JS / "test" / "browser" / "visit.mjs"),
            f"{url}bench/page.html?rounds={rounds}",
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", help="a profile trained on chat/train.jsonl")
    ap.add_argument("--messages", type=int, default=1000)
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
        profile = profile_dir(args.profile, work)
        pipe = Pipeline.from_config(profile)
        messages = [s.data for s in read_corpus([CORPUS / "chat" / "test.jsonl"])][: args.messages]
        groups = frames(pipe, messages)
        frames_file = work / "frames.json"
        frames_file.write_text(
            json.dumps({"groups": {n: [f.hex() for f in g] for n, g in groups.items()}})
        )
        py_bytes = {n: sum(len(pipe.decode_bytes(f)) for f in g) for n, g in groups.items()}

        handler = type("Files", (_Files,), {"work": work})
        http = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler))
        threading.Thread(target=http.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{http.server_address[1]}/"
        py_best: dict[str, int] = {}
        node: dict[str, Any] = {}
        chrome: dict[str, Any] = {}

        def keep(best: dict[str, Any], run: dict[str, Any]) -> None:
            if not best:
                best.update(run)
                return
            for n, fig in run["codecs"].items():
                if fig["best_ns"] < best["codecs"][n]["best_ns"]:
                    best["codecs"][n] = fig

        try:
            for rep in range(args.repeats):
                for _ in range(args.rounds):
                    python_round(pipe, groups, py_best)
                keep(node, node_run(profile, frames_file, args.rounds))
                if chromium:
                    keep(chrome, chromium_run(url, args.rounds))
                print(f"run {rep + 1} of {args.repeats} done", file=sys.stderr)
        finally:
            http.shutdown()

    def figures(run: dict[str, Any]) -> dict[str, Any]:
        codecs = run["codecs"]
        brio = codecs["brio"]["ns_per_byte"]
        out = {}
        for n, fig in codecs.items():
            assert fig["bytes"] == py_bytes[n], (n, fig["bytes"], py_bytes[n])
            py = py_best[n] / py_bytes[n]
            out[n] = {
                "frames": fig["frames"],
                "bytes": fig["bytes"],
                "ns_per_byte": round(fig["ns_per_byte"], 2),
                "x_python": round(fig["ns_per_byte"] / py, 2),
                "x_brio": round(fig["ns_per_byte"] / brio, 3),
            }
        return {"runtime": run["runtime"], "clock": run["clock"], "codecs": out}

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
    py_brio = py_best["brio"] / py_bytes["brio"]
    result = {
        "what": "decode time per byte, the JavaScript client (bundle + wasm) against Python's C "
        "extensions on the same frames; sizes of js/dist after gzip -9 (bench/js.py docstring)",
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "profile": f"trained on chat/train.jsonl, fingerprint {pipe.fingerprint}",
        "messages": f"first {len(messages)} of chat/test.jsonl",
        "rounds": args.rounds,
        "repeats": args.repeats,
        "python": {
            "clock": "time.process_time_ns",
            "codecs": {
                n: {
                    "frames": len(groups[n]),
                    "bytes": py_bytes[n],
                    "ns_per_byte": round(py_best[n] / py_bytes[n], 2),
                    "x_brio": round(py_best[n] / py_bytes[n] / py_brio, 3),
                }
                for n in groups
            },
        },
        "node": figures(node),
        "chromium": figures(chrome) if chrome else "not run (no Chromium, or --no-chromium)",
        "sizes": sizes,
    }
    goals = {
        "brio_node_at_most_2x_python": result["node"]["codecs"]["brio"]["x_python"] <= 2,
        "templates_and_zstd_faster_than_brio_node": all(
            result["node"]["codecs"][n]["x_brio"] < 1 for n in ("zstd", "binary_semantic")
        ),
        "js_within_30kb_gzip": sizes["auracodec.js"]["within"],
        "wasm_within_250kb_gzip": sizes["auracodec.wasm"]["within"],
    }
    if chrome:
        goals["brio_chromium_at_most_2x_python"] = (
            result["chromium"]["codecs"]["brio"]["x_python"] <= 2
        )
        goals["templates_and_zstd_faster_than_brio_chromium"] = all(
            result["chromium"]["codecs"][n]["x_brio"] < 1 for n in ("zstd", "binary_semantic")
        )
    result["goals_met"] = goals
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
