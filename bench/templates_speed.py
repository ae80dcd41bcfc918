"""Template matching speed: ``python bench/templates_speed.py``.

The library: every template discovery finds in all shared corpora (logs,
json, chat, chat2; every cluster, min_count 1), topped up to 2,000 with
variants of those templates (a literal word changed), so that the index is as
crowded as a real 2,000-template library. The built-in library is left out.

Per message, the time of the template codec's encode (index lookup, every
candidate tried, the best payload built: a match or a miss), on chat/test and
on every log line, with 2,000 templates.

How the cost grows with the library: libraries of 10, 100, 500, 1,000 and
2,000 templates that all contain the 10 templates matching most messages of
the corpus, timed on the same two groups of messages: those one of these 10
matches, and those no template of the 2,000 matches. Each group then has the
same outcome at every size, so only the library's size changes.

Encode time against message size (``by_size``): profiles trained with
``auracodec train`` on chat/train.jsonl and on the ten log files; messages of
16 KiB to 4 MiB cut from chat/test messages (joined by blank lines) and from
the log files (one line after another), encoded by the template codec with
its size limit lifted (``max_message_size`` = 8 MiB), so that the matcher
itself is timed. CPU time (``time.process_time``), the best of two rounds:
µs per KiB in all (``us_per_kib``) and without the remainder codec's
encoding (``own_us_per_kib``: the remainder codec is wrapped and its time
taken off), and, on the same message in the same run, the ratio to BRIO's
own encode of it (``Pipeline.from_config(profile).codecs["brio"].encode``).
With the default limit (64 KiB) a 4 MiB message is declined at once
(``declined_us``). Up to 256 KiB, the old behaviour too (below), whose time
per KiB grew with the size (``every_candidate_us_per_kib``).

Remainder coded once (``remainder_once``): the template codec codes only the
remainder of the candidate with the smallest estimated payload. The old
behaviour, coding every candidate's remainder and keeping the smallest
payload, is rebuilt here from the matcher's parts (``every_candidate``) and
timed on the same messages: chat/test and chat2/test with profiles trained on
their train.jsonl, the json corpus and the ten log files with profiles
trained on them (in-sample). For each: the template codec alone (messages
matched, payload bytes, CPU time, calls to the remainder codec) and the
profile's whole pipeline with the ``smallest`` policy (frame bytes, CPU
time), both ways; then the
template codec alone with the 2,000-template library above (BRIO of each
profile as the remainder codec), where candidates multiply.

Writes bench/results/templates_speed.json.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from _common import CORPUS, corpus, train_profile, write

from auracodec import Pipeline
from auracodec.core.config import Config
from auracodec.core.corpus import read_corpus
from auracodec.plugin import BindContext, Codec
from auracodec.plugins.binary_semantic import BinarySemanticCodec
from auracodec.plugins.binary_semantic import matcher as _matcher
from auracodec.plugins.binary_semantic.discovery import Learner
from auracodec.plugins.binary_semantic.library import parse_template
from auracodec.plugins.binary_semantic.matcher import TemplateSet
from auracodec.plugins.binary_semantic.normalizers import BUILTIN, declarations

TYPES = {name: cls() for name, cls in BUILTIN.items()}
SIZES = (10, 100, 500, 1000, 2000)
KIB = 1024
MESSAGE_SIZES = (16 * KIB, 64 * KIB, 256 * KIB, 1024 * KIB, 4096 * KIB)
LIFTED = 8 << 20


def build_library(target: int = 2000) -> list:
    learner = Learner(TYPES, min_count=1, max_templates=65536)
    paths = [
        *CORPUS.rglob("*_2k.log"),
        CORPUS / "json" / "messages.jsonl",
        CORPUS / "chat" / "train.jsonl",
        CORPUS / "chat2" / "train.jsonl",
    ]
    learner.observe(s.data for s in read_corpus(paths))
    learner.update()
    real = [t for t in learner.library if not t.retired]
    rng = random.Random(42)
    out = list(real)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    while len(out) < target:
        base = rng.choice(real)
        tokens = base.text.split(" ")
        plain = [i for i, tok in enumerate(tokens) if tok.isalpha()]
        if not plain:
            continue
        tokens[rng.choice(plain)] = rng.choice(words) + str(len(out))
        try:
            out.append(parse_template(len(out), " ".join(tokens), TYPES))
        except ValueError:
            continue
    return out[:target], len(real)


def median_us(tset: TemplateSet, messages: list[bytes], rounds: int = 3) -> tuple[float, float]:
    """Median time per message (the best of ``rounds`` passes) and the hit rate."""
    clock = time.perf_counter_ns
    best = None
    hits = 0
    for _ in range(rounds):
        times = []
        hits = 0
        for m in messages:
            t0 = clock()
            hit = tset.encode(m) is not None
            times.append(clock() - t0)
            hits += hit
        med = statistics.median(times) / 1000
        best = med if best is None else min(best, med)
    return best, hits / len(messages)


class Timed:
    """A remainder codec that times (CPU) and counts the encodes it passes on."""

    name = "timed"

    def __init__(self, inner: Codec) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0

    def encode(self, message: bytes) -> bytes | None:
        start = time.process_time()
        out = self.inner.encode(message)
        self.seconds += time.process_time() - start
        self.calls += 1
        return out

    def decode(self, payload: bytes, limit: int) -> bytes:
        return self.inner.decode(payload, limit)


def bound_codec(profile: Path, remainder: Codec, limit: int) -> BinarySemanticCodec:
    """The profile's template codec (built-in and trained library), with
    ``remainder`` as its remainder codec and ``limit`` as its size limit."""
    codec = BinarySemanticCodec(
        libraries=[profile / "templates.toml"], remainder_codec="timed", max_message_size=limit
    )
    normalizers = {n.name: n for n in declarations()}
    codec.bind(BindContext(codecs={"timed": remainder}, normalizers=normalizers))
    return codec


def excerpt(messages: list[bytes], size: int, separator: bytes) -> bytes:
    out = bytearray()
    i = 0
    while len(out) < size:
        out += messages[i % len(messages)] + separator
        i += 1
    return bytes(out[:size])


def cpu(fn: object, rounds: int = 2) -> tuple[float, object]:
    """The best CPU time of ``rounds`` calls of ``fn`` and its result."""
    best, result = float("inf"), None
    for _ in range(rounds):
        start = time.process_time()
        result = fn()  # type: ignore[operator]
        best = min(best, time.process_time() - start)
    return best, result


def by_size(profile: Path, messages: list[bytes], separator: bytes) -> dict[str, object]:
    brio = Pipeline.from_config(profile).codecs["brio"]
    timed = Timed(brio)
    codec = bound_codec(profile, timed, LIFTED)
    rows: dict[str, object] = {}
    for size in MESSAGE_SIZES:
        message = excerpt(messages, size, separator)
        seconds = own = float("inf")
        for _ in range(2):  # the best of two rounds, in all and without the remainder
            timed.seconds, timed.calls = 0.0, 0
            start = time.process_time()
            payload = codec.encode(message)
            took = time.process_time() - start
            seconds, own = min(seconds, took), min(own, took - timed.seconds)
        brio_seconds, _ = cpu(lambda m=message: brio.encode(m))
        kib = size / KIB
        row: dict[str, object] = {
            "us_per_kib": round(seconds * 1e6 / kib, 1),
            "own_us_per_kib": round(own * 1e6 / kib, 2),
            "remainder_calls": timed.calls,
            "matched": payload is not None,
            "brio_us_per_kib": round(brio_seconds * 1e6 / kib, 1),
            "ratio_to_brio": round(seconds / brio_seconds, 3),
            "own_ratio_to_brio": round(own / brio_seconds, 4),
        }
        if size <= 256 * KIB:  # beyond, coding every candidate takes minutes
            timed.calls = 0
            before, _ = cpu(lambda m=message: every_candidate(codec.templates, m), rounds=1)
            row["every_candidate_us_per_kib"] = round(before * 1e6 / kib, 1)
            row["every_candidate_remainder_calls"] = timed.calls
        rows[f"{size // KIB}_KiB"] = row
        print(f"  {size // KIB} KiB: {rows[f'{size // KIB}_KiB']}")
    default = Pipeline.from_config(profile).codecs["binary_semantic"]
    seconds, payload = cpu(lambda: default.encode(message))
    assert payload is None
    rows["declined_us"] = round(seconds * 1e6, 1)
    return rows


# -- the old behaviour, for comparison only ----------------------------------------------


def every_candidate(tset: TemplateSet, msg: bytes) -> bytes | None:
    """What the template codec did before it coded one remainder: every plan of
    every candidate coded (remainder and long values), the smallest payload
    within the ratio cap kept. Built from the matcher's own parts."""
    best = None
    for c in tset.candidates(msg):
        payload = _every_plan(tset, c, msg)
        if payload is None or len(msg) > tset.budget(c, len(payload)):
            continue
        if best is None or len(payload) < len(best):
            best = payload
    return best


def _every_plan(tset: TemplateSet, c: Any, msg: bytes) -> bytes | None:
    m = c.match(msg, 0)
    if m is not None and m[0] == len(msg):
        return tset._build(tset._estimate(c, _matcher._FULL, 0, len(msg), m[1], 0), msg)
    if not tset._partial:
        return None
    best = None
    if m is not None:
        plan = tset._estimate(c, _matcher._PREFIX, 0, m[0], m[1], 0)
        best = tset._build(plan, msg)
    leading = c.leading
    start = msg.find(leading, 1) if leading is not None else -1
    if start > 0:
        m = c.match(msg, start)
        if m is not None:
            mode = _matcher._SUFFIX if m[0] == len(msg) else _matcher._INFIX
            plan = tset._estimate(c, mode, start, m[0], m[1], 0)
            payload = tset._build(plan, msg)
            if best is None or len(payload) < len(best):
                best = payload
    return best


def alone(tset: TemplateSet, timed: Timed, messages: list[bytes], every: bool) -> dict:
    """The template codec on every message: the best CPU time of three rounds,
    and of it the time in the remainder codec."""
    encode = (lambda m: every_candidate(tset, m)) if every else tset.encode
    seconds = in_remainder = float("inf")
    for _ in range(3):
        timed.calls, timed.seconds = 0, 0.0
        start = time.process_time()
        payloads = [encode(m) for m in messages]
        took = time.process_time() - start
        if took < seconds:
            seconds, in_remainder = took, timed.seconds
    return {
        "matched": sum(p is not None for p in payloads),
        "bytes": sum(len(p) for p in payloads if p is not None),
        "cpu_s": round(seconds, 3),
        "remainder_calls": timed.calls,
        "remainder_cpu_s": round(in_remainder, 3),
    }


def pipeline(pipe: Pipeline, messages: list[bytes], every: bool) -> dict:
    tset = pipe.codecs["binary_semantic"].templates  # type: ignore[attr-defined]
    if every:  # the instance's encode, for this comparison only
        tset.encode = lambda m: every_candidate(tset, m)
    try:
        start = time.process_time()
        frames = [pipe.encode(m) for m in messages]
        seconds = time.process_time() - start
    finally:
        tset.__dict__.pop("encode", None)
    return {"bytes": sum(map(len, frames)), "cpu_s": round(seconds, 3)}


def remainder_once(
    profile: Path, messages: list[bytes], library: list
) -> dict[str, dict[str, object]]:
    brio = Pipeline.from_config(profile).codecs["brio"]
    timed = Timed(brio)
    tset = bound_codec(profile, timed, _matcher.DEFAULT_MAX_MESSAGE_SIZE).templates
    big = TemplateSet(library, TYPES, timed)
    # The pipeline keeps the smallest frame, so that every byte the template
    # codec loses where it wins shows (the cost policy's choices vary from run
    # to run with the CPU times it measures).
    table = tomllib.loads((profile / "auracodec.toml").read_text(encoding="utf-8"))
    table["selector"] = {"policy": "smallest"}
    pipe = Pipeline.from_config(Config.from_mapping(table, base=profile / "auracodec.toml"))
    out: dict[str, dict[str, object]] = {}
    for label, fn in (
        ("alone", lambda every: alone(tset, timed, messages, every)),
        ("pipeline", lambda every: pipeline(pipe, messages, every)),
        ("alone_2000_templates", lambda every: alone(big, timed, messages, every)),
    ):
        fn(False)  # warm up
        every, once = fn(True), fn(False)
        out[label] = {
            "every_candidate": every,
            "once": once,
            "bytes_lost": once["bytes"] - every["bytes"],
            "cpu_saved_s": round(every["cpu_s"] - once["cpu_s"], 3),
        }
        if "remainder_cpu_s" in once:
            saved = every["remainder_cpu_s"] - once["remainder_cpu_s"]
            out[label]["remainder_cpu_saved_s"] = round(saved, 3)
        print(f"  {label}: {out[label]}")
    return out


def main() -> None:
    library, real = build_library()
    chat = [s.data for s in corpus("chat", "test.jsonl")]
    logs = [s.data for s in read_corpus(sorted(CORPUS.rglob("*_2k.log")))]
    results: dict[str, object] = {"templates_discovered": real, "library": len(library)}
    for name, messages in (("chat_test", chat), ("logs", logs)):
        full = TemplateSet(library, TYPES)
        us, rate = median_us(full, messages)
        print(f"{name}: 2000 templates, every message: median {us:.2f} us, hit rate {rate:.1%}")
        report: dict[str, object] = {"median_us_2000": round(us, 2), "hit_rate": round(rate, 4)}
        # The 10 templates that match most messages, and the two groups.
        for m in messages:
            full.encode(m)
        top = {tid for tid, _ in full.hits.most_common(10)}
        core = [t for t in library if t.id in top]
        rest = [t for t in library if t.id not in top]
        ten = TemplateSet(core, TYPES)
        matched = [m for m in messages if ten.encode(m) is not None]
        missed = [m for m in messages if full.encode(m) is None]
        for group, sample in (("matched_by_top10", matched), ("matched_by_none", missed)):
            if not sample:
                continue
            times = {}
            for size in SIZES:
                tset = TemplateSet(core + rest[: size - len(core)], TYPES)
                times[size], _ = median_us(tset, sample)
            growth = times[2000] / times[10]
            print(
                f"{name}: {group} ({len(sample)} messages): "
                + ", ".join(f"{s}: {t:.2f} us" for s, t in times.items())
                + f"; x{growth:.2f} from 10 to 2,000"
            )
            report[group] = {
                "messages": len(sample),
                "median_us": times,
                "growth_10_to_2000": round(growth, 3),
            }
        results[name] = report
    with tempfile.TemporaryDirectory() as tmp:
        profiles = {
            name: train_profile(source, Path(tmp) / name)
            for name, source in (
                ("chat", CORPUS / "chat" / "train.jsonl"),
                ("chat2", CORPUS / "chat2" / "train.jsonl"),
                ("json", CORPUS / "json"),
                ("logs", CORPUS / "logs"),
            )
        }
        sizes: dict[str, object] = {}
        for name, messages, separator in (("chat", chat, b"\n\n"), ("logs", logs, b"\n")):
            print(f"by size, {name}:")
            sizes[name] = by_size(profiles[name], messages, separator)
        results["by_size"] = sizes
        tests = {
            "chat": chat,
            "chat2": [s.data for s in corpus("chat2", "test.jsonl")],
            "json": [s.data for s in corpus("json")],
            "logs": logs,
        }
        once: dict[str, object] = {}
        for name, messages in tests.items():
            print(f"remainder once, {name} ({len(messages)} messages):")
            once[name] = remainder_once(profiles[name], messages, library)
        results["remainder_once"] = once
    print("wrote", write("templates_speed.json", results))


if __name__ == "__main__":
    main()
