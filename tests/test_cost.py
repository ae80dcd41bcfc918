"""The cost policy, cost models, estimates and what training measures."""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auracodec import ConfigError, Pipeline, SessionFrame
from auracodec.conformance import sample_messages
from auracodec.core.config import Config
from auracodec.core.corpus import Sample, builtin_sample
from auracodec.core.cost import (
    DEFAULT_COST_MODEL,
    CostModel,
    Estimates,
    PolicyContext,
    Prices,
    size_class,
)
from auracodec.core.training import hold_out, train
from auracodec.plugin import Choice, Codec, CodecType, PolicyType, hookimpl
from auracodec.plugins.selectors import Cost, Smallest
from test_selectors import Fixed

MESSAGE = b"m" * 1000


def policy(
    models: Mapping[str, CostModel],
    prices: Prices | None = None,
    *,
    budget_us: int = 0,
    explore: int = 0,
) -> Cost:
    p = Cost(time_budget_us=budget_us, explore_every=explore)
    p.bind(PolicyContext(prices or Prices(), Estimates(), lambda c: models[c.name], codecs=()))
    return p


def test_prices() -> None:
    prices = Prices()
    # $0.09 per 2**30 bytes against $0.045 per core-hour: a byte is ~6.7 µs.
    assert prices.byte_ns == pytest.approx(6705.1, rel=1e-3)
    assert prices.usd(1 << 30, 0) == pytest.approx(0.09)
    assert prices.usd(0, 3600e9) == pytest.approx(0.045)
    assert Prices(0.09, 0.0).byte_ns == math.inf


def test_cost_model_refuses_negative_and_non_finite_figures() -> None:
    with pytest.raises(ValueError, match="ratio must be a finite number >= 0"):
        CostModel(ratio=-1)
    with pytest.raises(ValueError, match="encode_ns must be"):
        CostModel(ratio=0.5, encode_ns=math.nan)


def test_size_classes() -> None:
    assert [size_class(n) for n in (0, 1, 2, 3, 4, 1000, 1 << 40)] == [0, 1, 2, 2, 3, 10, 27]


def test_the_cheapest_frame_wins_at_the_prices() -> None:
    small = Fixed("small", 0.2, cost=1)  # small and slow
    quick = Fixed("quick", 0.5, cost=2)  # large and fast
    models = {
        "small": CostModel(ratio=0.2, encode_ns_per_byte=1000, decode_ns_per_byte=1000),
        "quick": CostModel(ratio=0.5, encode_ns_per_byte=1, decode_ns_per_byte=1),
    }
    # At the default prices 300 bytes saved (2 ms of CPU) pay for 2 µs/byte.
    choice = policy(models).select(MESSAGE, [quick, small])
    assert choice is not None and choice[0] is small
    # CPU 100x dearer: the fast codec wins, and the slow one is not even tried.
    small.calls = 0
    dear = Prices(0.09, 4.5)
    choice = policy(models, dear).select(MESSAGE, [quick, small])
    assert choice is not None and choice[0] is quick and small.calls == 0
    # Free egress: nothing pays for CPU, the message goes raw untried.
    quick.calls = 0
    assert policy(models, Prices(0.0, 0.045)).select(MESSAGE, [quick, small]) is None
    assert quick.calls == small.calls == 0
    # Free CPU: the smallest frame, as `smallest` would pick.
    choice = policy(models, Prices(0.09, 0.0)).select(MESSAGE, [quick, small])
    assert choice is not None and choice[0] is small


def test_estimates_learn_from_what_the_codec_does() -> None:
    # Declared as small, it is in fact as large as the message: after a few
    # messages the policy stops trying it, but for exploration.
    liar = Fixed("liar", 0.99, cost=1)
    good = Fixed("good", 0.5, cost=2)
    models = {
        "liar": CostModel(ratio=0.1, encode_ns_per_byte=1),
        "good": CostModel(ratio=0.5, encode_ns_per_byte=1),
    }
    p = policy(models, explore=16)
    for _ in range(200):
        choice = p.select(MESSAGE, [liar, good])
        assert choice is not None and choice[0] is good
    assert liar.calls < 60  # learned, then only explored now and then
    assert p.estimates.to_dict()["liar"]["ratio"][size_class(len(MESSAGE))] > 0.5


def test_the_time_budget_skips_slow_codecs_but_never_leaves_a_message_untried() -> None:
    slow = Fixed("slow", 0.2, cost=1)
    slower = Fixed("slower", 0.1, cost=2)
    models = {
        "slow": CostModel(ratio=0.2, encode_ns=2e6),  # 2 ms
        "slower": CostModel(ratio=0.1, encode_ns=5e6),  # 5 ms
    }
    p = policy(models, budget_us=1000)
    choice = p.select(MESSAGE, [slower, slow])
    assert choice is not None and choice[0] is slow and slower.calls == 0


class Counting:
    """A third-party codec and session context that count their work, with a
    cost model declared through the hook."""

    def __init__(self) -> None:
        self.encodes = self.absorbs = self.stateless = 0
        self.fail_model = False

    @hookimpl
    def auracodec_codec_types(self) -> list[CodecType]:
        return [CodecType("counted", 0xC5, lambda settings: _CountedCodec(self))]

    @hookimpl
    def auracodec_codec_context(self, codec: object, direction: str) -> object:
        return _CountedContext(self) if isinstance(codec, _CountedCodec) else None

    @hookimpl
    def auracodec_cost_model(self, codec: object) -> CostModel | None:
        if self.fail_model:
            raise RuntimeError("no model today")
        if isinstance(codec, _CountedContext):
            return CostModel(ratio=0.1, encode_ns=50_000, decode_ns=1000, absorbed=1.0)
        if isinstance(codec, _CountedCodec):
            return CostModel(ratio=0.3, encode_ns=50_000, decode_ns=1000)
        return None


class _CountedCodec:
    """zlib at level 1."""

    name, method_id, thread_safe, cost = "counted", 0xC5, True, 40
    detects: frozenset[str] = frozenset()

    def __init__(self, owner: Counting) -> None:
        self.owner = owner

    def encode(self, message: bytes) -> bytes | None:
        self.owner.stateless += 1
        return zlib.compress(message, 1)

    def decode(self, payload: bytes, limit: int) -> bytes:
        return zlib.decompress(payload)

    def max_payload_size(self, size: int) -> int:
        return size + 64

    def fingerprint(self) -> Mapping[str, str | int]:
        return {}


class _CountedContext:
    """zlib with the direction's previous message as its dictionary: a real,
    if small, context, which codes to absorb as BRIO's does."""

    name, method_id, cost = "counted", 0xD5, 41

    def __init__(self, owner: Counting) -> None:
        self.owner = owner
        self.previous = b""

    def encode(self, message: bytes) -> bytes | None:
        self.owner.encodes += 1
        c = zlib.compressobj(9, zdict=self.previous) if self.previous else zlib.compressobj(9)
        payload = c.compress(message) + c.flush()
        self.previous = message
        return payload

    def decode(self, payload: bytes, limit: int) -> bytes:
        d = zlib.decompressobj(zdict=self.previous) if self.previous else zlib.decompressobj()
        self.previous = d.decompress(payload)
        return self.previous

    def absorb(self, message: bytes) -> None:
        self.owner.absorbs += 1
        self.previous = message

    def reset(self) -> None:
        self.previous = b""

    def memory(self) -> int:
        return len(self.previous)


def test_a_session_codes_each_message_once_when_its_context_wins() -> None:
    owner = Counting()
    pipe = Pipeline.from_config(codecs=["counted", "zstd"], plugins=[("counted", owner)])
    sender, receiver = pipe.session(), pipe.session()
    # A stream the context codes far better than any stateless codec.
    messages = [
        f'{{"event":"order.created","id":"ord_{i:04d}","amount":{i * 7}}}'.encode()
        for i in range(100)
    ]
    for m in messages:
        assert receiver.decode_bytes(sender.encode(m)) == m
    # The sending context coded every message once; the receiving one
    # absorbed only those another codec carried.
    assert owner.encodes == len(messages)
    carried = receiver.stats.methods
    assert owner.absorbs == sum(s.decoded for n, s in carried.items() if n != "counted+context")
    assert carried["counted+context"].decoded >= 95
    # ...and the stateless codecs were not tried beside it, but to explore.
    assert owner.stateless <= 8


def test_a_failing_cost_model_hook_is_contained() -> None:
    owner = Counting()
    owner.fail_model = True
    pipe = Pipeline.from_config(codecs=["counted", "zstd"], plugins=[("counted", owner)])
    assert any("cost model hook of 'counted'" in k for k in pipe.stats.faults)
    m = b"a message that zstd codes " * 4
    assert pipe.decode_bytes(pipe.encode(m)) == m
    assert pipe.wire.cost_model(pipe.codecs["counted"]) is DEFAULT_COST_MODEL


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("not json", "cannot read cost estimates"),
        ('{"format": 99, "methods": {}}', "not auracodec cost estimates of format 1"),
        ('{"format": 1, "methods": []}', "'methods' must be a table"),
        ('{"format": 1, "methods": {"zstd": {"7": {"bytes": -1}}}}', "numbers >= 0"),
    ],
)
def test_bad_estimates_are_config_errors_naming_the_key(
    tmp_path: Path, content: str, match: str
) -> None:
    (tmp_path / "costs.json").write_text(content)
    (tmp_path / "auracodec.toml").write_text('[selector]\nestimates = "costs.json"\n')
    with pytest.raises(ConfigError, match=f"selector.estimates: .*{match}"):
        Pipeline.from_config(tmp_path)


def test_missing_estimates_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "auracodec.toml").write_text('[selector]\nestimates = "nope.json"\n')
    with pytest.raises(ConfigError, match=r"auracodec.toml: selector.estimates: cannot read"):
        Pipeline.from_config(tmp_path)


def test_hold_out_keeps_whole_conversations() -> None:
    corpus = [Sample(b"m%d" % i, conv=f"c{i // 5}") for i in range(1000)]
    trained, held = hold_out(corpus)
    assert len(trained) + len(held) == 1000 and len(held) == 50
    assert {s.conv for s in held}.isdisjoint({s.conv for s in trained})
    small = corpus[:100]  # too few to hold out: measured on what trained
    assert hold_out(small) == (small, small)


def test_training_measures_costs_into_the_profile(tmp_path: Path) -> None:
    profile = train(builtin_sample(), tmp_path)
    config = Config.load(profile.config_path)
    assert config.estimates == "costs.json"
    data = json.loads((tmp_path / "costs.json").read_text())
    assert data["format"] == 1
    assert {"zstd", "brio", "brio+context"} <= set(data["methods"])
    for classes in data["methods"].values():
        for figures in classes.values():
            assert figures["messages"] >= figures["declined"] >= 0
            assert figures["encode_ns"] > 0
    pipe = Pipeline.from_config(profile.config_path)
    est = pipe.policy.estimates.of("brio", DEFAULT_COST_MODEL)  # type: ignore[attr-defined]
    by_class = data["methods"]["brio"]
    k = max(by_class, key=lambda c: by_class[c]["messages"])
    measured = by_class[k]
    k = int(k)
    assert est.ratio[k] == pytest.approx(measured["payload"] / measured["coded_bytes"])
    for s in builtin_sample()[:50]:
        assert pipe.decode_bytes(pipe.encode(s.data)) == s.data


class AlwaysIsolate:
    """A policy plugin that finds every session message cheaper isolated."""

    @hookimpl
    def auracodec_selector_policies(self) -> list[PolicyType]:
        return [PolicyType("isolating", lambda settings: _Isolating())]


class _Isolating:
    def select(self, message: bytes, codecs: Sequence[Codec]) -> Choice:
        return Smallest().select(message, codecs)

    def isolate(self, message: bytes, contexts: Sequence[object], codecs: object) -> bool:
        return True


def test_a_policy_can_keep_messages_out_of_the_contexts() -> None:
    config = Config.from_mapping({"selector": {"policy": "isolating"}})
    pipe = Pipeline.from_config(config, plugins=[("isolating", AlwaysIsolate())])
    sender = pipe.session(check_every=2)
    receiver = pipe.session()
    messages = [*sample_messages()[:20], b"ab", b"\x00\x01", *sample_messages()[20:40]]
    kinds = []
    for m in messages:
        frame = sender.encode(m)
        head = SessionFrame.parse(frame)
        # compressible: isolated; raw: a plain frame (never two bytes longer),
        # which the contexts absorb at both ends
        assert head.isolated == (frame[head.offset] != pipe.raw.method_id)
        assert head.isolated or len(frame) - head.offset <= len(m) + 1
        kinds.append(head.isolated)
        assert receiver.decode_bytes(frame) == m
    # Both kinds occurred, and the digests every second plain message agreed
    # (a frame that went into one end's contexts and not the other's would
    # have failed a check).
    assert any(kinds) and not all(kinds)
    assert receiver.failed is None


def test_exploring_stays_within_the_time_budget() -> None:
    quick = Fixed("quick", 0.5, cost=1)
    slow = Fixed("slow", 0.49, cost=2)
    models = {
        "quick": CostModel(ratio=0.5, encode_ns=1_000),
        "slow": CostModel(ratio=0.49, encode_ns=50e6),  # 50 ms: ruled out
    }
    p = policy(models, budget_us=10_000, explore=1)  # explore on every message
    for _ in range(20):
        choice = p.select(MESSAGE, [quick, slow])
        assert choice is not None and choice[0] is quick
    assert slow.calls == 0
    unbounded = policy(models, budget_us=0, explore=1)
    unbounded.select(MESSAGE, [quick, slow])
    assert slow.calls == 1


def test_training_keeps_the_starting_prices(tmp_path: Path) -> None:
    start = Config.from_mapping({"selector": {"egress_usd_per_gb": 0.05, "explore_every": 8}})
    profile = train(builtin_sample(), tmp_path, config=start)
    config = Config.load(profile.config_path)
    assert config.prices == Prices(0.05, 0.045)
    assert config.selector_table["explore_every"] == 8


def test_oversized_estimates_are_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("auracodec.core.cost.MAX_ESTIMATES_SIZE", 10)
    (tmp_path / "costs.json").write_text('{"format": 1, "methods": {}}')
    (tmp_path / "auracodec.toml").write_text('[selector]\nestimates = "costs.json"\n')
    with pytest.raises(ConfigError, match=r"selector.estimates: .* more than the 10 allowed"):
        Pipeline.from_config(tmp_path)


# -- properties -------------------------------------------------------------------------

_PRICED = {
    p: Pipeline.from_config(
        Config.from_mapping(
            {"selector": {"egress_usd_per_gb": p[0], "cpu_usd_per_core_hour": p[1]}}
        )
    )
    for p in [(0.09, 0.045), (0.0, 0.045), (0.09, 0.0), (1e-6, 10.0), (50.0, 1e-6)]
}


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(_PRICED)),
    st.one_of(st.binary(max_size=3000), st.text(max_size=1500).map(str.encode)),
)
def test_any_prices_any_message_round_trips_within_one_byte(
    prices: tuple[float, float], message: bytes
) -> None:
    pipe = _PRICED[prices]
    frame = pipe.encode(message)
    assert len(frame) <= len(message) + 1
    assert pipe.decode_bytes(frame) == message


class _Scripted:
    """A policy that isolates messages as a script says (and picks the smallest)."""

    def __init__(self, script: list[bool]) -> None:
        self.script = script

    def select(self, message: bytes, codecs: Sequence[Codec]) -> Choice:
        return Smallest().select(message, codecs)

    def isolate(self, message: bytes, contexts: Sequence[object], codecs: object) -> bool:
        return self.script.pop() if self.script else False


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*sample_messages()[:60], b"", b"x", b"\x00\xff" * 3]),
            st.booleans(),  # the policy isolates it
            st.booleans(),  # the caller isolates it
        ),
        min_size=1,
        max_size=25,
    ),
    st.integers(0, 3),
)
def test_isolating_sessions_stay_in_step(
    script: list[tuple[bytes, bool, bool]], check_every: int
) -> None:
    policy = _Scripted([auto for _, auto, _ in reversed(script)])

    class Plugin:
        @hookimpl
        def auracodec_selector_policies(self) -> list[PolicyType]:
            return [PolicyType("scripted", lambda settings: policy)]

    config = Config.from_mapping({"selector": {"policy": "scripted"}})
    pipe = Pipeline.from_config(config, plugins=[("scripted", Plugin())])
    sender, receiver = pipe.session(check_every=check_every), pipe.session()
    for message, _, isolated in script:
        frame = sender.encode(message, isolated=isolated)
        head = SessionFrame.parse(frame)
        if not isolated:  # the policy's isolation never costs the one-byte bound
            assert len(frame) - head.offset + (1 if head.isolated else 0) <= len(message) + 1
        assert receiver.decode_bytes(frame) == message
    assert receiver.failed is None


def test_estimates_missing_figures_keep_the_prior(tmp_path: Path) -> None:
    # A hand-edited costs.json: a class with counts but no times or sizes.
    (tmp_path / "costs.json").write_text(
        '{"format": 1, "methods": {"zstd": {"7": {"messages": 9, "bytes": 900}}}}'
    )
    (tmp_path / "auracodec.toml").write_text('[selector]\nestimates = "costs.json"\n')
    pipe = Pipeline.from_config(tmp_path)
    model = pipe.wire.cost_model(pipe.codecs["zstd"])
    est = pipe.policy.estimates.of("zstd", model)  # type: ignore[attr-defined]
    assert est.ratio[7] == model.ratio and est.seen[7] == 9
    m = b"a message of about a hundred bytes, " * 3
    assert pipe.decode_bytes(pipe.encode(m)) == m


def test_isolating_needs_a_stateless_codec_that_beats_raw() -> None:
    # A context dear in CPU (it codes to absorb, at both ends) that saves a
    # little: isolating pays only if a stateless codec then beats raw, since a
    # message that goes raw is sent in a plain frame and absorbed all the same.
    models = {
        "ctx": CostModel(ratio=0.8, encode_ns_per_byte=1e6, decode_ns_per_byte=1e6, absorbed=1.0),
        "good": CostModel(ratio=0.5),
        "bad": CostModel(ratio=1.5),
    }
    p = policy(models)
    ctx, good, bad = Fixed("ctx", 0.8, 11), Fixed("good", 0.5, 1), Fixed("bad", 1.5, 2)
    message = b"tiny"
    k = size_class(len(message))
    p._estimate(ctx).seen[k] = 1000  # measured: isolate() judges only what it knows
    assert p.isolate(message, [ctx], [good, bad])
    assert not p.isolate(message, [ctx], [bad])
    assert not p.isolate(message, [ctx], [])
