"""BRIO's numbers (issue 4), in one run: ``python bench/brio.py``.

For chat and chat2: a profile trained by ``auracodec train`` on train.jsonl;
BRIO alone on test.jsonl against zstd level 19 with a 112 KB dictionary
trained on the same split, minimal frame (both payloads without a method
byte): bytes overall, under 256 bytes, per size bucket; time of BRIO's
encoding and decoding of the whole test set against the time zstd takes to
encode it (interleaved rounds, median). Messages BRIO declines (beyond its
output-to-payload ratio cap, docs/brio.md section 1.3) count at zstd's size,
and their share is recorded. Then every shared corpus through the full
pipeline with BRIO: no message grows by more than one byte and every one
decodes. Last, the cap on a bomb: 4 MiB of one letter in a 2.2 KB payload,
decoded with and without the cap.

Writes bench/results/brio.json.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from _common import CORPUS, bare_zstd, corpus, train_profile, write

from auracodec import DecodeError, Pipeline
from auracodec.benchmark import BUCKETS
from auracodec.core.corpus import read_corpus
from auracodec.plugins.brio import _brio


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
    profile = train_profile(CORPUS / split / "train.jsonl", where / split)
    train = [s.data for s in corpus(split, "train.jsonl")]
    test = [s.data for s in corpus(split, "test.jsonl")]
    cctx, _ = bare_zstd(train)
    brio = Pipeline.from_config(profile).codecs["brio"]
    zsizes = [len(cctx.compress(m)) for m in test]
    payloads = [brio.encode(m) for m in test]
    for p, m in zip(payloads, test, strict=True):
        assert p is None or brio.decode(p, len(m)) == m
    # a declined message (beyond the ratio cap) goes by zstd
    bsizes = [len(p) if p is not None else z for p, z in zip(payloads, zsizes, strict=True)]
    declined = sum(p is None for p in payloads)

    def share(pick: object) -> float:
        idx = [i for i, m in enumerate(test) if pick(len(m))]  # type: ignore[operator]
        return sum(bsizes[i] for i in idx) / sum(zsizes[i] for i in idx)

    buckets = {
        label: round(share(lambda n, lo=lo, hi=hi: lo <= n <= hi), 4)
        for label, lo, hi in BUCKETS
        if any(lo <= len(m) <= hi for m in test)
    }
    pairs = [(p, len(m)) for p, m in zip(payloads, test, strict=True) if p is not None]
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
        "brio_declined_beyond_ratio_cap": declined,
        "brio_declined_share": round(declined / len(test), 5),
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


def every_corpus(profile: Path) -> dict[str, object]:
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


def ratio_cap() -> dict[str, object]:
    """The issue's bomb: 4 MiB of one letter in about 2.2 KB, decoded by the
    neutral model without the cap and with the default one (stateless and in
    a session context)."""
    message = b"a" * (4 << 20)
    uncapped, capped = _brio.Model(None, max_ratio=0), _brio.Model(None)
    payload = uncapped.encode(message)
    assert payload is not None and capped.encode(message) is None
    out: dict[str, object] = {
        "max_ratio": capped.max_ratio,
        "slack": _brio.RATIO_SLACK,
        "bomb_payload_bytes": len(payload),
    }
    for label, model in (("uncapped", uncapped), ("capped", capped)):
        for where, decode in (("", model.decode), ("_session", model.context().decode)):
            start = time.perf_counter()
            try:
                decode(payload, 8 << 20)
            except DecodeError:
                pass
            out[f"bomb_decode_ms_{label}{where}"] = round((time.perf_counter() - start) * 1e3, 1)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = {split: measure(split, Path(tmp)) for split in ("chat", "chat2")}
        results["every_corpus_chat_profile"] = every_corpus(Path(tmp) / "chat")
    results["ratio_cap"] = ratio_cap()
    for split in ("chat", "chat2"):
        r = results[split]
        print(
            f"{split}: BRIO {r['brio_ratio']} vs zstd-19+dict {r['zstd19_dict_ratio']}: "
            f"x{r['brio_over_zstd']} bytes (under 256 B: x{r['brio_over_zstd_under_256']}); "
            f"encode x{r['encode_time_over_zstd_encode']}, decode "
            f"x{r['decode_time_over_zstd_encode']} of zstd's encode time; "
            f"buckets {r['brio_over_zstd_by_bucket']}; "
            f"declined (ratio cap) {r['brio_declined_beyond_ratio_cap']}"
        )
    print(results["every_corpus_chat_profile"])
    print(results["ratio_cap"])
    print("wrote", write("brio.json", results))


if __name__ == "__main__":
    main()
