"""What the prometheus observer costs: ``python bench/metrics_overhead.py``.

A zstd-only pipeline (``codecs=["zstd"]``, no dictionary) encodes the
messages of chat/test.jsonl, with and without ``[observers.prometheus]`` (its
own registry), in interleaved rounds whose order flips every round; each
round's time is process CPU time. The figure is the median of
time(with observer) / time(without). Goal: at most 1.05.

Writes bench/results/metrics_overhead.json.
"""

from __future__ import annotations

import statistics
import sys
import time
from importlib import metadata

from _common import CORPUS, corpus, write

from auracodec import Pipeline
from auracodec.core.config import Config

ROUNDS = 21


def main() -> None:
    if not (CORPUS / "chat" / "test.jsonl").exists():
        sys.exit(f"skipped: {CORPUS / 'chat' / 'test.jsonl'} not found (set AURACODEC_CORPUS)")
    messages = [s.data for s in corpus("chat", "test.jsonl")]
    import auracodec.plugins.metrics as metrics_plugin

    # Register the plugin in code where this checkout is not installed with its entry point.
    names = {ep.name for ep in metadata.entry_points(group="auracodec.plugins")}
    extra = [] if "metrics" in names else [("metrics", metrics_plugin)]
    plain = Pipeline.from_config(codecs=["zstd"])
    observed = Pipeline.from_config(
        Config.from_mapping({"observers": {"prometheus": {"registry": "own"}}}),
        codecs=["zstd"],
        plugins=extra,
    )

    def run(pipe: Pipeline) -> float:
        encode = pipe.encode
        start = time.process_time()
        for m in messages:
            encode(m)
        return time.process_time() - start

    run(plain), run(observed)  # warm-up
    ratios, t_plain, t_obs = [], [], []
    for i in range(ROUNDS):
        order = [(plain, t_plain), (observed, t_obs)]
        if i % 2:
            order.reverse()
        for pipe, times in order:
            times.append(run(pipe))
        ratios.append(t_obs[-1] / t_plain[-1])
    n = len(messages)
    result = {
        "messages": n,
        "rounds": ROUNDS,
        "plain_us_per_message": round(statistics.median(t_plain) / n * 1e6, 2),
        "observed_us_per_message": round(statistics.median(t_obs) / n * 1e6, 2),
        "ratio_median": round(statistics.median(ratios), 4),
        "ratio_min": round(min(ratios), 4),
        "ratio_max": round(max(ratios), 4),
        "goal": 1.05,
    }
    path = write("metrics_overhead.json", result)
    print(result)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
