"""The sans-IO handshake and close codes (auracodec.negotiation), no server library."""

from __future__ import annotations

import subprocess
import sys

import pytest

from auracodec import Pipeline
from auracodec.core.errors import CorruptPayload, DecodeError, OutputLimitExceeded
from auracodec.core.store import Versions
from auracodec.negotiation import (
    Agreement,
    DecodeBudgetExceeded,
    HandshakeError,
    Negotiator,
    Refusal,
    close_code,
    close_reason,
    offer,
    parse_offered,
    subprotocol,
)

PIPE = Pipeline.from_config()
OTHER = Pipeline.from_config(codecs=["zstd"])


def test_offer_lists_every_version_current_first() -> None:
    versions = Versions.of(PIPE, OTHER)
    assert offer(versions) == [subprotocol(PIPE), subprotocol(OTHER)]
    assert offer(PIPE, "stateless") == [f"auracodec.1.stateless.{PIPE.fingerprint}"]
    with pytest.raises(ValueError, match="mode must be one of"):
        offer(PIPE, "zip")


def test_parse_offered_splits_header_values() -> None:
    assert parse_offered(["a, b", "c", " ,d "]) == ["a", "b", "c", "d"]


def test_choose_prefers_the_servers_current_version() -> None:
    negotiator = Negotiator(Versions.of(PIPE, OTHER))
    choice = negotiator.choose([subprotocol(OTHER), subprotocol(PIPE)])
    assert choice == Agreement(subprotocol(PIPE), PIPE.fingerprint)
    assert negotiator.choose([subprotocol(OTHER)]) == Agreement(
        subprotocol(OTHER), OTHER.fingerprint
    )


def test_refusals_say_what_differs() -> None:
    negotiator = Negotiator(PIPE)
    wrong = negotiator.choose([subprotocol(OTHER)])
    assert isinstance(wrong, Refusal) and wrong.status == 400
    assert f"this server speaks {subprotocol(PIPE)}; you offered {subprotocol(OTHER)}" in (
        wrong.reason
    )
    mode = negotiator.choose([subprotocol(PIPE, "stateless")])
    assert isinstance(mode, Refusal) and "you offered auracodec.1.stateless" in mode.reason
    none = negotiator.choose(["chat"])
    assert none == Refusal(
        400, f"this endpoint speaks auracodec: offer the subprotocol {subprotocol(PIPE)}\n"
    )
    assert Negotiator.busy(3) == Refusal(
        503,
        "auracodec server busy: it serves at most 3 connections at once; try again later\n",
    )
    several = Negotiator(Versions.of(PIPE, OTHER)).choose(["auracodec.1.session.x"])
    assert isinstance(several, Refusal)
    assert f"(or, for earlier profile versions, {subprotocol(OTHER)})" in several.reason


def test_a_client_checks_the_servers_answer() -> None:
    negotiator = Negotiator(PIPE)
    assert negotiator.agreed(subprotocol(PIPE)) == PIPE.fingerprint
    with pytest.raises(HandshakeError, match="answered with subprotocol 'chat'"):
        negotiator.agreed("chat")


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (CorruptPayload("bad"), 1007),
        (DecodeError("bad"), 1007),
        (OutputLimitExceeded("big"), 1009),
        (DecodeBudgetExceeded("spent"), 4008),
    ],
)
def test_close_codes(exc: DecodeError, code: int) -> None:
    assert close_code(exc) == code


def test_close_reason_fits_a_close_frame() -> None:
    reason = close_reason(CorruptPayload("é" * 200))
    assert reason.startswith("CorruptPayload: é")
    assert len(reason.encode()) <= 123


@pytest.mark.parametrize("module", ["auracodec", "auracodec.negotiation"])
def test_imports_without_websockets(module: str) -> None:
    code = (
        "import sys; sys.modules['websockets'] = None\n"
        f"import {module}\n"
        "assert 'websockets' not in {m.split('.')[0] for m, v in sys.modules.items() if v}\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
