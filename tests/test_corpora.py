"""Every message of every shared corpus: exact round trip, at most one byte of
expansion, with the default pipeline and with a trained one.

Reads ../shared/corpus (or $AURACODEC_CORPUS); skipped where it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auracodec import Pipeline
from auracodec.core.corpus import read_corpus
from auracodec.core.training import train
from conftest import CORPUS, corpus_path

pytestmark = pytest.mark.corpus


def corpus_files() -> list[Path]:
    if not CORPUS.exists():
        return []
    return sorted([*CORPUS.rglob("*.jsonl"), *CORPUS.rglob("*_2k.log")])


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Pipeline]:
    chat = read_corpus([corpus_path("chat", "train.jsonl")])
    profile = train(chat, tmp_path_factory.mktemp("profile"))
    return {
        "default": Pipeline.from_config(),
        "trained": Pipeline.from_config(profile.config_path),
    }


def test_corpus_is_present() -> None:
    corpus_path("chat", "train.jsonl")
    assert len(corpus_files()) >= 15


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_message(pipelines: dict[str, Pipeline], path: Path) -> None:
    messages = [s.data for s in read_corpus([path])]
    for name, pipe in pipelines.items():
        frames = pipe.encode_many(messages)
        assert all(len(f) <= len(m) + 1 for f, m in zip(frames, messages, strict=True)), name
        wrong = [
            i
            for i, (f, m) in enumerate(zip(frames, messages, strict=True))
            if pipe.decode_bytes(f) != m
        ]
        assert not wrong, f"{name}: messages {wrong[:5]} of {path.name} did not round-trip"
