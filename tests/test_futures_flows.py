"""The futures reconciliation, without I/O: which history entries are the call's own cancels."""

from __future__ import annotations

from typing import Any

from papi_plugin.futures_flows import canceled_in
from papi_plugin.kinds import CM, UM
from papi_plugin.reported import order_key

SINCE = 1_700_000_000_000


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
