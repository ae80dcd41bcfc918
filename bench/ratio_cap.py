"""BRIO's ratio cap (issue 8): what it bounds and what it costs. ``python bench/ratio_cap.py``.

1. The bound: a payload of 4 MiB of one letter, made by an uncapped coder
   (2.2 KB), decoded by the default codec (cap 32) and by an uncapped one;
   CPU (process time) until the frame is refused or decoded.
2. The fit: ``auracodec train`` on chat/train and on the json corpus writes
   the cap it fits; then the json corpus is coded (in-sample, stateless and
   as one session) with its profile at the fitted cap and at the default, the
   same model otherwise.

Writes bench/results/ratio_cap.json.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import tomllib
from pathlib import Path

from _common import CORPUS, corpus, exhaustive, train_profile, write

from auracodec import CorruptPayload, Pipeline
from auracodec.plugins.brio import _brio


def bomb() -> dict[str, object]:
    message = b"a" * (4 << 20)
    payload = _brio.Model(None, max_ratio=0).encode(message)  # 0: uncapped, analysis only
    assert payload is not None
    out: dict[str, object] = {"payload_bytes": len(payload), "message_bytes": len(message)}
    for name, cap in (("default_cap", _brio.DEFAULT_MAX_RATIO), ("uncapped", 0)):
        model = _brio.Model(None, max_ratio=cap)
        start = time.process_time()
        try:
            model.decode(payload, len(message))
            outcome = "decoded"
        except CorruptPayload:
            outcome = "refused"
        out[name] = {"outcome": outcome, "cpu_ms": round(1000 * (time.process_time() - start), 1)}
    return out


def fitted(profile: Path) -> int:
    table = tomllib.loads((profile / "auracodec.toml").read_text())
    return int(table["codecs"]["brio"]["max_ratio"])


def coded(profile: Path, messages: list[bytes]) -> dict[str, int]:
    pipe = Pipeline.from_config(exhaustive(profile))
    session = pipe.session()
    return {
        "stateless": sum(len(pipe.encode(m)) for m in messages),
        "session": sum(len(session.encode(m)) for m in messages),
    }


def main() -> None:
    results: dict[str, object] = {"bomb": bomb()}
    with tempfile.TemporaryDirectory() as tmp:
        profiles = {
            name: train_profile(source, Path(tmp) / name)
            for name, source in (
                ("chat", CORPUS / "chat" / "train.jsonl"),
                ("json", CORPUS / "json"),
            )
        }
        results["fitted_cap"] = {name: fitted(p) for name, p in profiles.items()}
        at_default = Path(tmp) / "json-default-cap"
        shutil.copytree(profiles["json"], at_default)
        config = at_default / "auracodec.toml"
        text = config.read_text()
        cap = results["fitted_cap"]["json"]  # type: ignore[index]
        config.write_text(
            text.replace(f"max_ratio = {cap}", f"max_ratio = {_brio.DEFAULT_MAX_RATIO}", 1)
        )
        messages = [s.data for s in corpus("json")]
        results["json_bytes"] = {
            "messages": len(messages),
            "raw": sum(map(len, messages)),
            "fitted_cap": coded(profiles["json"], messages),
            "default_cap": coded(at_default, messages),
        }
    print(results)
    print("wrote", write("ratio_cap.json", results))


if __name__ == "__main__":
    main()
