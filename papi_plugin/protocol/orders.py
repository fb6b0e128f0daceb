"""Normalisation of a cancel-all answer into ccxt unified orders.

ccxt's ``parse_orders`` on this answer turns an OCO list into one empty order and drops its legs, and
reports the cancel request's ``clientOrderId`` instead of the order's own ``origClientOrderId``.
Here every plain entry gives one order and every order list gives one order per leg, each parsed
by ccxt's own ``binance.parse_order``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ccxt

from papi_plugin.errors import Order
from papi_plugin.protocol.kinds import Section

MALFORMED = (TypeError, ValueError, KeyError, AttributeError, ArithmeticError)  # what a malformed field raises
# Keys of an order-list entry that are about its legs, not about the list.
LEG_KEYS = ("orders", "orderReports")


def is_order_list(entry: dict[str, Any]) -> bool:
    """An OCO (or other contingency) list: ``orderListId`` != -1 with ``orders``/``orderReports``."""
    has_legs = "orderReports" in entry or "orders" in entry
    return has_legs and str(entry.get("orderListId", "-1")) != "-1"


def _market_for(exchange: Any, entry: dict[str, Any], market: dict[str, Any]) -> dict[str, Any]:
    market_id = entry.get("symbol")
    if market_id is None or market_id == market["id"]:
        return market
    return exchange.safe_market(market_id, None, None, "spot")  # type: ignore[no-any-return]


def _plain(exchange: Any, entry: dict[str, Any], market: dict[str, Any]) -> Order:
    order: Order = exchange.parse_order(entry, _market_for(exchange, entry, market))
    # The answer's clientOrderId is the cancel request's; the order's own is origClientOrderId.
    order["clientOrderId"] = entry.get("origClientOrderId")
    order["orderList"] = None
    return order


def _legs(exchange: Any, entry: dict[str, Any], market: dict[str, Any]) -> list[Order]:
    order_list = {key: value for key, value in entry.items() if key not in LEG_KEYS}
    reports = entry.get("orderReports") or []
    legs = entry.get("orders") or []
    if not isinstance(reports, list) or not isinstance(legs, list):
        raise ccxt.BadResponse(f"binance order list {entry.get('orderListId')!r} has malformed legs")
    orders: list[Order] = []
    reported: set[str] = set()
    for report in reports:
        _require_order_fields(report)
        order = exchange.parse_order(report, _market_for(exchange, report, market))
        order["clientOrderId"] = report.get("origClientOrderId")
        order["orderList"] = order_list
        reported.add(str(report["orderId"]))
        orders.append(order)
    for leg in legs:
        _require_order_fields(leg)
        if str(leg["orderId"]) in reported:
            continue
        # A leg listed without its report: known to be canceled, but nothing more is known of it.
        order = exchange.parse_order({**leg, "status": "CANCELED"}, _market_for(exchange, leg, market))
        order["info"] = leg
        order["clientOrderId"] = leg.get("clientOrderId")
        order["orderList"] = order_list
        orders.append(order)
    return orders


def _require_order_fields(entry: Any) -> None:
    if not isinstance(entry, dict) or entry.get("orderId") is None:
        raise ccxt.BadResponse(f"binance cancel-all answer holds an entry without an orderId: {entry!r:.200}")


def unified_orders(exchange: Any, response: Any, market: dict[str, Any]) -> list[Order]:
    """One ccxt unified order per canceled order, order-list legs included, in answer order.

    Each order's ``clientOrderId`` is its own; ``info`` is its raw report; a leg's list context
    (``orderListId``, ``contingencyType``, ``listClientOrderId``, ``listStatusType``,
    ``listOrderStatus``, ``transactionTime``, ...) is under ``order["orderList"]`` (None for a plain order).
    Raises ``ccxt.BadResponse`` for an answer that is not a list of orders and order lists.
    """
    if not isinstance(response, list):
        raise ccxt.BadResponse(f"binance cancel-all answer is not a list: {type(response).__name__}")
    orders: list[Order] = []
    try:
        for entry in response:
            if isinstance(entry, dict) and is_order_list(entry):
                orders.extend(_legs(exchange, entry, market))
            else:
                _require_order_fields(entry)
                orders.append(_plain(exchange, entry, market))
    except MALFORMED as malformed:
        # ccxt's parse_order assumes well-formed fields; a malformed one must not escape as a bare error.
        raise ccxt.BadResponse(f"binance cancel-all answer could not be parsed: {malformed!r:.200}") from None
    return orders


def unified_open_orders(exchange: Any, market: dict[str, Any], orders: list[Any], lists: list[Any]) -> list[Order]:
    """Unified open orders of ``market``; a leg of an open order list gets its list context too.

    A leg is found by its id in the list's own ``orders`` entries, as Binance documents the open order
    lists (an open order's ``orderListId`` is used too, when there is one).
    """
    contexts: dict[str, dict[str, Any]] = {}
    for order_list in lists:
        if not isinstance(order_list, dict):
            raise ccxt.BadResponse(f"binance open order lists answer holds a malformed entry: {order_list!r:.200}")
        context = {key: value for key, value in order_list.items() if key not in LEG_KEYS}
        contexts[f"list {order_list.get('orderListId')}"] = context
        legs = order_list.get("orders")
        for leg in legs if isinstance(legs, list) else []:
            if isinstance(leg, dict):
                contexts[str(leg.get("orderId"))] = context

    def unified(raw: Any) -> Order:
        _require_order_fields(raw)
        order: Order = exchange.parse_order(raw, _market_for(exchange, raw, market))
        order["orderList"] = contexts.get(str(raw["orderId"])) or contexts.get(f"list {raw.get('orderListId')}")
        return order

    return parsed(orders, unified, "binance open orders answer")


def recovered_orders(exchange: Any, market: dict[str, Any], history: list[Any], lists: list[Any]) -> list[Order]:
    """Orders read from the order history after a lost cancel answer, marked ``order["recovered"] = True``.

    A history entry is the order's own record: its ``clientOrderId`` is the order's; a leg gets its list's context.
    """
    orders = unified_open_orders(exchange, market, history, lists)
    for order in orders:
        order["recovered"] = True
    return orders


def futures_orders(
    exchange: Any, market: dict[str, Any], section: Section, records: list[dict[str, Any]]
) -> list[Order]:
    """UM or CM orders of one section as ccxt unified orders, parsed by ccxt's own
    ``binance.parse_order`` for ``market``; ``order["conditional"]`` tells a conditional order (a UM algo
    order, a CM conditional order) from a plain one."""

    def unified(record: dict[str, Any]) -> Order:
        order: Order = exchange.parse_order(record, market)
        order["conditional"] = section.conditional
        return order

    return parsed(records, unified, f"binance {section.history.path} answer")


def parsed(entries: list[Any], parse: Callable[[Any], Order], what: str) -> list[Order]:
    """``parse`` of every entry; ccxt's ``parse_order`` assumes well-formed fields, so a malformed one
    raises ``ccxt.BadResponse`` (outside the handler: nothing of the entry's own error is chained)."""
    try:
        return [parse(entry) for entry in entries]
    except MALFORMED as malformed:
        problem = f"{malformed!r:.200}"
    raise ccxt.BadResponse(f"{what} could not be parsed: {problem}")
