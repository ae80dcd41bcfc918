"""Everything a plugin author needs, in one import.

::

    from auracodec.plugin import CodecType, Setting, hookimpl, CorruptPayload

See the plugin author's guide in the README and ``docs/plugins.md``.
"""

from .core.codec import DETECTABLE, Codec, CodecType
from .core.config import Config
from .core.corpus import Sample
from .core.errors import (
    CorruptPayload,
    DecodeError,
    OutputLimitExceeded,
    TrailingData,
    TruncatedFrame,
)
from .core.events import MessageEvent
from .core.hookspecs import hookimpl
from .core.methods import IdRange
from .core.normalize import Normalizer, NormalizerType
from .core.selector import Choice, Policy, PolicyType
from .core.settings import Setting, SettingError
from .core.training import Progress, TrainResult

__all__ = [
    "DETECTABLE",
    "Choice",
    "Codec",
    "CodecType",
    "Config",
    "CorruptPayload",
    "DecodeError",
    "IdRange",
    "MessageEvent",
    "Normalizer",
    "NormalizerType",
    "OutputLimitExceeded",
    "Policy",
    "PolicyType",
    "Progress",
    "Sample",
    "Setting",
    "SettingError",
    "TrailingData",
    "TrainResult",
    "TruncatedFrame",
    "hookimpl",
]
