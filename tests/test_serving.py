"""Profile versions served over HTTP by the WebSocket server (auracodec.serving),
and the handshake that picks the newest version a client holds, else the fallback.

Against a real websockets server on 127.0.0.1, with raw HTTP requests."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import logging
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

pytest.importorskip("websockets", reason="the websocket extra is not installed")

from auracodec import Pipeline, ProfileStore, Versions
from auracodec.core.config import Config
from auracodec.core.corpus import builtin_sample
from auracodec.core.store import StoredVersion
from auracodec.serving import (
    FALLBACK_CODECS,
    IMMUTABLE,
    PREFIX,
    ProfileServer,
    fallback_pipeline,
)
from auracodec.websocket import AuraConnection, HandshakeError, connect, serve

SAMPLE = builtin_sample()
#: What both ends have: the venv may hold third-party codecs (auracodec-lz4).
PINNED = Config.from_mapping({"pipeline": {"codecs": list(FALLBACK_CODECS)}})


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


@attrs.frozen
class Store:
    root: Path
    v1: StoredVersion
    v2: StoredVersion


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Two trained versions (BRIO model, zstd dictionary, templates), v2 current."""
    root = tmp_path_factory.mktemp("serving") / "store"
    store = ProfileStore.create(root)
    v1 = store.train(SAMPLE[::2], config=PINNED)
    v2 = store.train(SAMPLE, parent="current")
    assert v1.fingerprint != v2.fingerprint
    return Store(root, v1, v2)


@attrs.frozen
class HttpReply:
    status: int
    headers: dict[str, str]
    body: bytes


async def request(
    port: int, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> HttpReply:
    """One raw HTTP/1.1 request; the path is sent as it is (no normalising)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    raw = await reader.read()  # the server closes after its answer
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = {}
    for line in header_lines:
        k, _, v = line.partition(":")
        found[k.strip().lower()] = v.strip()
    return HttpReply(int(status_line.split()[1]), found, body)


async def echo(conn: AuraConnection) -> None:
    async for message in conn:
        await conn.send(message)


async def serving(
    store: Path | ProfileStore | ProfileServer,
    client: Callable[[int], Awaitable[Any]],
    handler: Callable[[AuraConnection], Awaitable[None]] = echo,
    **kwargs: Any,
) -> Any:
    profiles = store if not isinstance(store, Path) else ProfileStore.open(store)
    async with serve(handler, "127.0.0.1", 0, profiles=profiles, **kwargs) as server:
        return await client(server.sockets[0].getsockname()[1])


def served_files(root: Path, vid: str) -> dict[str, dict[str, Any]]:
    manifest = json.loads((root / "versions" / vid / "manifest.json").read_text())
    return {f["name"]: f for f in manifest["files"]}


# -- HTTP ----------------------------------------------------------------------------


def test_current_names_the_version_to_fetch_and_the_fallback(trained: Store) -> None:
    async def client(port: int) -> HttpReply:
        return await request(port, PREFIX + "current")

    got = run(serving(trained.root, client))
    assert got.status == 200
    assert got.headers["cache-control"] == "no-cache"
    assert got.headers["access-control-allow-origin"] == "*"
    assert got.headers["content-type"] == "application/json"
    assert json.loads(got.body) == {
        "id": trained.v2.id,
        "fingerprint": trained.v2.fingerprint,
        "manifest": f"/auracodec/profiles/{trained.v2.id}/manifest.json",
        "fallback": fallback_pipeline().fingerprint,
    }


def test_every_file_a_client_needs_at_an_immutable_url(trained: Store) -> None:
    root = trained.root
    vid = trained.v1.id
    files = served_files(root, vid)
    wanted = [n for n, f in files.items() if f["role"] in ("config", "decoding")]
    assert sorted(wanted) == ["auracodec.toml", "brio.model", "templates.toml", "zstd.dict"]
    types = {
        "auracodec.toml": "application/toml; charset=utf-8",
        "templates.toml": "application/toml; charset=utf-8",
        "brio.model": "application/octet-stream",
        "zstd.dict": "application/octet-stream",
        "manifest.json": "application/json",
    }

    async def client(port: int) -> None:
        for name in [*wanted, "manifest.json"]:
            data = (root / "versions" / vid / name).read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            if name != "manifest.json":
                assert sha == files[name]["sha256"]
            url = f"{PREFIX}{vid}/{name}"
            plain = await request(port, url)
            assert plain.status == 200, name
            assert plain.body == data
            h = plain.headers
            assert h["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
            assert h["etag"] == f'"{sha}"'
            assert h["content-type"] == types[name]
            assert h["content-length"] == str(len(data))
            assert h["vary"] == "Accept-Encoding"
            assert h["access-control-allow-origin"] == "*"
            assert "content-encoding" not in h
            # gzip when asked for and smaller: every one of these is.
            packed = await request(port, url, headers={"Accept-Encoding": "br, gzip;q=0.5"})
            assert packed.headers["content-encoding"] == "gzip", name
            assert len(packed.body) < len(data)
            assert gzip.decompress(packed.body) == data
            assert packed.headers["etag"] == f'"{sha}+gzip"'
            refused = await request(port, url, headers={"Accept-Encoding": "gzip;q=0, br"})
            assert "content-encoding" not in refused.headers and refused.body == data
            # Revalidation: either tag, weak or strong, in a list, or *.
            for tag in (f'"{sha}"', f'W/"{sha}+gzip"', f'"other", "{sha}"', "*"):
                same = await request(port, url, headers={"If-None-Match": tag})
                assert (same.status, same.body) == (304, b""), tag
                assert same.headers["etag"] == f'"{sha}"'
                assert same.headers["cache-control"] == IMMUTABLE
            changed = await request(port, url, headers={"If-None-Match": '"0123"'})
            assert changed.status == 200 and changed.body == data
            # HEAD: the headers of GET, no body.
            head = await request(port, url, "HEAD", {"Accept-Encoding": "gzip"})
            assert head.status == 200 and head.body == b""
            assert head.headers["content-length"] == str(len(packed.body))
            assert head.headers["content-encoding"] == "gzip"

    run(serving(root, client))


def test_nothing_else_of_the_store_is_reachable(trained: Store) -> None:
    root = trained.root
    vid = trained.v2.id
    assert (root / "training" / vid).is_dir()
    state = sorted(p.name for p in (root / "training" / vid).iterdir())
    assert "templates.state.json" in state

    async def client(port: int) -> None:
        missing = [
            f"{PREFIX}{vid}/costs.json",  # encoding role: only an encoder reads it
            f"{PREFIX}{vid}/templates.state.json",
            f"{PREFIX}{vid}/../../training/{vid}/templates.state.json",
            f"{PREFIX}{vid}/%2e%2e/%2e%2e/training/{vid}/templates.state.json",
            f"{PREFIX}{vid}/",
            f"{PREFIX}{vid}",
            f"{PREFIX}{'0' * 64}/auracodec.toml",  # no such version
            f"{PREFIX}{vid[:12]}/auracodec.toml",  # prefixes name nothing here
            f"{PREFIX}{vid.upper()}/auracodec.toml",
            f"{PREFIX}../auracodec-store.toml",
            f"{PREFIX}../refs/current",
            f"{PREFIX}{vid}/auracodec.toml/x",
        ]
        for path in missing:
            got = await request(port, path)
            assert got.status == 404, path
            assert got.headers["access-control-allow-origin"] == "*"
            head = await request(port, path, "HEAD")
            assert (head.status, head.body) == (404, b""), path
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            got = await request(port, f"{PREFIX}{vid}/auracodec.toml", method)
            assert got.status == 405, method
            assert got.headers["allow"] == "GET, HEAD"
        # The WebSocket endpoint is still what it was for other paths.
        got = await request(port, "/")
        assert got.status == 400 and b"this endpoint speaks auracodec" in got.body

    run(serving(root, client))


def test_a_damaged_file_is_never_served(
    trained: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "store"
    shutil.copytree(trained.root, root)
    vid = trained.v2.id
    damaged = root / "versions" / vid / "zstd.dict"
    damaged.chmod(0o644)
    data = bytearray(damaged.read_bytes())
    data[100] ^= 1
    damaged.write_bytes(bytes(data))

    async def client(port: int) -> list[int]:
        return [
            (await request(port, f"{PREFIX}{vid}/{name}")).status
            for name in ("zstd.dict", "auracodec.toml")
        ]

    with caplog.at_level(logging.ERROR, logger="auracodec.serving"):
        assert run(serving(root, client)) == [500, 200]
    assert "zstd.dict is" in caplog.text and "the manifest says" in caplog.text


def test_gzip_only_when_smaller_and_accepted(trained: Store) -> None:
    server = ProfileServer.for_store(trained.root)
    vid = trained.v1.id
    cases = {
        "gzip": True,
        "GZIP": True,
        "x-gzip": True,
        "*": True,
        "deflate, *;q=0.1": True,
        "gzip;q=0": False,
        "gzip;q=0.000, *": False,
        "*;q=0": False,
        "br": False,
        "": False,
        "gzip;q=x": False,
    }
    for header, gz in cases.items():
        reply = server.respond("GET", f"{PREFIX}{vid}/zstd.dict", accept_encoding=header)
        assert (reply.header("Content-Encoding") == "gzip") is gz, header
    # The query string is not part of the name.
    assert server.respond("GET", f"{PREFIX}{vid}/zstd.dict?v=1").status == 200
    # Compressed once: the second reply is the same bytes object.
    a = server.respond("GET", f"{PREFIX}{vid}/brio.model", accept_encoding="gzip")
    b = server.respond("GET", f"{PREFIX}{vid}/brio.model", accept_encoding="gzip")
    model = trained.root / "versions" / vid / "brio.model"
    assert a.body is b.body and len(a.body) < model.stat().st_size


def test_the_memory_cache_is_bounded(trained: Store) -> None:
    server = ProfileServer.for_store(trained.root)
    server.cache_bytes = 100_000  # less than a model
    for vid in (trained.v1.id, trained.v2.id):
        for name in ("brio.model", "zstd.dict", "auracodec.toml"):
            assert server.respond("GET", f"{PREFIX}{vid}/{name}").status == 200
    assert server._cached <= server.cache_bytes
    assert len(server._cache) >= 1


# -- the handshake ---------------------------------------------------------------------


def test_a_client_gets_the_newest_version_it_holds_else_the_fallback(trained: Store) -> None:
    root = trained.root
    v1 = Pipeline.from_config(f"{root}@{trained.v1.id}")
    v2 = Pipeline.from_config(f"{root}@{trained.v2.id}")
    fallback = fallback_pipeline()
    messages = [s.data.decode() for s in SAMPLE[:40]]
    served: list[str] = []

    async def handler(conn: AuraConnection) -> None:
        served.append(conn.pipeline.fingerprint)
        await echo(conn)

    async def talk(port: int, pipeline: Pipeline | Versions) -> str:
        async with connect(f"ws://127.0.0.1:{port}", pipeline=pipeline) as conn:
            for m in messages:
                await conn.send(m)
                assert await conn.recv() == m
            return conn.pipeline.fingerprint

    async def clients(port: int) -> list[str]:
        agreed = [
            await talk(port, Versions.of(fallback)),  # holds nothing yet
            await talk(port, Versions.of(v1, fallback)),
            await talk(port, Versions.of(v1, v2, fallback)),  # in any order:
            await talk(port, Versions.of(fallback, v1, v2)),  # the server's current
            await talk(port, Versions.of(fallback, v1)),  # a version beats the fallback
        ]
        with pytest.raises(HandshakeError, match=r"HTTP 400.*you offered"):
            await talk(port, Pipeline.from_config(codecs=["zstd"]))
        return agreed

    agreed = run(serving(root, clients, handler))
    fp1, fp2, fpf = v1.fingerprint, v2.fingerprint, fallback.fingerprint
    assert agreed == [fpf, fp1, fp2, fp2, fp1]
    assert served == agreed


def test_after_a_rollback_and_a_restart_a_client_holding_both_gets_the_older(
    trained: Store, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    shutil.copytree(trained.root, root)
    store = ProfileStore.open(root)
    both = Versions.of(
        Pipeline.from_config(f"{root}@{trained.v2.id}"),
        Pipeline.from_config(f"{root}@{trained.v1.id}"),
        fallback_pipeline(),
    )

    async def client(port: int) -> tuple[str, str | None]:
        async with connect(f"ws://127.0.0.1:{port}", pipeline=both) as conn:
            fp = conn.pipeline.fingerprint
        current = json.loads((await request(port, PREFIX + "current")).body)["id"]
        return fp, current

    assert run(serving(root, client)) == (trained.v2.fingerprint, trained.v2.id)
    store.select(trained.v1.id)
    assert run(serving(root, client)) == (trained.v1.fingerprint, trained.v1.id)


def test_profiles_with_an_explicit_pipeline_and_without_a_store(trained: Store) -> None:
    # serve(pipeline=..., profiles=...): the pipeline says what is spoken;
    # "current" names the first, and there is no fallback unless given.
    store = ProfileStore.open(trained.root)
    only_v1 = store.pipelines([trained.v1.id])
    server = ProfileServer.for_store(store, only_v1)
    assert server.current_json() == {
        "id": trained.v1.id,
        "fingerprint": trained.v1.fingerprint,
        "manifest": f"{PREFIX}{trained.v1.id}/manifest.json",
        "fallback": None,
    }
    # Not from the store: nothing to fetch.
    plain = ProfileServer.for_store(store, Versions.of(fallback_pipeline()))
    assert plain.current_json() == {
        "id": None,
        "fingerprint": None,
        "manifest": None,
        "fallback": fallback_pipeline().fingerprint,
    }
    with pytest.raises(TypeError, match=r"needs a pipeline"):
        serve(echo, "127.0.0.1", 0)
    with pytest.raises(TypeError, match=r"a pipeline or a ProfileServer"):
        serve(echo, "127.0.0.1", 0, pipeline=fallback_pipeline(), profiles=server)


def test_the_fallback_is_what_javascript_has_without_a_download() -> None:
    fallback = fallback_pipeline()
    assert sorted(fallback.codecs) == sorted(FALLBACK_CODECS)
    # Versions.with_fallback adds it last, once.
    v = Versions.of(Pipeline.from_config(codecs=["zstd"]))
    w = v.with_fallback(fallback)
    assert list(w) == [*v, fallback.fingerprint]
    assert w.with_fallback(fallback_pipeline()) is w
    assert w.id_of(fallback.fingerprint) is None and w.is_built(fallback.fingerprint)


def test_profile_requests_do_not_count_against_max_connections(trained: Store) -> None:
    async def client(port: int) -> list[int]:
        fallback = fallback_pipeline()
        async with connect(f"ws://127.0.0.1:{port}", pipeline=fallback):
            statuses = [(await request(port, PREFIX + "current")).status]
            with pytest.raises(HandshakeError, match=r"HTTP 503"):
                async with connect(f"ws://127.0.0.1:{port}", pipeline=fallback):
                    pass
            statuses.append((await request(port, PREFIX + "current")).status)
        return statuses

    assert run(serving(trained.root, client, max_connections=1)) == [200, 200]
