"""What a call asks of Binance, written once for sync and async: generators that yield requests (sans-IO).

A flow yields a ``Request`` and receives its answer (or has the request's ccxt error thrown into it). It
never sleeps, retries or touches the network; the shells in ``canceller.py`` do, and a test can step a
flow by hand with made-up answers.
"""

from __future__ import annotations

from collections.abc import Container, Generator
from typing import Any, NamedTuple, TypeVar

import ccxt

from papi_plugin import transport
from papi_plugin.errors import NotFlat, Order, carrying_canceled
from papi_plugin.markets import trading_spot_symbols
from papi_plugin.orders import recovered_orders, unified_orders
from papi_plugin.params import CallOptions
from papi_plugin.reported import Key, order_key

ALL_SYMBOLS = "all symbols"
HISTORY_LIMIT = 500  # the most the history reads return
# Binance refuses a request whose timestamp is more than 1000 ms ahead of its clock (-1021, and the plugin
# then re-syncs ccxt's clock): a call whose requests are accepted began at most this long after Binance's
# clock says it did. What the history shows canceled since then (less this) may be the call's.
AHEAD_MS = 1000


class Request(NamedTuple):
    """One signed papi request a flow needs; the shells send it (retrying as the policy allows)."""

    endpoint: transport.Endpoint
    params: dict[str, Any]
    label: str  # the unified symbol, or "all symbols", for messages and hooks
    weight: int  # what Binance charges the IP for it


def ask(endpoint: transport.Endpoint, params: dict[str, Any], label: str, weight: int | None = None) -> Request:
    """A request for ``endpoint``, weighing what Binance documents for it unless told otherwise."""
    return Request(endpoint, params, label, endpoint.weight if weight is None else weight)


T = TypeVar("T")
Flow = Generator[Request, Any, T]


class LostAnswer(NamedTuple):
    """What a cancel-all answered after an earlier attempt of unknown fate (a timeout, a cut connection, a
    5xx): that attempt may have canceled orders whose report was lost. ``found`` is the last answer."""

    found: list[Any]


def cancel(
    exchange: Any, market: dict[str, Any], options: CallOptions, since_ms: int, reported: Container[Key] = ()
) -> Flow[list[Order]]:
    """Cancel every open order on ``market``; with ``confirm``, re-read and cancel again until flat.

    ``since_ms`` is when the call began (Binance's clock): what a lost answer held is recovered from the
    order history from then on, but for what earlier calls reported canceled (``reported``, keys of
    ``reported.order_key``).
    """
    cancel_all = ask(transport.CANCEL_ALL, {**options.sent, "symbol": market["id"]}, market["symbol"])
    orders = yield from canceled_by(exchange, market, options, (yield cancel_all), since_ms, reported)
    if options.confirm_rounds is None:
        return orders
    confirmation = Confirmation(market["symbol"], options.confirm_rounds, orders)
    try:
        while confirmation.still_open(*(yield from open_on(market, options))):
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
    history = open_list((yield ask(transport.ALL_ORDERS, params, symbol)), "order history")
    canceled = [
        o
        for o in history
        if isinstance(o, dict)
        and o.get("status") == "CANCELED"
        and after(o, since)
        and order_key(transport.ALL_ORDERS.path, market["id"], o.get("orderId")) not in reported
    ]
    lists: list[Any] = []
    if any(str(o.get("orderListId", -1)) != "-1" for o in canceled):
        answer = yield ask(transport.ALL_ORDER_LISTS, {**options.sent, "limit": HISTORY_LIMIT}, symbol)
        lists = [x for x in open_list(answer, "order list history") if on(x, market)]
    return recovered_orders(exchange, market, canceled, lists)


def after(order: dict[str, Any], since_ms: int) -> bool:
    stamp = order.get("updateTime")
    return isinstance(stamp, int) and not isinstance(stamp, bool) and stamp >= since_ms


def open_on(market: dict[str, Any], options: CallOptions) -> Flow[tuple[list[Any], list[Any]]]:
    """The raw open orders and open order lists of ``market`` (two reads, weight 5 each)."""
    symbol = market["symbol"]
    orders = open_list((yield ask(transport.OPEN_ORDERS, {**options.sent, "symbol": market["id"]}, symbol)), "orders")
    lists = open_list((yield ask(transport.OPEN_ORDER_LISTS, dict(options.sent), symbol)), "order lists")
    return orders, [x for x in lists if on(x, market)]


def discover(exchange: Any, options: CallOptions) -> Flow[list[str]]:
    """Market ids with open margin orders or order lists, sorted.

    Binance counts an open-orders read without a symbol as one request per symbol trading on the exchange.
    """
    weight = max(transport.OPEN_ORDERS.weight, trading_spot_symbols(exchange))
    orders = open_list((yield ask(transport.OPEN_ORDERS, dict(options.sent), ALL_SYMBOLS, weight)), "orders")
    lists = open_list((yield ask(transport.OPEN_ORDER_LISTS, dict(options.sent), ALL_SYMBOLS)), "order lists")
    entries = orders + lists
    return sorted({e["symbol"] for e in entries if isinstance(e, dict) and isinstance(e.get("symbol"), str)})


def open_list(answer: Any, what: str) -> list[Any]:
    if not isinstance(answer, list):
        raise ccxt.BadResponse(f"binance open {what} answer is not a list: {type(answer).__name__}")
    return answer


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
