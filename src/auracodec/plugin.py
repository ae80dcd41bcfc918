"""Everything a plugin author needs, in one import.

::

    from auracodec.plugin import CodecType, Setting, hookimpl, CorruptPayload

auracodec's own plugins (templates, BRIO, zstd, brotli, the audit log, the
selector policies) import only this module: what a built-in plugin can write,
a third party can write too. Modules under ``auracodec.core`` are internal and
may change without notice.

See the plugin author's guide in ``docs/plugins.md``.
"""

from .core.codec import DETECTABLE, NAME_RE, BindContext, Codec, CodecContext, CodecType
from .core.config import Config
from .core.corpus import Sample
from .core.cost import (
    DEFAULT_COST_MODEL,
    CostModel,
    Estimate,
    Estimates,
    PolicyContext,
    Prices,
    size_class,
)
from .core.errors import (
    AuraWarning,
    CodecFault,
    CorruptPayload,
    DecodeError,
    OutputLimitExceeded,
    PluginWarning,
    SessionError,
    TrailingData,
    TruncatedFrame,
)
from .core.events import MessageEvent, ObserverType
from .core.hookspecs import hookimpl
from .core.methods import IdRange
from .core.normalize import Normalizer, NormalizerType
from .core.selector import Choice, Policy, PolicyType
from .core.settings import Setting, SettingError
from .core.training import Progress, TrainResult
from .core.varint import read_varint, unzigzag, varint, zigzag

__all__ = [
    "DEFAULT_COST_MODEL",
    "DETECTABLE",
    "NAME_RE",
    "AuraWarning",
    "BindContext",
    "Choice",
    "Codec",
    "CodecContext",
    "CodecFault",
    "CodecType",
    "Config",
    "CorruptPayload",
    "CostModel",
    "DecodeError",
    "Estimate",
    "Estimates",
    "IdRange",
    "MessageEvent",
    "Normalizer",
    "NormalizerType",
    "ObserverType",
    "OutputLimitExceeded",
    "PluginWarning",
    "Policy",
    "PolicyContext",
    "PolicyType",
    "Prices",
    "Progress",
    "Sample",
    "SessionError",
    "Setting",
    "SettingError",
    "TrailingData",
    "TrainResult",
    "TruncatedFrame",
    "hookimpl",
    "read_varint",
    "size_class",
    "unzigzag",
    "varint",
    "zigzag",
]
