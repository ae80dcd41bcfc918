"""Templates on logs and on free text (issue 3), in one run: ``python bench/logs.py``.

Per loghub system: ``auracodec train`` on the first 1,000 lines, then the
last 1,000 lines, each message alone (stateless):

* the baseline: zstd level 19 with a 112 KB dictionary trained on the same
  1,000 lines, minimal frame (no method byte);
* templates + zstd: the pipeline restricted to binary_semantic and zstd;
* the full pipeline (templates, BRIO, zstd, brotli).

Then the same profile kind on chat and chat2 (train on train.jsonl, test on
test.jsonl), with and without the template codec: templates must never cost
bytes on free text; the template hit rate is reported.

Writes bench/results/logs.json.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

from _common import CORPUS, LOG_SYSTEMS, bare_zstd, corpus, exhaustive, write

from auracodec import Pipeline
from auracodec.core.corpus import Sample, read_corpus
from auracodec.core.training import train


def quiet_train(samples: list[Sample], where: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # low-variability notes: not the point here
        return train(samples, where).config_path


def system(name: str, where: Path) -> dict[str, object]:
    lines = [s.data for s in read_corpus([CORPUS / "logs" / name / f"{name}_2k.log"])]
    head, tail = lines[:1000], lines[-1000:]
    profile = quiet_train([Sample(m) for m in head], where / name)
    cctx, _ = bare_zstd(head)
    base = sum(len(cctx.compress(m)) for m in tail)
    raw = sum(map(len, tail))
    out: dict[str, object] = {
        "bytes": raw,
        "zstd19_dict": base,
        "zstd19_dict_ratio": round(raw / base, 4),
    }
    for label, only in (("templates_zstd", ["binary_semantic", "zstd"]), ("pipeline", None)):
        pipe = Pipeline.from_config(exhaustive(profile), codecs=only)
        frames = [pipe.encode(m) for m in tail]
        assert [pipe.decode_bytes(f) for f in frames] == tail
        size = sum(map(len, frames))
        methods: dict[str, int] = {}
        for f in frames:
            methods[pipe.method_of(f)] = methods.get(pipe.method_of(f), 0) + 1
        stats = pipe.stats.codecs.get("binary_semantic", {})
        out[label] = {
            "bytes": size,
            "ratio": round(raw / size, 4),
            "over_zstd19_dict": round(size / base, 4),
            "methods": methods,
            "template_hit_rate": stats.get("hit_rate"),
        }
    return out


def free_text(split: str, where: Path) -> dict[str, object]:
    profile = quiet_train(corpus(split, "train.jsonl"), where / split)
    test = [s.data for s in corpus(split, "test.jsonl")]
    with_t = Pipeline.from_config(exhaustive(profile))
    without = Pipeline.from_config(
        exhaustive(profile), codecs=[n for n in with_t.codecs if n != "binary_semantic"]
    )
    a = [len(with_t.encode(m)) for m in test]
    b = [len(without.encode(m)) for m in test]
    stats = with_t.stats.codecs["binary_semantic"]
    return {
        "bytes_with_templates": sum(a),
        "bytes_without": sum(b),
        "messages_where_templates_cost_bytes": sum(x > y for x, y in zip(a, b, strict=True)),
        "template_hit_rate": stats["hit_rate"],
        "frames_by_templates": sum(
            1 for m in test if with_t.method_of(with_t.encode(m)) == "binary_semantic"
        ),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        systems = {name: system(name, where) for name in LOG_SYSTEMS}
        text = {split: free_text(split, where) for split in ("chat", "chat2")}
    total = {k: sum(s[k] for s in systems.values()) for k in ("bytes", "zstd19_dict")}
    summary: dict[str, object] = {
        "zstd19_dict_ratio": round(total["bytes"] / total["zstd19_dict"], 4)
    }
    for label in ("templates_zstd", "pipeline"):
        size = sum(s[label]["bytes"] for s in systems.values())  # type: ignore[index]
        summary[label] = {
            "ratio": round(total["bytes"] / size, 4),
            "over_zstd19_dict": round(size / total["zstd19_dict"], 4),
        }
    print(
        f"{'system':12s} {'zstd+dict':>9s} {'templates+zstd':>15s} {'pipeline':>9s} "
        f"{'pipe/zstd':>9s} {'hit rate':>8s}"
    )
    for name, s in systems.items():
        t, p = s["templates_zstd"], s["pipeline"]
        print(
            f"{name:12s} {s['zstd19_dict_ratio']:9.2f} {t['ratio']:15.2f} {p['ratio']:9.2f} "
            f"{p['over_zstd19_dict']:9.3f} {t['template_hit_rate']:8.1%}"
        )
    print(
        f"{'all':12s} {summary['zstd19_dict_ratio']:9.2f} "
        f"{summary['templates_zstd']['ratio']:15.2f} {summary['pipeline']['ratio']:9.2f} "
        f"{summary['pipeline']['over_zstd19_dict']:9.3f}"
    )
    for split, r in text.items():
        print(
            f"{split}: with templates {r['bytes_with_templates']} bytes, without "
            f"{r['bytes_without']}; messages where templates cost bytes: "
            f"{r['messages_where_templates_cost_bytes']}; hit rate {r['template_hit_rate']:.1%}"
        )
    print("wrote", write("logs.json", {"systems": systems, "all": summary, "free_text": text}))


if __name__ == "__main__":
    main()
