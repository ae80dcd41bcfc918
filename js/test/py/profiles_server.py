"""The Python end of the profile-fetch tests: a real auracodec WebSocket server
on 127.0.0.1 that also serves a profile store's versions over HTTP
(``serve(..., profiles=store)``), with an echo handler.

    python profiles_server.py STORE [PORT]

    python profiles_server.py --ids DIR ...     the version id Python computes for
                                                each profile directory, and its
                                                decoding artifacts (JSON)

One JSON line per event on stdout: ``listening`` (port, the fingerprints
spoken in order, the current id, the fallback), ``connected`` (the
fingerprint a connection agreed on).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from pathlib import Path

from auracodec import ProfileStore
from auracodec.core.store import _read_config, referenced_files, version_id


def say(**event: object) -> None:
    print(json.dumps(event), flush=True)


async def handler(conn) -> None:  # type: ignore[no-untyped-def]
    say(event="connected", fingerprint=conn.pipeline.fingerprint)
    async for message in conn:
        await conn.send(message)


async def main(store_path: str, port: int) -> None:
    from auracodec.serving import ProfileServer
    from auracodec.websocket import serve

    profiles = ProfileServer.for_store(ProfileStore.open(store_path))
    async with serve(handler, "127.0.0.1", port, profiles=profiles) as server:
        say(
            event="listening",
            port=server.sockets[0].getsockname()[1],
            fingerprints=list(profiles.versions),
            current=profiles.current,
            fallback=profiles.fallback,
        )
        await asyncio.Future()


def ids(dirs: list[str]) -> None:
    found = {}
    for d in dirs:
        base = Path(d)
        roles = referenced_files(_read_config(base), base)
        found[d] = {
            "id": version_id(base),
            "artifacts": [
                {
                    "name": n,
                    "sha256": hashlib.sha256((base / n).read_bytes()).hexdigest(),
                    "size": (base / n).stat().st_size,
                }
                for n, role in sorted(roles.items())
                if role == "decoding"
            ],
        }
    print(json.dumps(found))


if __name__ == "__main__":
    if sys.argv[1] == "--ids":
        ids(sys.argv[2:])
    else:
        asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0))
