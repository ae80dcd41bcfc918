"""Profile stores: immutable, content-addressed profile versions.

A profile is what both ends of a connection must share, so once a peer has
used one it must not change under it. A store keeps every version of a
profile apart, never changing a version once made::

    STORE/
      auracodec-store.toml   format = 1: what makes a directory a store
      versions/<id>/         one version: a plain profile directory, loaded as
                             is (auracodec.toml, brio.model, zstd.dict,
                             templates.toml, costs.json, manifest.json);
                             its files are read-only
      training/<id>/         that version's training state (the template
                             miner's, which holds training messages verbatim):
                             only training reads it; never serve it
      refs/current           the id new connections use
      refs/history           one line per change: "<UTC time> <id> <reason>"

**Ids.** A version's id is the SHA-256 (hex) of what decoding depends on
(:func:`version_id`): the parsed ``auracodec.toml`` without its encode-side
tables (``[selector]``, ``[observers]``), every artifact name in it replaced by
the artifact's SHA-256, and the SHA-256 and size of each artifact. Comments
(the date in the header) and ``costs.json`` (the selector's estimates, which
differ from run to run) are not part of it. The same id always means the same
decoding content, hence the same pipeline fingerprint, which the version's
``manifest.json`` records; the fingerprint's formula is unchanged (the
JavaScript client computes it too).

**Versions never change.** Training writes into a staging directory inside
the store, computes the id, and renames the directory to ``versions/<id>``;
when that id exists already (the same content), the staging copy is dropped
and the existing version is used. Artifacts a config names outside the version
are copied in, so a version is self-contained.

**Current and history.** ``refs/current`` is replaced atomically (a temporary
file, then ``os.replace``); ``refs/history`` is appended to. Selecting an
earlier version is a rollback. :meth:`ProfileStore.gc` removes versions that
are neither current, nor among the last ones used, nor recent.

**Several versions at once.** :meth:`ProfileStore.pipelines` gives a
:class:`Versions`: a pipeline per fingerprint, built on first use, so a server
keeps decoding the frames and sessions of peers still on version N-1 while new
connections move to N (:func:`auracodec.websocket.serve` takes one).

Loading: ``Config.load("STORE")`` and ``Pipeline.from_config("STORE")`` load
the current version, ``"STORE@3f9a"`` the version whose id starts ``3f9a``
(:mod:`auracodec.core.refs`). ``docs/profiles.md`` is the guide, including what
each artifact can reveal of the training traffic.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
import secrets
import shutil
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .._version import __version__
from .config import Config, dump_toml
from .corpus import Sample
from .errors import AuraError, ConfigError
from .pipeline import Pipeline
from .refs import (
    CURRENT,
    ID_RE,
    REFS_DIR,
    STORE_MARKER,
    TRAINING_DIR,
    VERSIONS_DIR,
    is_store,
    read_current,
    resolve,
    version_ids,
)
from .registry import Registry
from .training import (
    CONFIG_NAME,
    STATE_README_NAME,
    Progress,
    TrainedProfile,
    prepare_state_dir,
    train,
)

__all__ = [
    "FileChange",
    "GcResult",
    "HistoryEntry",
    "KeyChange",
    "Manifest",
    "ManifestFile",
    "ProfileStore",
    "StoredVersion",
    "Version",
    "VersionDiff",
    "Versions",
    "referenced_files",
    "version_id",
]

STORE_FORMAT = 1
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
HISTORY = "history"
#: Staging directories inside the store older than this (seconds) are left
#: over from a training that died; :meth:`ProfileStore.gc` removes them.
STALE_STAGING = 24 * 3600
_STAGING_PREFIX = ".staging-"
_MARKER_TEXT = f"""\
# An auracodec profile store (docs/profiles.md).
# versions/<id>/  immutable profiles: serve these to peers, one version per URL.
# training/<id>/  training state: holds training messages verbatim; never serve it.
format = {STORE_FORMAT}
"""
#: Roles of a version's files in its manifest.
ROLE_CONFIG = "config"
ROLE_DECODING = "decoding"
ROLE_ENCODING = "encoding"


# -- ids -----------------------------------------------------------------------------


def referenced_files(data: Mapping[str, Any], base: Path) -> dict[str, str]:
    """The files of ``base`` a parsed ``auracodec.toml`` names, and their roles.

    A string in a ``[codecs.*]`` table (or in a list there) that names a
    regular file inside ``base``, relative to it, is a decoding artifact; one
    in ``[selector]`` an encoding artifact (the cost estimates). Names are
    normalised (``./zstd.dict`` is ``zstd.dict``). ``[observers]`` name where
    observers write, not artifacts. No plugin is consulted, so the rule gives
    the same answer wherever the version is read.
    """
    found: dict[str, str] = {}
    for value in _strings(data.get("codecs", {})):
        name = _artifact_name(base, value)
        if name is not None:
            found[name] = ROLE_DECODING
    for value in _strings(data.get("selector", {})):
        name = _artifact_name(base, value)
        if name is not None:
            found.setdefault(name, ROLE_ENCODING)
    return found


def version_id(profile: str | os.PathLike[str]) -> str:
    """The id of the profile directory ``profile``: SHA-256 of its decoding content.

    Hashed, as canonical JSON: the format, the parsed config without
    ``[selector]`` and ``[observers]`` (each artifact name replaced by
    ``sha256:<hex>`` of the file), and the sorted SHA-256 and size of every
    decoding artifact.
    """
    base = Path(profile)
    data = _read_config(base)
    files = referenced_files(data, base)
    hashes = {n: _sha256(base / n) for n, role in files.items() if role == ROLE_DECODING}
    tables = {k: v for k, v in data.items() if k not in ("selector", "observers")}
    if "codecs" in tables:
        tables["codecs"] = _replace_names(tables["codecs"], base, hashes)
    canonical = {
        "format": MANIFEST_FORMAT,
        "config": tables,
        "artifacts": sorted(
            [{"sha256": h, "size": (base / n).stat().st_size} for n, h in hashes.items()],
            key=lambda f: (f["sha256"], f["size"]),
        ),
    }
    blob = json.dumps(
        canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _plain(value: Any) -> str:
    if isinstance(value, (datetime.date, datetime.time)):  # TOML dates and times
        return value.isoformat()
    raise TypeError(f"cannot hash {value!r}")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _replace_names(value: Any, base: Path, hashes: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        name = _artifact_name(base, value)
        return f"sha256:{hashes[name]}" if name is not None and name in hashes else value
    if isinstance(value, Mapping):
        return {k: _replace_names(v, base, hashes) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_names(v, base, hashes) for v in value]
    return value


def _artifact_name(base: Path, value: str) -> str | None:
    """``value`` as the relative name of a regular file inside ``base``, or ``None``."""
    if not value or "\0" in value or len(value) > 4096:
        return None
    root = base.resolve()
    try:
        path = (root / value).resolve()
        inside = path.is_relative_to(root) and path != root and path.is_file()
    except (OSError, ValueError):
        return None
    if not inside:
        return None
    name = path.relative_to(root).as_posix()
    return None if name in (CONFIG_NAME, MANIFEST_NAME) else name


def _read_config(base: Path) -> dict[str, Any]:
    path = base / CONFIG_NAME
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the profile's config: {exc}", path=path) from exc


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str) -> float:
    """Seconds since the epoch of a time written by :func:`_now` (0 if unreadable)."""
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _tree_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (0 if it does not exist)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


# -- records ---------------------------------------------------------------------------


@attrs.frozen
class ManifestFile:
    """One file of a version: its name, SHA-256, size and role (``config``,
    ``decoding``: codecs read it; ``encoding``: only the selector does)."""

    name: str
    sha256: str
    size: int
    role: str


@attrs.frozen
class Manifest:
    """A version's ``manifest.json``: what it is made of and where it came from."""

    id: str
    fingerprint: str
    #: UTC, ISO 8601.
    created: str
    parent: str | None
    files: tuple[ManifestFile, ...]
    #: Messages and bytes of the corpus the version was trained on (0: added,
    #: not trained).
    messages: int = 0
    message_bytes: int = 0
    #: Per table (``codecs.brio``), the settings training chose rather than the
    #: starting config; training that continues from this version chooses
    #: them again.
    trained: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    auracodec: str = __version__

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "id": self.id,
            "fingerprint": self.fingerprint,
            "created": self.created,
            "parent": self.parent,
            "auracodec": self.auracodec,
            "files": [attrs.asdict(f) for f in self.files],
            "training": {"messages": self.messages, "bytes": self.message_bytes},
            "trained": {k: list(v) for k, v in self.trained.items()},
        }

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Read and check a ``manifest.json``; :class:`~auracodec.ConfigError` if bad."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {MANIFEST_FORMAT}")
            training = data.get("training") or {}
            return cls(
                id=str(data["id"]),
                fingerprint=str(data["fingerprint"]),
                created=str(data["created"]),
                parent=None if data.get("parent") is None else str(data["parent"]),
                files=tuple(
                    ManifestFile(str(f["name"]), str(f["sha256"]), int(f["size"]), str(f["role"]))
                    for f in data["files"]
                ),
                messages=int(training.get("messages", 0)),
                message_bytes=int(training.get("bytes", 0)),
                trained={
                    str(k): tuple(str(x) for x in v) for k, v in (data.get("trained") or {}).items()
                },
                auracodec=str(data.get("auracodec", "")),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"not a readable version manifest: {exc}", path=path) from exc

    @property
    def size(self) -> int:
        """Bytes of the version's files (the manifest aside)."""
        return sum(f.size for f in self.files)


@attrs.frozen
class Version:
    """A version in a store, as :meth:`ProfileStore.versions` lists it."""

    id: str
    path: Path
    manifest: Manifest
    #: Bytes of its training state (0: none kept).
    state_size: int

    @property
    def created(self) -> str:
        return self.manifest.created


@attrs.frozen
class HistoryEntry:
    """A line of ``refs/history``: when which version became current, and why
    (``train``, ``select``, ``rollback``)."""

    time: str
    id: str
    reason: str


@attrs.frozen
class StoredVersion:
    """What :meth:`ProfileStore.train` and :meth:`ProfileStore.add` made."""

    id: str
    fingerprint: str
    parent: str | None
    #: ``False``: a version with this id (the same content) existed already.
    new: bool
    selected: bool
    #: Files of the staged profile that its config does not name, left out.
    left_out: tuple[str, ...] = ()
    #: Files named outside the profile, copied into the version.
    copied_in: tuple[str, ...] = ()
    #: The training run (``None`` for :meth:`ProfileStore.add`).
    training: TrainedProfile | None = None
    #: Whether training continued from the parent's training state (``False``
    #: when there was none: template discovery kept the library, restarted
    #: its miner).
    state_resumed: bool = False


@attrs.frozen
class GcResult:
    """What :meth:`ProfileStore.gc` removed (or would, on a dry run) and kept."""

    removed: tuple[str, ...]
    #: Kept versions and why (``current``, ``recent history``, ``younger than N days``).
    kept: Mapping[str, str]
    freed: int
    #: Training states without a version, and staging directories left over.
    leftovers: tuple[str, ...] = ()
    dry_run: bool = False


@attrs.frozen
class FileChange:
    """One file in a :class:`VersionDiff`: ``added``, ``removed``, ``changed`` or ``same``."""

    name: str
    status: str
    size_a: int | None
    size_b: int | None
    role: str


@attrs.frozen
class KeyChange:
    """A config key whose value differs (``None``: absent on that side)."""

    key: str
    a: Any
    b: Any


@attrs.frozen
class VersionDiff:
    """How version ``b`` differs from version ``a``."""

    a: Manifest
    b: Manifest
    files: tuple[FileChange, ...]
    config: tuple[KeyChange, ...]


# -- several versions at once -------------------------------------------------------


@attrs.define(eq=False)
class Versions(Mapping[str, Pipeline]):
    """Pipelines of several profile versions, by fingerprint; each built on first use.

    Iterating gives the fingerprints in order of preference: the current
    version first, then newer before older. :func:`auracodec.websocket.serve`
    accepts a client offering any of them and prefers the first; frames and
    sessions made with an earlier version keep decoding with its pipeline.
    Two versions with the same fingerprint (their ids differ only in settings
    outside it) decode each other's frames; the newer one is kept. Building is
    thread-safe; a built pipeline whose fingerprint is not the one its version
    recorded is refused (:class:`~auracodec.ConfigError`).
    """

    _order: tuple[str, ...]
    _loaders: Mapping[str, Callable[[], Pipeline]]
    _ids: Mapping[str, str | None]
    _limits: Mapping[str, int]
    _built: dict[str, Pipeline] = attrs.field(factory=dict)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    @classmethod
    def of(cls, *pipelines: Pipeline) -> Versions:
        """Already built pipelines, the first the current one."""
        if not pipelines:
            raise ValueError("Versions.of needs at least one pipeline")
        order: list[str] = []
        found: dict[str, Pipeline] = {}
        for p in pipelines:
            if p.fingerprint not in found:
                order.append(p.fingerprint)
                found[p.fingerprint] = p
        return cls(
            tuple(order),
            {fp: _const(p) for fp, p in found.items()},
            dict.fromkeys(order),
            {fp: p.max_message_size for fp, p in found.items()},
            dict(found),
        )

    def with_fallback(self, pipeline: Pipeline) -> Versions:
        """These versions, then ``pipeline`` last: what a peer holding none of
        them connects with (:func:`auracodec.serving.fallback_pipeline`, the
        profile every client has without a download). Unchanged when a version
        has its fingerprint already."""
        fp = pipeline.fingerprint
        if fp in self._loaders:
            return self
        return Versions(
            (*self._order, fp),
            {**self._loaders, fp: _const(pipeline)},
            {**self._ids, fp: None},
            {**self._limits, fp: pipeline.max_message_size},
            {**self._built, fp: pipeline},
        )

    def __getitem__(self, fingerprint: str) -> Pipeline:
        """The pipeline of that fingerprint, built now if it is not yet; ``KeyError``
        if no version held has it."""
        built = self._built.get(fingerprint)
        if built is not None:
            return built
        load = self._loaders[fingerprint]
        with self._lock:
            built = self._built.get(fingerprint)
            if built is None:
                built = load()
                if built.fingerprint != fingerprint:
                    raise ConfigError(
                        f"version {self._ids.get(fingerprint) or '?'} builds a pipeline of "
                        f"fingerprint {built.fingerprint}, but its manifest records "
                        f"{fingerprint}: a plugin or setting differs from when it was made",
                        path=built.config.path,
                    )
                self._built[fingerprint] = built
            return built

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, fingerprint: object) -> bool:
        return fingerprint in self._loaders

    @property
    def current_fingerprint(self) -> str:
        return self._order[0]

    @property
    def current(self) -> Pipeline:
        """The pipeline new connections use."""
        return self[self._order[0]]

    def for_fingerprint(self, fingerprint: str) -> Pipeline | None:
        """The pipeline of that fingerprint, or ``None`` if no version held has it."""
        return self[fingerprint] if fingerprint in self._loaders else None

    def id_of(self, fingerprint: str) -> str | None:
        """The store id of the version with that fingerprint (``None``: not from a store)."""
        return self._ids.get(fingerprint)

    def is_built(self, fingerprint: str) -> bool:
        return fingerprint in self._built

    @property
    def max_message_size(self) -> int:
        """The largest ``max_message_size`` of the versions (read without building them)."""
        return max(self._limits.values())


def _const(pipeline: Pipeline) -> Callable[[], Pipeline]:
    return lambda: pipeline


# -- the store ------------------------------------------------------------------------


@attrs.define
class ProfileStore:
    """A directory of immutable profile versions. Use :meth:`open` or :meth:`create`.

    Methods that take a reference accept ``current``, a full id or a unique
    prefix (:func:`auracodec.core.refs.resolve`). Several processes may train
    into one store at once: each stages its own version, and renaming it into
    ``versions/`` is atomic; the last to finish becomes current.
    """

    root: Path

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> ProfileStore:
        """An existing store; :class:`~auracodec.ConfigError` if ``root`` is none."""
        path = Path(root).resolve()
        marker = path / STORE_MARKER
        if not marker.is_file():
            raise ConfigError(
                f"not a profile store (no {STORE_MARKER}); 'auracodec train CORPUS "
                f"--store {root}' makes one",
                path=path,
            )
        try:
            fmt = tomllib.loads(marker.read_text(encoding="utf-8")).get("format")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"unreadable store marker: {exc}", path=marker) from exc
        if fmt != STORE_FORMAT:
            raise ConfigError(
                f"store format {fmt!r}, this auracodec reads format {STORE_FORMAT}",
                path=marker,
                key="format",
            )
        return cls(path)

    @classmethod
    def create(cls, root: str | os.PathLike[str]) -> ProfileStore:
        """The store at ``root``, made if it does not exist (or is an empty directory).

        Refuses (:class:`~auracodec.AuraError`) a file, or a directory holding
        something else, such as a plain profile.
        """
        path = Path(root).resolve()
        if is_store(path):
            return cls.open(path)
        if path.exists() and not path.is_dir():
            raise AuraError(f"{path} is a file; a profile store is a directory")
        if path.is_dir() and any(path.iterdir()):
            what = "a profile" if (path / CONFIG_NAME).exists() else "other files"
            raise AuraError(
                f"{path} holds {what}, not a profile store; name a new or empty directory "
                "(a plain profile can be added to a store with 'auracodec profiles add')"
            )
        for d in (VERSIONS_DIR, REFS_DIR):
            (path / d).mkdir(parents=True, exist_ok=True)
        (path / TRAINING_DIR).mkdir(mode=0o700, exist_ok=True)  # training messages
        _write_atomic(path / STORE_MARKER, _MARKER_TEXT)
        return cls(path)

    # -- reading ------------------------------------------------------------------------

    def ids(self) -> list[str]:
        return version_ids(self.root)

    def resolve(self, ref: str) -> str:
        """The full id ``ref`` names: ``current``, an id or a unique prefix."""
        return resolve(self.root, ref)

    @property
    def current(self) -> str | None:
        """The current version's id (``None``: none yet)."""
        return read_current(self.root)

    def path(self, ref: str) -> Path:
        """The version's directory: a plain profile, what peers load."""
        return self.root / VERSIONS_DIR / self.resolve(ref)

    def state_path(self, ref: str) -> Path:
        """The version's training state directory (it may not exist)."""
        return self.root / TRAINING_DIR / self.resolve(ref)

    def manifest(self, ref: str) -> Manifest:
        return Manifest.read(self.path(ref) / MANIFEST_NAME)

    def versions(self) -> list[Version]:
        """Every version, oldest first."""
        found = [
            Version(
                i,
                self.root / VERSIONS_DIR / i,
                Manifest.read(self.root / VERSIONS_DIR / i / MANIFEST_NAME),
                _tree_size(self.root / TRAINING_DIR / i),
            )
            for i in self.ids()
        ]
        return sorted(found, key=lambda v: (_parse_time(v.created), v.id))

    def history(self) -> list[HistoryEntry]:
        """``refs/history``, oldest first (lines that do not parse are skipped)."""
        try:
            text = (self.root / REFS_DIR / HISTORY).read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        entries = []
        for line in text.splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and ID_RE.match(parts[1]):
                entries.append(HistoryEntry(parts[0], parts[1], parts[2]))
        return entries

    def config(self, ref: str = CURRENT) -> Config:
        return Config.load(self.path(ref))

    def pipeline(
        self, ref: str = CURRENT, *, plugins: Sequence[tuple[str, object]] = ()
    ) -> Pipeline:
        return Pipeline.from_config(self.path(ref), plugins=plugins)

    def pipelines(
        self, refs: Sequence[str] | None = None, *, plugins: Sequence[tuple[str, object]] = ()
    ) -> Versions:
        """The versions ``refs`` (default: every version kept) for decoding, by fingerprint.

        The current version comes first if it is among them (else the first
        of ``refs``), then the others newest first; none is built until used.
        """
        ids = [self.resolve(r) for r in refs] if refs is not None else self.ids()
        if not ids:
            raise ConfigError(
                "the profile store has no version yet: train one with "
                f"'auracodec train CORPUS --store {self.root}'",
                path=self.root,
            )
        manifests = {i: self.manifest(i) for i in ids}
        current = self.current
        first = current if current in manifests else ids[0]
        rest = sorted(
            (i for i in manifests if i != first),
            key=lambda i: (_parse_time(manifests[i].created), i),
            reverse=True,
        )
        order: list[str] = []
        loaders: dict[str, Callable[[], Pipeline]] = {}
        owners: dict[str, str | None] = {}
        limits: dict[str, int] = {}
        for i in [first, *rest]:
            fp = manifests[i].fingerprint
            if fp in loaders:
                continue
            path = self.root / VERSIONS_DIR / i
            order.append(fp)
            loaders[fp] = functools.partial(Pipeline.from_config, path, plugins=plugins)
            owners[fp] = i
            limits[fp] = Config.load(path).max_message_size
        return Versions(tuple(order), loaders, owners, limits)

    # -- changing current ------------------------------------------------------------------

    def select(self, ref: str, reason: str | None = None) -> str:
        """Make ``ref`` the current version; returns its id.

        Logged in ``refs/history`` with ``reason``; by default ``rollback``
        when the version is older than the current one, else ``select``.
        """
        new = self.resolve(ref)
        if reason is None:
            reason = "select"
            current = self.current
            if current is not None and current != new and current in self.ids():
                if _parse_time(self.manifest(new).created) < _parse_time(
                    self.manifest(current).created
                ):
                    reason = "rollback"
        _write_atomic(self.root / REFS_DIR / CURRENT, new + "\n")
        line = f"{_now()} {new} {reason}\n"
        fd = os.open(self.root / REFS_DIR / HISTORY, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
        return new

    # -- making versions ---------------------------------------------------------------

    def train(
        self,
        corpus: Sequence[Sample],
        *,
        parent: str | None = None,
        config: Config | None = None,
        progress: Progress | None = None,
        plugins: Sequence[tuple[str, object]] = (),
        select: bool = True,
    ) -> StoredVersion:
        """Train a new version on ``corpus`` (:func:`auracodec.core.training.train`).

        With ``parent`` (a reference), training continues from that version:
        its files and training state are the starting point (template
        discovery resumes: templates keep their ids; BRIO and zstd learn anew
        from ``corpus``), and its config is the starting config, less the
        settings its own training chose (:attr:`Manifest.trained`), unless
        ``config`` is given. ``select``: make the version current.
        """
        parent_id = self.resolve(parent) if parent is not None else None
        with self._staging() as staging:
            profile, state = staging / "profile", staging / "state"
            profile.mkdir()
            resumed = False
            if parent_id is not None:
                source = self.root / VERSIONS_DIR / parent_id
                shutil.copytree(source, profile, dirs_exist_ok=True)
                for f in profile.rglob("*"):
                    if f.is_file():
                        f.chmod(f.stat().st_mode | 0o200)
                (profile / MANIFEST_NAME).unlink(missing_ok=True)
                parent_state = self.root / TRAINING_DIR / parent_id
                if parent_state.is_dir():
                    shutil.copytree(parent_state, state)
                    resumed = any(p.name != STATE_README_NAME for p in state.iterdir())
                if config is None:
                    config = self._continuing(parent_id, profile)
            prepare_state_dir(state)
            start = config or Config.defaults()
            trained = train(
                corpus, profile, config=start, progress=progress, plugins=plugins, state_dir=state
            )
            chosen = {
                f"codecs.{r.codec}": tuple(
                    sorted(set(r.settings) - set(start.codec_tables.get(r.codec, {})))
                )
                for r in trained.results
            }
            stored = self._commit(
                staging,
                parent=parent_id,
                select=select,
                reason="train",
                plugins=plugins,
                messages=trained.messages,
                message_bytes=trained.message_bytes,
                trained=chosen,
            )
        return attrs.evolve(stored, training=trained, state_resumed=resumed)

    def add(
        self,
        profile: str | os.PathLike[str],
        *,
        state: str | os.PathLike[str] | None = None,
        parent: str | None = None,
        plugins: Sequence[tuple[str, object]] = (),
        select: bool = True,
    ) -> StoredVersion:
        """Add a plain profile directory (``auracodec train -o``) as a version.

        Its files are copied (``profile`` is not changed), and so is its
        training ``state`` directory if given. The version records no
        settings as chosen by training, so training that continues from it
        keeps every setting of its config, as ``--config`` would.
        """
        source = Path(profile)
        if not (source / CONFIG_NAME).is_file():
            raise AuraError(f"{source} is not a profile directory (no {CONFIG_NAME})")
        parent_id = self.resolve(parent) if parent is not None else None
        with self._staging() as staging:
            shutil.copytree(source, staging / "profile")
            if state is not None and Path(state).is_dir():
                shutil.copytree(state, staging / "state")
            prepare_state_dir(staging / "state")
            return self._commit(
                staging,
                parent=parent_id,
                select=select,
                reason="add",
                plugins=plugins,
                messages=0,
                message_bytes=0,
                trained={},
            )

    def _continuing(self, parent: str, profile: Path) -> Config:
        """The parent's config, less what its training chose, its paths in ``profile``."""
        data = _read_config(self.root / VERSIONS_DIR / parent)
        for table, keys in self.manifest(parent).trained.items():
            group, _, name = table.partition(".")
            values = data.get(group, {}).get(name)
            if isinstance(values, dict):
                for k in keys:
                    values.pop(k, None)
        if isinstance(data.get("selector"), dict):
            data["selector"].pop("estimates", None)  # measured again
        return Config.from_mapping(data, base=profile / CONFIG_NAME)

    def _staging(self) -> _Staging:
        for d in (VERSIONS_DIR, TRAINING_DIR, REFS_DIR):
            (self.root / d).mkdir(exist_ok=True, mode=0o700 if d == TRAINING_DIR else 0o777)
        path = self.root / f"{_STAGING_PREFIX}{secrets.token_hex(6)}"
        path.mkdir()
        return _Staging(path)

    def _commit(
        self,
        staging: Path,
        *,
        parent: str | None,
        select: bool,
        reason: str,
        plugins: Sequence[tuple[str, object]],
        messages: int,
        message_bytes: int,
        trained: Mapping[str, tuple[str, ...]],
    ) -> StoredVersion:
        """Make the staged ``profile/`` (and ``state/``) a version; see the module docstring."""
        profile, state = staging / "profile", staging / "state"
        copied = _internalise(profile, plugins)
        left_out = _leave_out_unnamed(profile)
        vid = version_id(profile)
        with Pipeline.from_config(profile, plugins=plugins) as pipe:  # proves it loads
            fingerprint = pipe.fingerprint
        target = self.root / VERSIONS_DIR / vid
        new = not target.exists()
        if new:
            roles = {CONFIG_NAME: ROLE_CONFIG, **referenced_files(_read_config(profile), profile)}
            files = [
                ManifestFile(n, _sha256(profile / n), (profile / n).stat().st_size, r)
                for n, r in sorted(roles.items())
            ]
            manifest = Manifest(
                id=vid,
                fingerprint=fingerprint,
                created=_now(),
                parent=parent,
                files=tuple(files),
                messages=messages,
                message_bytes=message_bytes,
                trained={k: v for k, v in trained.items() if v},
            )
            (profile / MANIFEST_NAME).write_text(
                json.dumps(manifest.to_json(), indent=2) + "\n", encoding="utf-8"
            )
            for f in profile.rglob("*"):
                if f.is_file():
                    f.chmod(f.stat().st_mode & ~0o222)
            try:
                profile.rename(target)
            except OSError:
                if not target.exists():
                    raise
                new = False  # another process made the same version meanwhile
        state_target = self.root / TRAINING_DIR / vid
        if state.is_dir() and not state_target.exists():
            try:
                state.rename(state_target)
            except OSError:
                if not state_target.exists():
                    raise
        if select and self.current != vid:
            self.select(vid, reason)
        return StoredVersion(
            id=vid,
            fingerprint=fingerprint,
            parent=self.manifest(vid).parent,
            new=new,
            selected=select,
            left_out=tuple(left_out),
            copied_in=tuple(copied),
        )

    # -- checking and comparing -----------------------------------------------------------

    def verify(
        self, ref: str, *, build: bool = True, plugins: Sequence[tuple[str, object]] = ()
    ) -> list[str]:
        """What is wrong with a version (an empty list: nothing).

        Every file's SHA-256 and size against the manifest, files the manifest
        does not list, the id recomputed from the content, and (``build``) the
        fingerprint of the pipeline built from it.
        """
        vid = self.resolve(ref)
        path = self.root / VERSIONS_DIR / vid
        problems: list[str] = []
        try:
            manifest = Manifest.read(path / MANIFEST_NAME)
        except ConfigError as exc:
            return [str(exc)]
        if manifest.id != vid:
            problems.append(f"the manifest says id {manifest.id}, the directory {vid}")
        listed = {f.name for f in manifest.files}
        for f in manifest.files:
            p = path / f.name
            if not p.is_file():
                problems.append(f"{f.name}: missing")
                continue
            size, digest = p.stat().st_size, _sha256(p)
            if size != f.size or digest != f.sha256:
                problems.append(
                    f"{f.name}: changed ({size} bytes, sha256 {digest[:16]}; "
                    f"the manifest says {f.size} bytes, sha256 {f.sha256[:16]})"
                )
        for p in sorted(path.rglob("*")):
            name = p.relative_to(path).as_posix()
            if p.is_file() and name not in listed and name != MANIFEST_NAME:
                problems.append(f"{name}: not in the manifest")
        try:
            actual = version_id(path)
        except (ConfigError, OSError) as exc:
            problems.append(f"the id cannot be computed: {exc}")
        else:
            if actual != vid:
                problems.append(f"the content's id is {actual}, not {vid}")
        if build:
            try:
                with Pipeline.from_config(path, plugins=plugins) as pipe:
                    if pipe.fingerprint != manifest.fingerprint:
                        problems.append(
                            f"it builds a pipeline of fingerprint {pipe.fingerprint}, the "
                            f"manifest records {manifest.fingerprint}"
                        )
            except AuraError as exc:
                problems.append(f"it does not build a pipeline: {exc}")
        return problems

    def diff(self, ref_a: str, ref_b: str) -> VersionDiff:
        """How version ``ref_b`` differs from ``ref_a``: files and config keys."""
        a, b = self.manifest(ref_a), self.manifest(ref_b)
        files_a = {f.name: f for f in a.files}
        files_b = {f.name: f for f in b.files}
        changes = []
        for name in sorted(set(files_a) | set(files_b)):
            fa, fb = files_a.get(name), files_b.get(name)
            if fa is None:
                status = "added"
            elif fb is None:
                status = "removed"
            else:
                status = "same" if fa.sha256 == fb.sha256 else "changed"
            role = (fb or fa).role  # type: ignore[union-attr]  # one of them exists
            changes.append(
                FileChange(name, status, fa.size if fa else None, fb.size if fb else None, role)
            )
        flat_a = _flatten(_read_config(self.root / VERSIONS_DIR / a.id))
        flat_b = _flatten(_read_config(self.root / VERSIONS_DIR / b.id))
        keys = tuple(
            KeyChange(k, flat_a.get(k), flat_b.get(k))
            for k in sorted(set(flat_a) | set(flat_b))
            if flat_a.get(k) != flat_b.get(k)
        )
        return VersionDiff(a, b, tuple(changes), keys)

    # -- removing ----------------------------------------------------------------------

    def gc(
        self,
        *,
        keep_recent: int = 3,
        keep_days: float = 7.0,
        dry_run: bool = False,
        now: float | None = None,
    ) -> GcResult:
        """Remove the versions (and their training states) no longer needed.

        Kept: the current version, the last ``keep_recent`` distinct versions
        of ``refs/history`` (those peers most recently moved to or from), and
        versions created less than ``keep_days`` days ago. A version's parent
        is not kept for its sake: versions are self-contained. Also removed:
        training states whose version is gone, and staging directories of
        trainings that died more than a day ago.
        """
        if keep_recent < 0 or keep_days < 0:
            raise ValueError("keep_recent and keep_days must be at least 0")
        now = time.time() if now is None else now
        kept: dict[str, str] = {}
        current = self.current
        if current is not None:
            kept[current] = "current"
        recent: list[str] = []
        for entry in reversed(self.history()):
            if len(recent) >= keep_recent:
                break
            if entry.id not in recent:
                recent.append(entry.id)
        ids = self.ids()
        for i in recent:
            if i in ids:
                kept.setdefault(i, "recent history")
        removed: list[str] = []
        freed = 0
        for i in ids:
            if i in kept:
                continue
            try:
                created = _parse_time(self.manifest(i).created)
            except ConfigError:
                created = (self.root / VERSIONS_DIR / i).stat().st_mtime
            if now - created < keep_days * 86400:
                kept[i] = f"younger than {keep_days:g} days"
                continue
            removed.append(i)
            for d in (self.root / VERSIONS_DIR / i, self.root / TRAINING_DIR / i):
                freed += _tree_size(d)
                if not dry_run:
                    _remove(d)
        training = self.root / TRAINING_DIR
        orphans = [
            d for d in (training.iterdir() if training.is_dir() else ()) if d.name not in ids
        ]
        stale = [
            d
            for d in self.root.glob(f"{_STAGING_PREFIX}*")
            if now - d.stat().st_mtime > STALE_STAGING
        ]
        leftovers: list[str] = []
        for d in sorted(orphans) + sorted(stale):
            leftovers.append(d.relative_to(self.root).as_posix())
            freed += _tree_size(d)
            if not dry_run:
                _remove(d)
        return GcResult(tuple(removed), kept, freed, tuple(leftovers), dry_run)


@attrs.define
class _Staging:
    """A staging directory inside the store, removed on leaving the ``with`` block."""

    path: Path

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _write_atomic(path: Path, text: str) -> None:
    """Write ``path`` whole: a temporary file beside it, then ``os.replace``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove(path: Path) -> None:
    """Remove a directory so that it never looks half there: renamed aside first."""
    if not path.exists():
        return
    aside = path.with_name(f".removing-{path.name}-{secrets.token_hex(4)}")
    path.rename(aside)
    shutil.rmtree(aside)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _internalise(profile: Path, plugins: Sequence[tuple[str, object]]) -> list[str]:
    """Copy the artifacts the config names outside ``profile`` into it; name them
    relative to it. Returns the names of the copies.

    Which settings are paths is what each codec declares (``Setting.path``,
    ``Setting.paths``); ``[selector] estimates`` too.
    """
    data = _read_config(profile)
    disable = data.get("plugins", {}).get("disable", [])
    registry = Registry.load(disable=disable if isinstance(disable, list) else [], extra=plugins)
    root = profile.resolve()
    copied: list[str] = []
    changed = False

    def bring(value: Any, key: str) -> Any:
        nonlocal changed
        if not isinstance(value, str):
            return value
        source = (root / value).resolve()
        if source.is_relative_to(root):
            name = source.relative_to(root).as_posix()
            if name != value:
                changed = True
            return name
        if not source.is_file():
            raise ConfigError(
                f"names {value}, which is not a file", path=profile / CONFIG_NAME, key=key
            )
        name = source.name
        n = 1
        while (root / name).exists():
            n += 1
            name = f"{source.stem}-{n}{source.suffix}"
        shutil.copyfile(source, root / name)
        copied.append(name)
        changed = True
        return name

    for codec, table in data.get("codecs", {}).items():
        ctype = registry.codec_types.get(codec)
        if ctype is None or not isinstance(table, dict):
            continue
        kinds = {s.name: s.kind for s in ctype.settings}
        for key, value in table.items():
            where = f"codecs.{codec}.{key}"
            if kinds.get(key) == "path":
                table[key] = bring(value, where)
            elif kinds.get(key) == "paths" and isinstance(value, list):
                table[key] = [bring(v, where) for v in value]
    selector = data.get("selector")
    if isinstance(selector, dict) and isinstance(selector.get("estimates"), str):
        selector["estimates"] = bring(selector["estimates"], "selector.estimates")
    if changed:
        text = (profile / CONFIG_NAME).read_text(encoding="utf-8")
        header = "\n".join(
            line[2:] if line.startswith("# ") else line[1:]
            for line in text.splitlines()
            if line.startswith("#")
        )
        tables: dict[str, dict[str, Any]] = {}
        for k, v in data.items():
            if k in ("codecs", "observers"):
                for name, t in v.items():
                    tables[f"{k}.{name}"] = t
            else:
                tables[k] = v
        (profile / CONFIG_NAME).write_text(dump_toml(tables, header), encoding="utf-8")
    return copied


def _leave_out_unnamed(profile: Path) -> list[str]:
    """Remove the files of ``profile`` its config does not name; returns their names.

    A version holds exactly the files its manifest lists. What a copied
    parent left that this training did not write again (its manifest, cost
    estimates that were not measured this time) goes.
    """
    named = set(referenced_files(_read_config(profile), profile)) | {CONFIG_NAME}
    gone = []
    for p in sorted(profile.rglob("*"), reverse=True):
        name = p.relative_to(profile).as_posix()
        if p.is_symlink() or (p.is_file() and name not in named):
            p.unlink()
            if name != MANIFEST_NAME:
                gone.append(name)
        elif p.is_dir() and not any(p.iterdir()):
            p.rmdir()
    return sorted(gone)
