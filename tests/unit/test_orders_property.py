"""Normalisation over generated answers: one order per plain entry and per leg, every id once, ccxt errors only."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papi_plugin.protocol.orders import unified_orders

TYPES = ["LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"]
decimals = st.decimals(min_value="0.000001", max_value="100000", places=6).map(str)


@pytest.fixture(scope="module")
def exchange(markets_binance: Any) -> Any:
    """The simulator's markets, loaded once; nothing here touches the network."""
    return markets_binance


@st.composite
def report(draw: st.DrawFn, order_id: int, list_id: int = -1) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "origClientOrderId": f"own{order_id}",
        "orderId": order_id,
        "orderListId": list_id,
        "clientOrderId": "cancelRequestId",
        "price": draw(decimals),
        "origQty": draw(decimals),
        "executedQty": "0.000000",
        "cummulativeQuoteQty": "0.000000",
        "status": "CANCELED",
        "timeInForce": "GTC",
        "type": draw(st.sampled_from(TYPES)),
        "side": draw(st.sampled_from(["BUY", "SELL"])),
    }
    if entry["type"] in ("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
        entry["stopPrice"] = draw(decimals)
    return entry


@st.composite
def answers(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int, int]:
    """(answer, plain entries, legs) with unique order ids."""
    ids = iter(range(1, 10_000))
    answer: list[dict[str, Any]] = []
    plain = legs = 0
    for list_id, is_list in enumerate(draw(st.lists(st.booleans(), max_size=12)), start=100):
        if not is_list:
            answer.append(draw(report(next(ids))))
            plain += 1
            continue
        leg_ids = [next(ids) for _ in range(draw(st.integers(1, 3)))]
        reported = draw(st.integers(0, len(leg_ids)))  # some legs may come without their report
        answer.append(
            {
                "orderListId": list_id,
                "contingencyType": "OCO",
                "listStatusType": "ALL_DONE",
                "listOrderStatus": "ALL_DONE",
                "listClientOrderId": f"list{list_id}",
                "transactionTime": 1585230948299,
                "symbol": "BTCUSDT",
                "orders": [{"symbol": "BTCUSDT", "orderId": i, "clientOrderId": f"own{i}"} for i in leg_ids],
                "orderReports": [draw(report(i, list_id)) for i in leg_ids[:reported]],
            }
        )
        legs += len(leg_ids)
    return answer, plain, legs


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers())
def test_one_order_per_plain_entry_and_per_leg(exchange: Any, generated: tuple[list[Any], int, int]) -> None:
    answer, plain, legs = generated
    orders = unified_orders(exchange, answer, exchange.market("BTC/USDT"))
    assert len(orders) == plain + legs
    ids = [o["id"] for o in orders]
    assert len(set(ids)) == len(ids)
    assert all(o["clientOrderId"] == f"own{o['id']}" for o in orders)
    assert all(o["status"] == "canceled" and o["symbol"] == "BTC/USDT" for o in orders)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
order_keys = st.sampled_from(["orderId", "orderListId", "orders", "orderReports", "symbol", "price", "origQty", "type"])
order_like = st.dictionaries(order_keys, json_values, max_size=6)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(json_values, st.lists(order_like | json_values, max_size=5)))
def test_malformed_answers_raise_only_ccxt_errors(exchange: Any, answer: Any) -> None:
    try:
        orders = unified_orders(exchange, answer, exchange.market("BTC/USDT"))
    except ccxt.BaseError:
        return
    assert isinstance(orders, list)
