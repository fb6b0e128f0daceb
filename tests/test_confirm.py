"""Verified cancel: orders placed while the cancel runs are canceled too, or NotFlat says what is left."""

from __future__ import annotations

import threading
import time
from typing import Any

import ccxt
import pytest

import papi_plugin
from papi_plugin.errors import NotFlat
from papi_plugin.simulator import Fault, Simulator
from tests.helpers import Runner

OPEN_ORDERS = "GET /papi/v1/margin/openOrders"


class Placer(threading.Thread):
    """A second bot placing margin orders over HTTP as soon as the first cancel reached the server."""

    def __init__(self, sim: Simulator) -> None:
        super().__init__(daemon=True)
        self.sim = sim
        self.placed: list[str] = []
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            bot = self.sim.attach(ccxt.binance({"apiKey": self.sim.api_key, "secret": self.sim.secret}))
            bot.load_markets()
            deadline = time.monotonic() + 10
            while self.sim.seen("DELETE", "/papi/v1/margin/allOpenOrders") == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
            order = bot.create_order("BTC/USDT", "limit", "buy", 0.01, 100, {"portfolioMargin": True})
            oco = bot.papiPostMarginOrderOco(
                {
                    "symbol": "BTCUSDT",
                    "side": "SELL",
                    "quantity": "0.01",
                    "price": "120",
                    "stopPrice": "90",
                    "stopLimitPrice": "89",
                    "stopLimitTimeInForce": "GTC",
                }
            )
            self.placed = [order["id"]] + [str(leg["orderId"]) for leg in oco["orders"]]
        except BaseException as error:  # surfaced by the test
            self.error = error
        finally:
            self.done.set()


def test_confirm_cancels_orders_placed_during_the_cancel(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.place("ETHUSDT", "BUY", "LIMIT", "1", "10")  # another symbol: must stay open
    # The first read of open orders waits long enough for the second bot to place its orders.
    sim.inject(OPEN_ORDERS, Fault.delay(0.3))
    placer = Placer(sim)
    placer.start()
    orders = run.call(exchange.cancel_all_margin_orders, "BTC/USDT", {"confirm": True})
    placer.join(10)
    assert placer.error is None and len(placer.placed) == 3
    ids = [o["id"] for o in orders]
    assert ids[:3] == ["11", "20", "21"]
    assert sorted(ids[3:]) == sorted(placer.placed)
    assert len(set(ids)) == len(ids)
    assert sim.open_orders("BTCUSDT") == [] and sim.open_lists("BTCUSDT") == []
    assert len(sim.open_orders("ETHUSDT")) == 1
    assert sim.seen("DELETE", "/papi/v1/margin/allOpenOrders") == 2


def test_confirm_on_a_flat_symbol_reads_once_and_returns(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    orders = run.call(exchange.cancel_all_margin_orders, "BTC/USDT", {"confirm": True})
    assert [o["id"] for o in orders] == ["11", "20", "21"]
    assert sim.seen("GET", "/papi/v1/margin/openOrders") == 1
    assert sim.seen("GET", "/papi/v1/margin/openOrderList") == 1
    assert sim.seen("DELETE", "/papi/v1/margin/allOpenOrders") == 1


def test_not_flat_after_the_rounds_raises_naming_what_is_left(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(OPEN_ORDERS, Fault.delay(0.3))
    placer = Placer(sim)
    placer.start()
    with pytest.raises(NotFlat) as raised:
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT", {"confirm": True, "maxConfirmRounds": 0})
    placer.join(10)
    error = raised.value
    assert isinstance(error, ccxt.OperationFailed)
    assert [o["id"] for o in error.canceled] == ["11", "20", "21"]
    for order_id in placer.placed:
        assert order_id in str(error)
    assert len(sim.open_orders("BTCUSDT")) == 3


def test_confirm_reports_every_canceled_order_to_plugins_even_when_not_flat(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    seen: list[list[str]] = []

    class Keeper:
        @papi_plugin.hookimpl
        def margin_orders_canceled(self, exchange: Any, symbol: str, orders: list[dict[str, Any]]) -> None:
            seen.append([o["id"] for o in orders])

    manager = papi_plugin.plugin_manager()
    manager.register(Keeper(), name="keeper")
    try:
        sim.seed_documented_example()
        sim.inject(OPEN_ORDERS, Fault.delay(0.3))
        placer = Placer(sim)
        placer.start()
        with pytest.raises(NotFlat):
            run.call(exchange.cancel_all_margin_orders, "BTC/USDT", {"confirm": True, "maxConfirmRounds": 0})
        placer.join(10)
    finally:
        manager.unregister(name="keeper")
    assert seen == [["11", "20", "21"]]


@pytest.mark.parametrize("rounds", [-1, "3", True])
def test_bad_max_confirm_rounds_raises_bad_request(
    rounds: Any, sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    with pytest.raises(ccxt.BadRequest, match="maxConfirmRounds"):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT", {"confirm": True, "maxConfirmRounds": rounds})
    assert sim.requests == []
