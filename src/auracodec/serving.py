"""Profile versions served over HTTP: named by their hash, cached forever, never waited for.

A client that connects must hold the profile the server codes with, and a
trained profile is megabytes (BRIO's model). So a server hands out each
version of a :class:`~auracodec.ProfileStore` at URLs named by its id, and
clients fetch it in the background, check it and keep it; meanwhile they
connect with a profile that needs no download (:func:`fallback_pipeline`),
and move to the trained one on their next connection. This is the model of
HTTP's Compression Dictionary Transport (RFC 9842: a dictionary named by its
hash, fetched when the client is idle, offered by hash on later requests),
applied to a WebSocket's handshake, where the client offers the
fingerprints of the versions it holds and the server picks one.

The URLs (``PREFIX`` is ``/auracodec/profiles/``)::

    GET /auracodec/profiles/current                 {"id", "fingerprint", "manifest", "fallback"}
    GET /auracodec/profiles/<id>/manifest.json      the version's manifest
    GET /auracodec/profiles/<id>/<file>             a file the manifest lists with role
                                                    "config" or "decoding"

Everything under ``<id>/`` never changes: ``Cache-Control: public,
max-age=31536000, immutable``, an ``ETag`` that is the file's SHA-256 (a
request's ``If-None-Match`` gets 304), gzip when the request accepts it and
it is smaller (compressed once, kept in memory), ``Access-Control-Allow-Origin:
*`` so that pages served from elsewhere can fetch it. ``current`` is what
clients should fetch now (``Cache-Control: no-cache``). Nothing else of the
store is reachable: not the training state (it holds training messages), not
a file the manifest does not list, not ``costs.json`` (only an encoder reads
it). Unknown ids and files are 404, methods other than GET and HEAD 405.

:class:`ProfileServer` is sans-IO: it turns a method, a path and two request
headers into a :class:`Reply`, reading the store's files (blocking: run it in
a worker thread). :func:`auracodec.websocket.serve` takes one (or a store)
as ``profiles=`` and answers these URLs on the WebSocket server's own host
and port.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import http
import json
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from urllib.parse import unquote

import attrs

from .core.errors import ConfigError
from .core.pipeline import Pipeline
from .core.refs import ID_RE, VERSIONS_DIR
from .core.store import (
    MANIFEST_NAME,
    ROLE_CONFIG,
    ROLE_DECODING,
    Manifest,
    ProfileStore,
    Versions,
)

__all__ = [
    "FALLBACK_CODECS",
    "PREFIX",
    "ProfileServer",
    "Reply",
    "fallback_pipeline",
]

PREFIX = "/auracodec/profiles/"
#: The codecs of the fallback profile: the built-in ones, which the
#: JavaScript client has too. Named, so that a Python with third-party codecs
#: (``auracodec-lz4``) has the fallback's fingerprint all the same.
FALLBACK_CODECS = ("binary_semantic", "brio", "brotli", "identity", "zstd")
#: Per-version URLs never change.
IMMUTABLE = "public, max-age=31536000, immutable"
#: gzip level: 6 packs an 8 MB BRIO model as small as 9 does (within 1%) in a
#: sixth of the time (0.8 s against 4.8 s).
GZIP_LEVEL = 6
#: Files kept in memory, raw and gzipped, at most (least recently used go first).
CACHE_BYTES = 64 * 1024 * 1024
_SERVED_ROLES = (ROLE_CONFIG, ROLE_DECODING)
_TYPES = {
    ".toml": "application/toml; charset=utf-8",
    ".json": "application/json",
}

_logger = logging.getLogger(__name__)


def fallback_pipeline() -> Pipeline:
    """The profile every client holds without a download: the built-in codecs
    untrained (BRIO without a model, zstd without a dictionary, brotli, the
    built-in templates), as the JavaScript client's ``Profile.defaults()``."""
    return Pipeline.from_config(codecs=FALLBACK_CODECS)


@attrs.frozen
class Reply:
    """An HTTP response: status, headers (in order) and body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    @property
    def reason(self) -> str:
        return http.HTTPStatus(self.status).phrase

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), or ``None``."""
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)


@attrs.frozen
class _Prepared:
    """A served file: its bytes, its gzip (``None``: not smaller) and its SHA-256."""

    data: bytes
    gzipped: bytes | None
    sha256: str
    content_type: str

    @property
    def size(self) -> int:
        return len(self.data) + len(self.gzipped or b"")


@attrs.define
class ProfileServer:
    """Answers ``GET /auracodec/profiles/...`` for a store (see the module docstring).

    ``versions``: the pipelines the WebSocket server accepts, in order of
    preference (:meth:`for_store` makes them: the store's versions, then the
    fallback); ``current`` in ``/auracodec/profiles/current`` is the id of
    the first, ``fallback`` the fingerprint of the last when it is not a
    version of the store. Any version in the store's ``versions/`` is
    served, including ones trained since: they never change.
    """

    store: ProfileStore
    versions: Versions
    cache_bytes: int = CACHE_BYTES
    _cache: OrderedDict[tuple[str, str], _Prepared] = attrs.field(factory=OrderedDict)
    _cached: int = 0
    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    _preparing: dict[tuple[str, str], threading.Lock] = attrs.field(factory=dict)

    @classmethod
    def for_store(
        cls, store: ProfileStore | str | Path, versions: Versions | None = None
    ) -> ProfileServer:
        """Serve ``store``; ``versions`` defaults to every version of it
        (:meth:`ProfileStore.pipelines`, current first) then
        :func:`fallback_pipeline`, so that a client holding none connects at once."""
        if not isinstance(store, ProfileStore):
            store = ProfileStore.open(store)
        if versions is None:
            versions = store.pipelines().with_fallback(fallback_pipeline())
        return cls(store, versions)

    # -- what is advertised -------------------------------------------------------

    @property
    def current(self) -> str | None:
        """The id of the version new connections use (``None``: not from the store)."""
        return self.versions.id_of(self.versions.current_fingerprint)

    @property
    def fallback(self) -> str | None:
        """The fingerprint a client holding no version connects with, or ``None``."""
        last = list(self.versions)[-1]
        return last if self.versions.id_of(last) is None else None

    def current_json(self) -> dict[str, str | None]:
        vid = self.current
        return {
            "id": vid,
            "fingerprint": self.versions.current_fingerprint if vid else None,
            "manifest": f"{PREFIX}{vid}/{MANIFEST_NAME}" if vid else None,
            "fallback": self.fallback,
        }

    # -- answering ----------------------------------------------------------------

    @staticmethod
    def handles(path: str) -> bool:
        """Whether a request path is one of ours (``/auracodec/profiles/...``)."""
        return path.split("?", 1)[0].startswith(PREFIX)

    def respond(
        self,
        method: str,
        path: str,
        *,
        accept_encoding: str | None = None,
        if_none_match: str | None = None,
    ) -> Reply:
        """The reply to a request for one of our paths. Blocking: the first
        request for a file reads, checks and compresses it."""
        rest = unquote(path.split("?", 1)[0][len(PREFIX) :])
        if method not in ("GET", "HEAD"):
            return _text(
                "GET", 405, f"{method} is not allowed here: GET or HEAD\n", ("Allow", "GET, HEAD")
            )
        if rest == "current":
            body = (json.dumps(self.current_json(), sort_keys=True) + "\n").encode()
            return _reply(method, 200, body, "application/json", [("Cache-Control", "no-cache")])
        vid, _, name = rest.partition("/")
        if not ID_RE.match(vid) or not name:
            return _text(method, 404, f"no such profile resource: {path}\n")
        try:
            prepared = self._prepared(vid, name)
        except ConfigError as exc:  # the version is damaged: say so, serve nothing of it
            _logger.error("cannot serve %s of version %s: %s", name, vid, exc)
            return _text(method, 500, f"version {vid} cannot be served: see the server's log\n")
        if prepared is None:
            return _text(method, 404, f"no file {name!r} in profile version {vid}\n")
        gz = prepared.gzipped is not None and _accepts_gzip(accept_encoding or "")
        etag = f'"{prepared.sha256}{"+gzip" if gz else ""}"'
        headers = [
            ("Cache-Control", IMMUTABLE),
            ("ETag", etag),
            ("Vary", "Accept-Encoding"),
        ]
        if if_none_match and _matches(if_none_match, prepared.sha256):
            return _reply(method, 304, b"", None, headers)
        if gz:
            headers.append(("Content-Encoding", "gzip"))
        return _reply(
            method,
            200,
            prepared.gzipped if gz and prepared.gzipped is not None else prepared.data,
            prepared.content_type,
            headers,
        )

    def _prepared(self, vid: str, name: str) -> _Prepared | None:
        """The file ``name`` of version ``vid`` ready to serve, or ``None`` if not served."""
        key = (vid, name)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
            lock = self._preparing.setdefault(key, threading.Lock())
        with lock:  # one thread reads and compresses a file; the others wait for it
            try:
                with self._lock:
                    found = self._cache.get(key)
                if found is None:
                    found = self._prepare(vid, name)
                    if found is not None:
                        self._keep(key, found)
                return found
            finally:
                with self._lock:
                    self._preparing.pop(key, None)

    def _prepare(self, vid: str, name: str) -> _Prepared | None:
        root = self.store.root / VERSIONS_DIR / vid
        manifest_path = root / MANIFEST_NAME
        if not manifest_path.is_file():
            return None
        manifest = Manifest.read(manifest_path)
        if manifest.id != vid:
            raise ConfigError(f"the manifest says id {manifest.id}", path=manifest_path)
        if name == MANIFEST_NAME:
            data = _read(manifest_path)
            digest = hashlib.sha256(data).hexdigest()
        else:
            entry = next((f for f in manifest.files if f.name == name), None)
            if entry is None or entry.role not in _SERVED_ROLES:
                return None
            data = _read(root / entry.name)
            digest = hashlib.sha256(data).hexdigest()
            if digest != entry.sha256 or len(data) != entry.size:
                raise ConfigError(
                    f"{entry.name} is {len(data)} bytes of sha256 {digest[:16]}, the "
                    f"manifest says {entry.size} bytes of sha256 {entry.sha256[:16]}",
                    path=root / entry.name,
                )
        packed = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
        return _Prepared(
            data,
            packed if len(packed) < len(data) else None,
            digest,
            _TYPES.get(Path(name).suffix, "application/octet-stream"),
        )

    def _keep(self, key: tuple[str, str], prepared: _Prepared) -> None:
        with self._lock:
            if key in self._cache:
                return
            self._cache[key] = prepared
            self._cached += prepared.size
            while self._cached > self.cache_bytes and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._cached -= old.size


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read it: {exc}", path=path) from exc


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (``gzip`` or ``*`` with a q above 0)."""
    allowed: dict[str, bool] = {}
    for item in accept_encoding.split(","):
        coding, *params = (p.strip() for p in item.split(";"))
        q = 1.0
        for p in params:
            k, _, v = p.partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if coding:
            allowed[coding.lower()] = q > 0
    return allowed.get("gzip", allowed.get("x-gzip", allowed.get("*", False)))


def _matches(if_none_match: str, sha256: str) -> bool:
    """Whether ``If-None-Match`` names this file (either coding's tag, weak or not)."""
    if if_none_match.strip() == "*":
        return True
    for tag in if_none_match.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag.removesuffix("+gzip") == sha256:
            return True
    return False


def _reply(
    method: str,
    status: int,
    body: bytes,
    content_type: str | None,
    headers: list[tuple[str, str]],
) -> Reply:
    """A reply with the headers every one of ours has; HEAD's has no body."""
    head = [
        ("Date", email.utils.formatdate(usegmt=True)),
        ("Access-Control-Allow-Origin", "*"),
        ("X-Content-Type-Options", "nosniff"),
        ("Connection", "close"),  # websockets answers one request per connection
    ]
    if content_type is not None:
        head.append(("Content-Type", content_type))
    if status != 304:
        head.append(("Content-Length", str(len(body))))
    head += headers
    return Reply(status, tuple(head), b"" if method == "HEAD" or status == 304 else body)


def _text(method: str, status: int, text: str, *extra: tuple[str, str]) -> Reply:
    return _reply(method, status, text.encode(), "text/plain; charset=utf-8", list(extra))
