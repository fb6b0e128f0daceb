"""USD-M and COIN-M cancels against the simulator, sync and async, over ccxt's real HTTP path."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

import papi_plugin
from papi_plugin.errors import NotFlat
from papi_plugin.simulator import Fault, Simulator
from tests.fake_time import FakeTime
from tests.helpers import Runner, binance

UM_CANCEL, UM_ALGO_CANCEL = "DELETE /papi/v1/um/allOpenOrders", "DELETE /papi/v1/um/algo/allOpenOrders"
CM_CANCEL = "DELETE /papi/v1/cm/allOpenOrders"


def papi_requests(sim: Simulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in sim.requests if r.path.startswith("/papi/")]


def test_um_cancel_reads_cancels_conditional_first_and_reconciles(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.seed_futures_example()
    orders = run.call(exchange.cancel_all_um_orders, "BTC/USDT:USDT")
    assert [(o["id"], o["conditional"], o["clientOrderId"]) for o in orders] == [
        ("3100", True, "umStopSell"),
        ("8100", False, "umLimitBuy"),
    ]
    assert orders[0]["triggerPrice"] == 120000.0 and orders[1]["price"] == 60000.0
    assert papi_requests(sim) == [
        "GET /papi/v1/um/algo/openAlgoOrders",
        "GET /papi/v1/um/openOrders",
        "DELETE /papi/v1/um/algo/allOpenOrders",
        "DELETE /papi/v1/um/allOpenOrders",
        "GET /papi/v1/um/algo/allAlgoOrders",
        "GET /papi/v1/um/allOrders",
    ]
    assert not sim.open_futures("um") and not sim.open_futures("um", conditional=True)
    assert sim.open_futures("cm")  # another kind is left alone


def test_cm_cancel_through_the_camel_case_alias(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    sim.seed_futures_example()
    assert exchange.has["cancelAllCmOrders"] and exchange.has["cancelAllUmOrders"]
    assert exchange.has["cancelAllPortfolioOrders"]
    orders = run.call(exchange.cancelAllCmOrders, "BTCUSD_PERP")
    assert [(o["id"], o["symbol"], o["status"]) for o in orders] == [
        ("4100", "BTC/USD:BTC", "canceled"),
        ("9100", "BTC/USD:BTC", "canceled"),
    ]
    assert orders[0]["info"]["strategyStatus"] == "CANCELLED"  # Binance's spelling for CM conditional orders


def test_an_order_placed_between_the_read_and_the_cancel_is_reported(
    sim: Simulator, sim_exchange: tuple[Any, Runner], fake_time: FakeTime
) -> None:
    exchange, run = sim_exchange
    sim.seed_futures_example()
    sim.inject(UM_CANCEL, Fault.server_error(503))  # the retry's wait is when the bot places one more
    late: list[str] = []
    fake_time.while_asleep = lambda: late.append(
        str(sim.place_futures("um", "BTCUSDT", "BUY", "0.010", "59000").order_id)
    )
    orders = run.call(exchange.cancel_all_um_orders, "BTC/USDT:USDT")
    assert sorted(o["id"] for o in orders) == sorted(["3100", "8100", *late]) and len(late) == 1
    assert not sim.open_futures("um")


def test_an_order_filled_before_the_cancel_is_not_reported_as_canceled(
    sim: Simulator, sim_exchange: tuple[Any, Runner], fake_time: FakeTime
) -> None:
    exchange, run = sim_exchange
    sim.seed_futures_example()
    sim.inject(UM_CANCEL, Fault.server_error(503))
    fake_time.while_asleep = lambda: sim.fill_futures("um", 8100)
    orders = run.call(exchange.cancel_all_um_orders, "BTC/USDT:USDT")
    assert [o["id"] for o in orders] == ["3100"]


def test_conditional_false_cancels_the_plain_orders_only(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    sim.seed_futures_example()
    orders = run.call(exchange.cancel_all_cm_orders, "BTC/USD:BTC", {"conditional": False})
    assert [o["id"] for o in orders] == ["9100"]
    assert sim.open_futures("cm", conditional=True) and not any("conditional" in r for r in papi_requests(sim))


def test_confirm_rereads_and_cancels_what_appeared(
    sim: Simulator, sim_exchange: tuple[Any, Runner], fake_time: FakeTime
) -> None:
    exchange, run = sim_exchange
    sim.seed_futures_example()
    placed: list[Any] = []

    def place_once_more() -> None:
        if not placed:
            placed.append(str(sim.place_futures("cm", "BTCUSD_PERP", "SELL", "1", "130000").order_id))

    # The plain cancel is answered, but only after another order arrived: the re-read finds it.
    sim.inject(CM_CANCEL, Fault.server_error(503))
    fake_time.while_asleep = place_once_more
    orders = run.call(exchange.cancel_all_cm_orders, "BTC/USD:BTC", {"confirm": True})
    assert sorted(o["id"] for o in orders) == sorted(["4100", "9100", *placed])
    assert not sim.open_futures("cm") and not sim.open_futures("cm", conditional=True)


def test_confirm_raises_not_flat_when_orders_keep_appearing(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    sim.seed_futures_example()
    sim.inject(UM_ALGO_CANCEL, *[Fault.answer('{"code": 200, "msg": "done"}')] * 3)  # answered, not done
    with pytest.raises(NotFlat, match="3100") as raised:
        run.call(exchange.cancel_all_um_orders, "BTC/USDT:USDT", {"confirm": True, "maxConfirmRounds": 2})
    assert [o["id"] for o in raised.value.canceled] == ["8100"]
    assert sim.seen("DELETE", "/papi/v1/um/algo/allOpenOrders") == 3


@pytest.mark.parametrize(
    ("call", "symbol", "names"),
    [
        ("cancel_all_um_orders", "BTC/USDT", "cancel_all_margin_orders"),
        ("cancel_all_um_orders", "BTC/USD:BTC-261225", "cancel_all_cm_orders"),
        ("cancel_all_cm_orders", "BTC/USDT:USDT-261225", "cancel_all_um_orders"),
        ("cancel_all_margin_orders", "BTC/USDT:USDT", "cancel_all_um_orders"),
        ("cancel_all_um_orders", "DOGE/BTC", "needs a USD-M futures market"),
        ("cancel_all_cm_orders", "NOPE/USD:BTC", "does not know the symbol"),
    ],
)
def test_a_symbol_of_the_wrong_kind_raises_before_anything_is_sent(
    sim: Simulator, sim_exchange: tuple[Any, Runner], call: str, symbol: str, names: str
) -> None:
    exchange, run = sim_exchange
    with pytest.raises(ccxt.BadSymbol, match=names):
        run.call(getattr(exchange, call), symbol)
    assert papi_requests(sim) == []


@pytest.mark.parametrize(
    ("call", "params", "error"),
    [
        ("cancel_all_um_orders", {"conditional": "no"}, "conditional must be True or False"),
        ("cancel_all_margin_orders", {"conditional": False}, "does not take the parameter 'conditional'"),
        ("cancel_all_cm_orders", {"stop": True}, "does not take the parameter 'stop'"),
    ],
)
def test_bad_params_raise_before_anything_is_sent(
    sim: Simulator, sim_exchange: tuple[Any, Runner], call: str, params: dict[str, Any], error: str
) -> None:
    exchange, run = sim_exchange
    symbol = "BTC/USDT" if "margin" in call else "BTC/USDT:USDT" if "um" in call else "BTC/USD:BTC"
    with pytest.raises(ccxt.BadRequest, match=error):
        run.call(getattr(exchange, call), symbol, params)
    assert papi_requests(sim) == []


def test_observers_hear_of_futures_cancels(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    heard: list[tuple[str, list[str]]] = []

    class Observer:
        @papi_plugin.hookimpl
        def futures_orders_canceled(self, exchange: Any, symbol: str, orders: list[dict[str, Any]]) -> None:
            heard.append((symbol, [o["id"] for o in orders]))

    manager = papi_plugin.plugin_manager()
    manager.register(Observer(), name="futures-observer")
    try:
        exchange, run = sim_exchange
        sim.seed_futures_example()
        run.call(exchange.cancel_all_um_orders, "BTC/USDT:USDT")
    finally:
        manager.unregister(name="futures-observer")
    assert heard == [("BTC/USDT:USDT", ["3100", "8100"])]


def test_a_second_call_a_moment_later_does_not_report_the_firsts_orders(
    sim: Simulator, sim_exchange: tuple[Any, Runner], mode: str
) -> None:
    exchange, run = sim_exchange
    sim.seed_futures_example()
    assert len(run.call(exchange.cancel_all_um_orders, "BTC/USDT:USDT")) == 2
    assert run.call(exchange.cancel_all_um_orders, "BTC/USDT:USDT") == []
    other = sim.attach(papi_plugin.extend(binance(mode, {"apiKey": sim.api_key, "secret": sim.secret})))
    try:  # another object on the same origin (freqtrade keeps a sync and an async one) knows it too
        assert run.call(other.cancel_all_portfolio_orders, ["BTC/USDT:USDT"]) == {"BTC/USDT:USDT": []}
    finally:
        if mode == "async":
            run.call(other.close)


def test_a_history_that_cannot_be_read_still_reports_what_the_cancels_took(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.seed_futures_example()
    sim.inject("GET /papi/v1/um/allOrders", Fault.server_error(503))
    with pytest.raises(ccxt.ExchangeNotAvailable) as raised:
        run.call(exchange.cancel_all_um_orders, "BTC/USDT:USDT", {"maxAttempts": 1})
    carried = raised.value.canceled  # both cancel-alls went through: what the call saw open is carried
    assert [(o["id"], o["status"], o["conditional"]) for o in carried] == [
        ("3100", "canceled", True),
        ("8100", "canceled", False),
    ]
    assert not sim.open_futures("um") and not sim.open_futures("um", conditional=True)
