"""The capabilities' two shells: ``SyncCanceller`` and ``AsyncCanceller``, written side by side.

Each capability checks its input, loads markets and drives a flow (``flows.py``). ``drive`` sends each
request the flow yields through ``request``: tenacity retries ``attempt`` as the policy allows, and one
attempt is plain code: wait for the ban gate, re-sync the clock if due, wait for the weight budget, send
through ccxt, classify. Only the I/O differs between the shells (``time.sleep`` and ``asyncio.sleep``,
``Retrying`` and ``AsyncRetrying``); every decision is a plain method of ``Canceller`` or a plain function.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import ccxt
import pluggy
from tenacity import AsyncRetrying, RetryCallState, Retrying

from papi_plugin import flows, transport
from papi_plugin.ban_gate import BanGate
from papi_plugin.error_table import Action, Answer, Verdict, classify, header
from papi_plugin.errors import CancelManyFailed, Order, canceled_before
from papi_plugin.flows import Flow, Request
from papi_plugin.markets import margin_market, margin_markets, unified_symbol
from papi_plugin.orders import open_orders
from papi_plugin.pacing import USED_WEIGHT_HEADER, WeightBudget
from papi_plugin.params import OPTIONS_KEY, CallOptions, call_options, pacing_options, symbol_argument, symbols_argument
from papi_plugin.redaction import protect_logger
from papi_plugin.retry_policy import Deadline, Failure, Tries, exhausted, retrying_kwargs, verdict_of

log = logging.getLogger("papi_plugin")
# ccxt logs the key and signed URLs at DEBUG on its logger; requests' urllib3 logs signed URLs too.
URLLIB3_LOGGER = logging.getLogger("urllib3.connectionpool")

CANCEL, MANY, OPEN, DISCOVER = (
    "cancel_all_margin_orders",
    "cancel_all_margin_orders_many",
    "open_margin_orders",
    "symbols_with_open_orders",
)
T = TypeVar("T")
Outcome = tuple[str, "list[Order] | ccxt.BaseError"]  # (unified symbol, its orders or its error)


@dataclass(frozen=True)
class Call:
    """One capability call: its checked options and its one deadline."""

    name: str
    options: CallOptions
    deadline: Deadline


class Canceller:
    """Per-exchange state (ban gate, weight budget, time) and every decision both shells share."""

    def __init__(self, exchange: Any, hook: pluggy.HookRelay, clock: Callable[[], float] = time.time) -> None:
        self.exchange = exchange
        self.hook = hook
        self.clock = clock  # seconds; tests pass a fake one with a fake sleep
        self.gate = BanGate()
        self.weights = WeightBudget(clock=self.server_clock)

    def server_clock(self) -> float:
        """Binance's clock as ccxt knows it (``options["timeDifference"]`` in ms), in seconds."""
        difference = self.exchange.options.get("timeDifference") or 0
        return self.clock() - float(difference) / 1000

    def begin(self, name: str, params: Any) -> Call:
        """Check everything that needs no request."""
        options = call_options(self.exchange.options.get(OPTIONS_KEY), params, name)
        self.weights.configure(*pacing_options(self.exchange.options.get(OPTIONS_KEY)))
        self.exchange.check_required_credentials()
        for logger in (self.exchange.logger, URLLIB3_LOGGER):
            protect_logger(logger, (self.exchange.apiKey, self.exchange.secret))
        return Call(name, options, Deadline(self.clock, options.budget.max_elapsed))

    def context(self, call: Call, request: Request) -> str:
        endpoint = request.endpoint
        what = call.name if endpoint == transport.CANCEL_ALL else f"{endpoint.method} {endpoint.path}"
        return f"{self.exchange.id} {what} {request.label}"

    def gate_wait(self, call: Call, request: Request) -> float:
        """Seconds to wait for the ban gate before an attempt; raises when it must not be waited out."""
        max_wait = min(call.options.budget.max_retry_after, call.deadline.left())
        return self.gate.wait_before_sending(self.clock(), max_wait, self.context(call, request))

    def pacing_wait(self, call: Call, request: Request) -> float:
        """Seconds to wait before the weight budget takes ``request`` (0: reserved); raises past the deadline."""
        delay = self.weights.reserve(request.weight)
        if delay and delay >= call.deadline.left():
            raise ccxt.RateLimitExceeded(
                f"{self.context(call, request)}: not sent, the papi weight budget of this minute is spent"
                f" for {delay:.1f} more s, past the call's maxElapsed"
            )
        return delay

    def failure(
        self, call: Call, request: Request, tries: Tries, kept: list[Answer], raised: ccxt.BaseError
    ) -> Failure:
        """Classify a failed attempt and record what it means for the next ones (the gate, a clock resync)."""
        secrets = tuple(s for s in (self.exchange.apiKey, self.exchange.secret) if isinstance(s, str))
        now = self.clock()
        verdict = classify(raised, kept[-1] if kept else Answer(), self.context(call, request), now, secrets)
        self.gate.close_after(verdict, now)
        if verdict.action is Action.RESYNC_CLOCK:
            tries.resyncs += 1
            tries.resync_due = True
        return Failure(verdict)

    def answered(self, request: Request, kept: list[Answer], verdict: Verdict | None) -> bool:
        """Record an attempt's answers; True when a failure still means success (-2011: nothing open)."""
        for answer in kept:
            value = header(answer.headers, USED_WEIGHT_HEADER)
            if value and value.isdigit():
                self.weights.observe(int(value))
        return (
            verdict is not None and verdict.action is Action.NOTHING_OPEN and request.endpoint == transport.CANCEL_ALL
        )

    def before_sleep(self, call: Call, request: Request) -> Callable[[RetryCallState], None]:
        def tell(state: RetryCallState) -> None:
            verdict, delay = verdict_of(state), state.upcoming_sleep
            log.warning(
                "attempt %d of %d failed, retrying in %.2f s: %s: %s",
                state.attempt_number,
                call.options.budget.max_attempts,
                delay,
                type(verdict.error).__name__,
                verdict.error,
            )
            if self.hook.before_retry.get_hookimpls():
                self.hook.before_retry(
                    exchange=self.exchange,
                    symbol=request.label,
                    attempt=state.attempt_number,
                    error=verdict.error,
                    delay=delay,
                )

        return tell

    def gave_up(self, call: Call, tries: Tries, failure: Failure) -> ccxt.BaseError:
        return exhausted(failure.verdict, tries.attempts, call.deadline.elapsed())

    def announce(self, symbol: str, orders: list[Order]) -> list[Order]:
        if self.hook.margin_orders_canceled.get_hookimpls():
            self.hook.margin_orders_canceled(exchange=self.exchange, symbol=symbol, orders=orders)
        return orders

    def symbol_of(self, symbol: str) -> str:
        try:
            return str(margin_market(self.exchange, symbol)["symbol"])
        except ccxt.BaseError:
            return unified_symbol(self.exchange, symbol)


def many_outcome(outcomes: list[Outcome]) -> dict[str, list[Order]]:
    """``{symbol: orders}``, or ``CancelManyFailed`` naming every failed symbol once all were tried."""
    canceled = {symbol: result for symbol, result in outcomes if not isinstance(result, ccxt.BaseError)}
    errors = {symbol: result for symbol, result in outcomes if isinstance(result, ccxt.BaseError)}
    if errors:
        raise CancelManyFailed(errors, canceled)
    return canceled


# ---- the two shells ---------------------------------------------------------------------------------------


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

    def cancel_all_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """Cancel every open cross-margin order (order lists included) on ``symbol``.

        Returns ccxt unified orders, ``[]`` when nothing was open. With ``{"confirm": True}`` it then
        re-reads the symbol's open orders and order lists and cancels again while any remain
        (``maxConfirmRounds``), raising ``NotFlat`` (a ``ccxt.OperationFailed``) if it stays unflat.
        Raises a ccxt error otherwise; see the README's error table.
        """
        symbol = symbol_argument(symbol, CANCEL)
        call = self.begin(CANCEL, params)
        self.exchange.load_markets()
        return self.cancel_on(margin_market(self.exchange, symbol), call)

    def cancel_all_margin_orders_many(self, symbols: Any = None, params: Any = None) -> dict[str, list[Order]]:
        """Cancel every open cross-margin order on each symbol, in order; ``None``: every symbol with any.

        Returns ``{symbol: orders}``. One symbol's failure does not stop the others: when any failed,
        ``CancelManyFailed`` (a ``ccxt.OperationFailed``) is raised after all were tried, naming each failed
        symbol with its error and carrying the orders canceled on the others.
        """
        wanted = symbols_argument(symbols, MANY)
        call = self.begin(MANY, params)
        self.exchange.load_markets()
        if wanted is not None:
            targets = [market["id"] for market in margin_markets(self.exchange, wanted, MANY)]
        else:
            targets = self.drive(flows.discover(self.exchange, call.options), call)
        return many_outcome([self.settle(market_id, call) for market_id in targets])

    def open_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """The open cross-margin orders on ``symbol`` (what a cancel-all would cancel), unified."""
        symbol = symbol_argument(symbol, OPEN)
        call = self.begin(OPEN, params)
        self.exchange.load_markets()
        market = margin_market(self.exchange, symbol, OPEN)
        return open_orders(self.exchange, market, *self.drive(flows.open_on(market, call.options), call))

    def symbols_with_open_orders(self, params: Any = None) -> list[str]:
        """The unified symbols with open margin orders or order lists (costly: see the README)."""
        call = self.begin(DISCOVER, params)
        self.exchange.load_markets()
        return [unified_symbol(self.exchange, i) for i in self.drive(flows.discover(self.exchange, call.options), call)]

    def settle(self, market_id: str, call: Call) -> Outcome:
        try:
            return self.symbol_of(market_id), self.cancel_on(margin_market(self.exchange, market_id, MANY), call)
        except ccxt.BaseError as error:
            return self.symbol_of(market_id), error

    def cancel_on(self, market: dict[str, Any], call: Call) -> list[Order]:
        try:
            orders = self.drive(flows.cancel(self.exchange, market, call.options), call)
        except ccxt.BaseError as error:
            if canceled_before(error):  # what was canceled is reported either way
                self.announce(market["symbol"], canceled_before(error))
            raise
        return self.announce(market["symbol"], orders)

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
        policy = retrying_kwargs(call.options.budget, call.deadline, tries, self.before_sleep(call, request))
        try:
            return Retrying(sleep=self.sleep, **policy)(self.attempt, request, call, tries)
        except Failure as failure:
            raise self.gave_up(call, tries, failure) from None

    def attempt(self, request: Request, call: Call, tries: Tries) -> Any:
        tries.attempts += 1
        if delay := self.gate_wait(call, request):
            self.sleep(delay)
        if tries.resync_due:
            with transport.answers() as kept:
                try:
                    self.exchange.load_time_difference()
                except ccxt.BaseError as error:
                    raise self.failure(call, request, tries, kept, error) from None
            tries.resync_due = False
        paced = self.exchange.enableRateLimit  # ccxt's switch; off means no pacing here either
        while paced and (delay := self.pacing_wait(call, request)):
            self.sleep(delay)
            if delay := self.gate_wait(call, request):
                self.sleep(delay)
        failure = None
        with transport.answers() as kept:
            try:
                response = transport.send(self.exchange, request.endpoint, request.params)
            except ccxt.BaseError as error:
                failure = self.failure(call, request, tries, kept, error)
            finally:
                if paced:
                    self.weights.answered(request.weight)
        if self.answered(request, kept, failure.verdict if failure else None):
            return []
        if failure is not None:
            raise failure
        return response


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

    async def cancel_all_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """The async twin of ``SyncCanceller.cancel_all_margin_orders``: same params, results and errors."""
        symbol = symbol_argument(symbol, CANCEL)
        call = self.begin(CANCEL, params)
        await self.exchange.load_markets()
        return await self.cancel_on(margin_market(self.exchange, symbol), call)

    async def cancel_all_margin_orders_many(self, symbols: Any = None, params: Any = None) -> dict[str, list[Order]]:
        """The async twin of ``SyncCanceller.cancel_all_margin_orders_many``: the symbols run concurrently,
        within the papi weight budget shared by every task on this exchange object."""
        wanted = symbols_argument(symbols, MANY)
        call = self.begin(MANY, params)
        await self.exchange.load_markets()
        if wanted is not None:
            targets = [market["id"] for market in margin_markets(self.exchange, wanted, MANY)]
        else:
            targets = await self.drive(flows.discover(self.exchange, call.options), call)
        return many_outcome(list(await asyncio.gather(*(self.settle(market_id, call) for market_id in targets))))

    async def open_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """The open cross-margin orders on ``symbol`` (what a cancel-all would cancel), unified."""
        symbol = symbol_argument(symbol, OPEN)
        call = self.begin(OPEN, params)
        await self.exchange.load_markets()
        market = margin_market(self.exchange, symbol, OPEN)
        return open_orders(self.exchange, market, *await self.drive(flows.open_on(market, call.options), call))

    async def symbols_with_open_orders(self, params: Any = None) -> list[str]:
        """The unified symbols with open margin orders or order lists (costly: see the README)."""
        call = self.begin(DISCOVER, params)
        await self.exchange.load_markets()
        ids = await self.drive(flows.discover(self.exchange, call.options), call)
        return [unified_symbol(self.exchange, i) for i in ids]

    async def settle(self, market_id: str, call: Call) -> Outcome:
        try:
            return self.symbol_of(market_id), await self.cancel_on(margin_market(self.exchange, market_id, MANY), call)
        except ccxt.BaseError as error:
            return self.symbol_of(market_id), error

    async def cancel_on(self, market: dict[str, Any], call: Call) -> list[Order]:
        try:
            orders = await self.drive(flows.cancel(self.exchange, market, call.options), call)
        except ccxt.BaseError as error:
            if canceled_before(error):  # what was canceled is reported either way
                self.announce(market["symbol"], canceled_before(error))
            raise
        return self.announce(market["symbol"], orders)

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
        policy = retrying_kwargs(call.options.budget, call.deadline, tries, self.before_sleep(call, request))
        try:
            return await AsyncRetrying(sleep=self.sleep, **policy)(self.attempt, request, call, tries)
        except Failure as failure:
            raise self.gave_up(call, tries, failure) from None

    async def attempt(self, request: Request, call: Call, tries: Tries) -> Any:
        tries.attempts += 1
        if delay := self.gate_wait(call, request):
            await self.sleep(delay)
        if tries.resync_due:
            with transport.answers() as kept:
                try:
                    await self.exchange.load_time_difference()
                except ccxt.BaseError as error:
                    raise self.failure(call, request, tries, kept, error) from None
            tries.resync_due = False
        paced = self.exchange.enableRateLimit  # ccxt's switch; off means no pacing here either
        while paced and (delay := self.pacing_wait(call, request)):
            await self.sleep(delay)
            if delay := self.gate_wait(call, request):
                await self.sleep(delay)
        failure = None
        with transport.answers() as kept:
            try:
                response = await transport.send_async(self.exchange, request.endpoint, request.params)
            except ccxt.BaseError as error:
                failure = self.failure(call, request, tries, kept, error)
            finally:
                if paced:
                    self.weights.answered(request.weight)
        if self.answered(request, kept, failure.verdict if failure else None):
            return []
        if failure is not None:
            raise failure
        return response
