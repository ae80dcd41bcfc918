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

Writes bench/results/templates_speed.json.
"""

from __future__ import annotations

import random
import statistics
import time

from _common import CORPUS, corpus, write

from auracodec.core.corpus import read_corpus
from auracodec.plugins.binary_semantic.discovery import Learner
from auracodec.plugins.binary_semantic.library import parse_template
from auracodec.plugins.binary_semantic.matcher import TemplateSet
from auracodec.plugins.binary_semantic.normalizers import BUILTIN

TYPES = {name: cls() for name, cls in BUILTIN.items()}
SIZES = (10, 100, 500, 1000, 2000)


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
    print("wrote", write("templates_speed.json", results))


if __name__ == "__main__":
    main()
