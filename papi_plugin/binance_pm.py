"""The Binance Portfolio Margin adapter: ``cancel_all_margin_orders`` for ccxt's ``binance`` (sync and async).

A papi_plugin plugin (entry point ``binance_portfolio_margin``). Decisions live in plain functions
(``errors``, ``orders``) shared by both shells; only the I/O differs: ``Retrying`` with ``time.sleep``
for sync objects, ``AsyncRetrying`` with ``asyncio.sleep`` for async ones.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ccxt
import ccxt.async_support
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_before_delay
from tenacity.wait import wait_exponential, wait_random

from papi_plugin import hookimpl, transport
from papi_plugin.errors import (
    BACKOFF_INITIAL,
    BACKOFF_JITTER,
    BACKOFF_MAX,
    BUDGET_KEYS,
    DEFAULT_BUDGET,
    RATE_LIMIT_WAIT,
    Action,
    Answer,
    Budget,
    CancelManyFailed,
    NotFlat,
    Verdict,
    budget_from,
    classify,
    exhausted,
    header,
    is_retryable,
)
from papi_plugin.orders import Order, flatten, open_orders
from papi_plugin.pacing import USED_WEIGHT_HEADER, WEIGHT_LIMIT, WINDOW_SECONDS, WeightBudget
from papi_plugin.redaction import protect_logger

log = logging.getLogger("papi_plugin")

OPTIONS_KEY = "cancelAllMarginOrders"
CALL_ONLY_PARAMS = (*BUDGET_KEYS, "confirm", "maxConfirmRounds")  # read here, never sent
SET_BY_CCXT = ("timestamp", "signature")
MAX_RECV_WINDOW = 60000
DEFAULT_BAN_SECONDS = 120.0  # Binance's shortest IP ban, when a 418 does not say how long
DEFAULT_CONFIRM_ROUNDS = 5
# ccxt logs the key and signed URLs at DEBUG on its logger; requests' urllib3 logs signed URLs too.
URLLIB3_LOGGER = logging.getLogger("urllib3.connectionpool")


def is_binance(exchange: Any) -> bool:
    return isinstance(exchange, (ccxt.binance, ccxt.async_support.binance))


@hookimpl
def register_capabilities(exchange: Any) -> dict[str, Callable[..., Any]] | None:
    if not is_binance(exchange):
        return None
    canceller = canceller_for(exchange)
    return {
        "cancel_all_margin_orders": canceller.cancel_all_margin_orders,
        "cancel_all_margin_orders_many": canceller.cancel_all_margin_orders_many,
    }


_canceller_lock = threading.Lock()


def canceller_for(exchange: Any) -> SyncCanceller | AsyncCanceller:
    """The one canceller of this exchange object (it holds the ban gate shared by all calls)."""
    with _canceller_lock:
        existing = exchange.__dict__.get("papi_plugin_canceller")
        if existing is not None:
            return existing  # type: ignore[no-any-return]
        is_async = isinstance(exchange, ccxt.async_support.Exchange)
        canceller = AsyncCanceller(exchange) if is_async else SyncCanceller(exchange)
        exchange.papi_plugin_canceller = canceller
        options = exchange.options.get(OPTIONS_KEY)
        exchange.options[OPTIONS_KEY] = {**DEFAULT_BUDGET, **(options if isinstance(options, Mapping) else {})}
        transport.keep_answers(exchange)
        return canceller


# ---- input: checked before anything is sent ------------------------------------------------------


def request_params(symbol: Any, params: Any) -> dict[str, Any]:
    """The caller's params, checked: raises before any request when the input is bad."""
    if symbol is None or (isinstance(symbol, str) and not symbol.strip()):
        raise ccxt.ArgumentsRequired("binance cancel_all_margin_orders() requires a symbol argument")
    if not isinstance(symbol, str):
        raise ccxt.BadSymbol(f"binance cancel_all_margin_orders() symbol must be a string, got {symbol!r}")
    return checked_params(params)


def checked_params(params: Any) -> dict[str, Any]:
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ccxt.BadRequest(f"binance cancel_all_margin_orders() params must be a dict, got {params!r}")
    for key in SET_BY_CCXT:
        if key in params:
            raise ccxt.BadRequest(f"binance cancel_all_margin_orders() sets {key} itself; do not pass it")
    recv_window = params.get("recvWindow")
    if recv_window is not None and (
        isinstance(recv_window, bool) or not isinstance(recv_window, int) or not 1 <= recv_window <= MAX_RECV_WINDOW
    ):
        raise ccxt.BadRequest(
            f"binance cancel_all_margin_orders() recvWindow must be an integer in 1..{MAX_RECV_WINDOW}"
            f" (milliseconds), got {recv_window!r}"
        )
    return dict(params)


def margin_market(exchange: Any, symbol: str) -> dict[str, Any]:
    """The spot market with margin trading for a unified symbol or a Binance market id."""
    # A market id such as BTCUSDT names the spot market and the USD-M perpetual alike: ask for the spot one.
    market = (exchange.markets or {}).get(symbol) or exchange.safe_market(symbol, None, None, "spot")
    if market.get("id") is None:  # ccxt's placeholder for an id it does not know
        raise ccxt.BadSymbol(f"binance cancel_all_margin_orders() does not know the symbol {symbol!r}")
    if not market.get("spot") or not market.get("margin"):
        raise ccxt.BadSymbol(
            f"binance cancel_all_margin_orders() needs a spot market open to margin trading;"
            f" {market['symbol']} is not one"
        )
    return market  # type: ignore[no-any-return]


def wire_params(market: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    sent = {key: value for key, value in params.items() if key not in CALL_ONLY_PARAMS}
    sent["symbol"] = market["id"]
    return sent


# ---- many symbols --------------------------------------------------------------------------------

ALL_SYMBOLS = object()  # marks the many-symbol call in ``Canceller.begin``


def symbols_list(symbols: Any) -> list[str] | None:
    """None (discover), or the given symbols; a bare string is refused, not split into letters."""
    if symbols is None:
        return None
    if isinstance(symbols, (str, bytes)) or not isinstance(symbols, (list, tuple, set, frozenset)):
        raise ccxt.BadRequest(
            f"binance cancel_all_margin_orders_many() symbols must be a list of symbols or None, got {symbols!r}"
        )
    for symbol in symbols:
        if not isinstance(symbol, str) or not symbol.strip():
            raise ccxt.BadSymbol(f"binance cancel_all_margin_orders_many() got a bad symbol {symbol!r}")
    return list(symbols)


def markets_for(exchange: Any, symbols: list[str]) -> list[dict[str, Any]]:
    """Each symbol's spot margin market, once each, in the order given; raises before anything is sent."""
    markets: dict[str, dict[str, Any]] = {}
    for symbol in symbols:
        market = margin_market(exchange, symbol)
        markets.setdefault(market["symbol"], market)
    return list(markets.values())


def discovery_weight(exchange: Any) -> int:
    """Binance counts an all-symbols open-orders read as one request per symbol trading on the exchange."""
    trading = sum(1 for m in (exchange.markets or {}).values() if m.get("spot") and m.get("active") is not False)
    return max(transport.OPEN_ORDERS.weight, trading)


def symbols_with_open_orders(orders: Any, lists: Any) -> list[str]:
    """Market ids with an open order or an open order list, sorted."""
    entries = open_orders_of(orders) + open_lists_of(lists)
    return sorted({e["symbol"] for e in entries if isinstance(e, dict) and isinstance(e.get("symbol"), str)})


Outcome = tuple[str, "list[Order] | ccxt.BaseError"]  # (unified symbol, its orders or its error)


def many_outcome(outcomes: list[Outcome]) -> dict[str, list[Order]]:
    """``{symbol: orders}``, or ``CancelManyFailed`` naming every failed symbol once all were tried."""
    canceled = {symbol: result for symbol, result in outcomes if not isinstance(result, ccxt.BaseError)}
    errors = {symbol: result for symbol, result in outcomes if isinstance(result, ccxt.BaseError)}
    if errors:
        raise CancelManyFailed(errors, canceled)
    return canceled


@dataclass(frozen=True)
class Plan:
    """A many-symbol cancel, checked and resolved: what to send, within which budget, on which markets."""

    checked: dict[str, Any]
    budget: Budget
    rounds: int | None
    market_ids: list[str]


# ---- per-exchange and per-call state -------------------------------------------------------------


@dataclass
class Gate:
    """Closed while an IP ban (418) or an unwaited 429 runs: nothing is sent until it opens."""

    until: float = 0.0
    error: type[ccxt.BaseError] = ccxt.DDoSProtection
    reason: str = ""

    def check(self, context: str) -> None:
        left = self.until - time.time()
        if left > 0:
            raise self.error(f"{context}: not sent, {self.reason} for {left:.0f} more s")

    def close_after(self, verdict: Verdict) -> None:
        if verdict.action is Action.BANNED:
            seconds = verdict.retry_after if verdict.retry_after is not None else DEFAULT_BAN_SECONDS
            self.error, self.reason = ccxt.DDoSProtection, "the IP is banned (HTTP 418)"
        elif verdict.action is Action.RATE_LIMITED and verdict.retry_after is not None:
            seconds = verdict.retry_after
            self.error, self.reason = ccxt.RateLimitExceeded, "rate limited (HTTP 429)"
        else:
            return
        self.until = max(self.until, time.time() + seconds)


class Failure(Exception):
    """One failed attempt, classified (internal: callers only ever see ``verdict.error``)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(str(verdict.error))
        self.verdict = verdict


@dataclass
class Call:
    """What one request (a cancel, or a read while confirming) has been through."""

    exchange: Any
    endpoint: transport.Endpoint
    symbol: str
    context: str
    budget: Budget
    weight: int = 0
    started: float = field(default_factory=time.monotonic)
    attempts: int = 0
    resyncs: int = 0
    resync_pending: bool = False

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.exchange.apiKey, self.exchange.secret) if isinstance(s, str))

    def outcome(self, response: Any, kept: list[Answer], raised: ccxt.BaseError | None) -> Any:
        """The answer of an attempt, or a ``Failure`` to raise; shared by both shells."""
        if raised is None:
            return response
        answer = kept[-1] if kept else Answer()
        verdict = classify(raised, answer, self.context, self.secrets())
        if verdict.action is Action.NOTHING_OPEN and self.endpoint == transport.CANCEL_ALL:
            return []
        if verdict.action is Action.RESYNC_CLOCK:
            self.resyncs += 1
            self.resync_pending = True
        raise Failure(verdict)

    def retrying_kwargs(self) -> dict[str, Any]:
        """The retry policy as data, for tenacity's ``Retrying`` and ``AsyncRetrying`` alike."""
        return {
            "stop": stop_after_attempt(self.budget.max_attempts) | stop_before_delay(self.budget.max_elapsed),
            "wait": self.delay,
            "retry": retry_if_exception(self.should_retry),
            "before_sleep": self.before_retry,
            "reraise": True,
        }

    def should_retry(self, error: BaseException) -> bool:
        return isinstance(error, Failure) and is_retryable(error.verdict, self.budget, self.resyncs)

    _backoff = wait_exponential(multiplier=BACKOFF_INITIAL, max=BACKOFF_MAX) + wait_random(0, BACKOFF_JITTER)

    def delay(self, state: RetryCallState) -> float:
        verdict = _verdict_of(state)
        if verdict.action is Action.RESYNC_CLOCK:
            return 0.0
        if verdict.action is Action.RATE_LIMITED:
            if verdict.retry_after is not None:
                return verdict.retry_after
            return max(RATE_LIMIT_WAIT, float(self._backoff(state)))
        return float(self._backoff(state))

    def before_retry(self, state: RetryCallState) -> None:
        verdict, delay = _verdict_of(state), state.upcoming_sleep
        log.warning(
            "attempt %d of %d failed, retrying in %.2f s: %s: %s",
            state.attempt_number,
            self.budget.max_attempts,
            delay,
            type(verdict.error).__name__,
            verdict.error,
        )
        from papi_plugin.plugins import plugin_manager

        plugin_manager().hook.before_retry(
            exchange=self.exchange,
            symbol=self.symbol,
            attempt=state.attempt_number,
            error=verdict.error,
            delay=delay,
        )

    def final_error(self, failure: Failure) -> ccxt.BaseError:
        return exhausted(failure.verdict, self.attempts, time.monotonic() - self.started)


def _verdict_of(state: RetryCallState) -> Verdict:
    assert state.outcome is not None
    error = state.outcome.exception()
    assert isinstance(error, Failure)
    return error.verdict


# ---- verified cancel ----------------------------------------------------------------------------


@dataclass
class Confirmation:
    """The rounds of a verified cancel: re-cancel while the symbol still has open orders."""

    symbol: str
    max_rounds: int
    orders: list[Order] = field(default_factory=list)
    rounds: int = 0
    _ids: set[str] = field(default_factory=set)

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


def confirm_rounds(params: Mapping[str, Any]) -> int | None:
    """None without ``confirm``; else how many extra cancel rounds a verified cancel may take."""
    if not params.get("confirm"):
        return None
    rounds = params.get("maxConfirmRounds", DEFAULT_CONFIRM_ROUNDS)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
        raise ccxt.BadRequest(f"papi_plugin maxConfirmRounds must be an integer >= 0, got {rounds!r}")
    return rounds


def read_params(sent: Mapping[str, Any]) -> dict[str, Any]:
    return {"recvWindow": sent["recvWindow"]} if "recvWindow" in sent else {}


def open_orders_of(orders: Any) -> list[Any]:
    if not isinstance(orders, list):
        raise ccxt.BadResponse(f"binance open orders answer is not a list: {type(orders).__name__}")
    return orders


def open_lists_of(lists: Any) -> list[Any]:
    if not isinstance(lists, list):
        raise ccxt.BadResponse(f"binance open order lists answer is not a list: {type(lists).__name__}")
    return lists


def lists_on(market: dict[str, Any], lists: Any) -> list[Any]:
    """The open order lists of ``market``: the endpoint takes no symbol and answers with every list."""
    return [x for x in open_lists_of(lists) if isinstance(x, dict) and x.get("symbol") == market["id"]]


# ---- the I/O a flow asks for ------------------------------------------------------------------------
# Every decision lives in the flows below, written once as generators that yield the I/O they need.
# The sync and async shells only perform those steps (``perform``) and feed the answers back (``drive``).


@dataclass(frozen=True)
class Papi:
    """One papi request, with the retry policy."""

    endpoint: transport.Endpoint
    label: str  # the symbol, or "all symbols", for messages
    params: dict[str, Any]
    budget: Budget
    weight: int | None = None  # when Binance charges more than the endpoint's weight


@dataclass(frozen=True)
class Send:
    """One attempt of a papi request: sign afresh and fetch, through ccxt."""

    endpoint: transport.Endpoint
    params: dict[str, Any]


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class LoadMarkets:
    """``exchange.load_markets()``: a no-op once they are loaded."""


@dataclass(frozen=True)
class ResyncClock:
    """``exchange.load_time_difference()``."""


Step = Papi | Send | Sleep | LoadMarkets | ResyncClock
T = TypeVar("T")
Flow = Generator[Step, Any, T]


class Canceller:
    """The flows, the per-exchange state (ban gate, weight budget) and the checks, for both shells."""

    def __init__(self, exchange: Any) -> None:
        self.exchange = exchange
        self.gate = Gate()
        self.weights = WeightBudget(clock=self.server_clock)

    def server_clock(self) -> float:
        """Binance's clock as ccxt knows it (``options["timeDifference"]`` in ms), in seconds."""
        difference = self.exchange.options.get("timeDifference") or 0
        return time.time() - float(difference) / 1000

    def begin(self, symbol: Any, params: Any) -> tuple[dict[str, Any], Budget, int | None]:
        """Check everything that needs no request; ``symbol`` is ``ALL_SYMBOLS`` for the many-symbol call."""
        checked = checked_params(params) if symbol is ALL_SYMBOLS else request_params(symbol, params)
        options = self.exchange.options.get(OPTIONS_KEY)
        budget = budget_from(options if isinstance(options, Mapping) else {}, checked)
        rounds = confirm_rounds(checked)
        self.configure_pacing()
        self.exchange.check_required_credentials()
        for logger in (self.exchange.logger, URLLIB3_LOGGER):
            protect_logger(logger, (self.exchange.apiKey, self.exchange.secret))
        return checked, budget, rounds

    def configure_pacing(self) -> None:
        options = self.exchange.options.get(OPTIONS_KEY) or {}
        limit, window = options.get("weightLimit", WEIGHT_LIMIT), options.get("weightWindow", WINDOW_SECONDS)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ccxt.BadRequest(f"papi_plugin weightLimit must be an integer >= 1, got {limit!r}")
        if isinstance(window, bool) or not isinstance(window, (int, float)) or window <= 0:
            raise ccxt.BadRequest(f"papi_plugin weightWindow must be a number of seconds > 0, got {window!r}")
        self.weights.configure(limit, float(window))

    # -- flows: one cancel, a verified cancel, many symbols, the reads

    def cancel_flow(self, symbol: Any, params: Any) -> Flow[list[Order]]:
        checked, budget, rounds = self.begin(symbol, params)
        yield LoadMarkets()
        market = margin_market(self.exchange, symbol)
        return (yield from self.cancel_on(market, checked, budget, rounds))

    def cancel_on(
        self, market: dict[str, Any], checked: dict[str, Any], budget: Budget, rounds: int | None
    ) -> Flow[list[Order]]:
        """Cancel on a checked market, verify it is flat when asked, and tell the plugins."""
        sent = wire_params(market, checked)
        cancel = Papi(transport.CANCEL_ALL, market["symbol"], sent, budget)
        orders = flatten(self.exchange, (yield cancel), market)
        if rounds is not None:
            confirmation = Confirmation(market["symbol"], rounds, orders)
            try:
                while confirmation.still_open(*(yield from self.open_on(market, read_params(sent), budget))):
                    confirmation.add(flatten(self.exchange, (yield cancel), market))
            except ccxt.BaseError:
                self.announce(market, confirmation.orders)  # what was canceled is reported either way
                raise
            orders = confirmation.orders
        return self.announce(market, orders)

    def plan_flow(self, symbols: Any, params: Any) -> Flow[Plan]:
        """Check a many-symbol cancel before anything is sent; discover the symbols when none are given."""
        wanted = symbols_list(symbols)
        checked, budget, rounds = self.begin(ALL_SYMBOLS, params)
        yield LoadMarkets()
        if wanted is not None:
            ids = [m["id"] for m in markets_for(self.exchange, wanted)]
        else:
            ids = yield from self.discover(read_params(checked), budget)
        return Plan(checked, budget, rounds, ids)

    def symbol_flow(self, plan: Plan, market_id: str) -> Flow[list[Order]]:
        market = margin_market(self.exchange, market_id)
        return (yield from self.cancel_on(market, plan.checked, plan.budget, plan.rounds))

    def discover(self, params: dict[str, Any], budget: Budget) -> Flow[list[str]]:
        """Market ids with open margin orders or order lists (see ``discovery_weight`` for the cost)."""
        orders = yield Papi(transport.OPEN_ORDERS, "all symbols", params, budget, discovery_weight(self.exchange))
        lists = yield Papi(transport.OPEN_ORDER_LISTS, "all symbols", params, budget)
        return symbols_with_open_orders(orders, lists)

    def open_orders_flow(self, symbol: Any, params: Any) -> Flow[list[Order]]:
        checked, budget, _ = self.begin(symbol, params)
        yield LoadMarkets()
        market = margin_market(self.exchange, symbol)
        raw_orders, raw_lists = yield from self.open_on(market, read_params(checked), budget)
        return open_orders(self.exchange, market, raw_orders, raw_lists)

    def open_on(
        self, market: dict[str, Any], params: dict[str, Any], budget: Budget
    ) -> Flow[tuple[list[Any], list[Any]]]:
        """The raw open orders and open order lists of ``market`` (two reads, weight 5 each)."""
        orders = yield Papi(transport.OPEN_ORDERS, market["symbol"], {**params, "symbol": market["id"]}, budget)
        lists = yield Papi(transport.OPEN_ORDER_LISTS, market["symbol"], params, budget)
        return open_orders_of(orders), lists_on(market, lists)

    # -- one attempt of a papi request

    def start_call(self, request: Papi) -> Call:
        endpoint = request.endpoint
        what = "cancel_all_margin_orders" if endpoint == transport.CANCEL_ALL else f"{endpoint.method} {endpoint.path}"
        context = f"{self.exchange.id} {what} {request.label}"
        self.gate.check(context)
        return Call(self.exchange, endpoint, request.label, context, request.budget, request.weight or endpoint.weight)

    def attempt_flow(self, call: Call, params: dict[str, Any]) -> Flow[Any]:
        """Re-sync the clock if the last attempt asked for it, wait for the weight budget, send once."""
        call.attempts += 1
        if call.resync_pending:
            _, kept, raised = yield from answered(ResyncClock())
            if raised is not None:
                call.outcome(None, kept, raised)  # raises the classified failure; the next attempt re-syncs
            call.resync_pending = False
        paced = self.exchange.enableRateLimit  # ccxt's switch; off means no pacing here either
        while paced and (delay := self.weights.reserve(call.weight)) > 0:
            yield Sleep(delay)
        try:
            response, kept, raised = yield from answered(Send(call.endpoint, params))
        finally:
            if paced:
                self.weights.answered(call.weight)
        self.observe(kept)
        return call.outcome(response, kept, raised)

    def observe(self, kept: list[Answer]) -> None:
        for answer in kept:
            value = header(answer.headers, USED_WEIGHT_HEADER)
            if value and value.isdigit():
                self.weights.observe(int(value))

    def failed(self, call: Call, failure: Failure) -> ccxt.BaseError:
        self.gate.close_after(failure.verdict)
        return call.final_error(failure)

    def announce(self, market: dict[str, Any], orders: list[Order]) -> list[Order]:
        from papi_plugin.plugins import plugin_manager

        plugin_manager().hook.margin_orders_canceled(exchange=self.exchange, symbol=market["symbol"], orders=orders)
        return orders


def answered(step: Send | ResyncClock) -> Flow[tuple[Any, list[Answer], ccxt.BaseError | None]]:
    """Perform one HTTP step, keeping its own answer: (response, answers, ccxt error or None)."""
    with transport.answers() as kept:
        try:
            return (yield step), kept, None
        except ccxt.BaseError as error:
            return None, kept, error


# ---- the two shells: only the I/O differs -------------------------------------------------------------


class SyncCanceller(Canceller):
    def cancel_all_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """Cancel every open cross-margin order (order lists included) on ``symbol``.

        Returns ccxt unified orders, ``[]`` when nothing was open. With ``{"confirm": True}`` it then
        re-reads the symbol's open orders and order lists and cancels again while any remain
        (``maxConfirmRounds``), raising ``NotFlat`` (a ``ccxt.OperationFailed``) if it stays unflat.
        Raises a ccxt error otherwise; see the README's error table.
        """
        return self.drive(self.cancel_flow(symbol, params))

    def cancel_all_margin_orders_many(self, symbols: Any = None, params: Any = None) -> dict[str, list[Order]]:
        """Cancel every open cross-margin order on each symbol, in order; ``None``: every symbol with any.

        Returns ``{symbol: orders}``. One symbol's failure does not stop the others: when any failed,
        ``CancelManyFailed`` (a ``ccxt.OperationFailed``) is raised after all were tried, naming each failed
        symbol with its error and carrying the orders canceled on the others.
        """
        plan = self.drive(self.plan_flow(symbols, params))
        return many_outcome([self.settle(plan, market_id) for market_id in plan.market_ids])

    def settle(self, plan: Plan, market_id: str) -> Outcome:
        symbol = self.exchange.safe_symbol(market_id, None, None, "spot")
        try:
            return symbol, self.drive(self.symbol_flow(plan, market_id))
        except ccxt.BaseError as error:
            return symbol, error

    def open_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """The open cross-margin orders on ``symbol`` (what a cancel-all would cancel), unified."""
        return self.drive(self.open_orders_flow(symbol, params))

    def symbols_with_open_orders(self, params: Any = None) -> list[str]:
        """The unified symbols with open margin orders or order lists (costly: see ``discovery_weight``)."""
        plan = self.drive(self.plan_flow(None, params))
        return [self.exchange.safe_symbol(market_id, None, None, "spot") for market_id in plan.market_ids]

    def drive(self, flow: Flow[T]) -> T:
        """Run a flow to its end, performing each step it yields and sending back the result or error."""
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                value = self.perform(step)
            except BaseException as raised:  # thrown back into the flow, which unwinds or handles it
                error = raised

    def perform(self, step: Step) -> Any:
        match step:
            case Papi():
                return self.request(step)
            case Send(endpoint, params):
                return transport.send(self.exchange, endpoint, params)
            case Sleep(seconds):
                return time.sleep(seconds)
            case ResyncClock():
                return self.exchange.load_time_difference()
            case LoadMarkets():
                return self.exchange.load_markets()

    def request(self, request: Papi) -> Any:
        call = self.start_call(request)
        try:
            return Retrying(**call.retrying_kwargs())(self.attempt, call, request.params)
        except Failure as failure:
            raise self.failed(call, failure) from None

    def attempt(self, call: Call, params: dict[str, Any]) -> Any:
        return self.drive(self.attempt_flow(call, params))


class AsyncCanceller(Canceller):
    async def cancel_all_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """Cancel every open cross-margin order (order lists included) on ``symbol``.

        The async twin of ``SyncCanceller.cancel_all_margin_orders``: same params, same results,
        same errors; waits with ``asyncio.sleep`` so other tasks run meanwhile.
        """
        return await self.drive(self.cancel_flow(symbol, params))

    async def cancel_all_margin_orders_many(self, symbols: Any = None, params: Any = None) -> dict[str, list[Order]]:
        """The async twin of ``SyncCanceller.cancel_all_margin_orders_many``: the symbols run concurrently,
        within the papi weight budget shared by every task on this exchange object."""
        plan = await self.drive(self.plan_flow(symbols, params))
        return many_outcome(list(await asyncio.gather(*(self.settle(plan, i) for i in plan.market_ids))))

    async def settle(self, plan: Plan, market_id: str) -> Outcome:
        symbol = self.exchange.safe_symbol(market_id, None, None, "spot")
        try:
            return symbol, await self.drive(self.symbol_flow(plan, market_id))
        except ccxt.BaseError as error:
            return symbol, error

    async def open_margin_orders(self, symbol: Any = None, params: Any = None) -> list[Order]:
        """The open cross-margin orders on ``symbol`` (what a cancel-all would cancel), unified."""
        return await self.drive(self.open_orders_flow(symbol, params))

    async def symbols_with_open_orders(self, params: Any = None) -> list[str]:
        """The unified symbols with open margin orders or order lists (costly: see ``discovery_weight``)."""
        plan = await self.drive(self.plan_flow(None, params))
        return [self.exchange.safe_symbol(market_id, None, None, "spot") for market_id in plan.market_ids]

    async def drive(self, flow: Flow[T]) -> T:
        """Run a flow to its end, performing each step it yields and sending back the result or error."""
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                value = await self.perform(step)
            except BaseException as raised:  # thrown back into the flow, which unwinds or handles it
                error = raised

    async def perform(self, step: Step) -> Any:
        match step:
            case Papi():
                return await self.request(step)
            case Send(endpoint, params):
                return await transport.send_async(self.exchange, endpoint, params)
            case Sleep(seconds):
                return await asyncio.sleep(seconds)
            case ResyncClock():
                return await self.exchange.load_time_difference()
            case LoadMarkets():
                return await self.exchange.load_markets()

    async def request(self, request: Papi) -> Any:
        call = self.start_call(request)
        try:
            return await AsyncRetrying(**call.retrying_kwargs())(self.attempt, call, request.params)
        except Failure as failure:
            raise self.failed(call, failure) from None

    async def attempt(self, call: Call, params: dict[str, Any]) -> Any:  # a coroutine function, as tenacity expects
        return await self.drive(self.attempt_flow(call, params))


__all__ = ["AsyncCanceller", "CancelManyFailed", "NotFlat", "SyncCanceller", "register_capabilities"]
