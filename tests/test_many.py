"""The multi-symbol kill switch and the papi weight budget, against the simulator."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import ccxt
import pytest

import papi_plugin
from papi_plugin.errors import CancelManyFailed
from papi_plugin.simulator import Fault, Simulator
from tests.constants import CANCEL_ALL
from tests.fake_time import FakeTime
from tests.helpers import Runner, binance, simulator

SYMBOLS = {"BTCUSDT": "BTC/USDT", "ETHUSDT": "ETH/USDT", "BNBUSDT": "BNB/USDT"}


def seed_three_symbols(sim: Simulator) -> dict[str, list[str]]:
    """Open orders on three symbols; their ids by unified symbol."""
    sim.seed_documented_example()  # BTCUSDT: 11 plus OCO 20/21
    eth = sim.place("ETHUSDT", "SELL", "LIMIT", "1", "5000")
    bnb = sim.place_oco(
        "BNBUSDT",
        [
            {"side": "SELL", "type": "STOP_LOSS_LIMIT", "quantity": "1", "price": "300", "stop_price": "301"},
            {"side": "SELL", "type": "LIMIT_MAKER", "quantity": "1", "price": "700"},
        ],
    )
    return {
        "BTC/USDT": ["11", "20", "21"],
        "ETH/USDT": [str(eth.order_id)],
        "BNB/USDT": sorted(str(i) for i in bnb.order_ids),
    }


def test_given_symbols_are_all_canceled(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    seed_three_symbols(sim)
    result = run.call(exchange.cancel_all_margin_orders_many, ["BTC/USDT", "ETHUSDT"])
    assert {symbol: len(orders) for symbol, orders in result.items()} == {"BTC/USDT": 3, "ETH/USDT": 1}
    assert sim.open_orders("BNBUSDT") and not sim.open_orders("BTCUSDT") and not sim.open_orders("ETHUSDT")


def test_camel_case_alias_and_duplicates_are_canceled_once(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    seed_three_symbols(sim)
    result = run.call(exchange.cancelAllMarginOrdersMany, ["BTC/USDT", "BTCUSDT"])
    assert list(result) == ["BTC/USDT"]
    assert sim.seen("DELETE", "/papi/v1/margin/allOpenOrders") == 1


def test_none_discovers_every_symbol_with_open_orders_or_lists(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    opened = seed_three_symbols(sim)
    result = run.call(exchange.cancel_all_margin_orders_many, None)
    assert {symbol: sorted(o["id"] for o in orders) for symbol, orders in result.items()} == opened
    discovery = [r for r in sim.requests if r.path == "/papi/v1/margin/openOrders"]
    assert len(discovery) == 1 and "symbol" not in discovery[0].params
    assert sim.seen("GET", "/papi/v1/margin/openOrderList") == 1
    assert sim.open_orders() == []


def test_nothing_open_anywhere_returns_an_empty_dict(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    assert run.call(exchange.cancel_all_margin_orders_many) == {}
    assert sim.seen("DELETE", "/papi/v1/margin/allOpenOrders") == 0


def test_one_failure_does_not_stop_the_others(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    seed_three_symbols(sim)
    # One symbol's cancel keeps failing; the others must still be canceled and reported.
    sim.inject(CANCEL_ALL, *[Fault.error(-1121)])
    with pytest.raises(CancelManyFailed) as raised:
        run.call(exchange.cancel_all_margin_orders_many, ["BTC/USDT", "ETH/USDT", "BNB/USDT"], {"maxAttempts": 2})
    error = raised.value
    assert isinstance(error, ccxt.OperationFailed)
    assert len(error.errors) == 1
    [(failed, cause)] = error.errors.items()
    assert isinstance(cause, ccxt.BadSymbol) and failed in str(error)
    assert set(error.canceled) == set(SYMBOLS.values()) - {failed}
    assert sum(len(o) for o in error.canceled.values()) >= 1
    assert sim.seen("DELETE", "/papi/v1/margin/allOpenOrders") == 3


@pytest.mark.parametrize("symbols", ["BTC/USDT", 42, ["BTC/USDT", ""], ["XYZ/USDT"], ["BTC/USDT:USDT"]])
def test_bad_symbols_raise_before_anything_is_canceled(
    symbols: Any, sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    seed_three_symbols(sim)
    with pytest.raises((ccxt.BadRequest, ccxt.BadSymbol)):
        run.call(exchange.cancel_all_margin_orders_many, symbols)
    assert sim.seen("DELETE", "/papi/v1/margin/allOpenOrders") == 0


def test_confirm_works_for_many(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    seed_three_symbols(sim)
    result = run.call(exchange.cancel_all_margin_orders_many, list(SYMBOLS.values()), {"confirm": True})
    assert set(result) == set(SYMBOLS.values())
    assert sim.seen("GET", "/papi/v1/margin/openOrders") == 3


@pytest.mark.realtime
async def test_async_runs_the_symbols_concurrently(sim: Simulator) -> None:
    seed_three_symbols(sim)
    sim.inject(CANCEL_ALL, *[Fault.delay(0.3)] * len(SYMBOLS))
    exchange = sim.attach(papi_plugin.extend(binance("async", {"apiKey": sim.api_key, "secret": sim.secret})))
    try:
        await exchange.load_markets()
        started = time.monotonic()
        result = await exchange.cancel_all_margin_orders_many(list(SYMBOLS.values()))
        elapsed = time.monotonic() - started
    finally:
        await exchange.close()
    assert len(result) == 3
    assert elapsed < 0.75  # three 0.3 s cancels in sequence would take 0.9 s


def test_a_sync_call_on_many_threads_keeps_its_connections(caplog: pytest.LogCaptureFixture) -> None:
    # requests keeps 10 connections a host: 30 symbols on 24 threads would close (and urllib3 warn of) the rest.
    market_ids = [f"X{i:03d}USDT" for i in range(30)]
    with Simulator(extra_symbols=len(market_ids)) as sim:
        exchange = sim.attach(papi_plugin.extend(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret})))
        exchange.load_markets()
        for _ in range(2):
            for market_id in market_ids:
                sim.place(market_id, "BUY", "LIMIT", "1", "10")
            sim.inject(CANCEL_ALL, *[Fault.delay(0.05)] * len(market_ids))  # all of them in flight at once
            with caplog.at_level(logging.WARNING, logger="urllib3"):
                result = exchange.cancel_all_margin_orders_many([f"{m[:-4]}/USDT" for m in market_ids])
            assert sum(len(orders) for orders in result.values()) == len(market_ids)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")] == []
    assert not sim.open_orders()


# ---- the weight budget -------------------------------------------------------------------------------


def small_minute(sim: Simulator, exchange: Any) -> Any:
    exchange.options["cancelAllMarginOrders"].update(
        {"weightLimit": sim.weight_limit, "weightWindow": sim.window_seconds}
    )
    return exchange


def test_a_minutes_worth_at_full_speed_sees_no_429_sync(fake_time: FakeTime) -> None:
    # A scaled minute: 300 weight per 1.5 s. 150 cancels (750 weight) need three windows.
    with simulator(fake_time, weight_limit=300, window_seconds=1.5) as sim:
        exchange = sim.attach(papi_plugin.extend(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret})))
        small_minute(sim, exchange)
        exchange.load_markets()
        fake_time.advance_to_window(1.5)  # start in a fresh window: market loading was charged to the last one
        started = fake_time.clock()
        for _ in range(150):
            assert exchange.cancel_all_margin_orders("BTC/USDT") == []
        assert sim.rate_limited_answers == 0
        assert sim.seen("DELETE", "/papi/v1/margin/allOpenOrders") == 150
        assert fake_time.clock() - started >= 1.5  # it had to wait for a new window at least once


@pytest.mark.realtime
async def test_a_minutes_worth_at_full_speed_sees_no_429_async() -> None:
    # Concurrent tasks against real windows (a fake clock would race ahead of requests in flight):
    # a scaled minute of 100 weight per 0.3 s; 50 concurrent cancels (250 weight) need three windows.
    with Simulator(weight_limit=100, window_seconds=0.3) as sim:
        exchange = sim.attach(papi_plugin.extend(binance("async", {"apiKey": sim.api_key, "secret": sim.secret})))
        small_minute(sim, exchange)
        try:
            await exchange.load_markets()
            await asyncio.sleep(0.3 - time.time() % 0.3 + 0.01)  # a fresh window
            started = time.monotonic()
            results = await asyncio.gather(*(exchange.cancel_all_margin_orders("BTC/USDT") for _ in range(50)))
            elapsed = time.monotonic() - started
        finally:
            await exchange.close()
        assert results == [[]] * 50
        assert sim.rate_limited_answers == 0
        assert elapsed >= 0.3  # it had to wait for a new window at least once


def test_weight_used_by_others_on_the_ip_is_respected(fake_time: FakeTime) -> None:
    with simulator(fake_time, weight_limit=300, window_seconds=2) as sim:
        exchange = sim.attach(papi_plugin.extend(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret})))
        small_minute(sim, exchange)
        exchange.load_markets()
        fake_time.advance_to_window(2)
        exchange.cancel_all_margin_orders("BTC/USDT")  # learns the IP's use from the answer
        sim.charge(250)  # another program on the same IP spends most of the minute
        for _ in range(20):
            exchange.cancel_all_margin_orders("BTC/USDT")
        assert sim.rate_limited_answers == 0
        assert fake_time.waits  # it waited for the next window rather than send into a 429


def test_other_calls_keep_ccxts_throttle(sim: Simulator) -> None:
    exchange = sim.attach(papi_plugin.extend(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret})))
    exchange.load_markets()
    started = time.monotonic()
    for _ in range(6):
        exchange.fetch_time()  # ccxt's cost 0.2: spaced 10 ms apart by its throttle
    assert time.monotonic() - started >= 0.045
    started = time.monotonic()
    for _ in range(3):
        exchange.cancel_all_margin_orders("BTC/USDT")  # weight 5: ccxt would space them 250 ms apart
    assert time.monotonic() - started < 0.5
