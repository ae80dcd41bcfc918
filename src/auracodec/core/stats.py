"""Per-method counters and latencies of a pipeline or session: ``pipe.stats``.

Counts and byte totals are exact. Latencies are kept for the most recent
:data:`RESERVOIR` messages of each method and direction (``reservoir=`` to
keep fewer), from which percentiles are computed when asked; a long-running
pipeline therefore reports recent latency, in bounded memory. The latency
buffers are allocated at a method's first message in a direction and grow
with its traffic (16 entries, then doubling up to the reservoir), so stats
that saw nothing (an idle session's) hold only their counters: 32 bytes per
method and direction.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._speedups import RESERVOIR, Recorder

__all__ = ["RESERVOIR", "MethodStats", "Percentiles", "Stats"]

#: Counters per method and direction: messages, bytes in, bytes out, expansions.
_FIELDS = 4


@attrs.frozen
class Percentiles:
    """Latency percentiles in microseconds, over ``samples`` recent messages."""

    p50: float
    p95: float
    p99: float
    samples: int

    @classmethod
    def of(cls, ns: list[int]) -> Percentiles:
        if not ns:
            return cls(0.0, 0.0, 0.0, 0)
        s = sorted(ns)
        n = len(s)

        def rank(q: float) -> float:  # nearest rank
            return s[max(0, math.ceil(q * n) - 1)] / 1000.0

        return cls(rank(0.50), rank(0.95), rank(0.99), n)


@attrs.frozen
class MethodStats:
    """What one method did, encoding and decoding.

    ``bytes_in``/``bytes_out`` count messages in and frames out when encoding;
    ``decoded_frame_bytes``/``decoded_bytes`` the same for decoding.
    ``expansions`` counts frames longer than their message (raw frames, by the
    one method byte).
    """

    name: str
    method_id: int
    encoded: int
    bytes_in: int
    bytes_out: int
    expansions: int
    decoded: int
    decoded_frame_bytes: int
    decoded_bytes: int
    encode_us: Percentiles
    decode_us: Percentiles

    @property
    def ratio(self) -> float:
        """Message bytes per frame byte when encoding (higher is better)."""
        return self.bytes_in / self.bytes_out if self.bytes_out else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = attrs.asdict(self)
        d["ratio"] = round(self.ratio, 4)
        return d


class Stats:
    """Counters of one pipeline (or session); safe to update from any thread.

    The counters live in ``array('q')`` buffers that the compiled recorders
    (:mod:`auracodec.core._speedups`) update in one C call each, so no update
    is lost between threads and no lock is taken per message.
    """

    def __init__(
        self,
        names: Mapping[int, str],
        codec_stats: Callable[[], dict[str, Any]] | None = None,
        *,
        reservoir: int = RESERVOIR,
    ) -> None:
        #: Method id -> name, for every method these stats count (read-only).
        self.names: Mapping[int, str] = dict(names)
        self._names = self.names
        self._codec_stats = codec_stats
        ids = sorted(self._names)
        #: Method id -> slot in the counter arrays.
        self.slot = {mid: i for i, mid in enumerate(ids)}
        n = len(ids)
        self._enc_counts = array("q", bytes(8 * _FIELDS * n))
        self._dec_counts = array("q", bytes(8 * _FIELDS * n))
        #: ``add(slot, message_size, frame_size, ns)`` for an encoded message.
        self.encoded = Recorder(self._enc_counts, reservoir)
        #: ``add(slot, frame_size, message_size, ns)`` for a decoded frame.
        self.decoded = Recorder(self._dec_counts, reservoir)
        self._lock = threading.Lock()  # errors only: the rare path
        self._errors: Counter[str] = Counter()
        self._verify_failures = 0
        self._faults: Counter[str] = Counter()

    def name_of(self, method_id: int) -> str:
        """The name this pipeline or session gives a method id (``0x..`` if none)."""
        # or: the fallback's f-string is built only when needed (once per message).
        return self._names.get(method_id) or f"0x{method_id:02x}"

    def record_error(self, error: BaseException) -> None:
        with self._lock:
            self._errors[type(error).__name__] += 1

    def record_fault(self, where: str) -> None:
        """Count a contained plugin failure (see :mod:`auracodec.core.wire`)."""
        with self._lock:
            self._faults[where] += 1

    def record_verify_failure(self) -> None:
        with self._lock:
            self._verify_failures += 1

    # -- reading ------------------------------------------------------------

    @property
    def methods(self) -> dict[str, MethodStats]:
        """A snapshot per method, by name, for methods that saw any message."""
        # tolist() copies an array in one C call: a consistent snapshot of each.
        enc, dec = self._enc_counts.tolist(), self._dec_counts.tolist()
        out = {}
        for mid, slot in self.slot.items():
            e = enc[_FIELDS * slot : _FIELDS * slot + _FIELDS]
            d = dec[_FIELDS * slot : _FIELDS * slot + _FIELDS]
            if not e[0] and not d[0]:
                continue
            name = self._names[mid]
            out[name] = MethodStats(
                name=name,
                method_id=mid,
                encoded=e[0],
                bytes_in=e[1],
                bytes_out=e[2],
                expansions=e[3],
                decoded=d[0],
                decoded_frame_bytes=d[1],
                decoded_bytes=d[2],
                encode_us=Percentiles.of(self.encoded.recent(slot)),
                decode_us=Percentiles.of(self.decoded.recent(slot)),
            )
        return out

    @property
    def errors(self) -> dict[str, int]:
        """Decode errors by exception class name."""
        with self._lock:
            return dict(self._errors)

    @property
    def faults(self) -> dict[str, int]:
        """Contained plugin failures, by plugin and step (``"codec 'x' encode"``)."""
        with self._lock:
            return dict(self._faults)

    @property
    def verify_failures(self) -> int:
        """Frames that failed verify-on-encode and went raw instead."""
        return self._verify_failures

    def totals(self) -> dict[str, Any]:
        m = self.methods.values()
        bytes_in = sum(s.bytes_in for s in m)
        bytes_out = sum(s.bytes_out for s in m)
        return {
            "encoded": sum(s.encoded for s in m),
            "decoded": sum(s.decoded for s in m),
            "bytes_in": bytes_in,
            "bytes_out": bytes_out,
            "ratio": round(bytes_in / bytes_out, 4) if bytes_out else 0.0,
            "expansions": sum(s.expansions for s in m),
        }

    @property
    def codecs(self) -> dict[str, Any]:
        """Figures codecs keep themselves (template hit rates...), by codec name."""
        return self._codec_stats() if self._codec_stats else {}

    def to_dict(self) -> dict[str, Any]:
        """Everything, as plain data (JSON-ready)."""
        return {
            "total": self.totals(),
            "methods": {name: s.to_dict() for name, s in self.methods.items()},
            "codecs": self.codecs,
            "decode_errors": self.errors,
            "verify_failures": self.verify_failures,
            "faults": self.faults,
        }

    @property
    def reservoir(self) -> int:
        """Latencies kept per method and direction, at most."""
        return int(self.encoded.reservoir)

    def memory(self) -> int:
        """Bytes held by the counters and the latency buffers (not the objects around them)."""
        counters = 8 * (len(self._enc_counts) + len(self._dec_counts))
        return counters + self.encoded.ring_bytes + self.decoded.ring_bytes

    def reset(self) -> None:
        """Zero every counter (in place: the recorders keep their arrays) and
        free the latency buffers."""
        for a in (self._enc_counts, self._dec_counts):
            memoryview(a).cast("B")[:] = bytes(8 * len(a))
        self.encoded.clear()
        self.decoded.clear()
        with self._lock:
            self._errors.clear()
            self._faults.clear()
            self._verify_failures = 0
