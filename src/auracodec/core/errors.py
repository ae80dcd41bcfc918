"""The exception tree of auracodec.

Every error the library raises on purpose is an :class:`AuraError`::

    AuraError
     ├── DecodeError (ValueError)        a frame or payload could not be decoded
     │    ├── TruncatedFrame              the frame or payload ends before its end
     │    ├── TrailingData                bytes follow the end of the payload
     │    ├── UnknownMethod               no codec of this pipeline has the frame's method id
     │    ├── CorruptPayload              the payload is not valid for its codec
     │    ├── OutputLimitExceeded         the message would exceed the output limit
     │    ├── InvalidUtf8                 decode() was asked for text, the message is not UTF-8
     │    ├── SessionError                a session refuses the frame (see auracodec.Session)
     │    └── CodecFault                  a plugin's decoder broke its contract (raised
     │                                    something else, returned a non-bytes value)
     ├── EncodeError (ValueError)        a message cannot be encoded
     │    └── MessageTooLarge             longer than the pipeline's max_message_size
     ├── ConfigError (ValueError)        a configuration file, key or artifact is wrong
     ├── CorpusError (ValueError)        a corpus file cannot be read as messages
     ├── PluginError                     a plugin could not be loaded or contradicts another
     └── ConnectionClosed                a server adapter's WebSocket closed (code, reason)

    AuraWarning (UserWarning)
     └── PluginWarning                   a plugin was skipped; the others carry on

A decoder faces untrusted bytes, so :class:`DecodeError` is the only exception a
codec's ``decode`` may raise for bad input; anything else is a bug in the codec,
which the pipeline contains: the caller gets a :class:`CodecFault` that names
the codec and chains the original exception.
Errors from underlying libraries are wrapped with ``raise ... from exc`` so the
cause stays visible.
"""

from __future__ import annotations

__all__ = [
    "CONTAINED",
    "AuraError",
    "AuraWarning",
    "CodecFault",
    "ConfigError",
    "ConnectionClosed",
    "CorpusError",
    "CorruptPayload",
    "DecodeError",
    "EncodeError",
    "InvalidUtf8",
    "MessageTooLarge",
    "OutputLimitExceeded",
    "PluginError",
    "PluginWarning",
    "SessionError",
    "TrailingData",
    "TruncatedFrame",
    "UnknownMethod",
]


#: What a plugin may raise that auracodec contains (skips, counts, or turns
#: into a named error, by where it happens): every error, and ``sys.exit()``.
#: ``KeyboardInterrupt`` and task cancellation propagate.
CONTAINED: tuple[type[BaseException], ...] = (Exception, SystemExit)


class AuraError(Exception):
    """Root of every error auracodec raises on purpose."""


class DecodeError(AuraError, ValueError):
    """A frame or payload could not be decoded. Nothing was returned."""


class TruncatedFrame(DecodeError):
    """The frame or payload ends before its structure does (including an empty frame)."""


class TrailingData(DecodeError):
    """Bytes follow the end of a complete payload."""


class UnknownMethod(DecodeError):
    """The frame's method id names no codec of this pipeline."""

    def __init__(self, method_id: int, known: dict[int, str], note: str = "") -> None:
        listing = ", ".join(f"0x{i:02x} {n}" for i, n in sorted(known.items()))
        super().__init__(
            f"unknown method id 0x{method_id:02x}: this pipeline decodes {listing}"
            + (f" ({note})" if note else "")
        )
        self.method_id = method_id


class CorruptPayload(DecodeError):
    """The payload is not valid for the codec its method id names."""


class OutputLimitExceeded(DecodeError):
    """Decoding would produce more than the output limit allows."""

    def __init__(self, limit: int, what: str = "message") -> None:
        super().__init__(f"decoded {what} exceeds the output limit of {limit} bytes")
        self.limit = limit


class InvalidUtf8(DecodeError):
    """The frame decoded, but the message is not UTF-8 text; use decode_bytes()."""


class SessionError(DecodeError):
    """A session refuses a frame: it failed before, or the two ends are out of step."""


class CodecFault(DecodeError):
    """A codec's decoder raised something other than a :class:`DecodeError`, or
    returned something other than bytes: a bug in that plugin, contained.

    ``codec`` is the codec's (or session context's) name and ``method_id`` the
    frame's id; the original exception is the ``__cause__``.
    """

    def __init__(self, codec: str, method_id: int, what: str, origin: str = "") -> None:
        where = f"method 0x{method_id:02x}" + (f", {origin}" if origin else "")
        super().__init__(
            f"the decoder of {codec!r} ({where}) {what}; decoders may raise only "
            "DecodeError subclasses and return bytes (a bug in that plugin)"
        )
        self.codec = codec
        self.method_id = method_id


class EncodeError(AuraError, ValueError):
    """A message cannot be encoded."""


class MessageTooLarge(EncodeError):
    """The message is longer than the pipeline's ``max_message_size``."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"message of {size} bytes exceeds max_message_size of {limit} bytes; "
            "the peer would refuse to decode it"
        )
        self.size = size
        self.limit = limit


class ConfigError(AuraError, ValueError):
    """A configuration mistake, naming the file, the key and what was expected.

    ``path`` is the file (``None`` for settings given in code), ``key`` the dotted
    key (``"codecs.zstd.level"``), both also part of the message.
    """

    def __init__(self, message: str, *, path: object = None, key: str | None = None) -> None:
        where = []
        if path is not None:
            where.append(str(path))
        if key:
            where.append(key)
        super().__init__(": ".join([*where, message]))
        self.path = path
        self.key = key


class CorpusError(AuraError, ValueError):
    """A corpus file cannot be read as messages; the message names file and line."""


class PluginError(AuraError):
    """A plugin could not be loaded, declares something invalid, or clashes with another.

    ``plugin`` is the plugin's entry-point name, ``package`` the distribution
    that provides it (``"name version"``), when known.
    """

    def __init__(
        self, message: str, *, plugin: str | None = None, package: str | None = None
    ) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.package = package


class AuraWarning(UserWarning):
    """Root of auracodec's warnings."""


class PluginWarning(AuraWarning):
    """A plugin was skipped (import error, bad declaration); the others carry on."""


class ConnectionClosed(AuraError):
    """The WebSocket closed: the client closed it, or it was closed after a protocol error.

    Raised by the server adapters :mod:`auracodec.asgi` (as a subclass that is
    also Starlette's ``WebSocketDisconnect``) and :mod:`auracodec.aiohttp`.
    ``code`` is the close code (``None`` when the transport gave none),
    ``reason`` the close reason. The ``websockets`` helpers
    (:mod:`auracodec.websocket`) raise that library's own ``ConnectionClosed``.
    """

    def __init__(self, code: int | None, reason: str = "") -> None:
        # AuraError's (Exception's) own initialiser, named: a subclass that also
        # derives from a framework's exception must not pass the message to it.
        closed = f"with {code}" if code is not None else "without a close code"
        message = f"the WebSocket closed {closed}" + (f": {reason}" if reason else "")
        AuraError.__init__(self, message)
        self.code = code
        self.reason = reason
