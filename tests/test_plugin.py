"""pluggy wiring: extend, the entry point, and third-party plugins on the shared manager."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import ccxt
import pytest

import papi_plugin
from papi_plugin import binance_pm
from papi_plugin.simulator import Fault, Simulator
from tests.constants import CANCEL_ALL
from tests.helpers import Runner, binance


def test_extend_returns_the_same_object_and_announces_the_capability() -> None:
    exchange = ccxt.binance()
    assert papi_plugin.extend(exchange) is exchange
    assert exchange.has["cancelAllMarginOrders"] is True
    assert callable(exchange.cancel_all_margin_orders)
    assert exchange.cancelAllMarginOrders == exchange.cancel_all_margin_orders


async def test_extend_works_on_async_binance() -> None:
    exchange = papi_plugin.extend(binance("async", {}))
    assert exchange.has["cancelAllMarginOrders"] is True
    from papi_plugin.capabilities.account import AsyncAccount

    assert binance_pm.canceller_of(exchange).__class__ is AsyncAccount
    await exchange.close()


def test_extend_is_idempotent() -> None:
    exchange = papi_plugin.extend(ccxt.binance())
    canceller = binance_pm.canceller_of(exchange)
    papi_plugin.extend(exchange)
    assert binance_pm.canceller_of(exchange) is canceller
    assert exchange.cancel_all_margin_orders == canceller.cancel_all_margin_orders


def test_extend_serves_binance_subclasses() -> None:
    assert papi_plugin.extend(ccxt.binanceusdm()).has["cancelAllMarginOrders"] is True


def test_other_exchanges_get_nothing() -> None:
    exchange = papi_plugin.extend(ccxt.kraken())
    assert not exchange.has.get("cancelAllMarginOrders")
    assert not hasattr(exchange, "cancel_all_margin_orders")


def test_extend_sets_the_default_budget_and_keeps_the_users() -> None:
    exchange = papi_plugin.extend(ccxt.binance({"options": {"cancelAllMarginOrders": {"maxAttempts": 2}}}))
    assert exchange.options["cancelAllMarginOrders"] == {"maxAttempts": 2, "maxElapsed": 30, "maxRetryAfter": 10}


def test_the_adapter_is_an_installed_entry_point_plugin() -> None:
    entry_points = importlib.metadata.entry_points(group="papi_plugin")
    assert [ep.value for ep in entry_points if ep.name == "binance_portfolio_margin"] == ["papi_plugin.binance_pm"]
    manager = papi_plugin.plugin_manager()
    assert manager is papi_plugin.plugin_manager()
    assert manager.is_registered(binance_pm)
    assert {"register_capabilities", "margin_orders_canceled", "before_retry"} <= set(vars(manager.hook))


class Recorder:
    """A third-party plugin: adds a capability and observes both events."""

    def __init__(self) -> None:
        self.canceled: list[tuple[str, list[str]]] = []
        self.retries: list[tuple[str, int, str, float]] = []

    @papi_plugin.hookimpl
    def register_capabilities(self, exchange: Any) -> dict[str, Any]:
        return {"count_open_orders_hint": lambda: "served by Recorder"}

    @papi_plugin.hookimpl
    def margin_orders_canceled(self, exchange: Any, symbol: str, orders: list[dict[str, Any]]) -> None:
        self.canceled.append((symbol, [o["id"] for o in orders]))

    @papi_plugin.hookimpl
    def before_retry(self, exchange: Any, symbol: str, attempt: int, error: Exception, delay: float) -> None:
        self.retries.append((symbol, attempt, type(error).__name__, delay))


@pytest.fixture
def recorder() -> Any:
    plugin = Recorder()
    manager = papi_plugin.plugin_manager()
    manager.register(plugin, name="recorder")
    yield plugin
    manager.unregister(name="recorder")


def test_a_third_party_plugin_adds_a_capability(recorder: Recorder) -> None:
    exchange = papi_plugin.extend(ccxt.binance())
    assert exchange.count_open_orders_hint() == "served by Recorder"
    assert exchange.countOpenOrdersHint() == "served by Recorder"
    assert exchange.has["countOpenOrdersHint"] is True


def test_a_third_party_plugin_observes_retries_and_cancels(
    recorder: Recorder, mode: str, sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.server_error(503))
    orders = run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    assert recorder.canceled == [("BTC/USDT", [o["id"] for o in orders])]
    assert len(recorder.retries) == 1
    symbol, attempt, error, delay = recorder.retries[0]
    assert (symbol, attempt, error) == ("BTC/USDT", 1, "ExchangeNotAvailable")
    assert 0 < delay <= 5


def test_a_sync_bot_does_not_pay_for_ccxts_async_support() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ccxt, papi_plugin; papi_plugin.extend(ccxt.binance());"
        "print('ccxt.async_support' in sys.modules, 'aiohttp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_open_orders_take_their_list_from_the_lists_own_legs(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    # Binance's open orders carry no orderListId; a leg's list is found through the lists' "orders" entries.
    exchange, run = sim_exchange
    sim.seed_documented_example()
    orders = run.call(exchange.open_margin_orders, "BTC/USDT")
    assert {o["id"]: (o["orderList"] or {}).get("orderListId") for o in orders} == {"11": None, "20": 1929, "21": 1929}
    assert exchange.has["openMarginOrders"] and exchange.has["symbolsWithOpenOrders"]
    assert run.call(exchange.symbolsWithOpenOrders) == ["BTC/USDT"]


def test_importing_the_package_loads_no_capability_until_the_first_extend() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ccxt, papi_plugin; before = 'papi_plugin.capabilities.account' in sys.modules;"
        " papi_plugin.extend(ccxt.binance()); print(before, 'papi_plugin.capabilities.account' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["False", "True"]
