"""Stats' latency buffers: allocated at a method's first message, grown with its
traffic, bounded by the reservoir (the counters are tested in test_pipeline.py)."""

from __future__ import annotations

import threading
from array import array

import pytest

from auracodec import Pipeline
from auracodec.core._speedups import RESERVOIR, Recorder
from auracodec.core.stats import Stats

NAMES = {0x00: "identity", 0x12: "zstd", 0x13: "brio"}
COUNTERS = 8 * 4 * len(NAMES) * 2  # 4 int64 per method and direction


def test_stats_that_saw_nothing_hold_only_their_counters() -> None:
    stats = Stats(NAMES)
    assert stats.memory() == COUNTERS
    assert stats.methods == {}


def test_an_idle_session_s_stats_hold_no_latency_buffers() -> None:
    session = Pipeline.from_config().session()
    assert session.stats.memory() == 8 * 4 * 2 * len(session.stats.slot)


def test_buffers_grow_with_one_method_s_traffic_only() -> None:
    stats = Stats(NAMES)
    slot = stats.slot[0x13]
    stats.encoded.add(slot, 100, 40, 5_000)
    assert stats.memory() == COUNTERS + 16 * 8  # one ring of 16 entries
    for i in range(1, 17):
        stats.encoded.add(slot, 100, 40, 5_000 + i)
    assert stats.memory() == COUNTERS + 32 * 8  # doubled at the 17th message
    brio = stats.methods["brio"]
    assert brio.encoded == 17 and brio.encode_us.samples == 17
    assert brio.encode_us.p99 == 5.016
    assert list(stats.methods) == ["brio"]


def test_the_reservoir_keeps_the_latest_latencies() -> None:
    stats = Stats(NAMES, reservoir=64)
    assert stats.reservoir == 64
    slot = stats.slot[0x00]
    for i in range(1000):
        stats.decoded.add(slot, 10, 10, i * 1000)
    ring = sorted(stats.decoded.recent(slot))
    assert ring == [i * 1000 for i in range(1000 - 64, 1000)]
    identity = stats.methods["identity"]
    assert identity.decoded == 1000 and identity.decode_us.samples == 64
    assert identity.decode_us.p50 == 967.0
    assert stats.memory() == COUNTERS + 64 * 8


def test_the_default_reservoir() -> None:
    stats = Stats(NAMES)
    slot = stats.slot[0x12]
    for i in range(RESERVOIR + 10):
        stats.encoded.add(slot, 10, 5, i)
    assert stats.reservoir == RESERVOIR
    assert stats.methods["zstd"].encode_us.samples == RESERVOIR
    assert stats.memory() == COUNTERS + RESERVOIR * 8


def test_reset_frees_the_buffers_and_counting_starts_again() -> None:
    stats = Stats(NAMES)
    slot = stats.slot[0x13]
    for _ in range(40):
        stats.encoded.add(slot, 10, 5, 1000)
    stats.reset()
    assert stats.memory() == COUNTERS and stats.methods == {}
    stats.encoded.add(slot, 10, 5, 7000)
    assert stats.methods["brio"].encode_us == stats.methods["brio"].encode_us.of([7000])


@pytest.mark.parametrize("reservoir", [0, 3, 100, 1 << 21, -4])
def test_the_reservoir_is_a_power_of_two(reservoir: int) -> None:
    with pytest.raises(ValueError, match=rf"reservoir must be a power of two .*got {reservoir}"):
        Stats(NAMES, reservoir=reservoir)


def test_recorder_refuses_slots_it_does_not_have() -> None:
    rec = Recorder(array("q", bytes(8 * 4 * 2)))
    with pytest.raises(ValueError, match="no such slot"):
        rec.add(2, 1, 1, 1)
    with pytest.raises(ValueError, match="no such slot"):
        rec.recent(-1)
    assert rec.recent(1) == [] and rec.ring_bytes == 0


def test_growth_under_threads_loses_nothing() -> None:
    stats = Stats(NAMES, reservoir=256)
    slot = stats.slot[0x13]

    def work() -> None:
        for i in range(2000):
            stats.decoded.add(slot, 3, 9, i)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    brio = stats.methods["brio"]
    assert (brio.decoded, brio.decoded_frame_bytes, brio.decoded_bytes) == (8000, 24000, 72000)
    assert brio.decode_us.samples == 256
    assert all(0 <= v < 2000 for v in stats.decoded.recent(slot))
