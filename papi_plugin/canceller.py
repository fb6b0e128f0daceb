"""The capabilities' two shells: ``SyncCanceller`` and ``AsyncCanceller``, written side by side.

Each capability checks its input, loads markets and drives a flow (``flows.py``). ``drive`` sends each
request the flow yields through ``request``: tenacity retries ``attempt`` as the policy allows, and one
attempt is plain code: wait for the ban gate, re-sync the clock if due, wait for the weight budget, send
through ccxt, classify. Only the I/O differs between the shells (``time.sleep`` and ``asyncio.sleep``,
``Retrying`` and ``AsyncRetrying``); every decision is a plain method of ``decisions.Canceller`` or a plain function.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import ccxt
import pluggy

from papi_plugin import flows, transport
from papi_plugin.attempts import Failure, Tries
from papi_plugin.decisions import (
    Call,
    Canceller,
    Outcome,
    as_ccxt_error,
    gate_after,
    many_outcome,
    nothing_open,
    only_ccxt_errors,
    settled,
    used_weight,
)
from papi_plugin.errors import Order
from papi_plugin.flows import Flow, Request
from papi_plugin.kinds import MARGIN, Kind, Section
from papi_plugin.markets import margin_market, margin_markets, unified_symbol
from papi_plugin.orders import open_orders
from papi_plugin.params import symbol_argument, symbols_argument

CANCEL, MANY, OPEN, DISCOVER = (
    "cancel_all_margin_orders",
    "cancel_all_margin_orders_many",
    "open_margin_orders",
    "symbols_with_open_orders",
)
SYMBOL_THREADS = 32  # a sync many-symbol call's symbols in flight at once (async runs them all as tasks)
T = TypeVar("T")
Known = dict[Section, list[Any]]  # a symbol's open futures orders per section, as a discovery read them


class SyncCanceller(Canceller):
    def __init__(
        self,
        exchange: Any,
        hook: pluggy.HookRelay,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(exchange, hook, clock)
        self.sleep = sleep

    @only_ccxt_errors
    def cancel_all_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """Cancel every open cross-margin order (order lists included) on ``symbol``.

        Returns ccxt unified orders, ``[]`` when nothing was open. With ``{"confirm": True}`` it then
        re-reads the symbol's open orders and order lists and cancels again while any remain
        (``maxConfirmRounds``), raising ``NotFlat`` (a ``ccxt.OperationFailed``) if it stays unflat.
        Raises a ccxt error otherwise; see the README's error table.
        """
        symbol = symbol_argument(symbol, CANCEL)
        call = self.begin(CANCEL, params)
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
        wanted = symbols_argument(symbols, MANY)
        call = self.begin(MANY, params)
        self.load_markets(call)
        if wanted is not None:
            targets = [market["id"] for market in margin_markets(self.exchange, wanted, MANY)]
        else:
            targets = self.drive(flows.discover(self.exchange, call.options), call)
        return many_outcome(self.each(targets, lambda market_id: self.settle(market_id, call)))

    @only_ccxt_errors
    def open_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """The open cross-margin orders on ``symbol`` (what a cancel-all would cancel), unified."""
        symbol = symbol_argument(symbol, OPEN)
        call = self.begin(OPEN, params)
        self.load_markets(call)
        market = margin_market(self.exchange, symbol, OPEN)
        return open_orders(self.exchange, market, *self.drive(flows.open_on(market, call.options), call))

    @only_ccxt_errors
    def symbols_with_open_orders(self, params: Any = None) -> list[str]:
        """The unified symbols with open margin orders or order lists (costly: see the README)."""
        call = self.begin(DISCOVER, params)
        self.load_markets(call)
        return [unified_symbol(self.exchange, i) for i in self.drive(flows.discover(self.exchange, call.options), call)]

    @staticmethod
    def each(items: list[Any], work: Callable[[Any], T]) -> list[T]:
        """``work`` on every item, concurrently on a few threads; results in the items' order."""
        if len(items) <= 1:
            return [work(item) for item in items]
        with ThreadPoolExecutor(min(SYMBOL_THREADS, len(items)), thread_name_prefix="papi-plugin-symbol") as pool:
            return list(pool.map(work, items))

    def settle(self, market_id: str, call: Call) -> Outcome:
        symbol = self.symbol_of(market_id)
        try:
            return symbol, self.cancel_on(margin_market(self.exchange, market_id, MANY), call)
        except Exception as error:  # every symbol is tried, whatever fails on one
            return symbol, as_ccxt_error(f"{self.exchange.id} {MANY} {market_id}", error)

    def cancel_on(
        self, market: dict[str, Any], call: Call, kind: Kind = MARGIN, known: Known | None = None
    ) -> list[Order]:
        """Cancel every open order of ``kind`` on ``market``; tell the observers what was canceled."""
        try:
            orders = self.drive(self.cancel_flow(market, call, kind, known), call)
        except ccxt.BaseError as error:
            self.announce_failed(call, kind, market, error)
            raise
        return self.announce(call, kind, market, orders)

    def drive(self, flow: Flow[T], call: Call) -> T:
        """Run a flow to its end: send each request it yields, send back the answer or throw the ccxt error."""
        try:
            request = next(flow)
            while True:
                try:
                    answer = self.request(request, call)
                except ccxt.BaseError as error:
                    request = flow.throw(error)
                else:
                    request = flow.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        finally:
            flow.close()

    def request(self, request: Request, call: Call) -> Any:
        tries = Tries()
        try:
            return self.attempt(request, call, tries)  # the first attempt goes straight out
        except Failure as failure:
            first = failure
        from tenacity import Retrying  # only after a first failure: the happy path never loads tenacity

        from papi_plugin.retry_policy import replaying, retrying_kwargs

        policy = retrying_kwargs(call.options.budget, call.deadline, tries, self.before_sleep(call, request))
        try:
            return Retrying(sleep=self.sleep, **policy)(replaying(first, self.attempt), request, call, tries)
        except Failure as failure:
            error = self.gave_up(call, tries, failure)
        raise error  # outside the handler: nothing of ccxt's raw error (a signed URL) is chained

    def attempt(self, request: Request, call: Call, tries: Tries) -> Any:
        self.begin_attempt(call, request, tries)
        if tries.resync_due:
            self.admit(call, request, 0)  # the gate only: reading Binance's clock spends no papi weight
            with transport.answers() as kept:
                try:
                    self.exchange.load_time_difference()
                except ccxt.BaseError as error:
                    raise self.failure(call, request, tries, kept, error) from None
            tries.resync_due = False
        weight = request.weight if self.exchange.enableRateLimit else 0  # ccxt's switch: off, no pacing here
        ticket = self.admit(call, request, weight)
        failure = None
        with transport.answers() as kept:
            try:
                response = transport.send(self.exchange, request.endpoint, request.params, self.time_left(call))
            except ccxt.BaseError as error:
                failure = self.failure(call, request, tries, kept, error)
        self.answered(call, ticket, weight, kept, failure)
        if failure is None:
            return settled(request, tries, response)
        if nothing_open(request, failure):
            return settled(request, tries, [])
        raise failure

    def admit(self, call: Call, request: Request, weight: int) -> int:
        """Wait until the IP's gate is open and its budget takes ``weight``: both checked, and the weight
        reserved, in one step of the limits store right before sending, after every wait."""
        while True:
            admission = call.limits.acquire(weight, call.pacing.weight_limit, call.pacing.window, self.server_clock())
            if admission.admitted:
                return admission.ticket
            self.sleep(self.admission_wait(call, request, admission))

    def answered(self, call: Call, ticket: int, weight: int, kept: list[Any], failure: Failure | None) -> None:
        """Tell the IP's limits what the attempt's answer says: its used weight, a ban or a 429's pause."""
        now, used = self.server_clock(), used_weight(kept)
        if weight or used is not None:
            call.limits.answered(ticket, weight, used, call.pacing.window, now)
        if gate := gate_after(failure, now):
            call.limits.close_gate(*gate, now)

    def load_markets(self, call: Call) -> None:
        """ccxt's markets; the call refused at once while the IP is banned (nothing at all is sent, markets
        included), unless its first request's own gate check will refuse it (``gate_first``)."""
        if self.gate_first(call):
            self.refuse_if_banned(call, call.limits.gate(self.server_clock()))
        self.exchange.load_markets()


class AsyncCanceller(Canceller):
    def __init__(
        self,
        exchange: Any,
        hook: pluggy.HookRelay,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(exchange, hook, clock)
        self.sleep = sleep

    @only_ccxt_errors
    async def cancel_all_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """The async twin of ``SyncCanceller.cancel_all_margin_orders``: same params, results and errors."""
        symbol = symbol_argument(symbol, CANCEL)
        call = self.begin(CANCEL, params)
        await self.load_markets(call)
        return await self.cancel_on(margin_market(self.exchange, symbol), call)

    @only_ccxt_errors
    async def cancel_all_margin_orders_many(self, symbols: Any = None, params: Any = None) -> dict[str, list[Order]]:
        """The async twin of ``SyncCanceller.cancel_all_margin_orders_many``: the symbols run concurrently,
        within the papi weight budget shared by every task on this exchange object."""
        wanted = symbols_argument(symbols, MANY)
        call = self.begin(MANY, params)
        await self.load_markets(call)
        if wanted is not None:
            targets = [market["id"] for market in margin_markets(self.exchange, wanted, MANY)]
        else:
            targets = await self.drive(flows.discover(self.exchange, call.options), call)
        return many_outcome(list(await asyncio.gather(*(self.settle(market_id, call) for market_id in targets))))

    @only_ccxt_errors
    async def open_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """The open cross-margin orders on ``symbol`` (what a cancel-all would cancel), unified."""
        symbol = symbol_argument(symbol, OPEN)
        call = self.begin(OPEN, params)
        await self.load_markets(call)
        market = margin_market(self.exchange, symbol, OPEN)
        return open_orders(self.exchange, market, *await self.drive(flows.open_on(market, call.options), call))

    @only_ccxt_errors
    async def symbols_with_open_orders(self, params: Any = None) -> list[str]:
        """The unified symbols with open margin orders or order lists (costly: see the README)."""
        call = self.begin(DISCOVER, params)
        await self.load_markets(call)
        ids = await self.drive(flows.discover(self.exchange, call.options), call)
        return [unified_symbol(self.exchange, i) for i in ids]

    async def settle(self, market_id: str, call: Call) -> Outcome:
        symbol = self.symbol_of(market_id)
        try:
            return symbol, await self.cancel_on(margin_market(self.exchange, market_id, MANY), call)
        except Exception as error:  # every symbol is tried, whatever fails on one
            return symbol, as_ccxt_error(f"{self.exchange.id} {MANY} {market_id}", error)

    async def cancel_on(
        self, market: dict[str, Any], call: Call, kind: Kind = MARGIN, known: Known | None = None
    ) -> list[Order]:
        """Cancel every open order of ``kind`` on ``market``; tell the observers what was canceled."""
        try:
            orders = await self.drive(self.cancel_flow(market, call, kind, known), call)
        except ccxt.BaseError as error:
            self.announce_failed(call, kind, market, error)
            raise
        return self.announce(call, kind, market, orders)

    async def drive(self, flow: Flow[T], call: Call) -> T:
        """Run a flow to its end: send each request it yields, send back the answer or throw the ccxt error."""
        try:
            request = next(flow)
            while True:
                try:
                    answer = await self.request(request, call)
                except ccxt.BaseError as error:
                    request = flow.throw(error)
                else:
                    request = flow.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        finally:
            flow.close()

    async def request(self, request: Request, call: Call) -> Any:
        tries = Tries()
        try:
            return await self.attempt(request, call, tries)  # the first attempt goes straight out
        except Failure as failure:
            first = failure
        from tenacity import AsyncRetrying  # only after a first failure: the happy path never loads tenacity

        from papi_plugin.retry_policy import replaying, retrying_kwargs

        policy = retrying_kwargs(call.options.budget, call.deadline, tries, self.before_sleep(call, request))
        retrying = AsyncRetrying(sleep=self.sleep, **policy)
        try:
            return await retrying(replaying(first, self.attempt), request, call, tries)
        except Failure as failure:
            error = self.gave_up(call, tries, failure)
        raise error  # outside the handler: nothing of ccxt's raw error (a signed URL) is chained

    async def attempt(self, request: Request, call: Call, tries: Tries) -> Any:
        self.begin_attempt(call, request, tries)
        if tries.resync_due:
            await self.admit(call, request, 0)  # the gate only: reading Binance's clock spends no papi weight
            with transport.answers() as kept:
                try:
                    await self.exchange.load_time_difference()
                except ccxt.BaseError as error:
                    raise self.failure(call, request, tries, kept, error) from None
            tries.resync_due = False
        weight = request.weight if self.exchange.enableRateLimit else 0  # ccxt's switch: off, no pacing here
        ticket = await self.admit(call, request, weight)
        failure = None
        with transport.answers() as kept:
            try:
                response = await transport.send_async(
                    self.exchange, request.endpoint, request.params, self.time_left(call)
                )
            except ccxt.BaseError as error:
                failure = self.failure(call, request, tries, kept, error)
        await self.answered(call, ticket, weight, kept, failure)
        if failure is None:
            return settled(request, tries, response)
        if nothing_open(request, failure):
            return settled(request, tries, [])
        raise failure

    async def admit(self, call: Call, request: Request, weight: int) -> int:
        """The async twin of ``SyncCanceller.admit``."""
        while True:
            now = self.server_clock()
            admission = await call.limits.acquire_async(weight, call.pacing.weight_limit, call.pacing.window, now)
            if admission.admitted:
                return admission.ticket
            await self.sleep(self.admission_wait(call, request, admission))

    async def answered(self, call: Call, ticket: int, weight: int, kept: list[Any], failure: Failure | None) -> None:
        """The async twin of ``SyncCanceller.answered``."""
        now, used = self.server_clock(), used_weight(kept)
        if weight or used is not None:
            await call.limits.answered_async(ticket, weight, used, call.pacing.window, now)
        if gate := gate_after(failure, now):
            await call.limits.close_gate_async(*gate, now)

    async def load_markets(self, call: Call) -> None:
        """The async twin of ``SyncCanceller.load_markets``."""
        if self.gate_first(call):
            self.refuse_if_banned(call, await call.limits.gate_async(self.server_clock()))
        await self.exchange.load_markets()
