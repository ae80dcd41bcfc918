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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import zstandard

from auracodec.plugin import (
    AuraWarning,
    Codec,
    CodecContext,
    CodecType,
    Config,
    CorruptPayload,
    CostModel,
    DecodeError,
    OutputLimitExceeded,
    Progress,
    Sample,
    Setting,
    SettingError,
    TrailingData,
    TrainResult,
    TruncatedFrame,
    hookimpl,
)

from ._compact import CompactDecoder

NAME = "zstd"
METHOD_ID = 0x02
CONTEXT_ID = 0x12
DICTIONARY_FILE = "zstd.dict"

_ESCAPE = 0xFF
_BLOCK_MAX = 128 * 1024  # zstd's Block_Maximum_Size
_LAST_COMPRESSED = 0b101  # block header bits: last block, type "compressed"
_MAX_DICTIONARY = 8 * 1024 * 1024
_DICT_MAGIC = b"\x37\xa4\x30\xec"
_ERRORS = (TruncatedFrame, CorruptPayload, OutputLimitExceeded, zstandard.ZstdError)

SETTINGS: tuple[Setting, ...] = (
    Setting.integer(
        "level",
        19,
        1,
        22,
        "Compression level for messages shorter than `long_size`; does not change the format.",
    ),
    Setting.integer(
        "long_level",
        12,
        1,
        22,
        "Compression level for messages of `long_size` bytes or more: on long messages "
        "level 19's search costs more CPU than the bytes it saves are worth "
        "(docs/cost.md); does not change the format.",
    ),
    Setting.integer(
        "long_size", 1024, 0, 1 << 31, "Where `long_level` takes over from `level` (bytes)."
    ),
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
    Setting.integer(
        "session_history",
        0,
        0,
        1 << 20,
        "Sessions: bytes of a direction's recent messages each message is compressed "
        "against, after the dictionary (0: zstd keeps no session context).",
    ),
    Setting.integer(
        "session_level",
        9,
        1,
        22,
        "Sessions: compression level with history (level 19 costs about 7 ms per message "
        "for a 112 KB dictionary, level 9 about 0.5 ms).",
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

    def __init__(
        self,
        *,
        level: int = 19,
        dictionary: bytes | None = None,
        session_history: int = 0,
        session_level: int = 9,
        long_level: int = 12,
        long_size: int = 1024,
    ) -> None:
        params = _params(level)
        long_params = _params(long_level)
        self.level = level
        self.long_level = long_level
        self.long_size = long_size
        self.dictionary = dictionary
        self.session_history = session_history
        self.session_level = session_level
        zdict = None
        self._dict_hash = ""
        if dictionary is not None:
            # Raises ZstdError for a malformed dictionary; the factory maps it.
            zdict = zstandard.ZstdCompressionDict(dictionary)
            zdict.precompute_compress(compression_params=params)
            self._dict_hash = hashlib.sha256(dictionary).hexdigest()
        long_zdict = None
        if dictionary is not None:
            long_zdict = zstandard.ZstdCompressionDict(dictionary)
            long_zdict.precompute_compress(compression_params=long_params)

        def new_cctx() -> zstandard.ZstdCompressor:
            return zstandard.ZstdCompressor(dict_data=zdict, compression_params=params)

        def new_long_cctx() -> zstandard.ZstdCompressor:
            return zstandard.ZstdCompressor(dict_data=long_zdict, compression_params=long_params)

        def new_dctx() -> zstandard.ZstdDecompressor:
            return zstandard.ZstdDecompressor(
                dict_data=zdict, format=zstandard.FORMAT_ZSTD1_MAGICLESS
            )

        # (De)compressors are not thread-safe. Each call borrows one from a
        # pool: list.pop() and append() are atomic, so as many exist as
        # threads ever ran at once, and none outlive the codec.
        self._new_cctx = new_cctx
        self._cctx_pool: list[zstandard.ZstdCompressor] = []
        self._new_long_cctx = new_long_cctx
        self._long_pool: list[zstandard.ZstdCompressor] = []
        self._new_dctx = new_dctx
        self.decode = CompactDecoder(new_dctx, _escaped_frame, self._classify, _ERRORS)

    def encode(self, message: bytes) -> bytes | None:
        if len(message) >= self.long_size:
            pool = self._long_pool
            cctx = pool.pop() if pool else self._new_long_cctx()
        else:
            pool = self._cctx_pool
            cctx = pool.pop() if pool else self._new_cctx()
        try:
            frame = cctx.compress(message)
        finally:
            pool.append(cctx)
        return _compact(frame)

    def _classify(self, frame: bytes, limit: int, exc: Exception) -> Exception:
        return _classify(self._new_dctx, frame, limit, exc)

    def max_payload_size(self, size: int) -> int:
        # The escape form is as long as the magicless frame (FHD dropped, 0xff
        # added), which zstd's own bound covers.
        return _zstd_bound(size)

    def fingerprint(self) -> Mapping[str, str | int]:
        return {"format": 1, "dictionary": self._dict_hash, "session": self.session_history}


class ZstdContext:
    """zstd in a session (method id ``0x12``), when ``session_history`` > 0.

    A zstd stream cannot try a message without keeping it, nor take in a
    message another codec carried, so a session's selector could not use one.
    Instead each message is compressed as its own frame against one
    dictionary: the trained dictionary followed by the last
    ``session_history`` bytes of the direction's messages, which both ends
    hold. Building that dictionary for every message is the cost (see
    ``session_level``); BRIO's context is stronger where it is enabled, so
    this is for pipelines without BRIO.
    """

    name = NAME
    method_id = CONTEXT_ID
    cost = 11

    def __init__(self, codec: ZstdCodec) -> None:
        self._base = codec.dictionary or b""
        self._full = self._base[:4] == _DICT_MAGIC
        self._cap = codec.session_history
        self._params = _params(codec.session_level)
        self._level = codec.session_level
        self._history = bytearray()
        self._failed: str | None = None  # why decode refuses, until reset()

    def _zdict(self) -> zstandard.ZstdCompressionDict | None:
        content = self._base + bytes(self._history)
        if not content:
            return None
        kind = zstandard.DICT_TYPE_FULLDICT if self._full else zstandard.DICT_TYPE_RAWCONTENT
        return zstandard.ZstdCompressionDict(content, dict_type=kind)

    def encode(self, message: bytes) -> bytes:
        cctx = zstandard.ZstdCompressor(dict_data=self._zdict(), compression_params=self._params)
        payload = _compact(cctx.compress(message))
        self.absorb(message)
        return payload

    def decode(self, payload: bytes, limit: int) -> bytes:
        if self._failed is not None:
            raise CorruptPayload(
                f"zstd session context refuses frames since one failed ({self._failed}); "
                "reset it first"
            )
        try:
            return self._decode(payload, limit)
        except DecodeError as exc:
            # The history may no longer be the peer's: nothing decodes until reset.
            self._failed = str(exc)
            raise

    def _decode(self, payload: bytes, limit: int) -> bytes:
        zdict = self._zdict()

        def new_dctx() -> zstandard.ZstdDecompressor:
            return zstandard.ZstdDecompressor(
                dict_data=zdict, format=zstandard.FORMAT_ZSTD1_MAGICLESS
            )

        def classify(frame: bytes, limit: int, exc: Exception) -> Exception:
            return _classify(new_dctx, frame, limit, exc)

        decoder = CompactDecoder(new_dctx, _escaped_frame, classify, _ERRORS)
        message = decoder(payload, limit)
        self.absorb(message)
        return message

    def absorb(self, message: bytes) -> None:
        self._history += message
        if len(self._history) > self._cap:
            del self._history[: len(self._history) - self._cap]

    def reset(self) -> None:
        self._history.clear()
        self._failed = None

    def memory(self) -> int:
        return len(self._history)


def _params(level: int) -> zstandard.ZstdCompressionParameters:
    return zstandard.ZstdCompressionParameters.from_level(
        level,
        format=zstandard.FORMAT_ZSTD1_MAGICLESS,
        write_checksum=False,
        write_content_size=False,
        write_dict_id=False,
    )


def _compact(frame: bytes) -> bytes:
    """The payload for a magicless frame: compact when it is one compressed block."""
    if len(frame) >= 5 and frame[0] == 0:
        header = int.from_bytes(frame[2:5], "little")
        if header & 0b111 == _LAST_COMPRESSED and header >> 3 == len(frame) - 5:
            return frame[1:2] + frame[5:]
    return b"\xff" + frame[1:]


def _classify(
    new_dctx: Callable[[], zstandard.ZstdDecompressor], frame: bytes, limit: int, exc: Exception
) -> Exception:
    """The DecodeError for zstd's error ``exc`` (slow path, errors only).

    zstd reports "output full" and "input ended" alike; a bounded streaming
    read tells them apart.
    """
    try:
        reader = new_dctx().stream_reader(frame, read_across_frames=False)
        produced = len(reader.read(limit + 1))
    except zstandard.ZstdError:
        produced = 0
    if produced > limit:
        return OutputLimitExceeded(limit)
    return CorruptPayload(f"zstd payload is corrupt: {exc}")


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
        return ZstdCodec(
            level=settings["level"],
            dictionary=dictionary,
            session_history=settings["session_history"],
            session_level=settings["session_level"],
            long_level=settings["long_level"],
            long_size=settings["long_size"],
        )
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
def auracodec_codec_context(codec: Codec, direction: str) -> ZstdContext | None:
    if isinstance(codec, ZstdCodec) and codec.session_history > 0:
        return ZstdContext(codec)
    return None


@hookimpl
def auracodec_codec_types() -> list[CodecType]:
    return [CodecType(NAME, METHOD_ID, _factory, SETTINGS, "Zstandard, minimal frame")]


@hookimpl
def auracodec_cost_model(codec: Codec | CodecContext) -> CostModel | None:
    # Measured on chat messages (about 120 bytes) with a 112 KB dictionary on
    # a 2-core x86-64 VM; training measures the profile's own figures.
    if isinstance(codec, ZstdCodec):
        slow = codec.level >= 15  # the level of short messages, where the prior matters
        return CostModel(
            ratio=0.45,
            encode_ns=15_000.0 if slow else 2_000.0,
            encode_ns_per_byte=100.0 if slow else 5.0,
            decode_ns=1_000.0,
            decode_ns_per_byte=1.0,
        )
    if isinstance(codec, ZstdContext):
        # Absorbing appends to a history; coding first builds a dictionary of
        # the trained one and the history, at a cost per byte of that content
        # that grows with the level (measured: 0.3 ns at level 3, about 4 at
        # 9, about 60 at 19). Decoding builds it too, at about level 3's cost.
        content = len(codec._base) + codec._cap
        per = 0.3 if codec._level <= 3 else 4.0 if codec._level <= 9 else 60.0
        return CostModel(
            ratio=0.4,
            encode_ns=15_000.0 + content * per,
            encode_ns_per_byte=50.0,
            decode_ns=10_000.0 + content * 0.3,
            decode_ns_per_byte=1.0,
        )
    return None


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
