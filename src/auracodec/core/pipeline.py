"""The pipeline: configured codecs, a selector policy, framing and stats.

Per message, :meth:`Pipeline.encode` asks the policy for the best codec, frames
the payload behind the codec's method id, and falls back to raw whenever the
payload is not smaller than the message, so a frame is never longer than the
message plus one byte. :meth:`Pipeline.decode` reads the method id, checks it,
and lets the codec decode under the output limit (``max_message_size``).
Both go through :mod:`auracodec.core.wire`, the path sessions take too.
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs

from ._speedups import FrameDecoder
from .build import RAW_CODEC, assemble
from .codec import Codec
from .config import Config
from .cost import Estimates, PolicyContext
from .errors import CONTAINED, PluginError, UnknownMethod
from .framing import FRAME_FORMAT, as_message, empty_frame
from .health import Health, check_targets, health
from .registry import Registry
from .selector import Policy
from .session import Session
from .stats import Stats
from .wire import Observers, Wire, report_fault

__all__ = ["Pipeline"]

#: encode_many goes parallel only for batches at least this large (bytes and
#: messages): below it, starting threads costs more than it saves.
_PARALLEL_MIN_BYTES = 256 * 1024
_PARALLEL_MIN_MESSAGES = 64


# slots=False: instances bind the decode core's methods over decode() and
# decode_bytes() (see __attrs_post_init__).
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
    #: The encode and decode path, shared with this pipeline's sessions.
    wire: Wire = attrs.field(repr=False)
    _decoder: FrameDecoder = attrs.field(repr=False)

    def __attrs_post_init__(self) -> None:
        # decode() and decode_bytes() below only call the decode core; every
        # instance binds the core's own methods instead, which saves one
        # Python call per frame (about 6% of a small zstd frame's decode).
        # It is the same code either way, observers or not: one path.
        self.decode_bytes = self._decoder.decode_bytes  # type: ignore[method-assign]
        self.decode = self._decoder.decode  # type: ignore[method-assign]
        # The open sessions, whose traffic health() takes in with the
        # pipeline's own (each session counts in its own stats).
        self._sessions: weakref.WeakSet[Session] = weakref.WeakSet()

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
        reporters: dict[str, Callable[[], Any]] = {}
        for name, c in built.items():
            report = getattr(c, "stats", None)
            if callable(report):
                reporters[name] = report
        stats = Stats(
            {c.method_id: c.name for c in built.values()},
            lambda: {name: report() for name, report in reporters.items()},
        )
        origins = {}
        for name, c in built.items():
            owner = registry.owner.get(("auracodec_codec_types", name))
            if owner is not None:
                origins[c.method_id] = f"plugin {owner.name!r} from {owner.origin}"
        wire = Wire(
            codecs=built,
            raw=raw,
            policy=policy,
            limit=config.max_message_size,
            verify=config.verify,
            observers=Observers(registry.pm.hook),
            context_hook=registry.pm.hook.auracodec_codec_context,
            origins=origins,
            cost_hook=registry.pm.hook.auracodec_cost_model,
        )
        _bind_policy(policy, config, wire, stats)
        return cls(
            config=config,
            registry=registry,
            policy=policy,
            raw=raw,
            codecs=built,
            stats=stats,
            fingerprint=_fingerprint(built.values(), assembly.fingerprints),
            wire=wire,
            decoder=wire.decoder({c.method_id: c.decode for c in built.values()}, stats),
        )

    # -- the wire -------------------------------------------------------------

    @property
    def max_message_size(self) -> int:
        """The largest message encode accepts and decode produces, in bytes."""
        return self.wire.limit

    def encode(self, message: str | bytes | bytearray | memoryview) -> bytes:
        """Encode one message into a frame of at most ``len(message) + 1`` bytes.

        ``str`` is encoded as UTF-8; bytes-likes are taken as they are.
        :class:`~auracodec.MessageTooLarge` beyond ``max_message_size``.
        """
        return self.wire.encode(as_message(message), self.wire.candidates, self.stats)

    def decode_bytes(self, frame: bytes | bytearray | memoryview, /) -> bytes:
        """Decode one frame into the message bytes; a :class:`~auracodec.DecodeError`
        subclass for any bad frame."""
        return self._decoder.decode_bytes(frame)

    def decode(self, frame: bytes | bytearray | memoryview, /) -> str:
        """Decode one frame into the message text; :class:`~auracodec.InvalidUtf8`
        (a ``DecodeError``, counted as a failure) if the message is not UTF-8."""
        return self._decoder.decode(frame)

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

    def health(self, targets: Mapping[str, float] | None = None) -> Health:
        """Check :attr:`stats` and the stats of this pipeline's open sessions,
        taken together, against targets; see :mod:`auracodec.core.health`.

        :param targets: target values by key (``min_ratio``, ``max_expansion_share``,
            ``max_p95_encode_us``, ``max_p95_decode_us``, ``max_error_rate``); each
            replaces the config's ``[health]`` value. A bad key or value raises
            :class:`~auracodec.core.settings.SettingError` naming it.
        """
        merged = {**check_targets({}), **self.config.health}
        if targets:
            checked = check_targets(targets)
            merged.update({k: checked[k] for k in targets})
        return health([self.stats, *(s.stats for s in self._open_sessions())], merged)

    def _open_sessions(self) -> list[Session]:
        # Another thread may open a session meanwhile: the set then changes
        # size during the copy, and the copy is taken again.
        while True:
            try:
                return list(self._sessions)
            except RuntimeError:
                continue

    def session(self, session_id: str | None = None, *, check_every: int | None = None) -> Session:
        """A new :class:`~auracodec.Session`: context across one connection's messages.

        :param check_every: send a digest of the outgoing direction every this
            many messages (0: never); default ``[session] check_every``.
        """
        if check_every is None:
            check_every = self.config.session_check_every
        session = Session(self.wire, session_id, check_every=check_every)
        self._sessions.add(session)
        self.wire.observers.session_opened(session, self.stats)
        return session

    def method_of(self, frame: bytes | bytearray | memoryview) -> str:
        """The name of the codec a frame's method id names (no decoding)."""
        if not frame:
            raise empty_frame()
        codec = self.wire.by_id.get(frame[0])
        if codec is None:
            raise UnknownMethod(frame[0], self.wire.names)
        return codec.name


def _fingerprint(
    codecs: Iterable[Codec], fingerprints: Mapping[str, Mapping[str, str | int]]
) -> str:
    """A short id that changes whenever frames of one pipeline may not decode in another.

    ``fingerprints`` are the codecs' own (``Codec.fingerprint()``), called and
    checked once when the pipeline was assembled.
    """
    described = [
        {"id": c.method_id, "name": c.name, "codec": dict(fingerprints[c.name])}
        for c in sorted(codecs, key=lambda c: c.method_id)
    ]
    blob = json.dumps({"frame": FRAME_FORMAT, "codecs": described}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _bind_policy(policy: Policy, config: Config, wire: Wire, stats: Stats) -> None:
    """Give a policy that has ``bind`` the prices, the estimates and the cost models."""
    bind = getattr(policy, "bind", None)
    if not callable(bind):
        return
    path = config.estimates_path
    estimates = Estimates() if path is None else Estimates.load(path, config_path=config.path)
    context = PolicyContext(config.prices, estimates, wire.cost_model, wire.candidates)
    try:
        bind(context)
    except CONTAINED as exc:
        raise PluginError(
            f"selector policy {config.policy!r}: bind() raised {type(exc).__name__}: {exc}"
        ) from exc
    for where, what in wire.cost_faults:
        report_fault(stats, where, None, what + "; its codec is assumed to cost an average")
    wire.cost_faults.clear()
