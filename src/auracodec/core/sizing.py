"""Profile sizes: ``auracodec train --size``, what a client downloads, break-even.

A browser downloads a profile before it decodes anything, so a profile for
clients is a trade between its transfer size and its ratio
(docs/client-profiles.md). Three parts:

* **Size classes** (``[training] size``, ``auracodec train --size``):
  ``"server"`` trains with the codecs' defaults (an 8 MiB BRIO model, a
  112 KiB zstd dictionary); ``"client"`` with the smallest settings measured
  to meet the client targets on chat (:data:`PRESETS`); a number is a target
  transfer size in bytes, from which the settings are derived
  (:func:`settings_for`). A preset fills in settings of the starting config's
  ``[codecs.*]`` tables that it does not set itself: keys written there win.
* **Transfer size** (:func:`transfer_size`): the files a client needs to
  decode and encode (the config file and each codec's artifacts: model,
  dictionary, template libraries; not the cost estimates, which only the
  encoder's policy reads), each as an HTTP server sends it: the smallest of
  identity, gzip -9 and brotli quality 11, with ``Content-Encoding``.
* **Break-even** (:func:`break_even`): how many messages it takes before the
  bytes saved against a baseline repay the download.
"""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import brotli

from .errors import ConfigError

if TYPE_CHECKING:  # config.py checks [training] size with parse_size
    from .config import Config
    from .pipeline import Pipeline

__all__ = [
    "MIN_TARGET",
    "PRESETS",
    "SIZE_CLASSES",
    "SIZE_EXPECTED",
    "FileTransfer",
    "Transfer",
    "break_even",
    "client_files",
    "describe_transfer",
    "parse_size",
    "profile_transfer",
    "profile_transfer_work",
    "settings_for",
    "sized_config",
    "transfer_size",
    "with_size",
]

#: The named size classes.
SIZE_CLASSES = ("client", "server")

#: Settings each size class gives the built-in codecs (the ``[codecs.<name>]``
#: keys). ``server`` is the codecs' own defaults. ``client`` is the smallest
#: transfer of the grid measured on chat (bench/profiles_size.py) whose
#: pipeline, stateless and in sessions, uses at most 0.8x the bytes of
#: zstd-19 with a 112 KiB dictionary and repays its download against
#: permessage-deflate within 8,000 messages: a BRIO model of the tables of
#: fixed size plus 1,035 groups of hashed contexts, with coarse APM entries
#: and nodes (448 KiB that transfer as about 74 KB), and a 16 KiB zstd
#: dictionary (a larger one saves nothing there; docs/client-profiles.md).
PRESETS: Mapping[str, Mapping[str, Mapping[str, int]]] = {
    "server": {},
    "client": {
        "brio": {
            "model_size": 448 * 1024,
            "apm2_bits": 6,
            "apm_precision": 5,
            "node_precision": 4,
        },
        "zstd": {"dictionary_size": 16 * 1024},
    },
}

# -- the rule for a target transfer size (bytes, as served) -------------------
# Measured on chat/train (bench/results/profiles_size.json), with the client
# preset's apm2_bits and precision.
#: BRIO's tables of fixed size with ``apm2_bits = 6`` (bytes of the model file).
BRIO_FIXED = 388_352
#: What they transfer (bytes, brotli 11; measured about 43 KB: a margin).
BRIO_FIXED_SERVED = 47_000
#: Served bytes per model byte beyond the fixed tables: the hashed contexts
#: at ``node_precision = 4`` (measured 0.39 for the first 64 KiB, the most
#: used contexts, 0.34 up to 1 MiB, 0.31 beyond).
BRIO_SERVED_PER_BYTE = 0.35
#: Room left for ``auracodec.toml`` and the template library.
OTHER_SERVED = 4_000
#: The zstd dictionary: 16 KiB (5.7 KB served) below this target, else
#: 112 KiB (40.8 KB served); the larger one only helps where the policy
#: leaves messages to zstd (the ``cost`` policy does, ``smallest`` rarely).
LARGE_DICTIONARY_FROM = 1_000_000
DICTIONARY_SERVED = {16 * 1024: 6_000, 112 * 1024: 41_000}
#: The smallest target the rule can meet.
MIN_TARGET = BRIO_FIXED_SERVED + DICTIONARY_SERVED[16 * 1024] + OTHER_SERVED

_UNITS = {"": 1, "kb": 1000, "mb": 1000**2, "kib": 1024, "mib": 1024**2}
# ASCII digits and a unit, nothing else (as js/src/config.ts reads it)
_SIZE_RE = re.compile(r"([0-9]+)([kKmM]i?[bB])?\Z")


#: What ``[training] size`` and ``--size`` expect, in words.
SIZE_EXPECTED = "'client', 'server' or a transfer size in bytes (such as 300000 or '300KB')"


def parse_size(value: object) -> str | int:
    """A size class (``"client"``, ``"server"``) or a target transfer size in bytes.

    Accepts an integer, or a string of digits with an optional unit, no space
    (``KB``, ``MB``: powers of 1000; ``KiB``, ``MiB``: powers of 1024). Raises
    ``ValueError`` for anything else, or a target below :data:`MIN_TARGET`.
    """
    if isinstance(value, str) and value in SIZE_CLASSES:
        return value
    size: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (m := _SIZE_RE.match(value)):
        size = int(m[1]) * _UNITS[(m[2] or "").lower()]
    if size is None:
        raise ValueError(f"expected {SIZE_EXPECTED}, got {value!r}")
    if size < MIN_TARGET:
        raise ValueError(
            f"a profile transfers at least {MIN_TARGET} bytes (BRIO's fixed tables, a 16 KiB "
            f"zstd dictionary, the config and templates), got {size}"
        )
    return size


def settings_for(size: str | int) -> dict[str, dict[str, int]]:
    """The ``[codecs.<name>]`` settings a size class or target transfer size chooses.

    For a target of ``T`` bytes: a 16 KiB zstd dictionary below
    :data:`LARGE_DICTIONARY_FROM` (112 KiB from there), :data:`OTHER_SERVED`
    for the config and templates, and the rest for BRIO at the client
    precision: its fixed tables (:data:`BRIO_FIXED_SERVED`) and as many
    hashed contexts as fit at :data:`BRIO_SERVED_PER_BYTE`. The rule is
    measured on chat; other traffic compresses differently, which is why
    ``auracodec train`` reports the transfer size it reached.
    """
    if isinstance(size, str):
        return {codec: dict(table) for codec, table in PRESETS[size].items()}
    dictionary = 16 * 1024 if size < LARGE_DICTIONARY_FROM else 112 * 1024
    rest = size - OTHER_SERVED - DICTIONARY_SERVED[dictionary] - BRIO_FIXED_SERVED
    model = BRIO_FIXED + max(0, math.floor(rest / BRIO_SERVED_PER_BYTE))
    brio = dict(PRESETS["client"]["brio"])
    brio["model_size"] = min(model, 256 * 1024 * 1024)
    return {"brio": brio, "zstd": {"dictionary_size": dictionary}}


def with_size(config: Config, value: str, *, key: str = "--size") -> Config:
    """``config`` with ``[training] size`` set from ``value`` (a command-line
    flag's text); a :class:`ConfigError` naming ``key`` if it is not a size."""
    try:
        size = parse_size(value)
    except ValueError as exc:
        raise ConfigError(str(exc), key=key) from None
    return attrs.evolve(config, training_size=size)


def sized_config(config: Config, codecs: Sequence[str]) -> Config:
    """``config`` with its ``[training] size`` applied to the tables of ``codecs``.

    Only keys the starting config does not set are filled in; codecs not in
    ``codecs`` (not installed, disabled) are left alone.
    """
    if config.training_size is None:
        return config
    tables = {name: dict(table) for name, table in config.codec_tables.items()}
    for codec, values in settings_for(config.training_size).items():
        if codec not in codecs:
            continue
        table = tables.setdefault(codec, {})
        for key, value in values.items():
            table.setdefault(key, value)
    return attrs.evolve(config, codec_tables=tables)


# -- transfer size -------------------------------------------------------------


@attrs.frozen
class FileTransfer:
    """One file a client downloads: its size as stored, gzip -9 and brotli q11."""

    name: str
    identity: int
    gzip: int
    brotli: int

    @property
    def served(self) -> int:
        """What an HTTP server sends: the smallest encoding."""
        return min(self.identity, self.gzip, self.brotli)

    @property
    def encoding(self) -> str:
        """The ``Content-Encoding`` of :attr:`served`."""
        best = self.served
        return "br" if self.brotli == best else "gzip" if self.gzip == best else "identity"


@attrs.frozen
class Transfer:
    """What a client downloads for a profile."""

    files: tuple[FileTransfer, ...]

    @property
    def served(self) -> int:
        return sum(f.served for f in self.files)

    @property
    def identity(self) -> int:
        return sum(f.identity for f in self.files)

    @property
    def gzip(self) -> int:
        """Served by a server without brotli: the smaller of identity and gzip."""
        return sum(min(f.identity, f.gzip) for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "served": self.served,
            "identity": self.identity,
            "gzip_only": self.gzip,
            "files": {
                f.name: {
                    "identity": f.identity,
                    "gzip": f.gzip,
                    "br": f.brotli,
                    "served": f.served,
                    "encoding": f.encoding,
                }
                for f in self.files
            },
        }


def file_transfer(path: Path, name: str | None = None) -> FileTransfer:
    data = path.read_bytes()
    return FileTransfer(
        name or path.name,
        len(data),
        len(gzip.compress(data, 9, mtime=0)),
        len(brotli.compress(data, quality=11)),
    )


def client_files(config: Config, artifacts: Mapping[str, Sequence[str]]) -> list[Path]:
    """The config file, then the files named by the ``artifacts`` settings
    (per codec, the settings of kind ``path`` or ``paths``), each once."""
    if config.path is None:
        raise ConfigError("built-in defaults: no profile files to transfer")
    paths = [config.path.resolve()]
    base = config.base_dir.resolve()
    for codec, keys in sorted(artifacts.items()):
        table = config.codec_tables.get(codec, {})
        for key in keys:
            value = table.get(key)
            for v in [value] if isinstance(value, str) else value or []:
                if (p := (base / v).resolve()) not in paths:
                    paths.append(p)
    return paths


def transfer_size(
    config: Config,
    artifacts: Mapping[str, Sequence[str]],
    step: Callable[[int], None] | None = None,
) -> Transfer:
    """The files a client downloads (:func:`client_files`), as served.

    ``step(bytes)`` is called after each file: brotli 11 compresses about
    0.5 MB a second, so a server-size profile takes some 20 seconds.
    """
    base = config.base_dir.resolve()
    files = []
    for p in client_files(config, artifacts):
        files.append(file_transfer(p, str(p.relative_to(base)) if p.is_relative_to(base) else None))
        if step:
            step(files[-1].identity)
    return Transfer(tuple(files))


def _artifacts(pipe: Pipeline) -> dict[str, list[str]]:
    return {
        name: [s.name for s in codec_type.settings if s.kind in ("path", "paths")]
        for name, codec_type in pipe.registry.codec_types.items()
        if name in pipe.codecs
    }


def profile_transfer(pipe: Pipeline, step: Callable[[int], None] | None = None) -> Transfer:
    """:func:`transfer_size` of the profile ``pipe`` was built from: its config
    file and the files named by its codecs' ``path`` and ``paths`` settings."""
    return transfer_size(pipe.config, _artifacts(pipe), step)


def profile_transfer_work(pipe: Pipeline) -> int:
    """The bytes :func:`profile_transfer` compresses (a progress bar's total)."""
    return sum(p.stat().st_size for p in client_files(pipe.config, _artifacts(pipe)))


def describe_transfer(pipe: Pipeline) -> str:
    """One line: what a client downloads for ``pipe``'s profile, and how that
    compares with the target transfer size it was trained for, if any."""
    t = profile_transfer(pipe)
    files = ", ".join(f"{f.name} {f.served / 1000:,.1f} KB {f.encoding}" for f in t.files)
    line = f"transfer to clients: {t.served / 1000:,.1f} KB as served ({files})"
    target = pipe.config.training_size
    if isinstance(target, int):
        line += f"; target {target / 1000:,.1f} KB" + (
            f", exceeded by {(t.served - target) / 1000:,.1f} KB: this traffic compresses less "
            "than chat, on which the rule was measured; give a smaller target"
            if t.served > target
            else ""
        )
    return line


# -- break-even ----------------------------------------------------------------


def break_even(download: int, saved: int, messages: int) -> int | None:
    """Messages before the bytes saved repay ``download`` bytes.

    ``saved`` bytes were saved over ``messages`` messages against a baseline,
    so a message saves ``saved / messages`` on average; the answer is the
    smallest ``n`` with ``n * saved / messages >= download``: 0 when nothing
    extra is downloaded, ``None`` (never) when nothing is saved.
    """
    if download <= 0:
        return 0
    if saved <= 0 or messages <= 0:
        return None
    return -(-download * messages // saved)
