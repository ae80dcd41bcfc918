"""``brio``: BRIO, a trained context-mixing coder for short messages, id ``0x03``.

Each message is coded bit by bit with an arithmetic coder, from predictions
mixed from the statistics of a model trained on the user's traffic (context
orders 1 to 6, two word contexts), small tables that adapt within the message,
and a match model; a modelled end-of-message decision replaces a length
prefix. There are no tables in the payload: on a 40-byte message the payload
is just the coded bits, and the flush is at most one byte. The model file and
the frame are specified in ``docs/brio.md``.

``auracodec train`` writes ``brio.model`` (about ``model_size`` bytes). Without
a model the codec still works, adapting within each message only. In a
session (see ``docs/sessions.md``) a context carries the adaptation
across the messages of a direction: method id ``0x13``. With ``streams = true``
the context is ``0x23`` instead: it codes a short message, or one that repeats
most of the previous one, as that message's continuation, as a reply streamed
token by token is sent (docs/brio.md, section 7.1).

The coding loops are C: a core without Python, one file per role
(``_predict``, ``_coder``, ``_session``, ``_model``, ``_train``; their contract
is ``_internal.h``, their API ``_core.h``), and its CPython binding
``_brio.c``. They run without the GIL and share one read-only model between
threads; every decoding failure is one of auracodec's ``DecodeError``
subclasses, raised by the C code itself.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import secrets
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from auracodec.plugin import (
    AuraWarning,
    Codec,
    CodecType,
    Config,
    CostModel,
    Progress,
    Sample,
    Setting,
    SettingError,
    TrainResult,
    hookimpl,
)

from . import _brio

NAME = "brio"
METHOD_ID = 0x03
CONTEXT_ID = 0x13
STREAMS_CONTEXT_ID = 0x23
MODEL_FILE = "brio.model"
_MiB = 1024 * 1024

SETTINGS: tuple[Setting, ...] = (
    Setting.path("model", "A BRIO model (`auracodec train` writes one); none: adaptive only."),
    Setting.text(
        "model_sha256", None, "SHA-256 of the model file, checked when it loads (from training)."
    ),
    Setting.integer(
        "model_size",
        8 * _MiB,
        64 * 1024,
        256 * _MiB,
        "Largest model file loaded, and the size `auracodec train` aims for (bytes).",
    ),
    Setting.integer(
        "apm2_bits",
        11,
        0,
        20,
        "Rows of the order-1 APM table, as a power of two (2^bits x 66 bytes of the model; "
        "0: one row). Smaller leaves more of `model_size` to the hashed contexts.",
        training_only=True,
    ),
    Setting.integer(
        "apm_precision",
        16,
        1,
        16,
        "Significant bits of the APM entries written to the model (16: all). Fewer compress "
        "better for transfer to clients; 7 costs nothing measurable, 6 about 1%, 5 about "
        "3% (docs/brio.md, section 8).",
        training_only=True,
    ),
    Setting.integer(
        "node_precision",
        8,
        1,
        8,
        "Significant bits of the hashed contexts' nodes written to the model (8: all). "
        "Fewer compress better for transfer to clients; 4 costs about 0.5% (docs/brio.md, "
        "section 8).",
        training_only=True,
    ),
    Setting.integer(
        "max_ratio",
        _brio.DEFAULT_MAX_RATIO,
        1,
        1024,
        "Output-to-payload ratio cap: a payload of n bytes decodes to at most "
        f"max_ratio * n + {_brio.RATIO_SLACK} bytes, so decoding work is bounded by the "
        "frame's length; BRIO declines (zstd carries) messages it would code beyond it, "
        "and refuses such payloads as corrupt. Both ends need the same value. See "
        "docs/brio.md, section 1.3.",
    ),
    Setting.boolean(
        "streams",
        False,
        "In sessions, code a message that is short (at most 64 bytes) or repeats most of the "
        "previous one as its continuation, without asking the selector: for connections that "
        "stream replies token by token, whose deltas, raw or in a JSON envelope, then cost "
        "about half of permessage-deflate's bytes (or less). Such sessions never isolate a "
        'message on their own (docs/sessions.md, "Streamed replies"; method id 0x23 '
        "instead of 0x13; docs/brio.md, section 7.1). Both ends need the same value.",
    ),
)


class BrioCodec:
    """BRIO with one shared, read-only model. Thread-safe.

    ``encode`` and ``decode`` are the C functions themselves: no Python runs
    per message.
    """

    name = NAME
    method_id = METHOD_ID
    thread_safe = True
    detects: frozenset[str] = frozenset()
    cost = 30

    def __init__(
        self,
        model: bytes | mmap.mmap | None = None,
        max_ratio: int = _brio.DEFAULT_MAX_RATIO,
        *,
        streams: bool = False,
    ) -> None:
        # Raises ValueError for an invalid blob (b"" included: only None is
        # neutral). A read-only blob (bytes, or the model file mapped by
        # _factory) is read in place: its large tables are not copied, so the
        # worker processes that map one file share its pages.
        self.model = _brio.Model(model, max_ratio=max_ratio)
        self.encode = self.model.encode  # None for a message beyond the ratio cap
        self.decode = self.model.decode
        self.max_ratio = max_ratio
        self.streams = streams
        self._hash = hashlib.sha256(model).hexdigest() if model is not None else "neutral"

    def max_payload_size(self, size: int) -> int:
        # 9 binary decisions per byte (end of message, 8 bits), each at most
        # 12 bits with 12-bit probabilities, plus the end and the flush.
        return (size * 9 * 12 + 12) // 8 + 2

    def fingerprint(self) -> Mapping[str, str | int]:
        # The cap decides which payloads decode, so it is part of the format.
        fingerprint: dict[str, str | int] = {
            "format": _brio.FORMAT_VERSION,
            "model": self._hash,
            "max_ratio": self.max_ratio,
        }
        if self.streams:  # absent when off: the fingerprints of earlier profiles stand
            fingerprint["streams"] = 1
        return fingerprint


class BrioContext:
    """BRIO's state for one direction of a session (method id ``0x13``, or
    ``0x23`` with continuations, ``streams = true``).

    The C state (history, per-message map, match table, mixer weights) is
    made at the first message and dropped by :meth:`reset`: an idle session
    holds nothing.
    """

    name = NAME
    cost = 31

    def __init__(self, codec: BrioCodec) -> None:
        self._model = codec.model
        self._streams = codec.streams
        self.method_id = STREAMS_CONTEXT_ID if codec.streams else CONTEXT_ID
        #: With continuations, the messages it continues (short ones, or most
        #: of the previous one again) are coded by this context alone: the
        #: session asks no policy, since choosing would cost more CPU than
        #: another codec could save on a delta that BRIO codes in a few µs.
        self.solo: Callable[[bytes], bool] | None = self._solo if codec.streams else None
        self._ctx: _brio.Context | None = None

    def _context(self) -> _brio.Context:
        if self._ctx is None:
            ctx = self._ctx = self._model.context(streams=self._streams)
            # From now on the C methods themselves (they shadow the methods
            # below, until reset): no Python runs per message.
            self.encode = ctx.encode  # type: ignore[method-assign,assignment]
            self.decode = ctx.decode  # type: ignore[method-assign]
            self.absorb = ctx.absorb  # type: ignore[method-assign,assignment]
            if self._streams:
                self.solo = ctx.continues
        return self._ctx

    def _solo(self, message: bytes) -> bool:
        return self._context().continues(message)

    def encode(self, message: bytes) -> bytes | None:
        # Declining (None, beyond the ratio cap) absorbs the message all the
        # same, as the peer's context absorbs it from the codec that carries it.
        return self._context().encode(message)

    def decode(self, payload: bytes, limit: int) -> bytes:
        return self._context().decode(payload, limit)

    def absorb(self, message: bytes) -> None:
        self._context().absorb(message)

    def reset(self) -> None:
        self._ctx = None
        for name in ("encode", "decode", "absorb"):
            self.__dict__.pop(name, None)
        if self._streams:
            self.solo = self._solo

    def memory(self) -> int:
        return 0 if self._ctx is None else int(self._ctx.memory_size)


def _factory(settings: Mapping[str, Any]) -> BrioCodec:
    path: Path | None = settings["model"]
    max_ratio: int = settings["max_ratio"]
    streams: bool = settings["streams"]
    if path is None:
        return BrioCodec(max_ratio=max_ratio, streams=streams)
    cap = settings["model_size"]
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > cap:
                raise SettingError(
                    "model",
                    f"{path} is {size} bytes, more than model_size = {cap}; "
                    "raise model_size to load it",
                )
            # Mapped read-only, not read: the model reads its large tables in
            # place, so processes that load the same file share them
            # (docs/brio.md, section 6). The mapping outlives the file object.
            blob = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    except OSError as exc:
        raise SettingError("model", f"cannot read {path}: {exc.strerror or exc}") from exc
    if not blob:
        # Not the untrained model: a file that should hold one and does not.
        raise SettingError(
            "model",
            f"{path} is empty: not a BRIO model; train one with `auracodec train` "
            "(or remove the model key to run BRIO untrained)",
        )
    expected = settings["model_sha256"]
    if expected is not None and hashlib.sha256(blob).hexdigest() != expected.lower():
        raise SettingError(
            "model", f"{path}: content does not match model_sha256 (corrupt or replaced)"
        )
    try:
        return BrioCodec(blob, max_ratio, streams=streams)
    except ValueError as exc:
        raise SettingError("model", f"{path} ({len(blob)} bytes): {exc}") from exc


@hookimpl
def auracodec_codec_types() -> list[CodecType]:
    return [CodecType(NAME, METHOD_ID, _factory, SETTINGS, "trained context-model coder")]


@hookimpl
def auracodec_codec_context(codec: Codec, direction: str) -> BrioContext | None:
    return BrioContext(codec) if isinstance(codec, BrioCodec) else None


@hookimpl
def auracodec_train(
    corpus: Sequence[Sample], outdir: Path, config: Config, progress: Progress
) -> TrainResult | None:
    settings = config.codec_settings(NAME, SETTINGS)
    samples = [s for s in corpus if s.data]
    messages = [s.data for s in samples]
    # One training context per conversation and direction, in corpus order, as
    # a session's context codes them (messages without a conversation: alone).
    sessions = [(s.conv, s.direction) if s.conv is not None else i for i, s in enumerate(samples)]
    if not messages:
        warnings.warn("brio: no messages to learn from; skipped", AuraWarning, stacklevel=2)
        return None
    advance = progress.task("brio: model", len(messages))
    done = [0]

    def report(finished: int, total: int) -> None:
        advance(finished - done[0])
        done[0] = finished

    try:
        blob = _brio.train(
            messages,
            sessions=sessions,
            model_size=settings["model_size"],
            apm2_bits=settings["apm2_bits"],
            apm_precision=settings["apm_precision"],
            node_precision=settings["node_precision"],
            progress=report,
        )
    except ValueError as exc:  # a model_size too small for the model's tables
        raise SettingError("model_size", str(exc)) from exc
    _replace(outdir / MODEL_FILE, blob)
    max_ratio = settings["max_ratio"]
    chosen = "max_ratio" not in config.codec_tables.get(NAME, {})
    if chosen:
        max_ratio = fitting_ratio(blob, messages, sessions, progress)
    return TrainResult(
        codec=NAME,
        settings={
            "model": MODEL_FILE,
            "model_sha256": hashlib.sha256(blob).hexdigest(),
            "model_size": settings["model_size"],
            "max_ratio": max_ratio,
        },
        summary=(f"{len(blob) / _MiB:.1f} MiB" if len(blob) >= _MiB else f"{len(blob) // 1024} KiB")
        + f" model from {len(messages)} messages, "
        f"max_ratio {max_ratio}" + (" (fitted)" if chosen else ""),
    )


def _replace(path: Path, data: bytes) -> None:
    """Write ``path`` as a new file (rename over the old one), never in place:
    processes that mapped the old model keep reading it unchanged.

    The file gets the mode the profile's other files get (0666 less the
    umask), not ``mkstemp``'s 0600: a web server serves the profile to
    clients, often as another user.
    """
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits taken
            continue
        break
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


#: The caps training chooses from, and the share of the training bytes BRIO
#: may leave to other codecs under the chosen one.
FIT_RATIOS = (_brio.DEFAULT_MAX_RATIO, 2 * _brio.DEFAULT_MAX_RATIO, 4 * _brio.DEFAULT_MAX_RATIO)
FIT_DECLINED_SHARE = 0.01


def fitting_ratio(
    blob: bytes,
    messages: Sequence[bytes],
    sessions: Sequence[object],
    progress: Progress | None = None,
) -> int:
    """The smallest cap of :data:`FIT_RATIOS` that fits the training traffic.

    Each message is coded with the new model alone and in its session (one
    context per conversation and direction, in order, as in training); the cap
    is the smallest under which the messages BRIO would decline hold at most
    :data:`FIT_DECLINED_SHARE` of the bytes, or the largest cap. Repetitive
    traffic (large JSON documents, 35-90x under a trained model) so keeps its
    gain; chat keeps the default, and with it the default's bound on decoding
    work (docs/brio.md, section 1.3).
    """
    model = _brio.Model(blob, max_ratio=1024)
    advance = progress.task("brio: ratio cap", 2 * len(messages)) if progress else None
    # Ratio each message needs, coded alone and in its session, by bytes.
    needs: list[tuple[int, int]] = []
    by_session: dict[object, list[bytes]] = {}
    for m, key in zip(messages, sessions, strict=True):
        by_session.setdefault(key, []).append(m)
    for group in by_session.values():
        ctx = model.context()
        for m in group:
            for payload in (model.encode(m), ctx.encode(m)):
                need = 1 << 30 if not payload else -(-(len(m) - _brio.RATIO_SLACK) // len(payload))
                needs.append((need, len(m)))
        if advance is not None:
            advance(2 * len(group))
    total = sum(n for _, n in needs)
    for cap in FIT_RATIOS:
        declined = sum(n for need, n in needs if need > cap)
        if declined <= FIT_DECLINED_SHARE * total:
            return cap
    return FIT_RATIOS[-1]


@hookimpl
def auracodec_cost_model(codec: object) -> CostModel | None:
    # Both ways BRIO models every bit; its context codes to absorb, so trying
    # it costs nothing more than skipping it (absorbed = 1). Figures for a
    # trained model on chat text; training measures the profile's own.
    if isinstance(codec, BrioCodec | BrioContext):
        return CostModel(
            ratio=0.25,
            encode_ns=30_000.0,
            encode_ns_per_byte=500.0,
            decode_ns=30_000.0,
            decode_ns_per_byte=500.0,
            absorbed=1.0 if isinstance(codec, BrioContext) else 0.0,
        )
    return None
