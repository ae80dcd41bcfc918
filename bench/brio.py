"""BRIO's numbers (issue 4), in one run: ``python bench/brio.py``.

For chat and chat2: a profile trained by ``auracodec train`` on train.jsonl;
BRIO alone on test.jsonl against zstd level 19 with a 112 KB dictionary
trained on the same split, minimal frame (both payloads without a method
byte): bytes overall, under 256 bytes, per size bucket; time of BRIO's
encoding and decoding of the whole test set against the time zstd takes to
encode it (interleaved rounds, median). Then every shared corpus through the
full pipeline with BRIO: no message grows by more than one byte and every one
decodes.

Writes bench/results/brio.json.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import CORPUS, bare_zstd, corpus, write

from auracodec import Pipeline
from auracodec.benchmark import BUCKETS
from auracodec.cli import main as cli
from auracodec.core.corpus import read_corpus


def rounds(functions: dict[str, object], n: int = 7) -> dict[str, float]:
    """Median seconds of each function over ``n`` rounds, order rotated per round."""
    names = list(functions)
    times: dict[str, list[float]] = {k: [] for k in names}
    for r in range(n):
        for k in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            functions[k]()  # type: ignore[operator]
            times[k].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def measure(split: str, where: Path) -> dict[str, object]:
    profile = where / split
    if cli(["train", str(CORPUS / split / "train.jsonl"), "-o", str(profile)]):
        sys.exit(f"auracodec train failed for {split}")
    train = [s.data for s in corpus(split, "train.jsonl")]
    test = [s.data for s in corpus(split, "test.jsonl")]
    cctx, _ = bare_zstd(train)
    brio = Pipeline.from_config(profile).codecs["brio"]
    zsizes = [len(cctx.compress(m)) for m in test]
    payloads = [brio.encode(m) for m in test]
    assert all(brio.decode(p, len(m)) == m for p, m in zip(payloads, test, strict=True))
    bsizes = list(map(len, payloads))

    def share(pick: object) -> float:
        idx = [i for i, m in enumerate(test) if pick(len(m))]  # type: ignore[operator]
        return sum(bsizes[i] for i in idx) / sum(zsizes[i] for i in idx)

    buckets = {
        label: round(share(lambda n, lo=lo, hi=hi: lo <= n <= hi), 4)
        for label, lo, hi in BUCKETS
        if any(lo <= len(m) <= hi for m in test)
    }
    pairs = list(zip(payloads, map(len, test), strict=True))
    t = rounds(
        {
            "zstd_encode": lambda: [cctx.compress(m) for m in test],
            "brio_encode": lambda: [brio.encode(m) for m in test],
            "brio_decode": lambda: [brio.decode(p, n) for p, n in pairs],
        }
    )
    raw = sum(map(len, test))
    model = (profile / "brio.model").stat().st_size
    return {
        "messages": len(test),
        "bytes": raw,
        "zstd19_dict_bytes": sum(zsizes),
        "zstd19_dict_ratio": round(raw / sum(zsizes), 4),
        "brio_bytes": sum(bsizes),
        "brio_ratio": round(raw / sum(bsizes), 4),
        "brio_over_zstd": round(sum(bsizes) / sum(zsizes), 4),
        "brio_over_zstd_under_256": round(share(lambda n: n < 256), 4),
        "brio_over_zstd_by_bucket": buckets,
        "encode_time_over_zstd_encode": round(t["brio_encode"] / t["zstd_encode"], 3),
        "decode_time_over_zstd_encode": round(t["brio_decode"] / t["zstd_encode"], 3),
        "zstd_encode_us_per_message": round(t["zstd_encode"] / len(test) * 1e6, 2),
        "model_bytes": model,
        "targets_met": sum(bsizes) <= 0.85 * sum(zsizes)
        and share(lambda n: n < 256) <= 0.65
        and t["brio_encode"] <= 6 * t["zstd_encode"]
        and t["brio_decode"] <= 6 * t["zstd_encode"],
    }


def every_corpus(profile: Path) -> dict[str, int]:
    pipe = Pipeline.from_config(profile)
    assert "brio" in pipe.codecs
    paths = sorted([*CORPUS.rglob("*.jsonl"), *CORPUS.rglob("*_2k.log")])
    messages = expanded = failures = 0
    brio_frames = 0
    for s in read_corpus(paths):
        frame = pipe.encode(s.data)
        messages += 1
        expanded += len(frame) > len(s.data) + 1
        failures += pipe.decode_bytes(frame) != s.data
        brio_frames += pipe.method_of(frame) == "brio"
    return {
        "messages": messages,
        "expanded_beyond_one_byte": expanded,
        "round_trip_failures": failures,
        "frames_by_brio": brio_frames,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = {split: measure(split, Path(tmp)) for split in ("chat", "chat2")}
        results["every_corpus_chat_profile"] = every_corpus(Path(tmp) / "chat")
    for split in ("chat", "chat2"):
        r = results[split]
        print(
            f"{split}: BRIO {r['brio_ratio']} vs zstd-19+dict {r['zstd19_dict_ratio']}: "
            f"x{r['brio_over_zstd']} bytes (under 256 B: x{r['brio_over_zstd_under_256']}); "
            f"encode x{r['encode_time_over_zstd_encode']}, decode "
            f"x{r['decode_time_over_zstd_encode']} of zstd's encode time; "
            f"buckets {r['brio_over_zstd_by_bucket']}"
        )
    print(results["every_corpus_chat_profile"])
    print("wrote", write("brio.json", results))


if __name__ == "__main__":
    main()
