"""The flows stepped by hand with made-up answers: what each asks for, and what it makes of the answers."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from papi_plugin.errors import NotFlat
from papi_plugin.protocol import endpoints, margin_flows
from papi_plugin.protocol.flow import LostAnswer
from papi_plugin.protocol.params import call_options
from papi_plugin.simulator import Simulator
from tests.constants import DOCUMENTED_IDS

SINCE = 1_800_000_000_000  # when the call began, ms on Binance's clock


@pytest.fixture(scope="module")
def exchange(markets_binance: Any) -> Any:
    """The simulator's markets, loaded once; nothing here touches the network."""
    return markets_binance


@pytest.fixture
def documented_answer() -> list[dict[str, Any]]:
    with Simulator() as sim:
        sim.seed_documented_example()
        return sim.cancel_all("BTCUSDT")


def options(**params: Any) -> Any:
    return call_options(None, params, "cancel_all_margin_orders")


def open_order(order_id: int, symbol: str = "BTCUSDT", list_id: int = -1) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "orderId": order_id,
        "orderListId": list_id,
        "clientOrderId": f"c{order_id}",
        "price": "1",
        "origQty": "1",
        "executedQty": "0",
        "status": "NEW",
        "type": "LIMIT",
        "side": "BUY",
    }


def test_a_cancel_asks_for_one_request_and_returns_every_leg(exchange: Any, documented_answer: Any) -> None:
    flow = margin_flows.cancel(exchange, exchange.market("BTC/USDT"), options(recvWindow=5000), SINCE)
    request = next(flow)
    assert request.endpoint == endpoints.CANCEL_ALL
    assert request.params == {"recvWindow": 5000, "symbol": "BTCUSDT"}
    assert (request.label, request.weight) == ("BTC/USDT", 5)
    with pytest.raises(StopIteration) as done:
        flow.send(documented_answer)
    assert [o["id"] for o in done.value.value] == DOCUMENTED_IDS


def test_a_verified_cancel_reads_then_stops_when_flat(exchange: Any, documented_answer: Any) -> None:
    flow = margin_flows.cancel(exchange, exchange.market("BTC/USDT"), options(confirm=True), SINCE)
    assert next(flow).endpoint == endpoints.CANCEL_ALL
    assert flow.send(documented_answer).endpoint == endpoints.OPEN_ORDERS
    assert flow.send([]).endpoint == endpoints.OPEN_ORDER_LISTS
    with pytest.raises(StopIteration) as done:
        flow.send([{"symbol": "ETHUSDT", "orderListId": 7}])  # another symbol's list does not count
    assert [o["id"] for o in done.value.value] == DOCUMENTED_IDS


def test_a_verified_cancel_cancels_again_and_reports_each_order_once(exchange: Any, documented_answer: Any) -> None:
    flow = margin_flows.cancel(exchange, exchange.market("BTC/USDT"), options(confirm=True), SINCE)
    next(flow)
    flow.send(documented_answer)  # -> read open orders
    flow.send([open_order(99)])  # -> read open lists
    again = flow.send([])
    assert again.endpoint == endpoints.CANCEL_ALL
    late = {**open_order(99), "status": "CANCELED", "origClientOrderId": "c99"}
    flow.send([late, documented_answer[0]])  # the plain order again, as a retry might report it
    flow.send([])
    with pytest.raises(StopIteration) as done:
        flow.send([])
    assert [o["id"] for o in done.value.value] == [*DOCUMENTED_IDS, "99"]


def test_a_verified_cancel_that_stays_open_raises_not_flat_with_what_was_canceled(
    exchange: Any, documented_answer: Any
) -> None:
    flow = margin_flows.cancel(exchange, exchange.market("BTC/USDT"), options(confirm=True, maxConfirmRounds=0), SINCE)
    next(flow)
    flow.send(documented_answer)
    flow.send([open_order(99)])
    with pytest.raises(NotFlat, match="99") as raised:
        flow.send([])
    assert [o["id"] for o in raised.value.canceled] == DOCUMENTED_IDS


def test_a_failed_read_after_the_cancel_carries_what_was_canceled(exchange: Any, documented_answer: Any) -> None:
    flow = margin_flows.cancel(exchange, exchange.market("BTC/USDT"), options(confirm=True), SINCE)
    next(flow)
    flow.send(documented_answer)
    with pytest.raises(ccxt.AuthenticationError) as raised:
        flow.throw(ccxt.AuthenticationError("read refused"))
    assert [o["id"] for o in raised.value.canceled] == DOCUMENTED_IDS


def test_an_error_on_the_cancel_itself_is_raised_as_is(exchange: Any) -> None:
    flow = margin_flows.cancel(exchange, exchange.market("BTC/USDT"), options(), SINCE)
    next(flow)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        flow.throw(ccxt.ExchangeNotAvailable("down"))


def test_discovery_weighs_one_per_trading_symbol_and_returns_sorted_ids(exchange: Any) -> None:
    flow = margin_flows.discover(exchange, options())
    read = next(flow)
    assert read.endpoint == endpoints.OPEN_ORDERS and "symbol" not in read.params
    trading = sum(1 for m in exchange.markets.values() if m["spot"])  # 4 here; over a thousand on Binance
    assert read.weight == max(5, trading)
    assert flow.send([open_order(1, "ETHUSDT"), open_order(2, "BTCUSDT")]).endpoint == endpoints.OPEN_ORDER_LISTS
    with pytest.raises(StopIteration) as done:
        flow.send([{"symbol": "BNBUSDT", "orderListId": 3}])
    assert done.value.value == ["BNBUSDT", "BTCUSDT", "ETHUSDT"]


def test_an_open_orders_answer_that_is_not_a_list_is_a_bad_response(exchange: Any) -> None:
    flow = margin_flows.read_open_entries(exchange.market("BTC/USDT"), options())
    next(flow)
    with pytest.raises(ccxt.BadResponse, match="not a list"):
        flow.send({"code": 0})


def history_entry(order_id: int, status: str, update_time: int, type_: str = "LIMIT") -> dict[str, Any]:
    """A margin order history record as Binance documents it: no ``orderListId``."""
    record = {**open_order(order_id), "status": status, "updateTime": update_time, "time": 1, "type": type_}
    del record["orderListId"]
    return record


def test_a_lost_answer_is_recovered_from_the_history(exchange: Any) -> None:
    flow = margin_flows.cancel(exchange, exchange.market("BTC/USDT"), options(), SINCE)
    next(flow)
    history_read = flow.send(LostAnswer([]))
    assert history_read.endpoint == endpoints.ALL_ORDERS and history_read.weight == 100
    assert history_read.params == {"symbol": "BTCUSDT", "limit": 500}
    history = [
        history_entry(7, "CANCELED", SINCE - 60_000),  # canceled before the call: not ours
        history_entry(8, "CANCELED", SINCE + 50),
        history_entry(9, "NEW", SINCE + 50),  # still open
        history_entry(20, "CANCELED", SINCE + 50, "STOP_LOSS_LIMIT"),  # the legs: told by their type
        history_entry(21, "CANCELED", SINCE + 50, "LIMIT_MAKER"),
    ]
    lists_read = flow.send(history)
    assert lists_read.endpoint == endpoints.ALL_ORDER_LISTS and lists_read.weight == 100
    order_list = {
        "orderListId": 1929,
        "symbol": "BTCUSDT",
        "contingencyType": "OCO",
        "orders": [{"symbol": "BTCUSDT", "orderId": 20}, {"symbol": "BTCUSDT", "orderId": 21}],
    }
    with pytest.raises(StopIteration) as done:
        flow.send([order_list, {"orderListId": 5, "symbol": "ETHUSDT", "orders": []}])
    recovered = done.value.value
    assert [o["id"] for o in recovered] == ["8", "20", "21"]
    assert all(o["recovered"] is True and o["status"] == "canceled" for o in recovered)
    assert recovered[0]["orderList"] is None and recovered[1]["orderList"]["orderListId"] == 1929


def test_a_history_record_that_names_its_list_is_a_leg_whatever_its_type(exchange: Any) -> None:
    flow = margin_flows.cancel(exchange, exchange.market("BTC/USDT"), options(), SINCE)
    next(flow)
    flow.send(LostAnswer([]))
    lists_read = flow.send([{**history_entry(20, "CANCELED", SINCE + 50), "orderListId": 1929}])
    assert lists_read.endpoint == endpoints.ALL_ORDER_LISTS


def test_no_list_read_when_no_leg_was_canceled(exchange: Any) -> None:
    flow = margin_flows.cancel(exchange, exchange.market("BTC/USDT"), options(), SINCE)
    next(flow)
    flow.send(LostAnswer([]))
    with pytest.raises(StopIteration) as done:
        flow.send([history_entry(8, "CANCELED", SINCE + 50)])
    assert [o["id"] for o in done.value.value] == ["8"]


def test_a_failed_history_read_still_raises_carrying_what_the_answer_listed(exchange: Any) -> None:
    flow = margin_flows.cancel(exchange, exchange.market("BTC/USDT"), options(), SINCE)
    next(flow)
    flow.send(LostAnswer([]))
    with pytest.raises(ccxt.ExchangeNotAvailable) as raised:
        flow.throw(ccxt.ExchangeNotAvailable("history unavailable"))
    assert raised.value.canceled == []
