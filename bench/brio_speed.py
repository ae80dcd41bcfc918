"""BRIO's speed against the build it replaced: ``python bench/brio_speed.py``.

Builds the baseline (every BRIO C file of commit ``a61b78a``, compiled with
``cc -O3`` into a temporary directory and imported as
``auracodec_baseline._brio``), trains a baseline model with it and a new model
with the current build on the same train.jsonl of chat and chat2 (with the
parameters and session keys ``auracodec train`` uses), then on test.jsonl
measures, in interleaved rounds (median of CPU time, ``time.process_time``):

* encode and decode time of the whole test set, both builds: speedup and
  microseconds per byte; stateless, and in a session (one context per
  conversation and direction, messages in order, as the pipeline's sessions);
* bytes of both builds (the new build's share of the baseline's);
* microseconds per message by message size (per-message setup costs).

Writes bench/results/brio_speed.json. ``--rounds`` and ``--cache DIR``
(keep the trained models between runs) are for development.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from _common import ROOT, corpus, write

from auracodec.core.corpus import Sample
from auracodec.plugins.brio import _brio

BASELINE = "a61b78a"
SRC = "src/auracodec/plugins/brio"
SIZES = ((1, 40), (41, 160), (161, 640), (641, 1 << 30))


def build_baseline(where: Path) -> ModuleType:
    """The BRIO extension of commit BASELINE, built from its C files."""
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", BASELINE, f"{SRC}/"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    sources = []
    for name in names:
        if name.endswith((".c", ".h")):
            text = subprocess.run(
                ["git", "show", f"{BASELINE}:{name}"], cwd=ROOT, check=True, capture_output=True
            ).stdout
            path = where / Path(name).name
            path.write_bytes(text)
            if name.endswith(".c"):
                sources.append(str(path))
    target = where / f"_brio{sysconfig.get_config_var('EXT_SUFFIX')}"
    include = sysconfig.get_paths()["include"]
    cmd = ["cc", "-shared", "-fPIC", "-O3", "-std=c11", f"-I{include}", *sources, "-o", str(target)]
    subprocess.run(cmd, check=True)
    spec = importlib.util.spec_from_file_location("auracodec_baseline._brio", target)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train(module: ModuleType, samples: Sequence[Sample]) -> bytes:
    """A model trained as ``auracodec train`` trains BRIO (plugin defaults)."""
    samples = [s for s in samples if s.data]
    sessions = [(s.conv, s.direction) if s.conv is not None else i for i, s in enumerate(samples)]
    blob: bytes = module.train([s.data for s in samples], sessions=sessions, model_size=8 << 20)
    return blob


def conversations(samples: Sequence[Sample]) -> list[list[bytes]]:
    """The test messages of each conversation and direction, in order."""
    groups: dict[object, list[bytes]] = {}
    for i, s in enumerate(samples):
        groups.setdefault((s.conv, s.direction) if s.conv is not None else i, []).append(s.data)
    return list(groups.values())


def cpu_rounds(functions: dict[str, Callable[[], object]], n: int) -> dict[str, float]:
    """Median CPU seconds of each function over n rounds, order rotated per round."""
    names = list(functions)
    times: dict[str, list[float]] = {k: [] for k in names}
    for r in range(n):
        for k in names[r % len(names) :] + names[: r % len(names)]:
            start = time.process_time()
            functions[k]()
            times[k].append(time.process_time() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def coders(model: object, test: list[bytes], convs: list[list[bytes]]) -> dict[str, object]:
    """Payloads of the test set, stateless and in sessions, and the timed functions."""
    encode, decode = model.encode, model.decode  # type: ignore[attr-defined]
    payloads = [encode(m) for m in test]
    pairs = [(p, len(m)) for p, m in zip(payloads, test, strict=True) if p is not None]
    for (p, n), m in zip(pairs, (m for p, m in zip(payloads, test, strict=True) if p), strict=True):
        assert decode(p, n) == m
    spay: list[list[bytes]] = []
    for conv in convs:
        ctx = model.context()  # type: ignore[attr-defined]
        spay.append([ctx.encode(m) for m in conv])
    for conv, pays in zip(convs, spay, strict=True):
        ctx = model.context()  # type: ignore[attr-defined]
        for m, p in zip(conv, pays, strict=True):
            assert p is not None and ctx.decode(p, len(m)) == m

    def session_encode() -> None:
        for conv in convs:
            enc = model.context().encode  # type: ignore[attr-defined]
            for m in conv:
                enc(m)

    def session_decode() -> None:
        for conv, pays in zip(convs, spay, strict=True):
            dec = model.context().decode  # type: ignore[attr-defined]
            for m, p in zip(conv, pays, strict=True):
                dec(p, len(m))

    return {
        "bytes": sum(len(p) for p in payloads if p is not None),
        "declined": sum(p is None for p in payloads),
        "session_bytes": sum(len(p) for pays in spay for p in pays),
        "encode": lambda: [encode(m) for m in test],
        "decode": lambda: [decode(p, n) for p, n in pairs],
        "session_encode": session_encode,
        "session_decode": session_decode,
        "pairs": pairs,
        "by_index": {
            i: (p, len(m)) for i, (p, m) in enumerate(zip(payloads, test, strict=True)) if p
        },
        "_encode": encode,
        "_decode": decode,
    }


def measure(split: str, base: ModuleType, rounds: int, cache: Path | None) -> dict[str, object]:
    train_set = corpus(split, "train.jsonl")
    samples = [s for s in corpus(split, "test.jsonl") if s.data]
    test = [s.data for s in samples]
    convs = conversations(samples)
    blobs = {}
    train_seconds = {}
    for label, module in (("baseline", base), ("new", _brio)):
        path = cache / f"{split}-{label}.model" if cache else None
        if path and path.exists() and label == "baseline":
            blobs[label] = path.read_bytes()
            continue
        start = time.process_time()
        blobs[label] = train(module, train_set)
        train_seconds[label] = round(time.process_time() - start, 2)
        if path:
            path.write_bytes(blobs[label])
    old = coders(base.Model(blobs["baseline"]), test, convs)
    new = coders(_brio.Model(blobs["new"]), test, convs)
    kinds = ("encode", "decode", "session_encode", "session_decode")
    functions = {f"{w}_{k}": c[k] for k in kinds for w, c in (("old", old), ("new", new))}
    t = cpu_rounds(functions, rounds)  # type: ignore[arg-type]
    raw = sum(map(len, test))
    out: dict[str, object] = {
        "messages": len(test),
        "bytes": raw,
        "conversations": len(convs),
        "train_cpu_seconds": train_seconds,
        "baseline_bytes": old["bytes"],
        "new_bytes": new["bytes"],
        "bytes_new_over_baseline": round(new["bytes"] / old["bytes"], 4),  # type: ignore[operator]
        "baseline_session_bytes": old["session_bytes"],
        "new_session_bytes": new["session_bytes"],
        "session_bytes_new_over_baseline": round(
            new["session_bytes"] / old["session_bytes"],  # type: ignore[operator]
            4,
        ),
        "declined": {"baseline": old["declined"], "new": new["declined"]},
    }
    for k in kinds:
        out[f"{k}_speedup"] = round(t[f"old_{k}"] / t[f"new_{k}"], 2)
        out[f"{k}_us_per_byte"] = {
            "baseline": round(t[f"old_{k}"] / raw * 1e6, 4),
            "new": round(t[f"new_{k}"] / raw * 1e6, 4),
        }
    out["us_per_message_by_size"] = by_size(old, new, test, rounds)
    return out


def by_size(
    old: dict[str, object], new: dict[str, object], test: list[bytes], rounds: int
) -> dict[str, object]:
    """Stateless encode and decode, microseconds per message, per size bucket."""
    out: dict[str, object] = {}
    for lo, hi in SIZES:
        idx = [i for i, m in enumerate(test) if lo <= len(m) <= hi]
        if not idx:
            continue
        label = f"{lo}-{hi}" if hi < 1 << 30 else f">={lo}"
        fns: dict[str, Callable[[], object]] = {}
        for w, c in (("old", old), ("new", new)):
            pairs: dict[int, tuple[bytes, int]] = c["by_index"]  # type: ignore[assignment]
            msgs = [test[i] for i in idx]
            sub = [pairs[i] for i in idx if i in pairs]
            enc, dec = c["_encode"], c["_decode"]
            fns[f"{w}_enc"] = lambda enc=enc, msgs=msgs: [enc(m) for m in msgs]  # type: ignore[misc]
            fns[f"{w}_dec"] = lambda dec=dec, sub=sub: [dec(p, n) for p, n in sub]  # type: ignore[misc]
        t = cpu_rounds(fns, rounds)
        n = len(idx)
        out[label] = {
            "messages": n,
            "mean_bytes": round(sum(len(test[i]) for i in idx) / n, 1),
            **{k: round(v / n * 1e6, 2) for k, v in sorted(t.items())},
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cache", type=Path, help="keep trained models here (development)")
    parser.add_argument("--split", action="append", help="chat, chat2 (default: both)")
    args = parser.parse_args()
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = build_baseline(Path(tmp))
        results: dict[str, object] = {"baseline_commit": BASELINE}
        for split in args.split or ("chat", "chat2"):
            results[split] = r = measure(split, base, args.rounds, args.cache)
            print(f"{split}: {r['messages']} messages, {r['bytes']} bytes")
            print(f"  {'':16} {'speedup':>8} {'us/B old':>9} {'us/B new':>9}")
            for k in ("encode", "decode", "session_encode", "session_decode"):
                us = r[f"{k}_us_per_byte"]
                print(f"  {k:16} {r[f'{k}_speedup']:>8} {us['baseline']:>9} {us['new']:>9}")  # type: ignore[index]
            print(
                f"  bytes new/old: stateless {r['bytes_new_over_baseline']}, "
                f"session {r['session_bytes_new_over_baseline']}; train s {r['train_cpu_seconds']}"
            )
            for label, v in r["us_per_message_by_size"].items():  # type: ignore[attr-defined]
                print(f"  us/message {label:>10}: {v}")
    if not args.cache and not args.split:
        print("wrote", write("brio_speed.json", results))
    else:
        print(results)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
