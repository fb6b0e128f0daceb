"""The futures flows stepped by hand, without I/O: which requests a cancel asks for, in which order, what it
makes of made-up answers and thrown errors, and which history entries are the call's own cancels."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from papi_plugin.errors import NotFlat
from papi_plugin.protocol import endpoints, futures_flows
from papi_plugin.protocol.futures_flows import canceled_in
from papi_plugin.protocol.kinds import CM, UM
from papi_plugin.protocol.params import call_options
from papi_plugin.protocol.reported import order_key
from tests.helpers import SINCE
from tests.helpers import um_record_of as record


def um_record(order_id: int, status: str, time: int = SINCE + 10, update: int = SINCE + 20) -> dict[str, Any]:
    return {
        "orderId": order_id,
        "clientOrderId": f"c{order_id}",
        "symbol": "BTCUSDT",
        "status": status,
        "price": "60000",
        "origQty": "0.010",
        "executedQty": "0",
        "side": "BUY",
        "type": "LIMIT",
        "time": time,
        "updateTime": update,
    }


def test_seen_orders_are_the_calls_if_the_history_shows_them_canceled(markets_binance: Any) -> None:
    market = markets_binance.market("BTC/USDT:USDT")
    section = UM.plain
    assert section is not None
    seen = {"1": um_record(1, "NEW", SINCE - 99_000), "2": um_record(2, "NEW", SINCE - 99_000)}
    history = [
        um_record(1, "CANCELED", SINCE - 99_000),  # seen open, now canceled: the call's
        um_record(2, "FILLED", SINCE - 99_000),  # filled before the cancel reached it: not the call's
        um_record(3, "CANCELED"),  # placed and canceled since the call began: the call's
        um_record(4, "CANCELED", SINCE - 99_000, SINCE - 50_000),  # canceled before the call: not the call's
        um_record(5, "NEW"),  # still open: not canceled
    ]
    orders = canceled_in(markets_binance, market, section, seen, history, SINCE)
    assert [(o["id"], o["status"], o["conditional"]) for o in orders] == [
        ("1", "canceled", False),
        ("3", "canceled", False),
    ]


def test_a_seen_order_the_history_no_longer_lists_is_reported_from_its_open_record(markets_binance: Any) -> None:
    market = markets_binance.market("BTC/USD:BTC")
    section = CM.conditional
    assert section is not None
    open_record = {
        "strategyId": 7,
        "newClientStrategyId": "mine",
        "strategyStatus": "NEW",
        "strategyType": "STOP",
        "symbol": "BTCUSD_PERP",
        "origQty": "1",
        "price": "100",
        "stopPrice": "101",
        "side": "SELL",
        "bookTime": SINCE - 99_000,
        "updateTime": SINCE - 99_000,
    }
    orders = canceled_in(markets_binance, market, section, {"7": open_record}, [], SINCE)
    assert [(o["id"], o["clientOrderId"], o["status"], o["conditional"]) for o in orders] == [
        ("7", "mine", "canceled", True)
    ]


def test_an_order_an_earlier_call_reported_is_not_taken_again(markets_binance: Any) -> None:
    market = markets_binance.market("BTC/USDT:USDT")
    section = UM.plain
    assert section is not None
    history = [um_record(3, "CANCELED"), um_record(6, "CANCELED")]  # both placed and canceled since SINCE
    reported = {order_key(section.history.path, "BTCUSDT", 3)}
    orders = canceled_in(markets_binance, market, section, {}, history, SINCE, reported)
    assert [o["id"] for o in orders] == ["6"]


# ---- the whole futures cancel, stepped by hand with made-up answers ---------------------------------------

DONE = {"code": 200, "msg": "The operation of cancel all open order is done."}


def options(**params: Any) -> Any:
    return call_options(None, params, "cancel_all_um_orders")


def step(flow: Any, answers: list[Any]) -> tuple[list[endpoints.Endpoint], Any]:
    """Send ``answers`` in turn; the endpoints the flow asked for, and what it returned."""
    asked = [next(flow).endpoint]
    try:
        for answer in answers:
            asked.append(flow.send(answer).endpoint)
    except StopIteration as done:
        return asked, done.value
    raise AssertionError(f"the flow asked for more: {asked}")


def test_a_um_cancel_reads_cancels_conditional_first_then_reconciles(markets_binance: Any) -> None:
    market = markets_binance.market("BTC/USDT:USDT")
    flow = futures_flows.cancel_futures(markets_binance, market, UM, options(), SINCE)
    asked, orders = step(
        flow,
        [
            [record(8100, True)],  # open algo orders
            [record(3100, False)],  # open orders
            DONE,  # cancel the algo orders
            DONE,  # cancel the orders
            [record(8100, True, "CANCELED")],  # algo history
            [record(3100, False, "CANCELED")],  # history
        ],
    )
    assert asked == [
        endpoints.UM_ALGO_OPEN_ORDERS,
        endpoints.UM_OPEN_ORDERS,
        endpoints.UM_ALGO_CANCEL_ALL,
        endpoints.UM_CANCEL_ALL,
        endpoints.UM_ALGO_ALL_ORDERS,
        endpoints.UM_ALL_ORDERS,
    ]
    assert [(o["id"], o["clientOrderId"], o["conditional"]) for o in orders] == [
        ("8100", "c8100", True),
        ("3100", "c3100", False),
    ]


def test_orders_a_discovery_read_are_not_read_again(markets_binance: Any) -> None:
    market = markets_binance.market("BTC/USDT:USDT")
    conditional, plain = UM.sections(conditional=True)
    known = {conditional: [], plain: [record(3100, False)]}
    flow = futures_flows.cancel_futures(markets_binance, market, UM, options(), SINCE, known)
    asked, orders = step(flow, [DONE, DONE, [], [record(3100, False, "CANCELED")]])
    assert asked[0] == endpoints.UM_ALGO_CANCEL_ALL and [o["id"] for o in orders] == ["3100"]


def test_conditional_false_leaves_the_algo_orders_alone(markets_binance: Any) -> None:
    market = markets_binance.market("BTC/USDT:USDT")
    flow = futures_flows.cancel_futures(markets_binance, market, UM, options(conditional=False), SINCE)
    asked, _ = step(flow, [[record(3100, False)], DONE, [record(3100, False, "CANCELED")]])
    assert asked == [endpoints.UM_OPEN_ORDERS, endpoints.UM_CANCEL_ALL, endpoints.UM_ALL_ORDERS]


def test_confirm_cancels_again_while_orders_stay_open_then_raises_not_flat(markets_binance: Any) -> None:
    market = markets_binance.market("BTC/USDT:USDT")
    flow = futures_flows.cancel_futures(
        markets_binance, market, UM, options(conditional=False, confirm=True, maxConfirmRounds=1), SINCE
    )
    runaway = record(3200, False, since=SINCE + 5)  # placed again and again behind the cancel
    with pytest.raises(NotFlat) as raised:
        step(
            flow,
            [
                [record(3100, False)],  # open orders
                DONE,
                [runaway],  # the confirm read: still open
                DONE,  # the one extra round
                [runaway],  # still open: the rounds are spent
                [runaway, record(3100, False, "CANCELED")],  # the history: reconciled all the same
            ],
        )
    assert [o["id"] for o in raised.value.canceled] == ["3100"]
    assert [r["orderId"] for r in raised.value.remaining_orders] == [3200]


def test_a_failure_after_a_cancel_went_through_carries_what_it_canceled(markets_binance: Any) -> None:
    market = markets_binance.market("BTC/USDT:USDT")
    flow = futures_flows.cancel_futures(markets_binance, market, UM, options(conditional=False), SINCE)
    next(flow)
    flow.send([record(3100, False)])
    flow.send(DONE)  # canceled; now the history read fails
    with pytest.raises(ccxt.RequestTimeout) as raised:
        flow.throw(ccxt.RequestTimeout("binance GET um/allOrders: no whole answer"))
    assert [(o["id"], o["status"]) for o in raised.value.canceled] == [("3100", "canceled")]


def test_an_answer_that_is_neither_code_200_nor_an_error_is_a_bad_response(markets_binance: Any) -> None:
    market = markets_binance.market("BTC/USDT:USDT")
    flow = futures_flows.cancel_futures(markets_binance, market, UM, options(conditional=False), SINCE)
    next(flow)
    flow.send([record(3100, False)])
    with pytest.raises(ccxt.BadResponse, match="neither code 200"):
        flow.send({"code": 500, "msg": "?"})


def test_the_futures_discovery_reads_every_symbol_at_once_and_keeps_unknown_ones(markets_binance: Any) -> None:
    flow = futures_flows.discover(markets_binance, UM, options())
    first = next(flow)
    assert (first.endpoint, first.params, first.weight) == (endpoints.UM_ALGO_OPEN_ORDERS, {}, 40)
    assert flow.send([record(8100, True)]).endpoint == endpoints.UM_OPEN_ORDERS
    listed_later = {**record(3300, False), "symbol": "NEWUSDT"}
    with pytest.raises(StopIteration) as done:
        flow.send([record(3100, False), listed_later])
    found = {market["symbol"]: known for market, known in done.value.value}
    assert list(found) == ["BTC/USDT:USDT", "NEWUSDT"]  # sorted by Binance's id; an unknown one by its id
    assert [r["algoId"] for r in found["BTC/USDT:USDT"][UM.conditional]] == [8100]
