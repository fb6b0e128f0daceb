"""The whole account's flows stepped by hand: each kind's discovery and one target's read, with made-up answers."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from papi_plugin.protocol import account_flows, endpoints
from papi_plugin.protocol.kinds import MARGIN, UM
from papi_plugin.protocol.params import call_options
from tests.helpers import um_record_of as record

MARGIN_ORDER = {"symbol": "BTCUSDT", "orderId": 11, "clientOrderId": "c11", "price": "0.1", "origQty": "1",
                "executedQty": "0", "status": "NEW", "timeInForce": "GTC", "type": "LIMIT", "side": "BUY",
                "time": 1, "updateTime": 1}  # fmt: skip


def options() -> Any:
    return call_options(None, {}, "cancel_all_portfolio_orders")


def test_the_margin_discovery_names_each_symbol_once_even_one_the_markets_do_not_know(markets_binance: Any) -> None:
    flow = account_flows.discover(markets_binance, MARGIN, options())
    orders_read = next(flow)
    assert orders_read.endpoint == endpoints.OPEN_ORDERS and "symbol" not in orders_read.params
    lists_read = flow.send([MARGIN_ORDER, {**MARGIN_ORDER, "orderId": 12}, {**MARGIN_ORDER, "symbol": "NEWUSDT"}])
    assert lists_read.endpoint == endpoints.OPEN_ORDER_LISTS
    with pytest.raises(StopIteration) as done:
        flow.send([])
    targets = done.value.value
    assert [(t.kind, t.market["symbol"], t.known) for t in targets] == [
        (MARGIN, "BTC/USDT", None),  # read again by its own flow: margin discovery keeps no orders
        (MARGIN, "NEWUSDT", None),  # not in the loaded markets: kept under Binance's id
    ]


def test_a_futures_target_found_by_discovery_is_read_from_what_discovery_kept(markets_binance: Any) -> None:
    discovery = account_flows.discover(markets_binance, UM, options())
    next(discovery)
    discovery.send([record(8100, True)])
    with pytest.raises(StopIteration) as done:
        discovery.send([record(3100, False)])
    [target] = done.value.value
    read = account_flows.read_open_orders(markets_binance, target, options())
    with pytest.raises(StopIteration) as finished:
        next(read)  # nothing asked: discovery already read this symbol's open orders
    assert sorted((o["id"], o["conditional"]) for o in finished.value.value) == [("3100", False), ("8100", True)]


def test_a_margin_target_is_read_and_unified_one_order_per_leg(markets_binance: Any) -> None:
    target = account_flows.Target(MARGIN, markets_binance.market("BTC/USDT"))
    read = account_flows.read_open_orders(markets_binance, target, options())
    assert next(read).endpoint == endpoints.OPEN_ORDERS
    assert read.send([MARGIN_ORDER]).endpoint == endpoints.OPEN_ORDER_LISTS
    with pytest.raises(StopIteration) as done:
        read.send([])
    assert [(o["id"], o["symbol"]) for o in done.value.value] == [("11", "BTC/USDT")]


def test_a_read_that_is_not_a_list_is_a_bad_response(markets_binance: Any) -> None:
    target = account_flows.Target(UM, markets_binance.market("BTC/USDT:USDT"))
    read = account_flows.read_open_orders(markets_binance, target, options())
    next(read)
    with pytest.raises(ccxt.BadResponse, match="not a list"):
        read.send({"code": -1000})
