"""What a call asks of Binance, written once for sync and async: generators that yield requests (sans-IO).

A flow yields a ``Request`` and receives its answer (or has the request's ccxt error thrown into it). It
never sleeps, retries or touches the network; the shells in ``canceller.py`` do, and a test can step a
flow by hand with made-up answers.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ccxt

from papi_plugin import transport
from papi_plugin.errors import NotFlat, carrying_canceled
from papi_plugin.markets import trading_spot_symbols
from papi_plugin.orders import Order, unified_orders
from papi_plugin.params import CallOptions

ALL_SYMBOLS = "all symbols"


@dataclass(frozen=True)
class Request:
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


def cancel(exchange: Any, market: dict[str, Any], options: CallOptions) -> Flow[list[Order]]:
    """Cancel every open order on ``market``; with ``confirm``, re-read and cancel again until flat."""
    cancel_all = ask(transport.CANCEL_ALL, {**options.sent, "symbol": market["id"]}, market["symbol"])
    orders = unified_orders(exchange, (yield cancel_all), market)
    if options.confirm_rounds is None:
        return orders
    confirmation = Confirmation(market["symbol"], options.confirm_rounds, orders)
    try:
        while confirmation.still_open(*(yield from open_on(market, options))):
            confirmation.add(unified_orders(exchange, (yield cancel_all), market))
    except ccxt.BaseError as error:
        raise carrying_canceled(error, confirmation.orders) from None
    return confirmation.orders


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


@dataclass
class Confirmation:
    """The rounds of a verified cancel: re-cancel while the symbol still has open orders."""

    symbol: str
    max_rounds: int
    orders: list[Order] = field(default_factory=list)
    rounds: int = 0
    _ids: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        first, self.orders = self.orders, []
        self.add(first)

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
