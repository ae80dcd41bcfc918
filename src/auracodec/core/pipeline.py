"""The pipeline: configured codecs, a selector policy, framing and stats.

Per message, :meth:`Pipeline.encode` asks the policy for the best codec, frames
the payload behind the codec's method id, and falls back to raw whenever the
payload is not smaller than the message, so a frame is never longer than the
message plus one byte. :meth:`Pipeline.decode` reads the method id, checks it,
and lets the codec decode under the output limit (``max_message_size``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter_ns
from typing import Any

import attrs

from ._speedups import FrameDecoder
from .build import RAW_CODEC, assemble
from .codec import Codec
from .config import Config
from .errors import (
    DecodeError,
    MessageTooLarge,
    OutputLimitExceeded,
    TruncatedFrame,
    UnknownMethod,
)
from .events import MessageEvent
from .framing import FRAME_FORMAT, as_frame, as_message, as_text, invalid_utf8
from .registry import Registry
from .selector import Policy
from .session import Session
from .stats import Stats

__all__ = ["Pipeline"]

#: encode_many goes parallel only for batches at least this large (bytes and
#: messages): below it, starting threads costs more than it saves.
_PARALLEL_MIN_BYTES = 256 * 1024
_PARALLEL_MIN_MESSAGES = 64


# slots=False: a pipeline without observers binds the compiled decoder's
# methods over decode() and decode_bytes() on the instance (see _build).
@attrs.define(eq=False, slots=False)
class Pipeline:
    """Encode and decode messages as ``[method id][payload]`` frames.

    Build one with :meth:`from_config`. A pipeline is safe to share between
    threads when all its codecs are thread-safe (the built-in ones are).
    """

    config: Config
    registry: Registry = attrs.field(repr=False)
    policy: Policy
    raw: Codec
    codecs: Mapping[str, Codec]
    stats: Stats = attrs.field(repr=False)
    fingerprint: str
    _candidates: tuple[Codec, ...] = attrs.field(repr=False)
    _decoders: list[Codec | None] = attrs.field(repr=False)
    _prefix: dict[int, bytes] = attrs.field(repr=False)
    _slot: dict[int, int] = attrs.field(repr=False)
    _limit: int
    _verify: bool
    _observe_encoded: Any = attrs.field(default=None, repr=False)
    _observe_decoded: Any = attrs.field(default=None, repr=False)
    _observe_failed: Any = attrs.field(default=None, repr=False)

    # -- building -----------------------------------------------------------

    @classmethod
    def from_config(
        cls,
        path: str | os.PathLike[str] | Config | None = None,
        *,
        codecs: Sequence[str] | None = None,
        plugins: Sequence[tuple[str, object]] = (),
    ) -> Pipeline:
        """Build a pipeline from a TOML file, or the built-in defaults.

        :param path: an ``auracodec.toml``, a ``pyproject.toml`` with a
            ``[tool.auracodec]`` table, a directory holding ``auracodec.toml``
            (what ``auracodec train`` writes), an already loaded
            :class:`Config`, or ``None`` for the defaults.
        :param codecs: use only these codecs (raw always stays). Overrides
            ``[pipeline] codecs``.
        :param plugins: ``(name, plugin)`` pairs registered in code, in
            addition to the installed plugins.
        """
        if isinstance(path, Config):
            config = path
        elif path is None:
            config = Config.defaults()
        else:
            config = Config.load(path)
        registry = Registry.load(disable=config.disable, extra=plugins)
        return cls._build(config, registry, codecs)

    @classmethod
    def _build(cls, config: Config, registry: Registry, only: Sequence[str] | None) -> Pipeline:
        assembly = assemble(config, registry, only)
        built = assembly.codecs
        policy = assembly.policy
        raw = built[RAW_CODEC]
        candidates = tuple(
            sorted((c for c in built.values() if c is not raw), key=lambda c: (c.cost, c.method_id))
        )
        decoders: list[Codec | None] = [None] * 256
        for c in built.values():
            decoders[c.method_id] = c
        hook = registry.pm.hook
        reporters: dict[str, Callable[[], Any]] = {}
        for name, c in built.items():
            report = getattr(c, "stats", None)
            if callable(report):
                reporters[name] = report
        stats = Stats(
            {c.method_id: c.name for c in built.values()},
            lambda: {name: report() for name, report in reporters.items()},
        )
        pipe = cls(
            config=config,
            registry=registry,
            policy=policy,
            raw=raw,
            codecs=built,
            stats=stats,
            fingerprint=_fingerprint(built.values()),
            candidates=candidates,
            decoders=decoders,
            prefix={c.method_id: bytes((c.method_id,)) for c in built.values()},
            slot=stats.slot,
            limit=config.max_message_size,
            verify=config.verify,
            observe_encoded=hook.auracodec_message_encoded
            if hook.auracodec_message_encoded.get_hookimpls()
            else None,
            observe_decoded=hook.auracodec_message_decoded
            if hook.auracodec_message_decoded.get_hookimpls()
            else None,
            observe_failed=hook.auracodec_decode_failed
            if hook.auracodec_decode_failed.get_hookimpls()
            else None,
        )
        if pipe._observe_decoded is None:
            # The compiled decoder does what decode_bytes() below does, less
            # the decoded-message events; with no observer to miss them, bind
            # it over the Python methods.
            fast = FrameDecoder(
                [c.decode if c else None for c in decoders],
                [stats.slot[c.method_id] if c else 255 for c in decoders],
                pipe._limit,
                stats.decoded,
                (
                    _empty_frame_error,
                    pipe._unknown_method,
                    pipe._too_big,
                    invalid_utf8,
                    pipe._failed,
                ),
            )
            pipe.decode_bytes = fast.decode_bytes  # type: ignore[method-assign,assignment]
            pipe.decode = fast.decode  # type: ignore[method-assign,assignment]
        return pipe

    # -- the wire -------------------------------------------------------------

    @property
    def max_message_size(self) -> int:
        """The largest message encode accepts and decode produces, in bytes."""
        return self._limit

    def encode(self, message: str | bytes) -> bytes:
        """Encode one message into a frame of at most ``len(message) + 1`` bytes."""
        data = as_message(message)
        size = len(data)
        if size > self._limit:
            raise MessageTooLarge(size, self._limit)
        start = perf_counter_ns()
        codec = self.raw
        payload = data
        choice = self.policy.select(data, self._candidates)
        if choice is not None and len(choice[1]) < size:
            codec, payload = choice
            if self._verify and not self._verified(codec, payload, data):
                codec, payload = self.raw, data
        frame = self._prefix[codec.method_id] + payload
        elapsed = perf_counter_ns() - start
        self.stats.encoded.add(self._slot[codec.method_id], size, len(frame), elapsed)
        if self._observe_encoded is not None:
            self._observe_encoded(
                event=MessageEvent("out", codec.name, codec.method_id, data, len(frame), elapsed)
            )
        return frame

    def _verified(self, codec: Codec, payload: bytes, data: bytes) -> bool:
        try:
            ok = codec.decode(payload, self._limit) == data
        except DecodeError:
            ok = False
        if not ok:
            self.stats.record_verify_failure()
        return ok

    def decode_bytes(self, frame: bytes) -> bytes:
        """Decode one frame into the message bytes."""
        if type(frame) is not bytes:
            frame = as_frame(frame)
        start = perf_counter_ns()
        try:
            if not frame:
                raise _empty_frame_error()
            codec = self._decoders[frame[0]]
            if codec is None:
                raise self._unknown_method(frame[0])
            out = codec.decode(frame[1:], self._limit)
            if len(out) > self._limit:  # a codec that breaks its contract
                raise self._too_big()
        except DecodeError as exc:
            self._failed(exc, len(frame))
            raise
        elapsed = perf_counter_ns() - start
        self.stats.decoded.add(self._slot[codec.method_id], len(frame), len(out), elapsed)
        if self._observe_decoded is not None:
            self._observe_decoded(
                event=MessageEvent("in", codec.name, codec.method_id, out, len(frame), elapsed)
            )
        return out

    def decode(self, frame: bytes) -> str:
        """Decode one frame into the message text (UTF-8)."""
        return as_text(self.decode_bytes(frame))

    # Error paths, shared with the compiled decoder.

    def _unknown_method(self, method_id: int) -> UnknownMethod:
        return UnknownMethod(method_id, {c.method_id: c.name for c in self.codecs.values()})

    def _too_big(self) -> OutputLimitExceeded:
        return OutputLimitExceeded(self._limit)

    def _failed(self, error: BaseException, frame_size: int) -> None:
        if isinstance(error, DecodeError):
            self.stats.record_error(error)
            if self._observe_failed is not None:
                self._observe_failed(frame_size=frame_size, error=error, session=None)

    def encode_many(self, messages: Iterable[str | bytes]) -> list[bytes]:
        """Encode a batch, in order; uses several threads when that pays.

        Threads pay when the batch is large and every codec releases the GIL
        and is thread-safe (true of the built-in codecs).
        """
        batch = [as_message(m) for m in messages]
        workers = min(os.cpu_count() or 1, 8)
        if (
            workers < 2
            or len(batch) < _PARALLEL_MIN_MESSAGES
            or sum(map(len, batch)) < _PARALLEL_MIN_BYTES
            or not all(c.thread_safe for c in self.codecs.values())
        ):
            return [self.encode(m) for m in batch]
        # Contiguous chunks keep per-task overhead low and order easy.
        step = -(-len(batch) // (workers * 4))
        chunks = [batch[i : i + step] for i in range(0, len(batch), step)]
        with ThreadPoolExecutor(workers, thread_name_prefix="auracodec") as pool:
            parts = pool.map(lambda chunk: [self.encode(m) for m in chunk], chunks)
            return [frame for part in parts for frame in part]

    def close(self) -> None:
        """Release what observers hold (files of the audit log). Idempotent."""
        for name, plugin in self.registry.pm.list_name_plugin():
            close = getattr(plugin, "close", None)
            if name.startswith("observer:") and callable(close):
                close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def session(self, session_id: str | None = None) -> Session:
        """A new :class:`~auracodec.Session`: context across one connection's messages."""
        return Session(self, session_id)

    def method_of(self, frame: bytes) -> str:
        """The name of the codec a frame's method id names (no decoding)."""
        if not frame:
            raise _empty_frame_error()
        codec = self._decoders[frame[0]]
        if codec is None:
            raise self._unknown_method(frame[0])
        return codec.name


def _empty_frame_error() -> TruncatedFrame:
    return TruncatedFrame("empty frame: expected at least the method id byte")


def _fingerprint(codecs: Iterable[Codec]) -> str:
    """A short id that changes whenever frames of one pipeline may not decode in another."""
    described = [
        {"id": c.method_id, "name": c.name, **dict(c.fingerprint())}
        for c in sorted(codecs, key=lambda c: c.method_id)
    ]
    blob = json.dumps({"frame": FRAME_FORMAT, "codecs": described}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
