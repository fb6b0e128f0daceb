"""The kill switch holds when everything else goes wrong: odd answers, failing observers, bad plugins, bad input."""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

import ccxt
import pluggy
import pytest

import papi_plugin
from papi_plugin.errors import CancelManyFailed
from papi_plugin.simulator import Fault, Simulator
from tests.constants import CANCEL_ALL, CANCEL_ALL_PATH, OPEN_ORDERS, TEST_API_KEY, TEST_SECRET
from tests.helpers import Runner, binance
from tests.test_many import seed_three_symbols

SYMBOLS = ["BTC/USDT", "ETH/USDT", "BNB/USDT"]
GATEWAY_JUNK = Fault.answer('{"code": "ERR_UPSTREAM", "msg": "upstream unavailable"}', 503)


def test_a_gateways_own_error_code_is_retried(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, GATEWAY_JUNK)
    assert len(run.call(exchange.cancel_all_margin_orders, "BTC/USDT")) == 3
    assert sim.seen("DELETE", CANCEL_ALL_PATH) == 2


def test_junk_on_every_attempt_is_a_ccxt_error_without_the_signed_url(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, *[GATEWAY_JUNK] * 5)
    with pytest.raises(ccxt.ExchangeNotAvailable) as raised:
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    shown = "".join(traceback.format_exception(raised.value))
    assert "signature=" not in shown and TEST_API_KEY not in shown


def test_deeply_nested_json_on_a_5xx_is_retried(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.answer("[" * 50_000 + "]" * 50_000, 503))
    assert len(run.call(exchange.cancel_all_margin_orders, "BTC/USDT")) == 3


def test_every_symbol_is_tried_and_reported_when_answers_are_junk(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    seed_three_symbols(sim)
    sim.inject(CANCEL_ALL, *[GATEWAY_JUNK] * 2)
    result = run.call(exchange.cancel_all_margin_orders_many, SYMBOLS)
    assert {symbol: len(orders) for symbol, orders in result.items()} == {"BTC/USDT": 3, "ETH/USDT": 1, "BNB/USDT": 2}
    assert sim.open_orders() == []


class Broken:
    """A framework's plugin that fails at everything it observes."""

    @papi_plugin.hookimpl
    def margin_orders_canceled(self, exchange: Any, symbol: str, orders: list[dict[str, Any]]) -> None:
        raise RuntimeError("the framework's order table is locked")

    @papi_plugin.hookimpl
    def before_retry(self, exchange: Any, symbol: str, attempt: int, error: Exception, delay: float) -> None:
        raise RuntimeError("metrics backend down")


@pytest.fixture
def broken_plugin() -> Any:
    manager = papi_plugin.plugin_manager()
    manager.register(Broken(), name="broken-framework")
    yield
    manager.unregister(name="broken-framework")


def test_a_raising_observer_never_aborts_a_cancel_or_loses_its_result(
    broken_plugin: Any, sim: Simulator, sim_exchange: tuple[Any, Runner], caplog: pytest.LogCaptureFixture
) -> None:
    exchange, run = sim_exchange
    seed_three_symbols(sim)
    sim.inject(CANCEL_ALL, Fault.server_error(503))
    assert len(run.call(exchange.cancel_all_margin_orders, "BTC/USDT")) == 3
    result = run.call(exchange.cancel_all_margin_orders_many, ["ETH/USDT", "BNB/USDT"])
    assert set(result) == {"ETH/USDT", "BNB/USDT"} and sim.open_orders() == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("'broken-framework' failed in before_retry" in w for w in warnings)
    assert sum("'broken-framework' failed in margin_orders_canceled" in w for w in warnings) == 3


def test_a_plugin_with_a_wrong_hook_signature_is_refused_in_one_line() -> None:
    class Misspelled:
        @papi_plugin.hookimpl
        def margin_orders_canceled(self, exchange: Any, symbol: str, orderz: list[Any]) -> None: ...

    with pytest.raises(pluggy.PluginValidationError) as raised:
        papi_plugin.plugin_manager().register(Misspelled(), name="misspelled")
    assert "misspelled" in str(raised.value) and "orderz" in str(raised.value)
    assert "\n" not in str(raised.value)
    assert papi_plugin.plugin_manager().get_plugin("misspelled") is None


@pytest.mark.parametrize(
    ("options", "says"),
    [("fast", "cancelAllMarginOrders"), ({"weightWindow": float("nan")}, "weightWindow")],
)
def test_broken_exchange_options_raise_bad_request(
    options: Any, says: str, sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    exchange.options["cancelAllMarginOrders"] = options
    with pytest.raises(ccxt.BadRequest, match=says):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    assert sim.requests == []


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"marginMode": "isolated"}, "marginMode"),
        ({"type": "margin"}, "does not take the parameter 'type'"),
        ({"confirm": "false"}, "confirm must be True or False"),
    ],
)
def test_what_binance_would_refuse_is_refused_before_sending(
    params: dict[str, Any], says: str, sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    with pytest.raises(ccxt.BadRequest, match=says):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT", params)
    assert sim.requests == []


def test_ccxts_cross_margin_conventions_are_understood_and_not_sent(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    orders = run.call(exchange.cancel_all_margin_orders, "BTC/USDT", {"portfolioMargin": True, "marginMode": "cross"})
    assert len(orders) == 3
    [sent] = [r for r in sim.requests if r.path == CANCEL_ALL_PATH]
    assert set(sent.params) == {"symbol", "timestamp", "recvWindow"}


def test_a_long_symbol_is_cut_in_the_error(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    with pytest.raises(ccxt.BadSymbol) as raised:
        run.call(exchange.cancel_all_margin_orders, "X" * 100_000)
    assert len(str(raised.value)) < 200


@pytest.mark.parametrize("answer", ['[{"symbol": "BTCUSDT", "price": "1"}]', "[42]"])
def test_a_malformed_open_order_is_a_bad_response(
    answer: str, sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.inject(OPEN_ORDERS, Fault.answer(answer))
    with pytest.raises(ccxt.BadResponse):
        run.call(exchange.open_margin_orders, "BTC/USDT")


def test_keys_are_kept_out_of_ccxts_debug_log_from_extend_on(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    exchange = sim.attach(papi_plugin.extend(binance("sync", {"apiKey": sim.api_key, "secret": sim.secret})))
    caplog.set_level(logging.DEBUG)
    exchange.papiGetMarginOpenOrders({"symbol": "BTCUSDT"})  # a plain ccxt call, before any cancel
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "openOrders" in logged
    assert TEST_API_KEY not in logged and TEST_SECRET not in logged
    assert not re.search(r"signature=(?!\*\*\*)\w", logged)


def test_a_failed_symbol_keeps_what_its_verified_cancel_canceled(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    seed_three_symbols(sim)
    sim.inject(OPEN_ORDERS, Fault.error(-2015, 401))  # the verification read is refused
    with pytest.raises(CancelManyFailed) as raised:
        run.call(exchange.cancel_all_margin_orders_many, ["BTC/USDT"], {"confirm": True})
    assert [o["id"] for o in raised.value.canceled["BTC/USDT"]] == ["11", "20", "21"]
    assert isinstance(raised.value.errors["BTC/USDT"], ccxt.AuthenticationError)


def test_orders_canceled_by_an_attempt_whose_answer_was_lost_are_recovered(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.answer_lost())  # Binance cancels, the connection drops before the answer
    orders = run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    assert [o["id"] for o in orders] == ["11", "20", "21"]
    assert all(o["recovered"] is True for o in orders)  # told apart from what a cancel answer listed
    assert [o["clientOrderId"] for o in orders] == [
        "E6APeyTJvkMvLMYMqu1KQ4",
        "CwOOIPHSmYywx6jZX77TdL",
        "461cPg51vQjV3zIMOXNz39",
    ]
    assert orders[1]["orderList"]["orderListId"] == 1929
    assert sim.seen("GET", "/papi/v1/margin/allOrders") == 1
    assert sim.seen("GET", "/papi/v1/margin/allOrderList") == 1


def test_a_recovery_does_not_take_what_an_earlier_call_reported(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    assert len(run.call(exchange.cancel_all_margin_orders, "BTC/USDT")) == 3
    placed = sim.place("BTCUSDT", "BUY", "LIMIT", "1", "10")
    sim.inject(CANCEL_ALL, Fault.answer_lost())  # a moment later: this cancel's answer is lost
    orders = run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    assert [(o["id"], o["recovered"]) for o in orders] == [(str(placed.order_id), True)]  # not 11, 20, 21 again


def test_a_plain_retry_after_a_5xx_reads_no_history(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.server_error(503))
    orders = run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    assert len(orders) == 3 and not any(o.get("recovered") for o in orders)
    assert sim.seen("GET", "/papi/v1/margin/allOrders") == 0
