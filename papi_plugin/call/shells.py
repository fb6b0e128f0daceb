"""One call's I/O: the ``SyncCanceller`` and ``AsyncCanceller`` shells of ``Canceller``, side by side.

Each drives a flow (``protocol/flow.py``): every request it yields goes through ``request``, where tenacity
retries ``attempt`` as the policy allows (``retry_policy.py``), and one attempt is plain code: wait for the
IP's gate and budget, re-sync the clock if due, send through ccxt, tell the limits what the answer said.
What each step decides is ``Canceller``'s (``canceller.py``); only ``time.sleep``/``asyncio.sleep``,
``Retrying``/``AsyncRetrying``, the send and how symbols run side by side (threads kept between calls, or
tasks) differ between the two.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import ccxt
import pluggy

from papi_plugin.call import workers
from papi_plugin.call.attempts import Failure, Tries
from papi_plugin.call.canceller import Call, Canceller, gate_after, used_weight
from papi_plugin.errors import Order
from papi_plugin.protocol.flow import Flow, Request
from papi_plugin.protocol.futures_flows import Known
from papi_plugin.protocol.kinds import KINDS, MARGIN, Kind
from papi_plugin.wire import transport

T = TypeVar("T")
SYMBOL_THREADS = 24  # a sync many-symbol call's symbols in flight at once (async runs them all as tasks)
KEPT_CONNECTIONS = len(KINDS) * SYMBOL_THREADS  # a sync whole-account call: its three kinds' symbols at once


class SyncCanceller(Canceller):
    """The sync shell: sends through ccxt's requests session, waits with ``time.sleep``."""

    def __init__(
        self,
        exchange: Any,
        hook: pluggy.HookRelay,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(exchange, hook, clock)
        self.sleep = sleep

    def each(self, items: list[Any], work: Callable[[Any], T]) -> list[T]:
        """``work`` on every item, concurrently on a few threads; results in the items' order."""
        if len(items) <= 1:
            return [work(item) for item in items]
        transport.keep_connections(self.exchange.session, KEPT_CONNECTIONS)
        return workers.WORKERS.each(items, work, SYMBOL_THREADS)

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

        from papi_plugin.call.retry_policy import replaying, retrying_kwargs

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
        weight = self.weight_of(request)
        ticket = self.admit(call, request, weight)
        failure, response = None, None
        with transport.answers() as kept:
            try:
                response = transport.send(self.exchange, request.endpoint, request.params, self.time_left(call))
            except ccxt.BaseError as error:
                failure = self.failure(call, request, tries, kept, error)
        self.answered(call, ticket, weight, kept, failure)
        return self.settled(request, tries, response, failure)

    def admit(self, call: Call, request: Request, weight: int) -> int:
        """Wait until the IP's gate is open and its budget takes ``weight``: both checked, and the weight
        reserved, in one step of the limits store right before sending, after every wait."""
        limit, window = call.pacing.weight_limit, call.pacing.window
        looks = 0
        while not (admission := call.limits.acquire(weight, limit, window, self.server_clock())).admitted:
            self.sleep(self.admission_wait(call, request, admission, looks))
            looks += 1
        return admission.ticket

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
    """The asyncio shell: sends through ccxt's aiohttp session, waits with ``asyncio.sleep``."""

    def __init__(
        self,
        exchange: Any,
        hook: pluggy.HookRelay,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(exchange, hook, clock)
        self.sleep = sleep

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

        from papi_plugin.call.retry_policy import replaying, retrying_kwargs

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
        weight = self.weight_of(request)
        ticket = await self.admit(call, request, weight)
        failure, response = None, None
        with transport.answers() as kept:
            try:
                response = await transport.send_async(
                    self.exchange, request.endpoint, request.params, self.time_left(call)
                )
            except ccxt.BaseError as error:
                failure = self.failure(call, request, tries, kept, error)
        await self.answered(call, ticket, weight, kept, failure)
        return self.settled(request, tries, response, failure)

    async def admit(self, call: Call, request: Request, weight: int) -> int:
        """The async twin of ``SyncCanceller.admit``."""
        limit, window = call.pacing.weight_limit, call.pacing.window
        looks = 0
        while not (admission := await call.limits.acquire_async(weight, limit, window, self.server_clock())).admitted:
            await self.sleep(self.admission_wait(call, request, admission, looks))
            looks += 1
        return admission.ticket

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
