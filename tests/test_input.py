"""Bad input gets a clear ccxt error before the cancel is sent, and nothing is canceled."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

import papi_plugin
from papi_plugin.simulator import Simulator
from tests.helpers import Runner


@pytest.fixture
def seeded(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> tuple[Any, Runner, Simulator]:
    sim.seed_documented_example()
    exchange, run = sim_exchange
    return exchange, run, sim


def assert_nothing_canceled(sim: Simulator) -> None:
    assert sim.seen("DELETE", "/papi/v1/margin/allOpenOrders") == 0
    assert len(sim.open_orders("BTCUSDT")) == 3


@pytest.mark.parametrize("symbol", [None, "", "   "])
def test_missing_symbol_raises_arguments_required(seeded: Any, symbol: Any) -> None:
    exchange, run, sim = seeded
    with pytest.raises(ccxt.ArgumentsRequired, match="requires a symbol"):
        run.call(exchange.cancel_all_margin_orders, symbol)
    assert sim.requests == []


def test_unknown_symbol_raises_bad_symbol(seeded: Any) -> None:
    exchange, run, sim = seeded
    with pytest.raises(ccxt.BadSymbol, match="XYZ/USDT"):
        run.call(exchange.cancel_all_margin_orders, "XYZ/USDT")
    assert_nothing_canceled(sim)


@pytest.mark.parametrize("symbol", ["BTC/USDT:USDT", "DOGE/BTC", "DOGEBTC"])
def test_market_that_is_not_spot_margin_raises_bad_symbol(seeded: Any, symbol: str) -> None:
    exchange, run, sim = seeded
    with pytest.raises(ccxt.BadSymbol, match="margin"):
        run.call(exchange.cancel_all_margin_orders, symbol)
    assert_nothing_canceled(sim)


@pytest.mark.parametrize("recv_window", [0, -5, 60001, "5000", 5000.5, True])
def test_recv_window_outside_1_to_60000_raises_bad_request(seeded: Any, recv_window: Any) -> None:
    exchange, run, sim = seeded
    with pytest.raises(ccxt.BadRequest, match="recvWindow"):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT", {"recvWindow": recv_window})
    assert sim.requests == []


@pytest.mark.parametrize("params", [{"maxAttempts": 0}, {"maxElapsed": -1}, {"maxRetryAfter": "10"}, {"timestamp": 1}])
def test_bad_call_options_raise_bad_request(seeded: Any, params: dict[str, Any]) -> None:
    exchange, run, sim = seeded
    with pytest.raises(ccxt.BadRequest):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT", params)
    assert sim.requests == []


def test_budget_keys_are_not_sent(seeded: Any) -> None:
    exchange, run, sim = seeded
    run.call(exchange.cancel_all_margin_orders, "BTC/USDT", {"maxAttempts": 2, "maxElapsed": 5, "maxRetryAfter": 1})
    sent = next(r for r in sim.requests if r.method == "DELETE")
    assert set(sent.params) == {"symbol", "timestamp", "recvWindow"}


def test_missing_credentials_raise_authentication_error_before_anything_is_sent(sim: Simulator) -> None:
    exchange = sim.attach(papi_plugin.extend(ccxt.binance()))
    with pytest.raises(ccxt.AuthenticationError):
        exchange.cancel_all_margin_orders("BTC/USDT")
    assert sim.requests == []


def test_markets_are_loaded_once_not_on_every_call(seeded: Any) -> None:
    exchange, run, sim = seeded
    run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    assert sim.seen("GET", "/api/v3/exchangeInfo") == 1
    assert sim.seen("DELETE", "/papi/v1/margin/allOpenOrders") == 2
