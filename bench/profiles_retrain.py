"""Retraining into a profile store (issue 11): ``python bench/profiles_retrain.py [CORPUS...]``.

For each corpus (chat, chat2, json, logs; default all), as a user runs it:

1. ``auracodec train V1_SPLIT --store STORE``: v1 on the first half of the
   train split, into a new store;
2. the test split encoded with v1 (``--config STORE``, its current version):
   every message as a stateless frame, and every stream (a conversation's
   direction, the json corpus as one stream, a log system) through one
   v1 session;
3. ``auracodec train TRAIN_SPLIT --store STORE --from V1``: v2 continued from
   v1 on the whole train split, made current;
4. every v1 frame decoded with v1's pipeline loaded afresh from the store
   (``STORE@<v1 prefix>``), through ``ProfileStore.pipelines()`` (the mapping
   a server holds), and after a rollback (``profiles select`` of v1, then
   ``STORE``). A failure is a frame that raises or decodes to other bytes;
   the target is 0. For contrast, how many v1 frames v2 alone would fail.

Also: templates kept (every v1 template id has the same text in v2), the
fingerprint each version's manifest records against a pipeline built from it,
``verify`` of both versions, and the training state's size against the
corpus's and the version's (the state holds training messages verbatim and
stays out of the version).

What each artifact of v2 reveals of its training messages: how many of
them (of at least 20 bytes) each file holds whole, how many the training
state lets one rebuild exactly (a miner cluster seen once keeps every token
and separator), and the share of the zstd dictionary's 32-byte blocks that
occur verbatim in the corpus.

Splits: chat and chat2 have train and test files; json has one file (every
third message is test, the rest train); logs: the first 1,000 lines of each
loghub system train (v1: the first 500 of each), the last 1,000 test.

Writes bench/results/profiles_retrain.json.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from _common import CORPUS, LOG_SYSTEMS, corpus, write

from auracodec import DecodeError, Pipeline
from auracodec.cli import main as cli
from auracodec.core.corpus import Sample, read_corpus
from auracodec.core.store import ProfileStore

Split = tuple[list[Sample], list[Sample], list[Sample]]  # v1 train, v2 train, test
Streams = list[list[bytes]]


def split_chat(name: str) -> tuple[Split, Streams]:
    train = corpus(name, "train.jsonl")
    test = corpus(name, "test.jsonl")
    streams: dict[tuple[str | None, str], list[bytes]] = defaultdict(list)
    for s in test:
        streams[(s.conv, s.direction)].append(s.data)
    return (train[: len(train) // 2], train, test), list(streams.values())


def split_json() -> tuple[Split, Streams]:
    samples = corpus("json", "messages.jsonl")
    train = [s for i, s in enumerate(samples) if i % 3 != 2]
    test = [s for i, s in enumerate(samples) if i % 3 == 2]
    return (train[: len(train) // 2], train, test), [[s.data for s in test]]


def split_logs() -> tuple[Split, Streams]:
    v1: list[Sample] = []
    v2: list[Sample] = []
    test: list[Sample] = []
    streams: Streams = []
    for name in LOG_SYSTEMS:
        path = CORPUS / "logs" / name / f"{name}_2k.log"
        if not path.exists():
            sys.exit(f"corpus not found: {path} (set AURACODEC_CORPUS)")
        lines = read_corpus([path])
        v1 += lines[:500]
        v2 += lines[:1000]
        test += lines[-1000:]
        streams.append([s.data for s in lines[-1000:]])
    return (v1, v2, test), streams


SPLITS: dict[str, Callable[[], tuple[Split, Streams]]] = {
    "chat": lambda: split_chat("chat"),
    "chat2": lambda: split_chat("chat2"),
    "json": split_json,
    "logs": split_logs,
}


def dump(samples: Sequence[Sample], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for s in samples:
            record = {"text": s.data.decode("utf-8", "surrogateescape")}
            if s.conv is not None:
                record["conv"] = s.conv
            if s.role is not None:
                record["role"] = s.role
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def command(*argv: str) -> str:
    """Run ``auracodec ARGV`` in-process; its stdout; exits if it fails."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli(list(argv))
    if code:
        sys.exit(f"auracodec {' '.join(argv)} failed with {code}")
    return out.getvalue()


def failures(pipe: Pipeline, messages: list[bytes], frames: list[bytes]) -> int:
    bad = 0
    for m, f in zip(messages, frames, strict=True):
        try:
            bad += pipe.decode_bytes(f) != m
        except DecodeError:
            bad += 1
    return bad


def session_failures(pipe: Pipeline, streams: Streams, frames: list[list[bytes]]) -> int:
    bad = 0
    for messages, stream in zip(streams, frames, strict=True):
        session = pipe.session()
        for i, (m, f) in enumerate(zip(messages, stream, strict=True)):
            try:
                ok = session.decode_bytes(f) == m
            except DecodeError:
                ok = False
            if not ok:  # a session cannot go on past a frame it did not take
                bad += len(messages) - i
                break
    return bad


def templates(profile: Path) -> dict[int, str]:
    path = profile / "templates.toml"
    if not path.exists():
        return {}
    return {t["id"]: t["text"] for t in tomllib.loads(path.read_text(encoding="utf-8"))["template"]}


def exposure(store: ProfileStore, vid: str, samples: Sequence[Sample]) -> dict[str, object]:
    """What the version ``vid`` and its training state reveal of ``samples``."""
    distinct = {s.data for s in samples if len(s.data) >= 20}
    whole = {}
    for f in store.manifest(vid).files:
        data = (store.path(vid) / f.name).read_bytes()
        whole[f.name] = sum(m in data for m in distinct)
    state = json.loads((store.state_path(vid) / "templates.state.json").read_text())
    texts = {m.decode("utf-8", "surrogateescape") for m in distinct}
    rebuilt = 0
    for c in state["clusters"]:
        tokens, seps = c["tokens"], c["separators"]
        if None in tokens or None in seps:
            continue
        text = "".join(t + (seps[i] if i < len(seps) else "") for i, t in enumerate(tokens))
        rebuilt += text in texts
    blocks = 0
    found = 0
    dictionary = store.path(vid) / "zstd.dict"
    if dictionary.exists():
        d = dictionary.read_bytes()
        corpus_text = b"\n".join(s.data for s in samples)
        for i in range(0, len(d) - 32, 32):
            blocks += 1
            found += d[i : i + 32] in corpus_text
    return {
        "messages_20_bytes_or_more": len(distinct),
        "held_whole_by_file": whole,
        "rebuilt_exactly_from_training_state": rebuilt,
        "zstd_dict_32_byte_blocks_verbatim": round(found / blocks, 3) if blocks else None,
    }


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_one(name: str, work: Path) -> dict[str, object]:
    (v1_train, v2_train, test), streams = SPLITS[name]()
    root = work / name / "store"
    (work / name).mkdir(parents=True)
    start = time.perf_counter()
    v1 = command("train", str(dump(v1_train, work / name / "v1.jsonl")), "--store", str(root))
    v1 = v1.strip()
    v1_seconds = time.perf_counter() - start
    encoder = Pipeline.from_config(root)
    messages = [s.data for s in test]
    frames = [encoder.encode(m) for m in messages]
    session_frames = []
    for stream in streams:
        session = encoder.session()
        session_frames.append([session.encode(m) for m in stream])
    start = time.perf_counter()
    v2 = command(
        "train",
        str(dump(v2_train, work / name / "v2.jsonl")),
        "--store",
        str(root),
        "--from",
        v1[:12],
    ).strip()
    v2_seconds = time.perf_counter() - start
    store = ProfileStore.open(root)
    assert store.current == v2 and v1 != v2

    def both(pipe: Pipeline) -> dict[str, int]:
        return {
            "stateless": failures(pipe, messages, frames),
            "sessions": session_failures(pipe, streams, session_frames),
        }

    m1, m2 = store.manifest(v1), store.manifest(v2)
    fresh = Pipeline.from_config(f"{root}@{v1[:12]}")
    held = store.pipelines()
    result_fresh = both(fresh)
    result_held = both(held[m1.fingerprint])
    v2_alone = both(held.current)
    command("profiles", "select", str(root), v1[:12])
    result_rollback = both(Pipeline.from_config(root))
    t1, t2 = templates(store.path(v1)), templates(store.path(v2))
    kept = sum(t2.get(i) == text for i, text in t1.items())
    corpus_bytes = sum(len(s.data) for s in v2_train)
    state_v2 = tree_size(store.state_path(v2))
    result: dict[str, object] = {
        "train_messages": {"v1": len(v1_train), "v2": len(v2_train)},
        "test_messages": len(messages),
        "streams": len(streams),
        "session_frames": sum(map(len, session_frames)),
        "v1": {
            "id": v1,
            "fingerprint": m1.fingerprint,
            "train_seconds": round(v1_seconds, 1),
            "templates": len(t1),
        },
        "v2": {
            "id": v2,
            "parent": m2.parent,
            "fingerprint": m2.fingerprint,
            "train_seconds": round(v2_seconds, 1),
            "templates": len(t2),
        },
        "v1_frames_failing": {
            "fresh_from_store": result_fresh,
            "via_pipelines": result_held,
            "after_rollback": result_rollback,
        },
        "v1_frames_failing_with_v2_alone": v2_alone,
        "templates_kept_same_text": kept,
        "templates_changed": len(t1) - kept,
        "fingerprints_match_manifests": fresh.fingerprint == m1.fingerprint
        and held.current.fingerprint == m2.fingerprint,
        "verify_problems": len(store.verify(v1)) + len(store.verify(v2)),
        "exposure_v2": exposure(store, v2, v2_train),
        "bytes": {
            "corpus_v2": corpus_bytes,
            "version_v2": m2.size,
            "training_state_v2": state_v2,
            "state_over_corpus": round(state_v2 / corpus_bytes, 2),
        },
    }
    return result


def main(names: Sequence[str]) -> None:
    results: dict[str, dict[str, object]] = {}
    frames = 0
    failing: dict[str, int] = defaultdict(int)
    v2_alone = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            print(f"{name}: training v1, encoding, training v2 --from v1, decoding", flush=True)
            r = results[name] = run_one(name, Path(tmp))
            frames += int(r["test_messages"]) + int(r["session_frames"])  # type: ignore[call-overload]
            for how, counts in r["v1_frames_failing"].items():  # type: ignore[attr-defined]
                failing[how] += sum(counts.values())
            v2_alone += sum(r["v1_frames_failing_with_v2_alone"].values())  # type: ignore[attr-defined]
            print(f"  v1 frames failing: {r['v1_frames_failing']}")
            print(f"  with v2 alone: {r['v1_frames_failing_with_v2_alone']}")
            print(f"  templates changed: {r['templates_changed']}; bytes: {r['bytes']}")
    summary = {"v1_frames": frames, "v1_frames_failing": dict(failing), "with_v2_alone": v2_alone}
    print(
        f"all: {frames} v1 frames (stateless and in sessions); failing: {dict(failing)}; "
        f"with v2 alone {v2_alone} would"
    )
    print("wrote", write("profiles_retrain.json", {"corpora": results, "summary": summary}))


if __name__ == "__main__":
    main(sys.argv[1:] or list(SPLITS))
