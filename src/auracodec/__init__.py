"""auracodec: compress short messages for the wire, one frame per message.

::

    import auracodec

    pipe = auracodec.Pipeline.from_config()          # built-in defaults
    frame = pipe.encode("Deployment started at 2025-10-23T10:30:00Z")
    assert pipe.decode(frame) == "Deployment started at 2025-10-23T10:30:00Z"

Trained profiles kept as immutable versions: :class:`ProfileStore`
(``docs/profiles.md``). Plugin authors: see :mod:`auracodec.plugin`.
"""

from ._version import __version__
from .core.errors import (
    AuraError,
    AuraWarning,
    CodecFault,
    ConfigError,
    ConnectionClosed,
    CorpusError,
    CorruptPayload,
    DecodeError,
    EncodeError,
    InvalidUtf8,
    MessageTooLarge,
    OutputLimitExceeded,
    PluginError,
    PluginWarning,
    SessionError,
    TrailingData,
    TruncatedFrame,
    UnknownMethod,
)
from .core.framing import SessionFrame
from .core.hookspecs import hookimpl
from .core.pipeline import Pipeline
from .core.session import Session
from .core.stats import MethodStats, Stats
from .core.store import ProfileStore, Versions

__all__ = [
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
    "MethodStats",
    "OutputLimitExceeded",
    "Pipeline",
    "PluginError",
    "PluginWarning",
    "ProfileStore",
    "Session",
    "SessionError",
    "SessionFrame",
    "Stats",
    "TrailingData",
    "TruncatedFrame",
    "UnknownMethod",
    "Versions",
    "__version__",
    "hookimpl",
]
