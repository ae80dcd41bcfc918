"""``identity``: the raw message, method id ``0x04``.

Every pipeline has it: a frame is never longer than its message plus the method
byte because the pipeline falls back to this codec whenever no other one makes
the message smaller. It cannot be disabled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auracodec.plugin import Codec, CodecType, CostModel, OutputLimitExceeded, hookimpl

NAME = "identity"
METHOD_ID = 0x04


class Identity:
    """The payload is the message."""

    name = NAME
    method_id = METHOD_ID
    thread_safe = True
    detects: frozenset[str] = frozenset()
    cost = 0

    def encode(self, message: bytes) -> bytes:
        return message

    def decode(self, payload: bytes, limit: int) -> bytes:
        if len(payload) > limit:
            raise OutputLimitExceeded(limit)
        return payload

    def max_payload_size(self, size: int) -> int:
        return size

    def fingerprint(self) -> Mapping[str, str | int]:
        return {}


def _factory(settings: Mapping[str, Any]) -> Identity:
    return Identity()


@hookimpl
def auracodec_codec_types() -> list[CodecType]:
    return [CodecType(NAME, METHOD_ID, _factory, (), "the raw message (fallback)")]


@hookimpl
def auracodec_cost_model(codec: Codec) -> CostModel | None:
    # A copy at most: the bytes are the whole cost.
    return CostModel(ratio=1.0) if isinstance(codec, Identity) else None
