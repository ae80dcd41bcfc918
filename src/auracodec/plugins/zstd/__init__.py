"""``zstd``: Zstandard with an optional trained dictionary, method id ``0x02``.

The payload is a zstd frame cut to what the decoder cannot rebuild. The
compressor writes a magicless frame without checksum, content size or
dictionary id; of the rest, the frame header descriptor is always ``0x00`` and,
for a message that fits one compressed block (all but the rarest messages),
the block header is implied by the payload's length. So the payload is::

    [window descriptor][compressed block]          one compressed block
    [0xff][window descriptor][blocks...]           anything else (escape)

``0xff`` can never be a window descriptor (it would mean a window of over 2^31
bytes), so it marks the escape form. Against a minimal zstd frame this saves
four bytes on a typical message.

Decoding rebuilds the frame and decompresses it with an output limit. The frame
never declares a content size, so nothing in it can drive an allocation beyond
the limit. Truncated or extended compact payloads are caught by zstd's own
consistency checks in practice, but with no checksum nothing is guaranteed, so
the codec declares no detection (``detects`` is empty).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import zstandard

from auracodec.core.codec import CodecType
from auracodec.core.config import Config
from auracodec.core.corpus import Sample
from auracodec.core.errors import (
    AuraWarning,
    CorruptPayload,
    OutputLimitExceeded,
    TrailingData,
    TruncatedFrame,
)
from auracodec.core.hookspecs import hookimpl
from auracodec.core.settings import Setting, SettingError
from auracodec.core.training import Progress, TrainResult

from ._compact import CompactDecoder

NAME = "zstd"
METHOD_ID = 0x02
DICTIONARY_FILE = "zstd.dict"

_ESCAPE = 0xFF
_BLOCK_MAX = 128 * 1024  # zstd's Block_Maximum_Size
_LAST_COMPRESSED = 0b101  # block header bits: last block, type "compressed"
_MAX_DICTIONARY = 8 * 1024 * 1024

SETTINGS: tuple[Setting, ...] = (
    Setting.integer("level", 19, 1, 22, "Compression level; does not change the format."),
    Setting.path("dictionary", "A zstd dictionary (`auracodec train` writes one)."),
    Setting.text(
        "dictionary_sha256",
        None,
        "SHA-256 of the dictionary file, checked when it loads (written by training).",
    ),
    Setting.integer(
        "dictionary_size",
        112 * 1024,
        1024,
        _MAX_DICTIONARY,
        "Size in bytes of the dictionary that `auracodec train` builds.",
        training_only=True,
    ),
)


class ZstdCodec:
    """Zstandard, minimal frame, optional dictionary. Thread-safe.

    ``decode`` is compiled (``_compact.c``): rebuilding the frame in Python
    cost more than zstd's own decoding of a typical chat message.
    """

    name = NAME
    method_id = METHOD_ID
    thread_safe = True
    detects: frozenset[str] = frozenset()
    cost = 10

    def __init__(self, *, level: int = 19, dictionary: bytes | None = None) -> None:
        params = zstandard.ZstdCompressionParameters.from_level(
            level,
            format=zstandard.FORMAT_ZSTD1_MAGICLESS,
            write_checksum=False,
            write_content_size=False,
            write_dict_id=False,
        )
        zdict = None
        self._dict_hash = ""
        if dictionary is not None:
            # Raises ZstdError for a malformed dictionary; the factory maps it.
            zdict = zstandard.ZstdCompressionDict(dictionary)
            zdict.precompute_compress(compression_params=params)
            self._dict_hash = hashlib.sha256(dictionary).hexdigest()

        def new_cctx() -> zstandard.ZstdCompressor:
            return zstandard.ZstdCompressor(dict_data=zdict, compression_params=params)

        def new_dctx() -> zstandard.ZstdDecompressor:
            return zstandard.ZstdDecompressor(
                dict_data=zdict, format=zstandard.FORMAT_ZSTD1_MAGICLESS
            )

        # (De)compressors are not thread-safe. Each call borrows one from a
        # pool: list.pop() and append() are atomic, so as many exist as
        # threads ever ran at once, and none outlive the codec.
        self._new_cctx = new_cctx
        self._cctx_pool: list[zstandard.ZstdCompressor] = []
        self._new_dctx = new_dctx
        self.decode = CompactDecoder(
            new_dctx,
            _escaped_frame,
            self._classify,
            (TruncatedFrame, CorruptPayload, OutputLimitExceeded, zstandard.ZstdError),
        )

    def encode(self, message: bytes) -> bytes | None:
        pool = self._cctx_pool
        cctx = pool.pop() if pool else self._new_cctx()
        try:
            frame = cctx.compress(message)
        finally:
            pool.append(cctx)
        if len(frame) >= 5 and frame[0] == 0:
            header = int.from_bytes(frame[2:5], "little")
            if header & 0b111 == _LAST_COMPRESSED and header >> 3 == len(frame) - 5:
                return frame[1:2] + frame[5:]
        return b"\xff" + frame[1:]

    def _classify(self, frame: bytes, limit: int, exc: Exception) -> Exception:
        """The DecodeError for zstd's error ``exc`` (slow path, errors only).

        zstd reports "output full" and "input ended" alike; a bounded
        streaming read tells them apart.
        """
        try:
            reader = self._new_dctx().stream_reader(frame, read_across_frames=False)
            produced = len(reader.read(limit + 1))
        except zstandard.ZstdError:
            produced = 0
        if produced > limit:
            return OutputLimitExceeded(limit)
        return CorruptPayload(f"zstd payload is corrupt: {exc}")

    def max_payload_size(self, size: int) -> int:
        # The escape form is as long as the magicless frame (FHD dropped, 0xff
        # added), which zstd's own bound covers.
        return _zstd_bound(size)

    def fingerprint(self) -> Mapping[str, str | int]:
        return {"format": 1, "dictionary": self._dict_hash}


def _zstd_bound(size: int) -> int:
    # ZSTD_COMPRESSBOUND from zstd.h.
    margin = ((128 << 10) - size) >> 11 if size < (128 << 10) else 0
    return size + (size >> 8) + margin


def _escaped_frame(payload: bytes) -> bytes:
    """The frame of an escape-form payload (``0xff`` first), its blocks checked."""
    frame = b"\x00" + payload[1:]
    _check_blocks(frame)
    return frame


def _check_blocks(frame: bytes) -> None:
    """Walk the block headers of an escaped frame: it must end exactly at its end."""
    pos = 2  # frame header descriptor and window descriptor
    end = len(frame)
    if end < pos:
        raise TruncatedFrame("zstd payload ends inside the frame header")
    while True:
        if pos + 3 > end:
            raise TruncatedFrame(f"zstd payload ends inside a block header at byte {pos}")
        header = int.from_bytes(frame[pos : pos + 3], "little")
        kind = (header >> 1) & 0b11
        if kind == 3:
            raise CorruptPayload(f"zstd block at byte {pos} has the reserved block type")
        size = header >> 3
        pos += 3 + (1 if kind == 1 else size)  # an RLE block stores one byte
        if pos > end:
            raise TruncatedFrame(f"zstd payload ends inside a block ({end} of {pos} bytes)")
        if header & 1:
            break
    if pos != end:
        raise TrailingData(f"{end - pos} bytes follow the last zstd block")


def _factory(settings: Mapping[str, Any]) -> ZstdCodec:
    dictionary = None
    path: Path | None = settings["dictionary"]
    if path is not None:
        dictionary = _read_dictionary(path, settings["dictionary_sha256"])
    try:
        return ZstdCodec(level=settings["level"], dictionary=dictionary)
    except zstandard.ZstdError as exc:
        raise SettingError("dictionary", f"{path}: not a valid zstd dictionary ({exc})") from exc


def _read_dictionary(path: Path, sha256: str | None) -> bytes:
    try:
        size = path.stat().st_size
        if size > _MAX_DICTIONARY:
            raise SettingError(
                "dictionary", f"{path}: {size} bytes, more than the {_MAX_DICTIONARY} allowed"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise SettingError("dictionary", f"cannot read {path}: {exc.strerror or exc}") from exc
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256.lower():
        raise SettingError(
            "dictionary", f"{path}: content does not match dictionary_sha256 (corrupt or replaced)"
        )
    return data


@hookimpl
def auracodec_codec_types() -> list[CodecType]:
    return [CodecType(NAME, METHOD_ID, _factory, SETTINGS, "Zstandard, minimal frame")]


@hookimpl
def auracodec_train(
    corpus: Sequence[Sample], outdir: Path, config: Config, progress: Progress
) -> TrainResult | None:
    settings = config.codec_settings(NAME, SETTINGS)
    samples: list[bytes | bytearray | memoryview] = [s.data for s in corpus if s.data]
    total = sum(map(len, samples))
    # zstd's trainer needs much more sample text than dictionary; on a small
    # corpus, train a smaller dictionary rather than none.
    size = min(settings["dictionary_size"], total // 8)
    if len(samples) < 16 or size < 1024:
        warnings.warn(
            f"zstd: corpus too small for a dictionary ({len(samples)} messages, "
            f"{total} bytes); zstd will run without one",
            AuraWarning,
            stacklevel=2,
        )
        return None
    advance = progress.task(f"zstd: {size // 1024} KB dictionary", 1)
    try:
        trained = zstandard.train_dictionary(size, samples)
    except zstandard.ZstdError as exc:
        warnings.warn(
            f"zstd: dictionary training failed ({exc}); skipped", AuraWarning, stacklevel=2
        )
        return None
    data = trained.as_bytes()
    (outdir / DICTIONARY_FILE).write_bytes(data)
    advance(1)
    return TrainResult(
        codec=NAME,
        settings={
            "level": settings["level"],
            "dictionary": DICTIONARY_FILE,
            "dictionary_sha256": hashlib.sha256(data).hexdigest(),
        },
        summary=f"{len(data) // 1024} KB dictionary from {len(samples)} messages",
    )
