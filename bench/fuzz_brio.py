"""Coverage-guided fuzzing of BRIO's C decoder under AddressSanitizer and UBSan.

    python bench/fuzz_brio.py [--minutes 10]

Needs clang and atheris (``apt install clang``; ``pip install atheris``).
The script builds BRIO's extension with ``clang -fsanitize=address,undefined,
fuzzer-no-link`` into ``bench/out/fuzz/``, then runs itself again with
atheris's ``asan_with_fuzzer.so`` preloaded (as atheris documents for native
extensions) and fuzzes for the given time. Each input picks one target:

0-3   stateless decoding with the trained sample model,
4, 5  the same with the neutral model (an output limit comes from the input;
      both models with the default output-to-payload ratio cap, so output
      must stay within min(limit, max_ratio * len(payload) + slack));
6     a session context decoding a sequence of payloads (seeds: six messages
      of one context; after an error it must keep refusing, never crash);
7     loading a model blob with bytes changed by the input (a hostile model
      file): refused with ValueError, or usable and still exact.

Any exception other than auracodec's DecodeError (ValueError for model
files), any sanitizer report, any hang is a finding and stops the run. Seeds
are valid payloads of the shipped sample. Writes bench/results/fuzz_brio.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import struct
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "fuzz"
SRC = ROOT / "src" / "auracodec" / "plugins" / "brio"
MODEL = ROOT / "tests" / "golden" / "brio-sample.model.zst"


def build() -> Path:
    """The sanitized, coverage-instrumented extension, built with clang."""
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / f"_brio{sysconfig.get_config_var('EXT_SUFFIX')}"
    cmd = [
        "clang",
        "-shared",
        "-fPIC",
        "-O1",
        "-g",
        "-std=c11",
        "-fsanitize=address,undefined,fuzzer-no-link",
        "-fno-sanitize-recover=undefined",
        "-fno-omit-frame-pointer",
        "-DBRIO_NO_CLONES",
        f"-I{sysconfig.get_paths()['include']}",
        # the binding and every file of the C core
        *(str(p) for p in sorted(SRC.glob("*.c"))),
        "-o",
        str(target),
    ]
    subprocess.run(cmd, check=True)
    return target


def seeds(model: object, neutral: object) -> None:
    from auracodec.conformance import sample_messages

    corpus = OUT / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    sample = sample_messages()
    for i, m in enumerate(sample[:200]):
        mode = (0, 4, 6)[i % 3]
        head = struct.pack("<BH", mode, 0xFFFF if mode == 6 else len(m) + 1)
        if mode == 6:
            # A session: this message and the next five through one context,
            # so that the context's carried state and purges are reached.
            # (Up to the first payload too long for the harness's chunks.)
            ctx = model.context()  # type: ignore[attr-defined]
            body = b""
            for x in sample[i : i + 6]:
                p = ctx.encode(x)
                if p is None or len(p) >= 512:  # declined (ratio cap) or too long
                    break
                body += struct.pack("<H", len(p)) + p
        else:
            coder = neutral if mode == 4 else model
            body = coder.encode(m) or b""  # type: ignore[attr-defined]
        (corpus / f"seed-{i:04d}").write_bytes(head + body)


def fuzz(extension: Path, seconds: int) -> None:
    import atheris

    spec = importlib.util.spec_from_file_location("_brio", extension)
    assert spec and spec.loader
    brio = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(brio)
    import zstandard

    from auracodec.core.errors import DecodeError

    blob = zstandard.ZstdDecompressor().decompress(MODEL.read_bytes(), max_output_size=1 << 22)
    model, neutral = brio.Model(blob), brio.Model(None)
    seeds(model, neutral)
    probe = b"a model file with changed bytes still codes this message exactly"

    def budget(payload: bytes) -> int:
        return brio.DEFAULT_MAX_RATIO * len(payload) + brio.RATIO_SLACK  # type: ignore[no-any-return]

    def one(data: bytes) -> None:
        if len(data) < 3:
            return
        mode, limit = data[0] % 8, struct.unpack_from("<H", data, 1)[0]
        body = data[3:]
        if mode <= 5:
            try:
                out = (model if mode <= 3 else neutral).decode(body, limit)
            except DecodeError:
                return
            assert len(out) <= min(limit, budget(body))
        elif mode == 6:
            ctx = model.context()
            pos = 0
            failed = False
            while pos + 2 <= len(body):
                n = struct.unpack_from("<H", body, pos)[0] % 512
                chunk = body[pos + 2 : pos + 2 + n]
                pos += 2 + n
                try:
                    out = ctx.decode(chunk, limit)
                except DecodeError:
                    failed = True
                    continue
                assert not failed, "a context decoded after an error"
                assert len(out) <= min(limit, budget(chunk))
        else:
            edited = bytearray(blob)
            for i in range(0, len(body) - 3, 4):
                at = struct.unpack_from("<I", body, i)[0] % len(edited)
                edited[at] = body[i + 3]
            try:
                m = brio.Model(bytes(edited))
            except ValueError:
                return
            assert m.decode(m.encode(probe), len(probe)) == probe

    atheris.Setup(
        [
            sys.argv[0],
            str(OUT / "corpus"),
            f"-max_total_time={seconds}",
            "-print_final_stats=1",
            "-timeout=20",
            "-rss_limit_mb=4096",
        ],
        one,
    )
    atheris.Fuzz()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--worker", metavar="SO", help=argparse.SUPPRESS)
    args = parser.parse_args()
    seconds = int(args.minutes * 60)
    if args.worker:
        fuzz(Path(args.worker), seconds)
        return
    import atheris

    extension = build()
    env = dict(
        os.environ,
        LD_PRELOAD=str(Path(atheris.path()) / "asan_with_fuzzer.so"),
        ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1",
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
    )
    started = time.time()
    run = subprocess.run(
        [sys.executable, __file__, "--worker", str(extension), "--minutes", str(args.minutes)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    log = run.stdout + run.stderr
    (OUT / "fuzz.log").write_text(log)
    stats = dict(re.findall(r"stat::(\w+):\s+(\d+)", log))
    coverage = re.findall(r"cov: (\d+) ft: (\d+)", log)
    finding = run.returncode != 0 or "ERROR: AddressSanitizer" in log or "runtime error" in log
    result = {
        "seconds": round(time.time() - started, 1),
        "executions": int(stats.get("number_of_executed_units", 0)),
        "coverage_edges": int(coverage[-1][0]) if coverage else None,
        "features": int(coverage[-1][1]) if coverage else None,
        "peak_rss_mb": int(stats.get("peak_rss_mb", 0)),
        "exit_code": run.returncode,
        "findings": int(finding),
        "sanitizers": "address,undefined",
    }
    path = ROOT / "bench" / "results" / "fuzz_brio.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if finding:
        print(log[-4000:])
        sys.exit(1)


if __name__ == "__main__":
    main()
