"""The cross-margin capabilities, sync and async side by side: cancel one symbol or many, read one, find them.

Each capability checks its input, loads markets and drives a margin flow (``protocol/margin_flows.py``)
through its shell (``call/shells.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from papi_plugin.call.boundary import as_ccxt_error, only_ccxt_errors
from papi_plugin.call.canceller import Call
from papi_plugin.call.outcome import Outcome, many_outcome
from papi_plugin.call.shells import AsyncCanceller, SyncCanceller
from papi_plugin.errors import Order
from papi_plugin.protocol import calls, margin_flows
from papi_plugin.protocol.markets import margin_market, margin_markets, unified_symbol
from papi_plugin.protocol.orders import unified_open_orders
from papi_plugin.protocol.params import symbol_argument, symbols_argument


class SyncMargin(SyncCanceller):
    """The cross-margin capabilities of a sync ccxt binance."""

    @only_ccxt_errors
    def cancel_all_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """Cancel every open cross-margin order (order lists included) on ``symbol``.

        Returns ccxt unified orders, ``[]`` when nothing was open. With ``{"confirm": True}`` it then
        re-reads the symbol's open orders and order lists and cancels again while any remain
        (``maxConfirmRounds``), raising ``NotFlat`` (a ``ccxt.OperationFailed``) if it stays unflat.
        Raises a ccxt error otherwise; see the README's error table.
        """
        symbol = symbol_argument(symbol, calls.CANCEL_MARGIN)
        call = self.begin(calls.CANCEL_MARGIN, params)
        self.load_markets(call)
        return self.cancel_on(margin_market(self.exchange, symbol), call)

    @only_ccxt_errors
    def cancel_all_margin_orders_many(self, symbols: Any = None, params: Any = None) -> dict[str, list[Order]]:
        """Cancel every open cross-margin order on each symbol; ``None``: every symbol with any.

        The symbols run concurrently on a few threads, within one deadline and the IP's weight budget, so
        one hung symbol never holds up the others. Returns ``{symbol: orders}``. One symbol's failure does
        not stop the others: when any failed, ``CancelManyFailed`` (a ``ccxt.OperationFailed``) is raised
        after all were tried, naming each failed symbol with its error and carrying every canceled order.
        """
        wanted = symbols_argument(symbols, calls.CANCEL_MARGIN_MANY)
        call = self.begin(calls.CANCEL_MARGIN_MANY, params)
        self.load_markets(call)
        if wanted is not None:
            targets = [market["id"] for market in margin_markets(self.exchange, wanted, calls.CANCEL_MARGIN_MANY)]
        else:
            targets = self.drive(margin_flows.discover(self.exchange, call.options), call)
        return many_outcome(self.each(targets, lambda market_id: self.cancel_symbol(market_id, call)))

    @only_ccxt_errors
    def open_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """The open cross-margin orders on ``symbol`` (what a cancel-all would cancel), unified."""
        symbol = symbol_argument(symbol, calls.OPEN_MARGIN)
        call = self.begin(calls.OPEN_MARGIN, params)
        self.load_markets(call)
        market = margin_market(self.exchange, symbol, calls.OPEN_MARGIN)
        return unified_open_orders(
            self.exchange, market, *self.drive(margin_flows.read_open_entries(market, call.options), call)
        )

    @only_ccxt_errors
    def symbols_with_open_orders(self, params: Any = None) -> list[str]:
        """The unified symbols with open margin orders or order lists (costly: see the README)."""
        call = self.begin(calls.DISCOVER_MARGIN, params)
        self.load_markets(call)
        return [
            unified_symbol(self.exchange, i)
            for i in self.drive(margin_flows.discover(self.exchange, call.options), call)
        ]

    def cancel_symbol(self, market_id: str, call: Call) -> Outcome:
        symbol = self.symbol_of(market_id)
        try:
            return symbol, self.cancel_on(margin_market(self.exchange, market_id, calls.CANCEL_MARGIN_MANY), call)
        except Exception as error:  # every symbol is tried, whatever fails on one
            return symbol, as_ccxt_error(f"{self.exchange.id} {calls.CANCEL_MARGIN_MANY} {market_id}", error)


class AsyncMargin(AsyncCanceller):
    """The cross-margin capabilities of an async ccxt binance: the twins of ``SyncMargin``'s."""

    @only_ccxt_errors
    async def cancel_all_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """The async twin of ``SyncCanceller.cancel_all_margin_orders``: same params, results and errors."""
        symbol = symbol_argument(symbol, calls.CANCEL_MARGIN)
        call = self.begin(calls.CANCEL_MARGIN, params)
        await self.load_markets(call)
        return await self.cancel_on(margin_market(self.exchange, symbol), call)

    @only_ccxt_errors
    async def cancel_all_margin_orders_many(self, symbols: Any = None, params: Any = None) -> dict[str, list[Order]]:
        """The async twin of ``SyncCanceller.cancel_all_margin_orders_many``: the symbols run concurrently,
        within the papi weight budget shared by every task on this exchange object."""
        wanted = symbols_argument(symbols, calls.CANCEL_MARGIN_MANY)
        call = self.begin(calls.CANCEL_MARGIN_MANY, params)
        await self.load_markets(call)
        if wanted is not None:
            targets = [market["id"] for market in margin_markets(self.exchange, wanted, calls.CANCEL_MARGIN_MANY)]
        else:
            targets = await self.drive(margin_flows.discover(self.exchange, call.options), call)
        return many_outcome(list(await asyncio.gather(*(self.cancel_symbol(market_id, call) for market_id in targets))))

    @only_ccxt_errors
    async def open_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """The open cross-margin orders on ``symbol`` (what a cancel-all would cancel), unified."""
        symbol = symbol_argument(symbol, calls.OPEN_MARGIN)
        call = self.begin(calls.OPEN_MARGIN, params)
        await self.load_markets(call)
        market = margin_market(self.exchange, symbol, calls.OPEN_MARGIN)
        return unified_open_orders(
            self.exchange, market, *await self.drive(margin_flows.read_open_entries(market, call.options), call)
        )

    @only_ccxt_errors
    async def symbols_with_open_orders(self, params: Any = None) -> list[str]:
        """The unified symbols with open margin orders or order lists (costly: see the README)."""
        call = self.begin(calls.DISCOVER_MARGIN, params)
        await self.load_markets(call)
        ids = await self.drive(margin_flows.discover(self.exchange, call.options), call)
        return [unified_symbol(self.exchange, i) for i in ids]

    async def cancel_symbol(self, market_id: str, call: Call) -> Outcome:
        symbol = self.symbol_of(market_id)
        try:
            return symbol, await self.cancel_on(margin_market(self.exchange, market_id, calls.CANCEL_MARGIN_MANY), call)
        except Exception as error:  # every symbol is tried, whatever fails on one
            return symbol, as_ccxt_error(f"{self.exchange.id} {calls.CANCEL_MARGIN_MANY} {market_id}", error)
