"""The whole Portfolio Margin account: USD-M and COIN-M futures, every kind at once, and the dead-man's switch.

``SyncAccount`` and ``AsyncAccount`` add to the margin capabilities (``margin.py``) the futures ones,
written side by side as those are: ``cancel_all_um_orders``, ``cancel_all_cm_orders``,
``cancel_all_portfolio_orders``, its dry run ``open_portfolio_orders``, and the arming call
``cancel_all_portfolio_orders_after``. Every request goes through the same shell: the same retry table,
IP limits and deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt

from papi_plugin.call.boundary import as_ccxt_error, only_ccxt_errors
from papi_plugin.call.canceller import Call
from papi_plugin.call.outcome import Outcome, many_outcome
from papi_plugin.capabilities.margin import AsyncMargin, SyncMargin
from papi_plugin.errors import Order
from papi_plugin.protocol import account_flows, calls
from papi_plugin.protocol.account_flows import Target
from papi_plugin.protocol.kinds import CM, KINDS, UM, Kind
from papi_plugin.protocol.markets import market_of_kind, portfolio_markets
from papi_plugin.protocol.params import symbol_argument, symbols_argument
from papi_plugin.switch.arming import arm, arm_async, checked_arming, stores_of


class SyncAccount(SyncMargin):
    """Every capability of a sync ccxt binance: the margin ones, the futures ones and the whole account's."""

    @only_ccxt_errors
    def cancel_all_um_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """Cancel every open USD-M futures order on ``symbol`` (``BTC/USDT:USDT``), its open UM algo orders too
        unless ``{"conditional": False}``. Returns every order canceled, as ccxt unified orders."""
        return self.cancel_kind(UM, symbol, params)

    @only_ccxt_errors
    def cancel_all_cm_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """Cancel every open COIN-M futures order on ``symbol`` (``BTC/USD:BTC``), its open CM conditional orders
        too unless ``{"conditional": False}``. Returns every order canceled, as ccxt unified orders."""
        return self.cancel_kind(CM, symbol, params)

    @only_ccxt_errors
    def cancel_all_portfolio_orders(self, symbols: Any = None, params: Any = None) -> dict[str, list[Order]]:
        """Cancel every open order of the account, margin, UM and CM (conditional ones too unless told
        otherwise), or those on the given symbols of any kind. Returns ``{symbol: orders}``; one symbol's
        failure does not stop the others (``CancelManyFailed``), all within one deadline and weight budget."""
        return self.across(calls.CANCEL_PORTFOLIO, symbols, params, self.cancel_target)

    @only_ccxt_errors
    def open_portfolio_orders(self, symbols: Any = None, params: Any = None) -> dict[str, list[Order]]:
        """What ``cancel_all_portfolio_orders`` would cancel, with the same arguments: ``{symbol: open orders}``.
        Reads only; raises ``CancelManyFailed`` naming what could not be read, after reading the rest."""
        return self.across(calls.OPEN_PORTFOLIO, symbols, params, self.read_target)

    @only_ccxt_errors
    def cancel_all_portfolio_orders_after(self, timeout: Any = None, params: Any = None) -> dict[str, Any]:
        """Arm the account's dead-man's switch: unless this is called again within ``timeout`` ms, the
        ``papi-guard`` watching the account flattens it; ``0`` disarms. ``params["name"]`` names the
        countdown (default ``"default"``). Returns ``{"name", "timeout", "armed", "deadline", "guards",
        "lastFiring"}`` (times in ms on the switch store's clock); raises ``ExchangeNotAvailable`` when the
        countdown could not be stored."""
        arming = checked_arming(self.exchange, timeout, params)
        store, _ = stores_of(self.switch_url())
        return arm(store, arming)

    def across(
        self, name: str, symbols: Any, params: Any, work: Callable[[Target, Call], Outcome]
    ) -> dict[str, list[Order]]:
        """``work`` on every target of a whole-account call, concurrently; ``{symbol: orders}`` or
        ``CancelManyFailed`` once all were tried."""
        wanted = symbols_argument(symbols, name)
        call = self.begin(name, params)
        self.load_markets(call)
        if wanted is not None:
            targets = [Target(kind, market) for kind, market in portfolio_markets(self.exchange, wanted, call.name)]
            return many_outcome(self.each(targets, lambda target: work(target, call)))
        kinds = self.each(list(KINDS), lambda kind: self.kind_across(kind, call, work))
        return many_outcome([outcome for outcomes in kinds for outcome in outcomes])

    def kind_across(self, kind: Kind, call: Call, work: Callable[[Target, Call], Outcome]) -> list[Outcome]:
        """One kind of the whole account on its own timeline: its discovery, then ``work`` on each of its
        symbols; a kind that hangs or fails holds up no other (the call's deadline bounds them all)."""
        found = self.discover(kind, call)
        if isinstance(found, ccxt.BaseError):
            return [(account_flows.discovery_label(kind), found)]
        return self.each(found, lambda target: work(target, call))

    def read_target(self, target: Target, call: Call) -> Outcome:
        symbol = target.market["symbol"]
        try:
            return symbol, self.drive(account_flows.read_open_orders(self.exchange, target, call.options), call)
        except Exception as error:
            return symbol, as_ccxt_error(f"{self.exchange.id} {calls.OPEN_PORTFOLIO} {symbol}", error)

    def cancel_kind(self, kind: Kind, symbol: Any, params: Any) -> list[Order]:
        symbol = symbol_argument(symbol, kind.call)
        call = self.begin(kind.call, params)
        self.load_markets(call)
        return self.cancel_on(market_of_kind(self.exchange, symbol, kind), call, kind)

    def discover(self, kind: Kind, call: Call) -> list[Target] | ccxt.BaseError:
        try:
            return self.drive(account_flows.discover(self.exchange, kind, call.options), call)
        except Exception as error:
            return as_ccxt_error(
                f"{self.exchange.id} {calls.CANCEL_PORTFOLIO} {account_flows.discovery_label(kind)}", error
            )

    def cancel_target(self, target: Target, call: Call) -> Outcome:
        symbol = target.market["symbol"]
        try:
            return symbol, self.cancel_on(target.market, call, target.kind, target.known)
        except Exception as error:  # every symbol is tried, whatever fails on one
            return symbol, as_ccxt_error(f"{self.exchange.id} {calls.CANCEL_PORTFOLIO} {symbol}", error)


class AsyncAccount(AsyncMargin):
    """Every capability of an async ccxt binance: the twins of ``SyncAccount``'s."""

    @only_ccxt_errors
    async def cancel_all_um_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """The async twin of ``SyncAccount.cancel_all_um_orders``: same params, results and errors."""
        return await self.cancel_kind(UM, symbol, params)

    @only_ccxt_errors
    async def cancel_all_cm_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """The async twin of ``SyncAccount.cancel_all_cm_orders``: same params, results and errors."""
        return await self.cancel_kind(CM, symbol, params)

    @only_ccxt_errors
    async def cancel_all_portfolio_orders(self, symbols: Any = None, params: Any = None) -> dict[str, list[Order]]:
        """The async twin of ``SyncAccount.cancel_all_portfolio_orders``: every symbol runs as a task."""
        return await self.across(calls.CANCEL_PORTFOLIO, symbols, params, self.cancel_target)

    @only_ccxt_errors
    async def open_portfolio_orders(self, symbols: Any = None, params: Any = None) -> dict[str, list[Order]]:
        """The async twin of ``SyncAccount.open_portfolio_orders``."""
        return await self.across(calls.OPEN_PORTFOLIO, symbols, params, self.read_target)

    @only_ccxt_errors
    async def cancel_all_portfolio_orders_after(self, timeout: Any = None, params: Any = None) -> dict[str, Any]:
        """The async twin of ``SyncAccount.cancel_all_portfolio_orders_after``."""
        arming = checked_arming(self.exchange, timeout, params)
        store, asynchronous = stores_of(self.switch_url())
        if asynchronous is None:  # memory or SQLite: on a thread, so that a locked file never stalls the loop
            return await asyncio.to_thread(arm, store, arming)
        return await arm_async(asynchronous, arming)

    async def across(
        self, name: str, symbols: Any, params: Any, work: Callable[[Target, Call], Awaitable[Outcome]]
    ) -> dict[str, list[Order]]:
        """The async twin of ``SyncAccount.across``: every target runs as a task."""
        wanted = symbols_argument(symbols, name)
        call = self.begin(name, params)
        await self.load_markets(call)
        if wanted is not None:
            targets = [Target(kind, market) for kind, market in portfolio_markets(self.exchange, wanted, call.name)]
            return many_outcome(list(await asyncio.gather(*(work(target, call) for target in targets))))
        kinds = await asyncio.gather(*(self.kind_across(kind, call, work) for kind in KINDS))
        return many_outcome([outcome for outcomes in kinds for outcome in outcomes])

    async def kind_across(
        self, kind: Kind, call: Call, work: Callable[[Target, Call], Awaitable[Outcome]]
    ) -> list[Outcome]:
        """The async twin of ``SyncAccount.kind_across``."""
        found = await self.discover(kind, call)
        if isinstance(found, ccxt.BaseError):
            return [(account_flows.discovery_label(kind), found)]
        return list(await asyncio.gather(*(work(target, call) for target in found)))

    async def read_target(self, target: Target, call: Call) -> Outcome:
        symbol = target.market["symbol"]
        try:
            return symbol, await self.drive(account_flows.read_open_orders(self.exchange, target, call.options), call)
        except Exception as error:
            return symbol, as_ccxt_error(f"{self.exchange.id} {calls.OPEN_PORTFOLIO} {symbol}", error)

    async def cancel_kind(self, kind: Kind, symbol: Any, params: Any) -> list[Order]:
        symbol = symbol_argument(symbol, kind.call)
        call = self.begin(kind.call, params)
        await self.load_markets(call)
        return await self.cancel_on(market_of_kind(self.exchange, symbol, kind), call, kind)

    async def discover(self, kind: Kind, call: Call) -> list[Target] | ccxt.BaseError:
        try:
            return await self.drive(account_flows.discover(self.exchange, kind, call.options), call)
        except Exception as error:
            return as_ccxt_error(
                f"{self.exchange.id} {calls.CANCEL_PORTFOLIO} {account_flows.discovery_label(kind)}", error
            )

    async def cancel_target(self, target: Target, call: Call) -> Outcome:
        symbol = target.market["symbol"]
        try:
            return symbol, await self.cancel_on(target.market, call, target.kind, target.known)
        except Exception as error:  # every symbol is tried, whatever fails on one
            return symbol, as_ccxt_error(f"{self.exchange.id} {calls.CANCEL_PORTFOLIO} {symbol}", error)
