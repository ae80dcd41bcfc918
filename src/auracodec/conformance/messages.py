"""The messages the conformance suite tests with; no pytest or Hypothesis needed.

* :func:`sample_messages`: the shipped sample (chat, API payloads, log lines),
  in corpus order.
* :func:`compressible_messages`: the sample messages a general-purpose codec
  is expected to shrink, by a codec-independent yardstick: the standard
  library's DEFLATE (``zlib``, level 9, raw) makes them at least
  :data:`COMPRESSIBLE_SAVING` smaller. Short messages without repeats fall
  out; chat, JSON and log lines of some length stay.
* :func:`edge_messages`: sizes at the edges, odd bytes, long runs.
* :func:`conversation`: a long sequence for session contexts.
"""

from __future__ import annotations

import functools
import random
import zlib

from auracodec.core.corpus import builtin_sample

__all__ = [
    "COMPRESSIBLE_SAVING",
    "compressible_messages",
    "conversation",
    "edge_messages",
    "sample_messages",
]

#: The share of its size raw DEFLATE must save on a sample message for the
#: message to count as compressible.
COMPRESSIBLE_SAVING = 0.10


@functools.cache
def _sample() -> tuple[bytes, ...]:
    return tuple(s.data for s in builtin_sample())


def sample_messages() -> list[bytes]:
    """The shipped sample's messages (chat, API payloads, log lines), in order."""
    return list(_sample())


def _deflated_size(message: bytes) -> int:
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    return len(z.compress(message) + z.flush())


@functools.cache
def _compressible() -> tuple[bytes, ...]:
    keep = 1 - COMPRESSIBLE_SAVING
    return tuple(m for m in _sample() if m and _deflated_size(m) <= len(m) * keep)


def compressible_messages() -> list[bytes]:
    """The sample messages that raw DEFLATE shrinks by at least 10 %."""
    return list(_compressible())


def edge_messages(limit: int) -> list[bytes]:
    """Messages that break codecs: sizes at the edges, odd bytes, long runs."""
    rng = random.Random(20241121)
    out = [
        b"",
        b"\x00",
        b"\xff",
        b"a",
        b"ab",
        "é".encode(),
        "日本語のメッセージ".encode(),
        "🙂 emoji 🚀".encode(),
        bytes(range(256)),
        b"\x00" * 1000,
        b"ab" * 5000,
        b"\r\n" * 100,
        rng.randbytes(1000),
    ]
    words = [b"the ", b"message ", b"is ", b"short ", b"and ", b"repeats ", b"itself "]
    text = b"".join(rng.choice(words) for _ in range(limit // 4))
    out.append(text[:limit])  # exactly the limit, compressible
    out.append(rng.randbytes(limit))  # exactly the limit, incompressible
    return out


def conversation(length: int, seed: int = 0) -> list[bytes]:
    """``length`` messages of one direction of a session, as a context sees them.

    The sample in corpus order (conversations stay together), cycled as often
    as needed, from a starting point that ``seed`` picks; an empty message
    every 29 messages, and now and then a message sent twice in a row or a
    short one of odd bytes.
    """
    rng = random.Random(seed)
    sample = _sample()
    start = rng.randrange(len(sample))
    out: list[bytes] = []
    i = start
    while len(out) < length:
        n = len(out)
        if n % 29 == 7:
            out.append(b"")
        elif n % 53 == 11:
            out.append(rng.randbytes(rng.randrange(1, 40)))
        elif n % 41 == 13 and out:
            out.append(out[-1])
        else:
            out.append(sample[i % len(sample)])
            i += 1
    return out
