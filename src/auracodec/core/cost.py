"""What a frame costs: its bytes on the wire and the CPU at both ends, in one unit.

Users pay for egress per byte and for the CPU that saves it. At the default
prices, $0.09 per GB of egress and $0.045 per core-hour, one byte costs as much
as 6.7 µs of one core. The unit here is the nanosecond of CPU: a frame of
``b`` bytes that took ``e`` ns to encode and takes ``d`` ns to decode costs
``b * prices.byte_ns + e + d``.

Three things feed the ``cost`` selector policy (:mod:`auracodec.plugins.selectors`):

:class:`Prices`
    ``[selector] egress_usd_per_gb`` and ``cpu_usd_per_core_hour``. A GB is
    2**30 bytes, as cloud providers bill it.
:class:`CostModel`
    What a codec declares about itself through the ``auracodec_cost_model``
    hook: its expected ratio and CPU per message and per byte, both ways. It
    is a prior, used where nothing was measured.
:class:`Estimates`
    What was measured, per codec and *size class* (messages of
    ``2**(k-1)`` to ``2**k - 1`` bytes are class ``k``): at ``auracodec
    train`` on held-out messages (``costs.json`` in the profile, ``[selector]
    estimates``), then refined as the policy runs.

Estimates are shared between threads and updated without a lock: a lost
update costs one observation, never a wrong frame. Nothing here decides
whether a frame decodes; a bad estimate costs bytes or CPU, nothing else.
"""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .errors import ConfigError

__all__ = [
    "CLASSES",
    "DEFAULT_COST_MODEL",
    "ESTIMATES_FORMAT",
    "CostModel",
    "Estimate",
    "Estimates",
    "PolicyContext",
    "Prices",
    "size_class",
]

#: Size classes 0 (the empty message) to CLASSES - 1 (64 MiB and more).
CLASSES = 28

#: The version of ``costs.json``.
ESTIMATES_FORMAT = 1
#: The largest ``costs.json`` read (a few KB per codec is usual).
MAX_ESTIMATES_SIZE = 4 * 1024 * 1024

_GB = 1 << 30
_NS_PER_HOUR = 3600 * 10**9


def size_class(size: int) -> int:
    """The size class of a message of ``size`` bytes: its bit length, capped."""
    k = size.bit_length()
    return k if k < CLASSES else CLASSES - 1


def _class_middle(k: int) -> float:
    """A typical size in class ``k`` (1.5 * 2**(k-1); 0 for the empty message)."""
    return 0.0 if k == 0 else 1.5 * (1 << (k - 1))


@attrs.frozen
class Prices:
    """What bytes and CPU cost: egress per GB (2**30 bytes), compute per core-hour."""

    egress_usd_per_gb: float = 0.09
    cpu_usd_per_core_hour: float = 0.045

    @property
    def byte_ns(self) -> float:
        """How many nanoseconds of CPU cost as much as one byte of egress."""
        if self.cpu_usd_per_core_hour <= 0:
            return math.inf
        return (self.egress_usd_per_gb / _GB) / (self.cpu_usd_per_core_hour / _NS_PER_HOUR)

    def usd(self, frame_bytes: float, cpu_ns: float) -> float:
        """The price of ``frame_bytes`` of egress and ``cpu_ns`` of CPU, in dollars."""
        return (
            frame_bytes * self.egress_usd_per_gb / _GB
            + cpu_ns * self.cpu_usd_per_core_hour / _NS_PER_HOUR
        )


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


@attrs.frozen
class CostModel:
    """A codec's declared costs, returned by the ``auracodec_cost_model`` hook.

    ``ratio`` is the expected payload size over the message size (1.0 or more
    for a codec that rarely saves anything). CPU is nanoseconds per message
    plus nanoseconds per message byte, on a machine like the ones the codec
    was measured on; only relative values matter much, since estimates
    measured at training and at run time replace them.

    ``absorbed`` is for session contexts: the share of ``encode``'s CPU that
    the context spends anyway when it only absorbs a message another codec
    carried. BRIO's context codes to absorb (1.0), so trying it costs nothing
    more; a context that absorbs by appending to a history (0.0) is tried only
    when it can win.
    """

    ratio: float = attrs.field(validator=_non_negative)
    encode_ns: float = attrs.field(default=0.0, validator=_non_negative)
    encode_ns_per_byte: float = attrs.field(default=0.0, validator=_non_negative)
    decode_ns: float = attrs.field(default=0.0, validator=_non_negative)
    decode_ns_per_byte: float = attrs.field(default=0.0, validator=_non_negative)
    absorbed: float = attrs.field(default=0.0, validator=_non_negative)

    def encode_at(self, size: float) -> float:
        return self.encode_ns + self.encode_ns_per_byte * size

    def decode_at(self, size: float) -> float:
        return self.decode_ns + self.decode_ns_per_byte * size


#: What a codec that declares nothing is assumed to cost until measured: an
#: average general-purpose compressor.
DEFAULT_COST_MODEL = CostModel(
    ratio=0.6, encode_ns=5_000, encode_ns_per_byte=20, decode_ns=2_000, decode_ns_per_byte=5
)

# Smoothing of run-time observations: each one moves an estimate 1/16 of the way.
_ALPHA = 1.0 / 16.0
# A class's measured figures replace the prior once this many messages were seen.
_MIN_MEASURED = 4


class Estimate:
    """One codec's estimates, per size class (lists indexed by class).

    ``ratio`` and ``spread`` are the payload-to-message ratio's mean and mean
    absolute deviation; ``encode``/``decode`` are nanoseconds per message byte
    (per message for the empty class); ``declined`` is the share of messages
    the codec declined. Decoding happens at the peer, so an encode refines
    ``decode`` too, through the decode-to-encode ratio measured at training
    (or declared): a codec whose payloads got dearer to make (the template
    codec, when its remainders grow) gets dearer to decode as well. ``gain``
    is what trying the codec after another one saved on average (in ns, 0
    when it did not win; ``inf`` until known): the sizes of two codecs'
    payloads go together, so a codec that could win by its own spread may in
    fact never beat the one tried before it.
    """

    __slots__ = (
        "absorbed",
        "declined",
        "decode",
        "decode_per_encode",
        "encode",
        "filled",
        "gain",
        "name",
        "ratio",
        "seen",
        "spread",
    )

    def __init__(self, name: str, model: CostModel) -> None:
        self.name = name
        self.absorbed = min(model.absorbed, 1.0)
        per = [max(_class_middle(k), 1.0) for k in range(CLASSES)]
        self.ratio = [model.ratio] * CLASSES
        self.spread = [model.ratio * 0.25] * CLASSES
        self.encode = [model.encode_at(per[k]) / per[k] for k in range(CLASSES)]
        self.decode = [model.decode_at(per[k]) / per[k] for k in range(CLASSES)]
        #: Decoding CPU over encoding CPU for a message the codec coded: how
        #: an encode observed at run time refines ``decode`` (the peer decodes).
        self.decode_per_encode = [
            model.decode_at(per[k]) / max(model.encode_at(per[k]), 1.0) for k in range(CLASSES)
        ]
        self.declined = [0.0] * CLASSES
        self.gain = [math.inf] * CLASSES
        #: Messages measured or observed per class (0: the prior alone).
        self.seen = [0] * CLASSES
        #: Classes given a measured neighbour's figures (:meth:`fill_between`).
        self.filled = [False] * CLASSES

    def measured(self, k: int, figures: Mapping[str, float]) -> None:
        """Replace class ``k``'s prior with figures measured at training."""
        messages = figures.get("messages", 0)
        size = figures.get("bytes", 0)
        if messages < _MIN_MEASURED or size <= 0:
            return
        # Figures a costs.json lacks keep the prior (the file may be hand-edited).
        coded = max(messages - figures.get("declined", 0), 0)
        coded_bytes = figures.get("coded_bytes", 0)
        self.seen[k] = int(messages)
        self.declined[k] = 1.0 - coded / messages
        if coded and coded_bytes > 0 and "payload" in figures:
            self.ratio[k] = figures["payload"] / coded_bytes
            self.spread[k] = figures.get("spread", self.ratio[k] * 0.25)
        if "encode_ns" in figures:
            self.encode[k] = figures["encode_ns"] / size
        if coded and coded_bytes > 0 and "decode_ns" in figures:
            self.decode[k] = figures["decode_ns"] / coded_bytes
            if figures.get("coded_encode_ns", 0) > 0:
                self.decode_per_encode[k] = figures["decode_ns"] / figures["coded_encode_ns"]

    def fill_between(self) -> None:
        """Give each class nothing was measured in the figures of the nearest
        measured class (the smaller one on a tie): a codec's ratio and CPU per
        byte change slowly with size, and its declared prior is a guess."""
        measured = [k for k in range(CLASSES) if self.seen[k]]
        if not measured:
            return
        for k in range(CLASSES):
            if self.seen[k]:
                continue
            near = min(measured, key=lambda m: (abs(m - k), m))
            self.filled[k] = True
            for table in (
                self.ratio,
                self.spread,
                self.encode,
                self.decode,
                self.decode_per_encode,
                self.declined,
            ):
                table[k] = table[near]

    def observe(self, k: int, size: int, payload: int | None, encode_ns: int | None) -> None:
        """Refine class ``k`` with one encode: its payload size (``None``:
        declined) and, when it was timed, its CPU time."""
        n = size or 1
        self.seen[k] += 1
        if encode_ns is not None:
            self.encode[k] += (encode_ns / n - self.encode[k]) * _ALPHA
        if payload is None:
            self.declined[k] += (1.0 - self.declined[k]) * _ALPHA
            return
        self.declined[k] -= self.declined[k] * _ALPHA
        if encode_ns is not None:
            decode = encode_ns / n * self.decode_per_encode[k]
            self.decode[k] += (decode - self.decode[k]) * _ALPHA
        r = payload / n
        self.spread[k] += (abs(r - self.ratio[k]) - self.spread[k]) * _ALPHA
        self.ratio[k] += (r - self.ratio[k]) * _ALPHA

    def known(self, k: int) -> bool:
        """Whether class ``k``'s figures come from measurements (its own, or a
        neighbour's) rather than the declared prior alone."""
        return self.seen[k] >= _MIN_MEASURED or self.filled[k]

    def gained(self, k: int, saved: float) -> None:
        """Refine class ``k``'s gain with what one try after another codec saved."""
        g = self.gain[k]
        self.gain[k] = saved if g == math.inf else g + (saved - g) * _ALPHA

    def to_dict(self) -> dict[str, Any]:
        return {
            "gain_ns": [g if g != math.inf else None for g in self.gain],
            "ratio": self.ratio[:],
            "spread": self.spread[:],
            "encode_ns_per_byte": self.encode[:],
            "decode_ns_per_byte": self.decode[:],
            "declined": self.declined[:],
        }


class Estimates:
    """Every codec's :class:`Estimate` in one pipeline, by name.

    ``measured`` is what ``costs.json`` holds: per codec name (a session
    context as ``<codec>+context``), per size class, the figures measured at
    training.
    """

    def __init__(self, measured: Mapping[str, Mapping[int, Mapping[str, float]]] | None = None):
        self.measured = dict(measured or {})
        self._by_name: dict[str, Estimate] = {}

    def of(self, name: str, model: CostModel) -> Estimate:
        """The estimate of the codec (or context) ``name``, made from its model
        and what was measured the first time it is asked for."""
        est = self._by_name.get(name)
        if est is None:
            est = Estimate(name, model)
            for k, figures in self.measured.get(name, {}).items():
                if 0 <= k < CLASSES:
                    est.measured(k, figures)
            est.fill_between()
            self._by_name[name] = est
        return est

    def to_dict(self) -> dict[str, Any]:
        return {name: est.to_dict() for name, est in sorted(self._by_name.items())}

    # -- costs.json ---------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        config_path: object = None,
        key: str = "selector.estimates",
    ) -> Estimates:
        """Read ``costs.json``; a :class:`ConfigError` naming the config file and
        ``key`` if it is unusable."""
        p = Path(path)

        def error(message: str) -> ConfigError:
            return ConfigError(message, path=config_path, key=key)

        try:
            size = p.stat().st_size
            text = p.read_text(encoding="utf-8") if size <= MAX_ESTIMATES_SIZE else None
            data = json.loads(text) if text is not None else None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise error(f"cannot read cost estimates {p}: {exc}") from exc
        if text is None:
            raise error(f"{p} is {size} bytes, more than the {MAX_ESTIMATES_SIZE} allowed")
        if not isinstance(data, dict) or data.get("format") != ESTIMATES_FORMAT:
            raise error(
                f"{p} is not auracodec cost estimates of format {ESTIMATES_FORMAT} "
                "(train again with `auracodec train`)"
            )
        measured: dict[str, dict[int, dict[str, float]]] = {}
        methods = data.get("methods")
        if not isinstance(methods, dict):
            raise error(f"{p}: 'methods' must be a table")
        for name, classes in methods.items():
            if not isinstance(classes, dict):
                raise error(f"{p}: methods.{name} must be a table")
            table: dict[int, dict[str, float]] = {}
            for k, figures in classes.items():
                if not (
                    isinstance(k, str)
                    and k.isdigit()
                    and isinstance(figures, dict)
                    and all(
                        isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
                        for v in figures.values()
                    )
                ):
                    raise error(f"{p}: methods.{name}.{k} must be a table of numbers >= 0")
                table[int(k)] = {str(f): float(v) for f, v in figures.items()}
            measured[str(name)] = table
        return cls(measured)


def write_estimates(
    path: Path, measured: Mapping[str, Mapping[int, Mapping[str, float]]], messages: int
) -> None:
    """Write ``costs.json``: what :meth:`Estimates.load` reads."""
    data = {
        "format": ESTIMATES_FORMAT,
        "note": (
            "Payload sizes and CPU per codec and size class (bit length of the message "
            "size), measured at training on held-out messages; CPU is this machine's."
        ),
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
        "held_out_messages": messages,
        "methods": {
            name: {str(k): dict(v) for k, v in sorted(classes.items())}
            for name, classes in sorted(measured.items())
        },
    }
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")


@attrs.frozen
class PolicyContext:
    """What a policy's optional ``bind(context)`` receives when its pipeline is built.

    ``cost_model(codec)`` is the declared :class:`CostModel` of a codec or a
    session context (:data:`DEFAULT_COST_MODEL` for one that declares none);
    ``estimates`` holds what was measured (empty without ``[selector]
    estimates``).
    """

    prices: Prices
    estimates: Estimates
    cost_model: Callable[[Any], CostModel]
    codecs: Iterable[Any] = ()
