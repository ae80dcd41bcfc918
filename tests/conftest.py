"""Shared fixtures: corpora, trained profiles, plugin packages, Hypothesis profiles."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=30)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: ../shared/corpus beside the checkout, or $AURACODEC_CORPUS.
CORPUS = Path(os.environ.get("AURACODEC_CORPUS", Path(__file__).parents[2] / "shared" / "corpus"))


def corpus_path(*parts: str) -> Path:
    """A path inside the shared corpus; skips the test where it is absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared corpus not found at {path} (set AURACODEC_CORPUS)")
    return path


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on ``sys.path`` for :mod:`plugin_packages` to install into."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for module in tmp_path.glob("*.py"):
        sys.modules.pop(module.stem, None)
