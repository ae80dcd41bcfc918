"""Profiles sized for clients (issue 11, part 3): ``python bench/profiles_size.py``.

A browser downloads a profile before it decodes anything. For each point of
a grid of training settings (BRIO's ``model_size``, ``apm2_bits`` and export
precision, zstd's ``dictionary_size``) and for ``--size`` client, server and
300KB, a profile is trained on chat/train as ``auracodec train`` trains it,
and measured on chat/test:

* transfer: the files a client needs (auracodec.toml, brio.model, zstd.dict,
  templates.toml; not costs.json or templates.state.json), each as identity,
  gzip -9 and brotli 11; served = the smallest per file, as an HTTP server
  with precompressed files sends it (``Content-Encoding``);
* bytes of the pipeline on chat/test, stateless and in sessions (a client and
  a server session per conversation, one context per direction), with the
  exhaustive ``smallest`` policy (what the codecs can do) and the default
  ``cost`` policy (what a server running the profile sends; its choices
  depend on CPU times measured on this machine); BRIO alone, stateless;
* against zstd-19 with a 112 KiB dictionary trained on chat/train (bare,
  minimal frame, stateless: bench/_common.py) and permessage-deflate in
  sessions (websockets' defaults, context takeover);
* break-even: messages of chat/test, in sessions, until the bytes saved
  repay the download (core/sizing.py: ``break_even``): against
  permessage-deflate (nothing to download), and against zstd-19 + dictionary,
  whose dictionary is downloaded too (its served size is subtracted).

Writes bench/results/profiles_size.json.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
import brotli
import zstandard
from _common import DICT_SIZE, bare_zstd, corpus, write

from auracodec import Pipeline
from auracodec.benchmark import permessage_deflate_sizes, session_sizes
from auracodec.core.config import Config
from auracodec.core.corpus import Sample
from auracodec.core.errors import ConfigError
from auracodec.core.sizing import (
    FileTransfer,
    break_even,
    parse_size,
    settings_for,
    transfer_size,
)
from auracodec.core.training import train

KiB = 1024
MiB = 1024 * 1024
# The precision and APM shape of the client preset (core/sizing.py).
COARSE = {"apm2_bits": 6, "apm_precision": 5, "node_precision": 4}
FREE = {"apm_precision": 7, "node_precision": 6}


def point(label: str, model: int, dictionary: int, **brio: int) -> tuple[str, dict[str, Any]]:
    tables = {
        "codecs": {
            "brio": {"model_size": model, **brio},
            "zstd": {"dictionary_size": dictionary},
        }
    }
    return label, tables


# Not the full grid: today's settings over the model sizes of the issue, the
# client precision over the sizes it can reach, the dictionary sizes at a
# few of them, and the precision alone at 1 and 8 MiB.
GRID = [
    *(point(f"{n} full", s, DICT_SIZE) for n, s in [("64K", 64 * KiB), ("128K", 128 * KiB)]),
    *(
        point(f"{n} full", s, DICT_SIZE)
        for n, s in [("256K", 256 * KiB), ("512K", 512 * KiB), ("1M", MiB), ("2M", 2 * MiB)]
    ),
    point("8M full", 8 * MiB, DICT_SIZE),
    point("8M ap7 np6", 8 * MiB, DICT_SIZE, **FREE),
    point("1M ap7 np6", MiB, DICT_SIZE, **FREE),
    *(
        point(f"{n} coarse d16K", s, 16 * KiB, **COARSE)
        for n, s in [
            ("256K", 256 * KiB),
            ("384K", 384 * KiB),
            ("416K", 416 * KiB),
            ("448K", 448 * KiB),
            ("512K", 512 * KiB),
            ("640K", 640 * KiB),
            ("1M", MiB),
            ("2M", 2 * MiB),
        ]
    ),
    *(
        point(f"{n} coarse d{d // KiB}K", s, d, **COARSE)
        for n, s in [("448K", 448 * KiB), ("1M", MiB)]
        for d in (32 * KiB, DICT_SIZE)
    ),
    point("8M coarse d112K", 8 * MiB, DICT_SIZE, **COARSE),
]
PRESETS = [("client", "client"), ("server", "server"), ("300KB", "300KB")]


def pipeline_bytes(pipe: Pipeline, samples: list[Sample]) -> dict[str, int]:
    stateless = 0
    for s in samples:
        frame = pipe.encode(s.data)
        assert pipe.decode_bytes(frame) == s.data
        stateless += len(frame)
    return {"stateless": stateless, "sessions": sum(session_sizes(samples, pipe))}


def measure(profile: Path, test: list[Sample], base: dict[str, Any]) -> dict[str, Any]:
    config = Config.load(profile)
    artifacts = {"brio": ["model"], "zstd": ["dictionary"], "binary_semantic": ["libraries"]}
    transfer = transfer_size(config, artifacts)
    n = len(test)
    raw = sum(len(s.data) for s in test)
    out: dict[str, Any] = {
        "model_bytes": (profile / "brio.model").stat().st_size,
        "dictionary_bytes": (profile / "zstd.dict").stat().st_size,
        "transfer": transfer.to_dict(),
    }
    smallest = Pipeline.from_config(profile_with(config, "smallest"))
    brio = Pipeline.from_config(profile_with(config, "smallest"), codecs=["brio"])
    out["brio_alone_stateless_ratio"] = round(raw / sum(len(brio.encode(s.data)) for s in test), 4)
    served = transfer.served
    for policy, pipe in (("smallest", smallest), ("cost", Pipeline.from_config(profile))):
        b = pipeline_bytes(pipe, test)
        row: dict[str, Any] = {}
        for mode, total in b.items():
            row[mode] = {
                "bytes": total,
                "ratio": round(raw / total, 4),
                "vs_zstd19_dict": round(total / base["zstd19_dict_bytes"], 4),
                "vs_deflate": round(total / base["deflate_session_bytes"], 4),
            }
        s_bytes = b["sessions"]
        row["break_even_messages"] = {
            "permessage_deflate": break_even(served, base["deflate_session_bytes"] - s_bytes, n),
            "zstd19_dict": break_even(
                served - base["zstd19_dict_served"], base["zstd19_dict_bytes"] - s_bytes, n
            ),
        }
        out[policy] = row
    return out


def profile_with(config: Config, policy: str) -> Config:
    return attrs.evolve(config, policy=policy)


def line(label: str, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{label:22s} not trainable: {r['error']}"
    s, c = r["smallest"], r["cost"]
    return (
        f"{label:22s} model {r['model_bytes'] / KiB:7.0f} KiB  transfer "
        f"{r['transfer']['served'] / 1000:7.1f} KB  brio {r['brio_alone_stateless_ratio']:.2f}  "
        f"smallest sess {s['sessions']['vs_zstd19_dict']:.3f}x zstd  "
        f"stl {s['stateless']['vs_zstd19_dict']:.3f}x  "
        f"b/e {s['break_even_messages']['permessage_deflate']} / "
        f"{s['break_even_messages']['zstd19_dict']}  |  cost sess "
        f"{c['sessions']['vs_zstd19_dict']:.3f}x stl {c['stateless']['vs_zstd19_dict']:.3f}x "
        f"b/e {c['break_even_messages']['permessage_deflate']} / "
        f"{c['break_even_messages']['zstd19_dict']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="labels of the grid points to run")
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    args = parser.parse_args()
    train_samples = corpus("chat", "train.jsonl")
    test = corpus("chat", "test.jsonl")
    dictionary = zstandard.train_dictionary(DICT_SIZE, [s.data for s in train_samples])
    zc, _ = bare_zstd([], dictionary=dictionary)
    zstd_dict = served(dictionary.as_bytes())
    deflate = sum(permessage_deflate_sizes(test)[0])
    base: dict[str, Any] = {
        "messages": len(test),
        "bytes": sum(len(s.data) for s in test),
        "zstd19_dict_bytes": sum(len(zc.compress(s.data)) for s in test),
        "zstd19_dict_served": zstd_dict.served,
        "zstd19_dict_transfer": {
            "identity": zstd_dict.identity,
            "gzip": zstd_dict.gzip,
            "br": zstd_dict.brotli,
        },
        "deflate_session_bytes": deflate,
    }
    print(
        f"chat/test: {base['messages']} messages, {base['bytes']} bytes; zstd-19 + 112 KiB "
        f"dict {base['zstd19_dict_bytes']} (dictionary served {zstd_dict.served}); "
        f"permessage-deflate in sessions {deflate}",
        flush=True,
    )
    points: list[tuple[str, dict[str, Any]]] = [
        (label, {"training": {"size": size}}) for label, size in PRESETS
    ] + GRID
    if args.only:
        points = [p for p in points if p[0] in args.only]
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, tables) in enumerate(points):
            out = Path(tmp) / f"p{i}"
            start = time.process_time()
            try:
                train(train_samples, out, config=Config.from_mapping(tables))
            except ConfigError as exc:
                rows[label] = {"settings": tables, "error": str(exc)}
                print(line(label, rows[label]), flush=True)
                continue
            took = time.process_time() - start
            rows[label] = {"settings": tables, "train_cpu_s": round(took, 1)}
            rows[label].update(measure(out, test, base))
            print(line(label, rows[label]), flush=True)
    presets = {
        size: {"settings": settings_for(parse_size(size)), "targets": targets(rows[label])}
        for label, size in PRESETS
        if label in rows and "error" not in rows[label]
    }
    for size, p in presets.items():
        print(f"{size}: {p['settings'] or 'the codecs defaults'}; targets: {p['targets']}")
    if not args.no_write:
        data = {"corpus": "chat", "baselines": base, "presets": presets, **rows}
        print("wrote", write("profiles_size.json", data))


def targets(row: dict[str, Any]) -> dict[str, bool]:
    """The issue's three numbers for a client profile, with ``smallest``
    (what the codecs can do), stateless and in sessions."""
    s = row["smallest"]
    return {
        "transfer_at_most_300KB": row["transfer"]["served"] <= 300_000,
        "at_most_0.8x_zstd19_dict": max(
            s["stateless"]["vs_zstd19_dict"], s["sessions"]["vs_zstd19_dict"]
        )
        <= 0.8,
        "repaid_within_8000_messages": (s["break_even_messages"]["permessage_deflate"] or 1e9)
        <= 8000,
    }


def served(data: bytes) -> FileTransfer:
    """The zstd-19 baseline's dictionary, as served."""
    return FileTransfer(
        "zstd-19 baseline dictionary",
        len(data),
        len(gzip.compress(data, 9, mtime=0)),
        len(brotli.compress(data, quality=11)),
    )


if __name__ == "__main__":
    main()
