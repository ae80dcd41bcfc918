"""Wire framing, sans-IO: ``[method id: 1 byte][payload: the rest]``.

There is nothing else on the wire: no magic number, no version, no length. The
transport (a WebSocket message, a queue record) already delimits the frame, and
on a 30-byte message every byte counts. Which codecs and artifacts a peer uses
is agreed once per connection through ``Pipeline.fingerprint``, not per frame.

Guarantees, enforced by the pipeline rather than trusted to codecs:

* ``len(frame) <= len(message) + 1``: raw is used whenever a codec's payload
  is not smaller than the message;
* decoding is strict: an empty frame, an unknown method id, a truncated or
  extended payload, or output beyond ``max_message_size`` raises a
  :class:`~auracodec.DecodeError` subclass that says what was wrong.

This module has no I/O; it turns values into bytes and back.
"""

from __future__ import annotations

from .errors import EncodeError, InvalidUtf8, TruncatedFrame

__all__ = [
    "FRAME_FORMAT",
    "as_frame",
    "as_message",
    "as_text",
    "invalid_utf8",
    "join",
    "split",
]

#: Version of this framing; part of every pipeline fingerprint.
FRAME_FORMAT = 1


def join(method_id: int, payload: bytes) -> bytes:
    """Make a frame."""
    return bytes((method_id,)) + payload


def split(frame: bytes) -> tuple[int, bytes]:
    """Split a frame into method id and payload; :class:`TruncatedFrame` if empty."""
    if not frame:
        raise TruncatedFrame("empty frame: expected at least the method id byte")
    return frame[0], frame[1:]


def as_message(message: object) -> bytes:
    """A message as bytes: ``str`` is encoded as UTF-8, bytes-likes are copied."""
    if isinstance(message, bytes):
        return message
    if isinstance(message, str):
        try:
            return message.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise EncodeError(
                f"message is not encodable as UTF-8 ({exc.reason} at index {exc.start}); "
                "pass bytes to send arbitrary data"
            ) from None
    if isinstance(message, (bytearray, memoryview)):
        return bytes(message)
    raise TypeError(f"a message is str or bytes, not {type(message).__name__}")


def as_frame(frame: object) -> bytes:
    """A frame as bytes (from any bytes-like object)."""
    if isinstance(frame, bytes):
        return frame
    if isinstance(frame, (bytearray, memoryview)):
        return bytes(frame)
    raise TypeError(f"a frame is bytes, not {type(frame).__name__}")


def as_text(message: bytes) -> str:
    """A decoded message as text; :class:`InvalidUtf8` if it is not UTF-8."""
    try:
        return message.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_utf8(exc) from None


def invalid_utf8(exc: UnicodeDecodeError) -> InvalidUtf8:
    """The error for a decoded message that is not UTF-8 text."""
    return InvalidUtf8(
        f"the message is not UTF-8 text ({exc.reason} at byte {exc.start}); use decode_bytes()"
    )
