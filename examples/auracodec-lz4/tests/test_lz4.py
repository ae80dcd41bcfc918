"""The third-party path end to end: the conformance suite auracodec ships, run
on this package's codec, and the codec found through its entry point."""

from __future__ import annotations

import pytest
from auracodec_lz4 import Lz4Codec

from auracodec import CorruptPayload, OutputLimitExceeded, Pipeline, TruncatedFrame
from auracodec.conformance import CodecConformance, sample_messages
from auracodec.plugin import DEFAULT_COST_MODEL, CostModel


class TestLz4Conformance(CodecConformance):
    golden = (
        (b"", bytes.fromhex("0000")),
        (b"hello hello hello hello", bytes.fromhex("176868656c6c6f2006005068656c6c6f")),
        (
            "Grüße aus Köln, Grüße aus Köln!".encode(),
            bytes.fromhex("25f9044772c3bcc39f6520617573204bc3b66c6e2c20130050c3b66c6e21"),
        ),
    )

    def make_codec(self) -> Lz4Codec:
        return Lz4Codec(level=9)

    def crafted_bombs(self) -> list[bytes]:
        # Declares 1 GiB: refused before any allocation.
        return [bytes.fromhex("8080808004") + b"\x00" * 16]


def test_found_through_the_entry_point() -> None:
    pipe = Pipeline.from_config()
    assert pipe.codecs["lz4"].method_id == 0x40
    info = pipe.registry.codec_owner("lz4")
    assert (info.package, info.builtin) == ("auracodec-lz4", False)
    for m in sample_messages():
        assert pipe.decode_bytes(pipe.encode(m)) == m


def test_restricted_pipeline_uses_lz4() -> None:
    pipe = Pipeline.from_config(codecs=["lz4"])
    frame = pipe.encode(b"abcabcabcabcabcabcabcabcabcabcabcabcabc")
    assert frame[0] == 0x40
    assert pipe.method_of(frame) == "lz4"


def test_declares_its_cost_model() -> None:
    pipe = Pipeline.from_config()
    model = pipe.wire.cost_model(pipe.codecs["lz4"])
    assert isinstance(model, CostModel) and model is not DEFAULT_COST_MODEL
    assert model.decode_ns_per_byte < model.encode_ns_per_byte
    assert not pipe.stats.faults


@pytest.mark.parametrize(
    ("payload", "error", "match"),
    [
        (b"", TruncatedFrame, "ends inside the message size"),
        (b"\x05", TruncatedFrame, "ends after the message size"),
        (b"\x85\x00\x00", CorruptPayload, "shortest form"),
        (b"\xff\xff\xff\xff\xff\xff", CorruptPayload, "more than 5 bytes"),
        (b"\x05\x10abc", CorruptPayload, "corrupt, truncated or extended"),
        (b"\x00\x01", CorruptPayload, "one zero byte"),
        (b"\x81\x80\x80\x04\x00", OutputLimitExceeded, "output limit"),
    ],
)
def test_bad_payloads(payload: bytes, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Lz4Codec().decode(payload, 1 << 20)
