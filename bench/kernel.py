"""The kernel's numbers (issue 2), measured in one run: ``python bench/kernel.py``.

1. Trained zstd: on chat/test and chat2/test, a profile trained by
   ``auracodec train`` on the matching train.jsonl, the pipeline restricted to
   zstd, against bare zstd-19 with a 112 KB dictionary trained on the same
   split, minimal frame, plus one method byte per message.
2. Untrained defaults against brotli-5 alone, per size bucket.
3. Framework overhead: the zstd-only pipeline's encode and decode against
   the bare python-zstandard calls on the same messages (time ratios from
   interleaved rounds; the bare decoder gets the same output-buffer guess as
   the codec, so the ratio is the framework's cost alone).
4. Every shared corpus through the default and a trained pipeline: no
   message expands by more than one byte, none fails to round-trip.

Writes bench/results/kernel.json.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from _common import CORPUS, bare_zstd, corpus, interleaved_ratio, train_profile, write

from auracodec import Pipeline
from auracodec.benchmark import BUCKETS, bucket_of


def split_profile(split: str, where: Path) -> Path:
    return train_profile(CORPUS / split / "train.jsonl", where / split)


def by_bucket(messages: list[bytes], sizes: list[int]) -> dict[str, float]:
    acc: dict[str, list[int]] = {}
    for m, n in zip(messages, sizes, strict=True):
        a = acc.setdefault(bucket_of(len(m)), [0, 0])
        a[0] += len(m)
        a[1] += n
    return {
        label: round(acc[label][0] / acc[label][1], 4) for label, _, _ in BUCKETS if label in acc
    }


def trained_zstd(split: str, profile: Path) -> dict[str, object]:
    train = [s.data for s in corpus(split, "train.jsonl")]
    test = [s.data for s in corpus(split, "test.jsonl")]
    cctx, _ = bare_zstd(train)
    bare = [len(cctx.compress(m)) for m in test]
    pipe = Pipeline.from_config(profile, codecs=["zstd"])
    frames = [pipe.encode(m) for m in test]
    assert all(pipe.decode_bytes(f) == m for f, m in zip(frames, test, strict=True))
    raw = sum(map(len, test))
    ours = sum(map(len, frames))
    bare_plus_byte = sum(bare) + len(test)
    return {
        "messages": len(test),
        "bytes": raw,
        "bare_zstd19_dict_minimal_frame": {"bytes": sum(bare), "ratio": round(raw / sum(bare), 4)},
        "bare_plus_method_byte": {"bytes": bare_plus_byte, "ratio": round(raw / bare_plus_byte, 4)},
        "pipeline_zstd_only": {
            "bytes": ours,
            "ratio": round(raw / ours, 4),
            "by_bucket": by_bucket(test, [len(f) for f in frames]),
        },
        "pipeline_over_bare_plus_byte": round(ours / bare_plus_byte, 4),
        "target_met": ours <= bare_plus_byte,
    }


def defaults_vs_brotli(split: str) -> dict[str, object]:
    import brotli

    test = [s.data for s in corpus(split, "test.jsonl")]
    pipe = Pipeline.from_config()
    ours = by_bucket(test, [len(pipe.encode(m)) for m in test])
    b5 = by_bucket(test, [len(brotli.compress(m, quality=5)) for m in test])
    return {
        "pipeline_default": ours,
        "brotli5": b5,
        "beats_brotli5_in_every_bucket": all(ours[k] > b5[k] for k in b5),
    }


def overhead(split: str, profile: Path) -> dict[str, object]:
    train = [s.data for s in corpus(split, "train.jsonl")]
    test = [s.data for s in corpus(split, "test.jsonl")]
    pipe = Pipeline.from_config(profile, codecs=["zstd"])
    # The same dictionary as the profile's, so both sides do identical zstd work.
    cctx, dctx = bare_zstd(train)
    frames = [pipe.encode(m) for m in test]
    bare_frames = [cctx.compress(m) for m in test]
    limit = pipe.max_message_size
    caps = [min(limit, max(4096, 64 * len(f))) for f in bare_frames]

    def pipe_encode() -> None:
        for m in test:
            pipe.encode(m)

    def bare_encode() -> None:
        for m in test:
            cctx.compress(m)

    def pipe_decode() -> None:
        for f in frames:
            pipe.decode_bytes(f)

    def bare_decode() -> None:
        for f, cap in zip(bare_frames, caps, strict=True):
            dctx.decompress(f, max_output_size=cap)

    enc = interleaved_ratio(pipe_encode, bare_encode, rounds=7)
    dec = interleaved_ratio(pipe_decode, bare_decode, rounds=31)
    return {
        "encode_ratio_median": round(enc[0], 3),
        "encode_ratio_range": [round(enc[1], 3), round(enc[2], 3)],
        "decode_ratio_median": round(dec[0], 3),
        "decode_ratio_range": [round(dec[1], 3), round(dec[2], 3)],
        "target_met": enc[0] <= 1.25 and dec[0] <= 1.25,
    }


def every_corpus(profile: Path) -> dict[str, object]:
    paths = sorted([p for p in CORPUS.rglob("*.jsonl")] + [p for p in CORPUS.rglob("*_2k.log")])
    pipes = {"default": Pipeline.from_config(), "trained_chat": Pipeline.from_config(profile)}
    report: dict[str, object] = {}
    for name, pipe in pipes.items():
        messages = expanded = failures = 0
        worst = 0
        for path in paths:
            from auracodec.core.corpus import read_corpus

            for s in read_corpus([path]):
                frame = pipe.encode(s.data)
                messages += 1
                worst = max(worst, len(frame) - len(s.data))
                expanded += len(frame) > len(s.data) + 1
                failures += pipe.decode_bytes(frame) != s.data
        report[name] = {
            "files": len(paths),
            "messages": messages,
            "expanded_beyond_one_byte": expanded,
            "largest_expansion": worst,
            "round_trip_failures": failures,
        }
    return report


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        profiles = {split: split_profile(split, Path(tmp)) for split in ("chat", "chat2")}
        results = {
            "trained_zstd": {s: trained_zstd(s, p) for s, p in profiles.items()},
            "defaults_vs_brotli5": {s: defaults_vs_brotli(s) for s in profiles},
            "overhead": {s: overhead(s, p) for s, p in profiles.items()},
            "every_corpus": every_corpus(profiles["chat"]),
        }
    path = write("kernel.json", results)
    for split, r in results["trained_zstd"].items():
        bare = r["bare_zstd19_dict_minimal_frame"]["ratio"]
        print(
            f"{split}: pipeline(zstd) ratio {r['pipeline_zstd_only']['ratio']} vs bare+1 "
            f"{r['bare_plus_method_byte']['ratio']} (bare {bare}); "
            f"bytes x{r['pipeline_over_bare_plus_byte']}"
        )
    for split, r in results["defaults_vs_brotli5"].items():
        print(
            f"{split}: defaults {r['pipeline_default']} brotli-5 {r['brotli5']} "
            f"beats every bucket: {r['beats_brotli5_in_every_bucket']}"
        )
    for split, r in results["overhead"].items():
        print(
            f"{split}: overhead encode x{r['encode_ratio_median']} "
            f"decode x{r['decode_ratio_median']}"
        )
    print(results["every_corpus"])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
