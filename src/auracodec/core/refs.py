"""Which profile version a path names: ``STORE``, ``STORE@<id prefix>`` or ``STORE@current``.

A profile store (:mod:`auracodec.core.store`) is a directory marked by
``auracodec-store.toml``; its versions are ``versions/<id>/``, each a plain
profile directory, and ``refs/current`` names the one new connections use.
This module is the small part of the store that loading a config needs
(:meth:`auracodec.core.config.Config.load` goes through :func:`locate`), so
that the config module does not depend on the store's machinery.

A reference is ``current``, a full id (64 hex digits) or a unique prefix of
one, at least :data:`MIN_PREFIX` digits long. A reference that names no
version, or more than one, is a :class:`~auracodec.ConfigError` naming the
store.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import ConfigError

__all__ = [
    "CURRENT",
    "MIN_PREFIX",
    "STORE_MARKER",
    "is_store",
    "locate",
    "read_current",
    "resolve",
    "store_of",
    "version_ids",
]

#: The file that makes a directory a profile store.
STORE_MARKER = "auracodec-store.toml"
VERSIONS_DIR = "versions"
TRAINING_DIR = "training"
REFS_DIR = "refs"
#: The reference, and the file under ``refs/``, that names the current version.
CURRENT = "current"
#: The shortest id prefix a reference may use.
MIN_PREFIX = 4

ID_RE = re.compile(r"[0-9a-f]{64}\Z")
_REF_RE = re.compile(rf"[0-9a-f]{{{MIN_PREFIX},64}}\Z")


def is_store(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a profile store's root directory."""
    return (Path(path) / STORE_MARKER).is_file()


def store_of(path: str | os.PathLike[str]) -> Path | None:
    """The store whose version directory ``path`` is, or ``None``."""
    p = Path(path).resolve()
    if ID_RE.match(p.name) and p.parent.name == VERSIONS_DIR and is_store(p.parent.parent):
        return p.parent.parent
    return None


def version_ids(root: str | os.PathLike[str]) -> list[str]:
    """The ids of the versions in the store ``root``, sorted."""
    versions = Path(root) / VERSIONS_DIR
    if not versions.is_dir():
        return []
    return sorted(d.name for d in versions.iterdir() if ID_RE.match(d.name) and d.is_dir())


def read_current(root: str | os.PathLike[str]) -> str | None:
    """The id ``refs/current`` names, or ``None`` if the store has none yet."""
    path = Path(root) / REFS_DIR / CURRENT
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the current version: {exc}", path=path) from exc
    if not ID_RE.match(text):
        raise ConfigError(f"expected a version id (64 hex digits), got {text[:80]!r}", path=path)
    return text


def resolve(root: str | os.PathLike[str], ref: str) -> str:
    """The full id of the version ``ref`` names in the store ``root``.

    ``ref`` is ``current``, a full id or a unique prefix of at least
    :data:`MIN_PREFIX` hex digits (case does not matter).
    """
    store = Path(root)
    if not is_store(store):
        raise ConfigError(f"not a profile store (no {STORE_MARKER})", path=store)
    ids = version_ids(store)
    if ref == CURRENT:
        current = read_current(store)
        if current is None:
            raise ConfigError(
                "the profile store has no current version yet: train one with "
                f"'auracodec train CORPUS --store {store}'",
                path=store,
            )
        if current not in ids:
            raise ConfigError(
                f"refs/current names version {current[:12]}, which is not in {VERSIONS_DIR}/ "
                "(removed by hand?): select another with 'auracodec profiles select'",
                path=store,
            )
        return current
    wanted = ref.lower()
    if not _REF_RE.match(wanted):
        raise ConfigError(
            f"expected '{CURRENT}' or a version id or prefix of at least {MIN_PREFIX} hex "
            f"digits, got {ref!r}",
            path=store,
        )
    matches = [i for i in ids if i.startswith(wanted)]
    if not matches:
        raise ConfigError(
            f"no version {ref!r} in this profile store ({len(ids)} versions; "
            f"'auracodec profiles list {store}' lists them)",
            path=store,
        )
    if len(matches) > 1:
        shown = ", ".join(m[:16] for m in matches[:5]) + (", ..." if len(matches) > 5 else "")
        raise ConfigError(
            f"version prefix {ref!r} is ambiguous: {len(matches)} versions start with it "
            f"({shown}); give more digits",
            path=store,
        )
    return matches[0]


def locate(path: str | os.PathLike[str]) -> Path | None:
    """The version directory ``path`` names, or ``None`` if it names no store.

    ``STORE`` names its current version; ``STORE@REF`` the version ``REF``
    resolves to (:func:`resolve`). Any other path is not a reference (``None``),
    including an existing file or directory whose name contains ``@``.
    """
    text = os.fspath(path)
    p = Path(text)
    if is_store(p):
        return p.resolve() / VERSIONS_DIR / resolve(p, CURRENT)
    root, at, ref = text.rpartition("@")
    if at and root and not p.exists() and is_store(root):
        return Path(root).resolve() / VERSIONS_DIR / resolve(root, ref)
    return None
