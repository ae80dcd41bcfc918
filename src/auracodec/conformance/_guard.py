"""Guarded calls into the code under test (private to the suite).

Every call the suite makes into a codec or a context goes through here, so
that whatever the code does (raises something unexpected, returns the wrong
type, returns too much) ends as a failure that names the rule it broke, never
as a bare traceback.

The ``except Exception`` clauses are the point: the code under test may raise
anything, and each such exception breaks a rule. ``BaseException`` (a
``KeyboardInterrupt``, pytest's own outcomes) passes through.
"""

from __future__ import annotations

from typing import Protocol

from auracodec.core.errors import DecodeError

from .rules import broken, show

__all__ = ["decode_untrusted", "decode_valid", "encode", "payload_bound"]


class _Encodes(Protocol):
    def encode(self, message: bytes) -> bytes | None: ...


class _Decodes(Protocol):
    def decode(self, payload: bytes, limit: int) -> bytes: ...


class _Bounds(Protocol):
    def max_payload_size(self, size: int) -> int: ...


def encode(coder: _Encodes, message: bytes, where: str = "") -> bytes | None:
    """``coder.encode(message)``: bytes or ``None``, or the rule ``encode-result`` breaks."""
    __tracebackhide__ = True
    try:
        payload = coder.encode(message)
    except Exception as exc:  # noqa: BLE001 (see the module docstring)
        broken("encode-result", f"got {exc!r} encoding {show(message)}{where}")
    if payload is not None and not isinstance(payload, bytes):
        broken(
            "encode-result",
            f"encode returned {type(payload).__name__}, not bytes or None, "
            f"for {show(message)}{where}",
        )
    return payload


def decode_untrusted(
    coder: _Decodes, payload: bytes, limit: int, where: str = ""
) -> bytes | DecodeError:
    """Decode bad or doubtful input: the message, or the ``DecodeError`` it raised.

    Anything else it raises or returns breaks ``decode-errors``; a message
    longer than ``limit`` breaks ``output-limit``.
    """
    __tracebackhide__ = True
    try:
        out = coder.decode(payload, limit)
    except DecodeError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 (see the module docstring)
        broken("decode-errors", f"got {exc!r} decoding {show(payload)}{where}")
    if not isinstance(out, bytes):
        broken(
            "decode-errors",
            f"decode returned {type(out).__name__}, not bytes, for {show(payload)}{where}",
        )
    if len(out) > limit:
        broken(
            "output-limit",
            f"decode returned {len(out)} bytes under a limit of {limit} for {show(payload)}{where}",
        )
    return out


def decode_valid(
    coder: _Decodes,
    payload: bytes,
    limit: int,
    message: bytes,
    rule: str = "roundtrip",
    where: str = "",
) -> bytes:
    """Decode a payload made from ``message``; anything but ``message`` breaks ``rule``."""
    __tracebackhide__ = True
    try:
        out = coder.decode(payload, limit)
    except Exception as exc:  # noqa: BLE001 (see the module docstring)
        broken(
            rule,
            f"decode raised {exc!r} on the payload {show(payload)} made from "
            f"{show(message)}{where}",
        )
    if not isinstance(out, bytes):
        broken(
            "decode-errors",
            f"decode returned {type(out).__name__}, not bytes, for {show(payload)}{where}",
        )
    if out != message:
        broken(
            rule,
            f"the payload {show(payload)} made from {show(message)} decoded to {show(out)}{where}",
        )
    return out


def payload_bound(codec: _Bounds, size: int) -> int:
    """``codec.max_payload_size(size)``, checked to be an int."""
    __tracebackhide__ = True
    try:
        bound = codec.max_payload_size(size)
    except Exception as exc:  # noqa: BLE001 (see the module docstring)
        broken("expansion-bound", f"max_payload_size({size}) raised {exc!r}")
    if not isinstance(bound, int) or isinstance(bound, bool):
        broken(
            "expansion-bound",
            f"max_payload_size({size}) returned {type(bound).__name__}, not int",
        )
    return bound
