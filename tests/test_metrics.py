"""The prometheus observer (scraped from a real registry) and pipe.health()."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import pytest

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

import auracodec.plugins.metrics as metrics_plugin  # noqa: E402
from auracodec import ConfigError, DecodeError, Pipeline  # noqa: E402
from auracodec.core.config import Config  # noqa: E402
from auracodec.plugin import SettingError  # noqa: E402

# Where the auracodec under test lives: src/ in a checkout with its extensions
# built, site-packages after `pip install .` (CI), never one without them.
SRC = Path(metrics_plugin.__file__).resolve().parents[3]

# Where this checkout is not installed with the metrics entry point, register it in code.
_INSTALLED = "metrics" in {ep.name for ep in metadata.entry_points(group="auracodec.plugins")}
EXTRA = [] if _INSTALLED else [("metrics", metrics_plugin)]


def pipeline(table: dict[str, object] | None = None, **config: object) -> Pipeline:
    data: dict[str, object] = {"observers": {"prometheus": table or {"registry": "own"}}}
    data.update(config)
    return Pipeline.from_config(Config.from_mapping(data), codecs=["zstd"], plugins=EXTRA)


def scrape(pipe: Pipeline) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = prometheus_client.generate_latest(metrics_plugin.registry_of(pipe)).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_counts_bytes_expansions_and_latency() -> None:
    pipe = pipeline()
    long, short = b"hello world " * 20, b"hi"
    frames = [pipe.encode(long), pipe.encode(short)]
    assert pipe.method_of(frames[0]) == "zstd" and pipe.method_of(frames[1]) == "identity"
    for f in frames:
        pipe.decode_bytes(f)
    got = scrape(pipe)
    z_out = (("direction", "out"), ("method", "zstd"))
    z_in = (("direction", "in"), ("method", "zstd"))
    assert got[("auracodec_messages_total", z_out)] == 1
    assert got[("auracodec_messages_total", z_in)] == 1
    assert got[("auracodec_bytes_in_total", z_out)] == len(long)
    assert got[("auracodec_bytes_out_total", z_out)] == len(frames[0])
    assert got[("auracodec_bytes_in_total", z_in)] == len(frames[0])
    assert got[("auracodec_bytes_out_total", z_in)] == len(long)
    # the raw frame of "hi" is one byte longer: one expansion each way
    assert got[("auracodec_expansions_total", (("direction", "out"),))] == 1
    assert got[("auracodec_expansions_total", (("direction", "in"),))] == 1
    assert got[("auracodec_template_hits_total", (("direction", "out"),))] == 0
    hist = (("method", "zstd"),)
    assert got[("auracodec_encode_latency_seconds_count", hist)] == 1
    assert got[("auracodec_decode_latency_seconds_count", hist)] == 1
    assert got[("auracodec_encode_latency_seconds_sum", hist)] > 0
    inf = (("le", "+Inf"), ("method", "zstd"))
    assert got[("auracodec_encode_latency_seconds_bucket", inf)] == 1


def test_open_sessions_and_their_memory_are_read_at_scrape() -> None:
    # The default pipeline: BRIO gives each session coding contexts that hold memory.
    pipe = Pipeline.from_config(
        Config.from_mapping({"observers": {"prometheus": {"registry": "own"}}}), plugins=EXTRA
    )
    before = scrape(pipe)
    assert before[("auracodec_sessions", ())] == 0
    assert before[("auracodec_session_memory_bytes", ())] == 0
    a, b = pipe.session(), pipe.session()
    peer = pipe.session()
    for s in (a, b):
        assert peer.decode(s.encode("where is my order? it was due on monday")) != ""
    got = scrape(pipe)
    assert got[("auracodec_sessions", ())] == 3
    assert got[("auracodec_sessions_opened_total", ())] == 3
    assert got[("auracodec_session_memory_bytes", ())] == a.memory() + b.memory() + peer.memory()
    assert a.memory() > 10_000 and b.memory() > 10_000  # contexts, not only the objects
    del a, peer
    gc.collect()
    got = scrape(pipe)
    assert got[("auracodec_sessions", ())] == 1
    assert got[("auracodec_sessions_opened_total", ())] == 3
    assert got[("auracodec_session_memory_bytes", ())] == b.memory()
    b.reset()  # live: a scrape reads the session as it is now
    assert scrape(pipe)[("auracodec_session_memory_bytes", ())] == b.memory()


def test_counts_from_many_threads_are_exact() -> None:
    pipe = pipeline()
    message = b"thread " * 30
    per_thread, threads = 500, 8

    def work() -> None:
        for _ in range(per_thread):
            pipe.decode_bytes(pipe.encode(message))

    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(work) for _ in range(threads)]:
            f.result()
    got = scrape(pipe)
    n = per_thread * threads
    for direction in ("out", "in"):
        labels = (("direction", direction), ("method", "zstd"))
        assert got[("auracodec_messages_total", labels)] == n
    out = (("direction", "out"), ("method", "zstd"))
    assert got[("auracodec_bytes_in_total", out)] == n * len(message)
    assert got[("auracodec_encode_latency_seconds_count", (("method", "zstd"),))] == n


def test_errors_counted_by_type() -> None:
    pipe = pipeline()
    bad = [b"", b"\x07abc", b"\x02not zstd at all"]
    for frame in bad:
        with pytest.raises(DecodeError):
            pipe.decode_bytes(frame)
    got = scrape(pipe)
    errors = {
        labels[0][1]: v for (name, labels), v in got.items() if name == "auracodec_errors_total"
    }
    assert errors == pipe.stats.errors
    assert sum(errors.values()) == len(bad)
    assert "UnknownMethod" in errors


def test_namespace_and_buckets() -> None:
    pipe = pipeline({"registry": "own", "namespace": "chat", "buckets": [1e-9, 60.0]})
    pipe.encode(b"x" * 100)
    got = scrape(pipe)
    assert got[("chat_messages_total", (("direction", "out"), ("method", "zstd")))] == 1
    low = ("chat_encode_latency_seconds_bucket", (("le", "1e-09"), ("method", "zstd")))
    high = ("chat_encode_latency_seconds_bucket", (("le", "60.0"), ("method", "zstd")))
    assert (got[low], got[high]) == (0, 1)


def test_global_registry_shared_by_pipelines() -> None:
    table = {"namespace": "auracodec_test_shared"}
    a, b = pipeline(table), pipeline(table)
    a.encode(b"y" * 100)
    b.encode(b"y" * 100)
    assert metrics_plugin.registry_of(a) is prometheus_client.REGISTRY
    value = prometheus_client.REGISTRY.get_sample_value(
        "auracodec_test_shared_messages_total", {"method": "zstd", "direction": "out"}
    )
    assert value == 2
    with pytest.raises(ConfigError, match=r"observers\.prometheus\.buckets"):
        pipeline({"namespace": "auracodec_test_shared", "buckets": [1.0]})


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"registry": "mine"}, "observers.prometheus.registry"),
        ({"registry": "own", "buckets": [2.0, 1.0]}, "observers.prometheus.buckets"),
        ({"registry": "own", "bucket": [1.0]}, "observers.prometheus.bucket"),
    ],
)
def test_bad_observer_settings_name_the_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        pipeline(table)
    assert info.value.key == key


def test_health_flags_out_of_range_and_passes_in_range() -> None:
    pipe = pipeline()
    for _ in range(10):
        pipe.decode_bytes(pipe.encode(b"hello world " * 20))
    assert pipe.health().ok
    assert pipe.health().failed == []
    bad = pipe.health({"min_ratio": 1000.0, "max_p95_encode_us": 0.0})
    assert not bad.ok
    assert {c.name for c in bad.failed} == {"min_ratio", "max_p95_encode_us"}
    ratio = next(c for c in bad.checks if c.name == "min_ratio")
    assert ratio.target == 1000.0
    assert ratio.value == pytest.approx(pipe.stats.totals()["ratio"], abs=1e-4)
    with pytest.raises(DecodeError):
        pipe.decode_bytes(b"\x07")
    rate = next(c for c in pipe.health().checks if c.name == "max_error_rate")
    assert rate.value == pytest.approx(1 / 11) and not rate.ok


def test_health_takes_in_the_open_sessions() -> None:
    pipe = pipeline()
    a, b = pipe.session(), pipe.session()
    for _ in range(10):
        b.decode_bytes(a.encode(b"hello world " * 20))
    ratio = next(c for c in pipe.health().checks if c.name == "min_ratio")
    assert ratio.value == pytest.approx(a.stats.totals()["ratio"], abs=1e-4)
    with pytest.raises(DecodeError):
        b.decode_bytes(b"\x07")
    rate = next(c for c in pipe.health().checks if c.name == "max_error_rate")
    assert rate.value == pytest.approx(1 / 11)
    del a, b
    gc.collect()  # closed sessions no longer count
    assert all(c.value is None for c in pipe.health().checks)


def test_health_targets_from_config() -> None:
    pipe = pipeline(health={"max_expansion_share": 0.0})
    pipe.encode(b"a")  # goes raw: one byte longer
    failed = {c.name: c for c in pipe.health().failed}
    assert set(failed) == {"max_expansion_share", "min_ratio"}  # ratio 1/2 too
    assert failed["max_expansion_share"].value == 1.0
    assert not pipe.health({"min_ratio": 0.5}).ok
    assert pipe.health({"max_expansion_share": 1.0, "min_ratio": 0.5}).ok
    empty = Pipeline.from_config(codecs=["zstd"]).health()
    assert empty.ok and all(c.value is None for c in empty.checks)


def test_health_bad_values_name_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_mapping({"health": {"max_error_rate": 2}})
    assert info.value.key == "health.max_error_rate"
    with pytest.raises(ConfigError) as info:
        Config.from_mapping({"health": {"min_ration": 2}})
    assert info.value.key == "health.min_ration"
    with pytest.raises(SettingError, match="expected a number") as err:
        Pipeline.from_config(codecs=["zstd"]).health({"min_ratio": "high"})
    assert err.value.key == "min_ratio"


def test_plugin_loads_without_prometheus_client() -> None:
    code = f"""
import sys
sys.modules["prometheus_client"] = None
import auracodec.plugins.metrics as m
from auracodec import Pipeline, PluginError
from auracodec.core.config import Config
extra = {"[]" if _INSTALLED else "[('metrics', m)]"}
pipe = Pipeline.from_config(codecs=["zstd"], plugins=extra)
assert pipe.decode(pipe.encode("fine")) == "fine"
try:
    Pipeline.from_config(Config.from_mapping({{"observers": {{"prometheus": {{}}}}}}),
                         plugins=extra)
except PluginError as exc:
    print("ERROR", exc)
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=True,
    )
    assert "ERROR" in out.stdout and "pip install 'auracodec[metrics]'" in out.stdout
    assert "Warning" not in out.stderr
