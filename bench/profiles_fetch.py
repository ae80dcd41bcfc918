"""What "never waited for" costs and saves (issue 11, part 4): ``python bench/profiles_fetch.py``.

With ``PYTHONPATH=src`` and js/dist built (``cd js && npm run build``); about
a minute. A store trained on chat/train.jsonl (its codecs pinned to those the
JavaScript client has; ``--store STORE`` reuses one), served by
``auracodec.websocket.serve(echo, ..., profiles=store)`` on 127.0.0.1 in this
process, and the JavaScript client in Node (``js/bench/fetch.mjs``):

* **time to the first message** (a connection, one message out and its echo
  back), median of ``--rounds``, each from an empty cache: with
  ``connectWithProfiles`` (the built-in profile at once, the current version
  fetched behind it: ``cached_ms`` is when it is in the cache), against
  fetching the version first and connecting with it (``wait``), and with the
  version cached (``warm``: read from the cache and checked). These run on
  loopback, where the download takes no time; ``transfer_ms`` adds what the
  download's bytes (gzip, as the server sends them) take at a few link
  rates, which a client that waits pays on top, and one that does not never.
* **bytes on chat/test in sessions** (each conversation's direction through
  one session, Python's encoder with the ``smallest`` policy, as the
  JavaScript client encodes, so that the figures do not depend on timed
  costs): the fallback profile (no download) against
  the trained version, and how many messages of that traffic the trained
  version needs to save the download's bytes (``break_even_messages``);
  and the same version without BRIO's model (BRIO untrained; the zstd
  dictionary and templates kept), the kind of small download RFC 9842's
  dictionaries are, for contrast: BRIO's model is nearly all of the bytes.

Writes bench/results/profiles_fetch.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

import attrs
from _common import CORPUS, ROOT, write

from auracodec import Pipeline, ProfileStore
from auracodec.core.config import Config
from auracodec.core.corpus import read_corpus
from auracodec.serving import FALLBACK_CODECS, PREFIX, ProfileServer, fallback_pipeline
from auracodec.websocket import AuraConnection, serve

LINKS_MBIT = (10, 50, 200)


async def echo(conn: AuraConnection) -> None:
    async for message in conn:
        await conn.send(message)


class Server:
    """The auracodec server (WebSocket + profiles) in a thread of its own."""

    def __init__(self, profiles: ProfileServer) -> None:
        self.profiles = profiles
        self.ready = threading.Event()
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.run(),))
        self.thread.start()
        self.ready.wait(30)

    async def run(self) -> None:
        self.stop = asyncio.Event()
        async with serve(echo, "127.0.0.1", 0, profiles=self.profiles) as server:
            self.port = server.sockets[0].getsockname()[1]
            self.ready.set()
            await self.stop.wait()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join()


def train_store(root: Path) -> ProfileStore:
    source = CORPUS / "chat" / "train.jsonl"
    if not source.exists():
        sys.exit(f"corpus not found: {source} (set AURACODEC_CORPUS)")
    store = ProfileStore.create(root)
    pinned = Config.from_mapping({"pipeline": {"codecs": list(FALLBACK_CODECS)}})
    store.train(read_corpus([source]), config=pinned)
    return store


def download_bytes(profiles: ProfileServer, vid: str) -> dict[str, int]:
    """What a client fetches of version ``vid``, as the server sends it (gzip)."""
    manifest = profiles.store.manifest(vid)
    names = ["manifest.json"] + [f.name for f in manifest.files if f.role != "encoding"]
    sizes = {}
    for name in names:
        reply = profiles.respond("GET", f"{PREFIX}{vid}/{name}", accept_encoding="gzip")
        assert reply.status == 200, (name, reply.status)
        sizes[name] = len(reply.body)
    return sizes


def session_bytes(pipe: Pipeline, streams: list[list[bytes]]) -> int:
    total = 0
    for stream in streams:
        session = pipe.session()
        total += sum(len(session.encode(m)) for m in stream)
    return total


def median(rounds: list[dict[str, Any]], mode: str, key: str) -> float:
    return round(statistics.median(r[mode][key] for r in rounds), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--store", type=Path, help="a store to serve (default: train one)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = ProfileStore.open(args.store) if args.store else train_store(Path(tmp) / "store")
        profiles = ProfileServer.for_store(store)
        vid = store.current
        assert vid is not None
        test = read_corpus([CORPUS / "chat" / "test.jsonl"])
        server = Server(profiles)
        try:
            out = subprocess.run(
                [
                    "node",
                    str(ROOT / "js" / "bench" / "fetch.mjs"),
                    f"ws://127.0.0.1:{server.port}/",
                    str(args.rounds),
                    test[0].data.decode(),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            server.close()
        if out.returncode:
            sys.exit(f"js/bench/fetch.mjs failed:\n{out.stderr}")
        node = json.loads(out.stdout)
        rounds = node["rounds"]
        fallback = fallback_pipeline()
        trained = store.pipeline()
        smallest = {"policy": "smallest"}
        fallback_smallest = Pipeline.from_config(
            Config.from_mapping(
                {"pipeline": {"codecs": list(FALLBACK_CODECS)}, "selector": smallest}
            )
        )
        trained_smallest = Pipeline.from_config(
            attrs.evolve(Config.load(store.path(vid)), policy="smallest")
        )
        assert fallback_smallest.fingerprint == fallback.fingerprint
        assert rounds[0]["fallback"]["fingerprint"] == fallback.fingerprint
        assert rounds[0]["warm"]["fingerprint"] == trained.fingerprint

        streams: dict[tuple[str | None, str], list[bytes]] = defaultdict(list)
        for s in test:
            streams[(s.conv, s.direction)].append(s.data)
        raw = sum(len(s.data) for s in test)
        data = tomllib.loads((store.path(vid) / "auracodec.toml").read_text(encoding="utf-8"))
        for key in ("model", "model_sha256"):
            data["codecs"]["brio"].pop(key, None)
        data["selector"] = smallest
        small = Pipeline.from_config(
            Config.from_mapping(data, base=store.path(vid) / "auracodec.toml")
        )
        fb = session_bytes(fallback_smallest, list(streams.values()))
        tr = session_bytes(trained_smallest, list(streams.values()))
        sm = session_bytes(small, list(streams.values()))
        sizes = download_bytes(profiles, vid)
        download = sum(sizes.values())
        small_download = download - sizes["brio.model"]

    result = {
        "runtime": node["runtime"],
        "store": {
            "id": vid,
            "fingerprint": trained.fingerprint,
            "fallback": fallback.fingerprint,
            "trained_on": "chat/train.jsonl",
        },
        "time_to_first_message_ms": {
            "rounds": len(rounds),
            "fallback_empty_cache": {
                "connect": median(rounds, "fallback", "connect_ms"),
                "first_message": median(rounds, "fallback", "first_message_ms"),
                "version_cached": median(rounds, "fallback", "cached_ms"),
            },
            "wait_for_download_loopback": {
                "first_message": median(rounds, "wait", "first_message_ms"),
            },
            "warm_cache": {
                "connect": median(rounds, "warm", "connect_ms"),
                "first_message": median(rounds, "warm", "first_message_ms"),
            },
            "transfer_ms": {
                f"{mbit}_mbit": round(download * 8 / (mbit * 1e6) * 1000, 1) for mbit in LINKS_MBIT
            },
        },
        "download_bytes": {"total": download, "files": sizes},
        "chat_test_sessions": {
            "messages": len(test),
            "streams": len(streams),
            "raw_bytes": raw,
            "fallback": {"bytes": fb, "ratio": round(raw / fb, 3), "download_bytes": 0},
            "trained": {
                "bytes": tr,
                "ratio": round(raw / tr, 3),
                "download_bytes": download,
                "saved_per_message": round((fb - tr) / len(test), 1),
                "break_even_messages": round(download / ((fb - tr) / len(test))),
            },
            "trained_without_brio_model": {
                "bytes": sm,
                "ratio": round(raw / sm, 3),
                "download_bytes": small_download,
                "saved_per_message": round((fb - sm) / len(test), 1),
                "break_even_messages": round(small_download / ((fb - sm) / len(test))),
            },
        },
    }
    path = write("profiles_fetch.json", result)
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
