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

import attrs

from .errors import EncodeError, InvalidUtf8, SessionError, TruncatedFrame

__all__ = [
    "ESCAPE",
    "FRAME_FORMAT",
    "SessionFrame",
    "as_frame",
    "as_message",
    "as_text",
    "empty_frame",
    "invalid_utf8",
]

#: Version of this framing; part of every pipeline fingerprint.
FRAME_FORMAT = 1


def as_message(message: object) -> bytes:
    """A message as bytes: ``str`` is encoded as UTF-8, bytes-likes are copied."""
    if type(message) is bytes:
        return message
    if isinstance(message, str):
        try:
            return message.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise EncodeError(
                f"message is not encodable as UTF-8 ({exc.reason} at index {exc.start}); "
                "pass bytes to send arbitrary data"
            ) from None
    if isinstance(message, (bytes, bytearray, memoryview)):
        return bytes(message)
    raise TypeError(
        f"a message is str, bytes, bytearray or memoryview, not {type(message).__name__}"
    )


def as_frame(frame: object) -> bytes:
    """A frame as bytes (from any bytes-like object)."""
    if type(frame) is bytes:
        return frame
    if isinstance(frame, (bytes, bytearray, memoryview)):
        return bytes(frame)
    raise TypeError(f"a frame is bytes, bytearray or memoryview, not {type(frame).__name__}")


def as_text(message: bytes) -> str:
    """A decoded message as text; :class:`InvalidUtf8` if it is not UTF-8."""
    try:
        return message.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_utf8(exc) from None


def empty_frame() -> TruncatedFrame:
    """The error for a frame with no method id."""
    return TruncatedFrame("empty frame: expected at least the method id byte")


def invalid_utf8(exc: UnicodeDecodeError) -> InvalidUtf8:
    """The error for a decoded message that is not UTF-8 text."""
    return InvalidUtf8(
        f"the message is not UTF-8 text ({exc.reason} at byte {exc.start}); use decode_bytes()"
    )


#: The first byte of a session's prefixed frames; never a method id.
ESCAPE = 0xFF


@attrs.frozen
class SessionFrame:
    """What a session frame's prefix says, read by :meth:`parse` (sans-IO).

    A session frame is a pipeline frame, or one of two prefixed forms that
    start with the reserved id ``0xff``::

        0xff || frame                              isolated: decoded statelessly,
                                                   absorbed by no context
        0xff 0xff || flags || [check] || frame     control

    Control flags: bit 0 ``RESET_DONE`` (the sender reset its outgoing
    contexts before this frame), bit 1 ``RESET_PLEASE`` (reset yours), bit 2
    ``ISOLATED``, bit 3 ``CHECK`` (two bytes follow the flags: a digest of the
    sender's direction up to and including this message, see
    ``docs/sessions.md``). At least one flag is set; the others are reserved.
    """

    RESET_DONE = 1
    RESET_PLEASE = 2
    ISOLATED = 4
    CHECK = 8
    FLAGS = RESET_DONE | RESET_PLEASE | ISOLATED | CHECK
    CHECK_SIZE = 2

    #: The control flags (0 for a plain or merely isolated frame).
    flags: int
    #: Decoded statelessly and absorbed by no context.
    isolated: bool
    #: The sender's direction digest carried by this frame, if any.
    check: int | None
    #: Where the inner pipeline frame starts.
    offset: int
    #: The inner frame's method id.
    method_id: int

    @classmethod
    def parse(cls, frame: bytes | bytearray | memoryview) -> SessionFrame:
        """Read a session frame's prefix; :class:`TruncatedFrame` or
        :class:`~auracodec.SessionError` if it is malformed. The inner frame
        (``frame[offset:]``) is not decoded."""
        n = len(frame)
        if n == 0:
            raise empty_frame()
        if frame[0] != ESCAPE:
            return cls(0, False, None, 0, frame[0])
        if n < 2:
            raise TruncatedFrame("session frame ends after its escape byte")
        if frame[1] != ESCAPE:
            return cls(0, True, None, 1, frame[1])
        if n < 3:
            raise TruncatedFrame("session control frame ends before its flags")
        flags = frame[2]
        if flags & ~cls.FLAGS or not flags:
            raise SessionError(f"unknown session control flags 0x{flags:02x}")
        offset, check = 3, None
        if flags & cls.CHECK:
            offset += cls.CHECK_SIZE
            if n < offset:
                raise TruncatedFrame("session control frame ends inside its check")
            check = int.from_bytes(frame[3:offset], "big")
        if n <= offset:
            raise TruncatedFrame("session control frame ends before its inner frame")
        if frame[offset] == ESCAPE:
            raise SessionError("a session frame nests escapes")
        return cls(flags, bool(flags & cls.ISOLATED), check, offset, frame[offset])

    @staticmethod
    def prefix(flags: int, check: int | None = None, *, isolated: bool = False) -> bytes:
        """The prefix to put before an inner frame (``b""`` for a plain one)."""
        if check is not None:
            flags |= SessionFrame.CHECK
        if flags:
            if isolated:
                flags |= SessionFrame.ISOLATED
            head = bytes((ESCAPE, ESCAPE, flags))
            if check is not None:
                head += check.to_bytes(SessionFrame.CHECK_SIZE, "big")
            return head
        return bytes((ESCAPE,)) if isolated else b""
