"""The cross-margin flows: cancel a symbol (confirming and recovering lost answers), read it, find the
symbols with open orders. Sans-IO generators (``flow.py``), written once for sync and async.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

import ccxt

from papi_plugin.errors import NotFlat, Order, carrying_canceled
from papi_plugin.protocol import endpoints
from papi_plugin.protocol.flow import AHEAD_MS, ALL_SYMBOLS, Flow, LostAnswer, ask, open_list
from papi_plugin.protocol.markets import trading_spot_symbols
from papi_plugin.protocol.orders import recovered_orders, unified_orders
from papi_plugin.protocol.params import CallOptions
from papi_plugin.protocol.reported import Key, order_key

HISTORY_LIMIT = 500  # the most the history reads return
LEG_TYPES = frozenset({"LIMIT_MAKER", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})


def cancel(
    exchange: Any, market: dict[str, Any], options: CallOptions, since_ms: int, reported: Container[Key] = ()
) -> Flow[list[Order]]:
    """Cancel every open order on ``market``; with ``confirm``, re-read and cancel again until flat.

    ``since_ms`` is when the call began (Binance's clock): what a lost answer held is recovered from the
    order history from then on, but for what earlier calls reported canceled (``reported``, keys of
    ``reported.order_key``).
    """
    cancel_all = ask(endpoints.CANCEL_ALL, {**options.sent, "symbol": market["id"]}, market["symbol"])
    orders = yield from canceled_by(exchange, market, options, (yield cancel_all), since_ms, reported)
    if options.confirm_rounds is None:
        return orders
    confirmation = Confirmation(market["symbol"], options.confirm_rounds, orders)
    try:
        while confirmation.still_open(*(yield from read_open_entries(market, options))):
            answer = yield cancel_all
            confirmation.add((yield from canceled_by(exchange, market, options, answer, since_ms, reported)))
    except ccxt.BaseError as error:
        raise carrying_canceled(error, confirmation.orders) from None
    return confirmation.orders


def canceled_by(
    exchange: Any,
    market: dict[str, Any],
    options: CallOptions,
    answer: Any,
    since_ms: int,
    reported: Container[Key] = (),
) -> Flow[list[Order]]:
    """The orders a cancel-all answer reports; after a lost answer, also those the history shows canceled."""
    if not isinstance(answer, LostAnswer):
        return unified_orders(exchange, answer, market)
    listed = unified_orders(exchange, answer.found, market)
    try:
        recovered = yield from recover(exchange, market, options, since_ms, reported)
    except ccxt.BaseError as error:  # the cancel went through; only the report is incomplete
        raise carrying_canceled(error, listed) from None
    seen = {order["id"] for order in listed}
    return listed + [order for order in recovered if order["id"] not in seen]


def recover(
    exchange: Any, market: dict[str, Any], options: CallOptions, since_ms: int, reported: Container[Key] = ()
) -> Flow[list[Order]]:
    """The orders of ``market`` canceled since ``since_ms`` (less ``AHEAD_MS``), from the history, but for
    those ``reported`` holds.

    Binance's "Query Margin Account's All Orders" (weight 100) gives the symbol's most recent 500 orders;
    "Query Margin Account's all OCO" (weight 100, read only when a leg was canceled) gives the legs' lists.
    """
    symbol, since = market["symbol"], since_ms - AHEAD_MS
    params = {**options.sent, "symbol": market["id"], "limit": HISTORY_LIMIT}
    history = open_list((yield ask(endpoints.ALL_ORDERS, params, symbol)), "order history")
    canceled = [
        o
        for o in history
        if isinstance(o, dict)
        and o.get("status") == "CANCELED"
        and after(o, since)
        and order_key(endpoints.ALL_ORDERS.path, market["id"], o.get("orderId")) not in reported
    ]
    lists: list[Any] = []
    if any(may_be_a_leg(o) for o in canceled):
        answer = yield ask(endpoints.ALL_ORDER_LISTS, {**options.sent, "limit": HISTORY_LIMIT}, symbol)
        lists = [x for x in open_list(answer, "order list history") if on(x, market)]
    return recovered_orders(exchange, market, canceled, lists)


def may_be_a_leg(order: dict[str, Any]) -> bool:
    """Whether a history record may be an order list's leg. Binance documents no ``orderListId`` in the
    margin order history, so a leg is told by its type (an OCO's legs are a LIMIT_MAKER and a stop order),
    or by an ``orderListId`` when one is sent."""
    list_id = order.get("orderListId")
    return (list_id is not None and str(list_id) != "-1") or order.get("type") in LEG_TYPES


def after(order: dict[str, Any], since_ms: int) -> bool:
    stamp = order.get("updateTime")
    return isinstance(stamp, int) and not isinstance(stamp, bool) and stamp >= since_ms


def read_open_entries(market: dict[str, Any], options: CallOptions) -> Flow[tuple[list[Any], list[Any]]]:
    """The raw open orders and open order lists of ``market`` (two reads, weight 5 each)."""
    symbol = market["symbol"]
    orders = open_list((yield ask(endpoints.OPEN_ORDERS, {**options.sent, "symbol": market["id"]}, symbol)), "orders")
    lists = open_list((yield ask(endpoints.OPEN_ORDER_LISTS, dict(options.sent), symbol)), "order lists")
    return orders, [x for x in lists if on(x, market)]


def discover(exchange: Any, options: CallOptions) -> Flow[list[str]]:
    """Market ids with open margin orders or order lists, sorted.

    Binance counts an open-orders read without a symbol as one request per symbol trading on the exchange.
    """
    weight = max(endpoints.OPEN_ORDERS.weight, trading_spot_symbols(exchange))
    orders = open_list((yield ask(endpoints.OPEN_ORDERS, dict(options.sent), ALL_SYMBOLS, weight)), "orders")
    lists = open_list((yield ask(endpoints.OPEN_ORDER_LISTS, dict(options.sent), ALL_SYMBOLS)), "order lists")
    entries = orders + lists
    return sorted({e["symbol"] for e in entries if isinstance(e, dict) and isinstance(e.get("symbol"), str)})


def on(entry: Any, market: dict[str, Any]) -> bool:
    return isinstance(entry, dict) and entry.get("symbol") == market["id"]


class Confirmation:
    """The rounds of a verified cancel: re-cancel while the symbol still has open orders."""

    def __init__(self, symbol: str, max_rounds: int, orders: list[Order]) -> None:
        self.symbol = symbol
        self.max_rounds = max_rounds
        self.orders: list[Order] = []
        self.rounds = 0
        self._ids: set[str] = set()
        self.add(orders)

    def add(self, orders: list[Order]) -> None:
        for order in orders:
            if order["id"] not in self._ids:
                self._ids.add(order["id"])
                self.orders.append(order)

    def still_open(self, open_orders: list[Any], open_lists: list[Any]) -> bool:
        """True when another cancel round is due; raises ``NotFlat`` when the rounds are spent."""
        if not open_orders and not open_lists:
            return False
        if self.rounds >= self.max_rounds:
            raise NotFlat(self.symbol, self.rounds, open_orders, open_lists, self.orders)
        self.rounds += 1
        return True
