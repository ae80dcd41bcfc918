"""Memory of N worker processes that load one profile: ``python bench/workers.py``.

Profile: ``--profile DIR``, else ``auracodec train`` on chat/train.jsonl (the
default, server size: an 8 MiB BRIO model) into a temporary directory; its
files are flushed to disk first (pages of a file just written are dirty in
the page cache, and smaps would count them as dirty). For N = 1, 2, 4, 8,
three ways of starting the workers:

* ``spawn``: N fresh interpreters (``python bench/workers.py --worker``),
  each loads the profile (``Pipeline.from_config``), as separate server
  processes do;
* ``fork``: the parent loads the profile, then forks N children (a
  pre-forking server);
* ``spawn, model read``: as ``spawn``, but BRIO's model is read into a
  ``bytes`` object instead of mapped: what every worker would hold if the
  model were loaded by copying (the contrast).

Every worker then encodes and decodes 300 messages of chat/test, stateless
and in sessions, and waits; once all N are ready, the parent reads each
one's ``/proc/<pid>/smaps_rollup`` (Rss, Pss, Private_Clean + Private_Dirty)
and, in ``/proc/<pid>/smaps``, the mapping of ``brio.model``; the worker
reports ``Model.memory_size`` (the model's private allocations: the expanded
TD table, mixer weights; with the model read, the file's size is added: the
bytes object is a copy of it). The model's memory per worker is its private
bytes (in the mapping and allocated), and the growth per worker is the slope,
from N = 1 to N = 8, of the model's memory in all: the sum of its Pss over
every process that maps it (a forking parent too) plus their private
allocations. Whole-process Pss and private memory are given beside it.

Writes bench/results/workers.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import mmap
import os
import re
import select
import subprocess
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

from _common import CORPUS, corpus, train_profile, write

HERE = Path(__file__).resolve()
COUNTS = (1, 2, 4, 8)
MESSAGES = 300
FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty", "Shared_Clean", "Shared_Dirty")


def smaps_fields(text: str) -> dict[str, int]:
    """The ``kB`` fields of one smaps block (or smaps_rollup), in bytes."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"(\w+):\s+(\d+) kB", line)
        if m and m[1] in FIELDS:
            out[m[1]] = int(m[2]) * 1024
    return out


def process_memory(pid: int, mapped: str) -> dict[str, Any]:
    """Whole-process figures and those of the mappings of file ``mapped``."""
    rollup = smaps_fields(Path(f"/proc/{pid}/smaps_rollup").read_text())
    model = dict.fromkeys(FIELDS, 0)
    blocks = re.split(r"\n(?=[0-9a-f]+-[0-9a-f]+ )", Path(f"/proc/{pid}/smaps").read_text())
    for block in blocks:
        if block.split("\n", 1)[0].endswith(mapped):
            for k, v in smaps_fields(block).items():
                model[k] += v
    return {
        "rss": rollup["Rss"],
        "pss": rollup["Pss"],
        "private": rollup["Private_Clean"] + rollup["Private_Dirty"],
        "model_mapping": {
            "rss": model["Rss"],
            "pss": model["Pss"],
            "private": model["Private_Clean"] + model["Private_Dirty"],
            "shared": model["Shared_Clean"] + model["Shared_Dirty"],
        },
    }


def load(profile: str, read_model: bool) -> Any:
    from auracodec import Pipeline

    if read_model:
        # The contrast: the plugin reads the model file into a bytes object
        # (private to this process) where it maps it; the C model reads a
        # read-only buffer in place either way.
        from auracodec.plugins import brio

        def read(fileno: int, length: int, access: int) -> bytes:
            return os.pread(fileno, os.fstat(fileno).st_size, 0)

        brio.mmap = types.SimpleNamespace(mmap=read, ACCESS_READ=mmap.ACCESS_READ)  # type: ignore[attr-defined]
    return Pipeline.from_config(profile)


def work(pipe: Any) -> int:
    """Encode and decode chat/test messages, stateless and in sessions; return
    the model's private allocations."""
    samples = corpus("chat", "test.jsonl")[:MESSAGES]
    client, server = pipe.session(), pipe.session()
    for s in samples:
        assert pipe.decode_bytes(pipe.encode(s.data)) == s.data
        assert server.decode_bytes(client.encode(s.data)) == s.data
    return int(pipe.codecs["brio"].model.memory_size)


def worker(profile: str, read_model: bool) -> None:
    """A spawned worker: load, work, say so, wait until stdin closes."""
    private = work(load(profile, read_model))
    if read_model:  # the bytes object: a private copy of the file
        private += (Path(profile) / "brio.model").stat().st_size
    print(json.dumps({"ready": True, "model_private": private}), flush=True)
    sys.stdin.read()


def run_spawned(profile: str, n: int, read_model: bool) -> list[dict[str, Any]]:
    command = [sys.executable, str(HERE), "--worker", profile]
    if read_model:
        command.append("--read-model")
    procs = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(n)
    ]
    try:
        reports = []
        for p in procs:
            assert p.stdout is not None
            reports.append(json.loads(p.stdout.readline()))
        return [
            {**process_memory(p.pid, "/brio.model"), "model_private": r["model_private"]}
            for p, r in zip(procs, reports, strict=True)
        ]
    finally:
        for p in procs:
            assert p.stdin is not None
            p.stdin.close()
            p.wait()


def run_forked(profile: str, n: int) -> list[dict[str, Any]]:
    """The children, then the parent (which maps the model too)."""
    pipe = load(profile, read_model=False)
    parent_private = work(pipe)
    children = []
    for _ in range(n):
        ready_r, ready_w = os.pipe()
        done_r, done_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: work, report, wait for the parent
            os.close(ready_r)
            os.close(done_w)
            private = work(pipe)
            os.write(ready_w, json.dumps({"model_private": private}).encode() + b"\n")
            os.read(done_r, 1)
            os._exit(0)
        os.close(ready_w)
        os.close(done_r)
        children.append((pid, ready_r, done_w))
    try:
        rows = []
        for pid, ready_r, _ in children:
            select.select([ready_r], [], [], 300)
            report = json.loads(os.read(ready_r, 4096))
            rows.append({**process_memory(pid, "/brio.model"), **report})
        parent = process_memory(os.getpid(), "/brio.model")
        return [*rows, {**parent, "model_private": parent_private, "parent": True}]
    finally:
        for pid, ready_r, done_w in children:
            os.write(done_w, b"x")
            os.close(done_w)
            os.close(ready_r)
            os.waitpid(pid, 0)


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Sums over the workers; the model's over every process that maps it
    (a forking parent too: its share of the mapping is the model's)."""
    workers = [r for r in rows if not r.get("parent")]
    model_pss = sum(r["model_mapping"]["pss"] for r in rows)
    return {
        "workers": len(workers),
        "per_worker": workers,
        "parent": next((r for r in rows if r.get("parent")), None),
        "sum_pss": sum(r["pss"] for r in workers),
        "sum_private": sum(r["private"] for r in workers),
        "model_pss_sum": model_pss,
        "model_private_per_worker_max": max(
            r["model_mapping"]["private"] + r["model_private"] for r in workers
        ),
        # What the model holds in all: one copy of the mapping (the sum of
        # its Pss) plus each process's private allocations (and copies).
        "model_memory_sum": model_pss + sum(r["model_private"] for r in rows),
    }


def growth(cases: dict[int, dict[str, Any]], key: str) -> float:
    lo, hi = min(cases), max(cases)
    return (cases[hi][key] - cases[lo][key]) / (hi - lo)


def flush(profile: Path) -> None:
    """Write the profile's dirty pages to disk, as a deployed profile's are."""
    for f in profile.iterdir():
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", help="a trained profile (default: train one on chat)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--read-model", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.read_model)
        return
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(
            args.profile or train_profile(CORPUS / "chat" / "train.jsonl", Path(tmp) / "chat")
        )
        # Training leaves its pipelines to the garbage collector (cycles): until
        # they go, this process maps the model too and takes a share of its Pss.
        gc.collect()
        if any(
            line.endswith("/brio.model") for line in Path("/proc/self/maps").read_text().split("\n")
        ):
            sys.exit("this process still maps brio.model: the workers' figures would be off")
        flush(profile)
        model_bytes = (profile / "brio.model").stat().st_size
        results: dict[str, Any] = {
            "profile": "chat/train.jsonl" if not args.profile else str(profile),
            "model_bytes": model_bytes,
            "messages_per_worker": MESSAGES,
        }
        for mode in ("spawn", "fork", "spawn, model read"):
            cases: dict[int, dict[str, Any]] = {}
            for n in COUNTS:
                if mode == "fork":
                    rows = run_forked(str(profile), n)
                else:
                    rows = run_spawned(str(profile), n, read_model=mode != "spawn")
                cases[n] = summary(rows)
                c = cases[n]
                print(
                    f"{mode:18s} N={n}: Pss {c['sum_pss'] / 2**20:6.1f} MiB in all, private "
                    f"{c['sum_private'] / n / 2**20:5.1f} MiB per worker; model: Pss "
                    f"{c['model_pss_sum'] / 2**20:5.2f} MiB in all, private "
                    f"{c['model_private_per_worker_max'] / 2**20:5.2f} MiB per worker at most",
                    flush=True,
                )
            results[mode] = {
                "by_workers": {str(n): c for n, c in cases.items()},
                "model_growth_per_worker": round(growth(cases, "model_memory_sum")),
                "pss_growth_per_worker": round(growth(cases, "sum_pss")),
                "private_growth_per_worker": round(growth(cases, "sum_private")),
            }
            r = results[mode]
            print(
                f"{mode}: per added worker, the model {r['model_growth_per_worker'] / 2**20:.2f} "
                f"MiB, Pss {r['pss_growth_per_worker'] / 2**20:.1f} MiB, private "
                f"{r['private_growth_per_worker'] / 2**20:.1f} MiB",
                flush=True,
            )
    if not args.no_write:
        print(write("workers.json", results))


if __name__ == "__main__":
    main()
