"""The auracodec WebSocket handshake and close codes, without a server library.

Sans-IO: this module reads header values and exceptions and returns strings,
statuses and codes; the adapters (:mod:`auracodec.websocket` for
``websockets``, :mod:`auracodec.asgi` for Starlette and FastAPI) do the I/O.
It imports no server library, so it works whichever one is installed.

A client offers one subprotocol per profile version it holds, current
first::

    auracodec.1.<mode>.<fingerprint>        mode: session | stateless

A server (a :class:`Negotiator`) accepts the first of its own versions that
the client offers (its current version preferred), or answers with a
:class:`Refusal`: HTTP 400 and a reason saying what differs when the client
speaks auracodec with another profile or mode, or offers no auracodec
subprotocol at all; HTTP 503 when the server is full.

Once connected, an error closes the connection with the code
:func:`close_code` gives: a frame that does not decode, 1007 (invalid payload
data); one over the size limit, 1009 (message too big); a text frame where
frames are binary, 1003 (unsupported data); the decode budget spent, 4008
(:data:`CLOSE_BUDGET`). The decode budget (:class:`DecodeBudget`) is a token
bucket of decoded bytes, :class:`BudgetBucket` per connection.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import attrs

from .core.errors import AuraError, DecodeError, OutputLimitExceeded
from .core.pipeline import Pipeline
from .core.store import Versions

__all__ = [
    "CLOSE_BUDGET",
    "CLOSE_INVALID",
    "CLOSE_TOO_BIG",
    "CLOSE_UNSUPPORTED",
    "MODES",
    "PROTOCOL",
    "Agreement",
    "BudgetBucket",
    "DecodeBudget",
    "DecodeBudgetExceeded",
    "HandshakeError",
    "Negotiator",
    "Refusal",
    "close_code",
    "close_reason",
    "offer",
    "parse_offered",
    "subprotocol",
    "versions_of",
]

PROTOCOL = "auracodec.1"
MODES = ("session", "stateless")
CLOSE_INVALID = 1007
CLOSE_TOO_BIG = 1009
CLOSE_UNSUPPORTED = 1003
#: Close code when a connection's decode budget is spent: in the private range
#: (4000-4999), 4000 + 1008 (policy violation) - 1000.
CLOSE_BUDGET = 4008


class HandshakeError(AuraError):
    """The peer refused the auracodec handshake, or answered with another pipeline."""


class DecodeBudgetExceeded(DecodeError):
    """The peer made this connection decode more than its :class:`DecodeBudget` allows.

    Raised by ``recv`` after closing the connection with :data:`CLOSE_BUDGET`;
    the message whose decoding overdrew the budget is not returned.
    """


def subprotocol(pipeline: Pipeline, mode: str = "session") -> str:
    """The subprotocol a pipeline offers: protocol, mode and fingerprint."""
    return _subprotocol(pipeline.fingerprint, mode)


def _subprotocol(fingerprint: str, mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return f"{PROTOCOL}.{mode}.{fingerprint}"


def versions_of(pipeline: Pipeline | Versions) -> Versions:
    """``pipeline`` as profile versions (one, if it is a single pipeline)."""
    return pipeline if isinstance(pipeline, Versions) else Versions.of(pipeline)


def offer(pipeline: Pipeline | Versions, mode: str = "session") -> list[str]:
    """The subprotocols a client holding these versions offers, in order of preference."""
    return [_subprotocol(fp, mode) for fp in versions_of(pipeline)]


def parse_offered(header_values: Iterable[str]) -> list[str]:
    """The subprotocols offered in ``Sec-WebSocket-Protocol`` header values, in order."""
    return [p.strip() for value in header_values for p in value.split(",") if p.strip()]


@attrs.frozen
class Refusal:
    """A handshake refused: the HTTP status and a reason for the response body."""

    status: int
    reason: str


@attrs.frozen
class Agreement:
    """A handshake accepted: the subprotocol to answer with and its fingerprint."""

    subprotocol: str
    fingerprint: str


@attrs.frozen(init=False)
class Negotiator:
    """A server's side of the handshake, for ``versions`` in ``mode``."""

    versions: Versions
    mode: str
    #: The subprotocols accepted, in order of preference.
    accepted: tuple[str, ...]

    def __init__(self, pipeline: Pipeline | Versions, mode: str = "session") -> None:
        versions = versions_of(pipeline)
        accepted = tuple(_subprotocol(fp, mode) for fp in versions)
        self.__attrs_init__(versions, mode, accepted)

    @property
    def speaks(self) -> str:
        """The subprotocols accepted, as a refusal names them."""
        expected, *earlier = self.accepted
        if not earlier:
            return expected
        return f"{expected} (or, for earlier profile versions, {', '.join(earlier)})"

    def choose(self, offered: Iterable[str]) -> Agreement | Refusal:
        """The agreement for a client's ``offered`` subprotocols, or the refusal."""
        offered = list(offered)
        for p in self.accepted:
            if p in offered:
                return Agreement(p, p.rsplit(".", 1)[-1])
        ours = [p for p in offered if p.startswith("auracodec.")]
        if ours:
            return Refusal(
                400,
                f"auracodec handshake refused: this server speaks {self.speaks}; you offered "
                f"{', '.join(ours)}. The fingerprint covers the codecs, their format settings "
                "and trained artifacts: both ends need the same profile and mode.\n",
            )
        return Refusal(
            400, f"this endpoint speaks auracodec: offer the subprotocol {self.accepted[0]}\n"
        )

    @staticmethod
    def busy(max_connections: int) -> Refusal:
        """The refusal when ``max_connections`` are open."""
        return Refusal(
            503,
            f"auracodec server busy: it serves at most {max_connections} "
            "connections at once; try again later\n",
        )

    def agreed(self, chosen: str) -> str:
        """The fingerprint of the subprotocol a server chose (checked by a client)."""
        if chosen not in self.accepted:
            raise HandshakeError(
                f"the server answered with subprotocol {chosen!r}, not "
                + " or ".join(repr(p) for p in self.accepted)
            )
        return chosen.rsplit(".", 1)[-1]


#: Close code by error class; the first class the error is an instance of wins.
_CLOSE_CODES: tuple[tuple[type[DecodeError], int], ...] = (
    (DecodeBudgetExceeded, CLOSE_BUDGET),
    (OutputLimitExceeded, CLOSE_TOO_BIG),
    (DecodeError, CLOSE_INVALID),
)


def close_code(exc: DecodeError) -> int:
    """The close code for a frame refused with ``exc``."""
    for cls, code in _CLOSE_CODES:
        if isinstance(exc, cls):
            return code
    return CLOSE_INVALID  # pragma: no cover - DecodeError is last in the table


def close_reason(exc: Exception) -> str:
    """A close reason naming ``exc``: at most 123 bytes of UTF-8, as RFC 6455 allows."""
    text = f"{type(exc).__name__}: {exc}".encode()[:123]
    return text.decode("utf-8", "ignore")


@attrs.frozen
class DecodeBudget:
    """How much decoding a connection's peer may ask for: a token bucket of decoded bytes.

    The bucket holds ``burst`` bytes (``None``: twice the pipeline's
    ``max_message_size``, so two messages of the largest size pass back to
    back) and refills at ``rate`` bytes a second. Every decoded message takes
    its length from it; when that leaves it below zero the connection is
    closed with :data:`CLOSE_BUDGET`. The default, 256 KiB a second, is more
    than ten times what a busy chat client sends, and keeps a peer sending
    nothing but worst-case frames to about a quarter of a CPU core with BRIO
    (about 1 µs per decoded byte in a session, contexts included).
    """

    rate: float = 256 * 1024
    burst: int | None = None

    def __attrs_post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"DecodeBudget rate must be more than 0 bytes/s, got {self.rate!r}")
        if self.burst is not None and self.burst < 1:
            raise ValueError(f"DecodeBudget burst must be at least 1 byte, got {self.burst!r}")


class BudgetBucket:
    """One connection's decode budget, in decoded bytes."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, budget: DecodeBudget, limit: int) -> None:
        self.rate = float(budget.rate)
        self.burst = float(budget.burst if budget.burst is not None else 2 * limit)
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def take(self, n: int) -> bool:
        """Take ``n`` bytes; ``False`` when that overdraws the bucket."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate) - n
        self.stamp = now
        return self.tokens >= 0

    def exceeded(self) -> DecodeBudgetExceeded:
        """The error for an overdrawn bucket."""
        return DecodeBudgetExceeded(
            f"decode budget spent: the peer's frames decoded to more than "
            f"{self.burst:.0f} bytes at once, or {self.rate:.0f} bytes/s sustained"
        )
