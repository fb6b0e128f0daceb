"""The whole account under stress: a ban, hung endpoints, junk answers, secrets, against the simulator."""

from __future__ import annotations

import logging
import time
from typing import Any

import ccxt
import pytest

import papi_plugin
from papi_plugin.errors import CancelManyFailed
from papi_plugin.simulator import Fault, Simulator
from tests.constants import TEST_API_KEY, TEST_SECRET
from tests.helpers import Runner, binance
from tests.test_secrets import SIGNED_VALUE

MARGIN = 1.0  # seconds past maxElapsed: a loaded 2-core machine's scheduling, not a budget


def test_a_ban_met_on_a_futures_endpoint_stops_every_kind(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.seed_futures_example()
    sim.inject("GET /papi/v1/um/algo/openAlgoOrders", Fault.banned(300))
    with pytest.raises(ccxt.DDoSProtection, match="IP banned until"):
        run.call(exchange.cancel_all_um_orders, "BTC/USDT:USDT")
    sent = len(sim.requests)
    for call, symbol in (("cancel_all_margin_orders", "BTC/USDT"), ("cancel_all_cm_orders", "BTC/USD:BTC")):
        with pytest.raises(ccxt.DDoSProtection, match="not sent"):
            run.call(getattr(exchange, call), symbol)
    with pytest.raises(ccxt.DDoSProtection, match="not sent"):
        run.call(exchange.cancel_all_portfolio_orders)
    assert len(sim.requests) == sent  # nothing more went out, not even markets


def test_a_ban_met_in_the_middle_of_a_whole_account_call_stops_the_rest(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.seed_futures_example()
    run.call(exchange.load_markets)
    sim.inject("DELETE /papi/v1/cm/conditional/allOpenOrders", Fault.banned(300))
    with pytest.raises(CancelManyFailed) as raised:
        run.call(exchange.cancel_all_portfolio_orders, ["BTC/USD:BTC"])
    assert isinstance(raised.value.errors["BTC/USD:BTC"], ccxt.DDoSProtection)
    banned_at = len(sim.requests)
    with pytest.raises(ccxt.DDoSProtection):
        run.call(exchange.cancel_all_portfolio_orders)
    assert len(sim.requests) == banned_at


@pytest.mark.parametrize(
    ("endpoint", "fault"),
    [
        ("GET /papi/v1/um/openOrders", Fault.answer('{"code": "ERR_UPSTREAM"}', 502)),
        ("GET /papi/v1/cm/allOrders", Fault.answer('{"unexpected": true}')),
        (
            "GET /papi/v1/um/algo/allAlgoOrders",
            Fault.answer('{"total": 1, "orders": []}'),
        ),
        ("DELETE /papi/v1/cm/conditional/allOpenOrders", Fault.garbage()),
    ],
)
def test_junk_from_a_gateway_is_a_ccxt_error_and_the_other_symbols_go_on(
    sim: Simulator, sim_exchange: tuple[Any, Runner], endpoint: str, fault: Fault
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.seed_futures_example()
    sim.inject(endpoint, *[fault] * 5)
    with pytest.raises(CancelManyFailed) as raised:
        run.call(exchange.cancel_all_portfolio_orders, ["BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"])
    failed = raised.value
    assert len(failed.errors) == 1 and all(isinstance(e, ccxt.BaseError) for e in failed.errors.values())
    assert [o["id"] for o in failed.canceled["BTC/USDT"]] == ["11", "20", "21"]
    assert not sim.open_orders()


def test_logs_and_errors_of_futures_calls_hold_no_secret(
    sim: Simulator, sim_exchange: tuple[Any, Runner], caplog: pytest.LogCaptureFixture
) -> None:
    exchange, run = sim_exchange
    sim.seed_futures_example()
    sim.inject("DELETE /papi/v1/um/allOpenOrders", Fault.drop(), Fault.server_error(500), Fault.error(-1022))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CancelManyFailed) as raised:
        run.call(exchange.cancel_all_portfolio_orders, ["BTC/USDT:USDT", "BTC/USD:BTC"])
    error = raised.value.errors["BTC/USDT:USDT"]
    assert isinstance(error, ccxt.AuthenticationError)
    texts = [record.getMessage() for record in caplog.records] + [str(raised.value), repr(error)]
    assert any("um/allOpenOrders" in text for text in texts)
    for text in texts:
        assert TEST_API_KEY not in text and TEST_SECRET not in text and not SIGNED_VALUE.search(text), text


@pytest.mark.realtime
def test_a_whole_account_with_hanging_endpoints_finishes_inside_the_deadline(mode: str) -> None:
    with Simulator(extra_symbols=5) as sim:
        run = Runner()
        exchange = sim.attach(papi_plugin.extend(binance(mode, {"apiKey": sim.api_key, "secret": sim.secret})))
        sim.seed_documented_example()
        for i in range(5):
            sim.place_futures("um", f"X{i:03d}USDT", "BUY", "1", "10")
            sim.place_futures("cm", f"X{i:03d}USD_PERP", "BUY", "1", "10", conditional=True)
        run.call(exchange.load_markets)
        sim.inject("GET /papi/v1/cm/conditional/allOrders", Fault.delay(30))  # one history read hangs
        sim.inject("DELETE /papi/v1/um/allOpenOrders", Fault.delay(30))  # and one cancel
        started = time.monotonic()
        with pytest.raises(CancelManyFailed) as raised:
            run.call(exchange.cancel_all_portfolio_orders, None, {"maxElapsed": 1})
        elapsed = time.monotonic() - started
        run.close([exchange])
    assert elapsed < 1 + MARGIN
    assert len(raised.value.errors) == 2
    assert all(isinstance(e, ccxt.RequestTimeout) for e in raised.value.errors.values())
    assert len(raised.value.canceled) == 1 + 4 + 5  # margin, the other UM symbols, every CM symbol (one carried)
