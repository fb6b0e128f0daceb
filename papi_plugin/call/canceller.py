"""One call's decisions: the ``Canceller`` both shells (``shells.py``) are built on.

``Canceller`` holds one exchange object's state (time, observers, its IP's limits) and every decision the
sync and async shells share, as plain methods and functions without I/O: the checks, the waits, what a
failure means, what an answer tells the IP's limits and the flow, what is reported. A change of what a call
decides is made here; a change of how it sends, waits or runs symbols side by side, in ``shells.py``.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import ccxt
import pluggy

from papi_plugin.call.attempts import Deadline, Failure, Tries, exhausted
from papi_plugin.errors import Order, canceled_before
from papi_plugin.limits import IpLimits, limits_for, origin
from papi_plugin.limits.state import BANNED, BUDGET, DEFAULT_BAN_SECONDS, FIGURE_WAIT_SECONDS, Admission
from papi_plugin.limits.stores import configured
from papi_plugin.observers import tell
from papi_plugin.protocol import calls, endpoints, futures_flows, margin_flows
from papi_plugin.protocol.answers import Action, Answer, classify, fate_unknown, header
from papi_plugin.protocol.clock import binance_now
from papi_plugin.protocol.flow import Flow, LostAnswer, Request
from papi_plugin.protocol.futures_flows import Known
from papi_plugin.protocol.kinds import MARGIN, Kind
from papi_plugin.protocol.markets import margin_market, unified_symbol
from papi_plugin.protocol.params import OPTIONS_KEY, CallOptions, LimitsOptions, call_options, limits_options
from papi_plugin.protocol.reported import Reported, reported_for
from papi_plugin.redaction import protect_logger
from papi_plugin.wire.transport import USED_WEIGHT_HEADER

if TYPE_CHECKING:
    from tenacity import RetryCallState

log = logging.getLogger("papi_plugin")
# ccxt logs the key and signed URLs at DEBUG on its logger; requests' urllib3 logs signed URLs too.
URLLIB3_LOGGER = logging.getLogger("urllib3.connectionpool")

FIRST_ATTEMPT_SECONDS = 1.0  # the call's first attempt waits this long at least, whatever maxElapsed says


class Call(NamedTuple):
    """One capability call: its checked options, its one deadline and its IP's gate and budget."""

    name: str
    options: CallOptions
    deadline: Deadline
    limits: IpLimits  # the IP's gate and weight budget, shared through the limits store
    pacing: LimitsOptions  # the weight a window, and the window
    reported: Reported  # what calls through this papi origin reported canceled
    started_ms: int  # on Binance's clock: orders canceled since then may be recovered from history


def ip_limits_of(exchange: Any, pacing: LimitsOptions | None = None, papi: str | None = None) -> IpLimits:
    """The gate and budget of ``exchange``'s IP: ``limitsKey``, else its papi origin, in its limits store."""
    if pacing is None:
        pacing = limits_options(exchange.options.get(OPTIONS_KEY))
    return limits_for(configured(pacing.store), pacing.key or papi or origin(str(exchange.urls["api"]["papi"])))


class Canceller:
    """One exchange object's canceller: its time, its observers, and every decision both shells share."""

    def __init__(self, exchange: Any, hook: pluggy.HookRelay, clock: Callable[[], float] = time.time) -> None:
        self.exchange = exchange
        self.hook = hook
        self.clock = clock  # seconds; tests pass a fake one with a fake sleep
        self._checked: tuple[Any, CallOptions, LimitsOptions] | None = None  # the last options, checked
        self._protected: tuple[Any, Any] | None = None  # the key and secret the log filters know
        self._origins: dict[Any, str] = {}  # papi URL -> its origin, parsed once

    def server_clock(self) -> float:
        """Binance's clock as ccxt knows it (``protocol/clock.py``), in seconds."""
        return binance_now(self.exchange, self.clock)

    def begin(self, name: str, params: Any) -> Call:
        """Check everything that needs no request."""
        options, pacing = self.checked(name, params)
        papi = self.papi_origin()
        limits = self.ip_limits(pacing)
        self.exchange.check_required_credentials()
        if self._protected != (self.exchange.apiKey, self.exchange.secret):
            self.protect_logs()
        started_ms = int(self.server_clock() * 1000)
        deadline = Deadline(self.clock, options.budget.max_elapsed)
        return Call(name, options, deadline, limits, pacing, reported_for(papi), started_ms)

    def papi_origin(self) -> str:
        url = self.exchange.urls["api"]["papi"]
        return self._origins.get(url) or self._origins.setdefault(url, origin(str(url)))

    def ip_limits(self, pacing: LimitsOptions | None = None) -> IpLimits:
        """The gate and budget of this exchange's IP: ``limitsKey``, else its papi origin, in its store."""
        return ip_limits_of(self.exchange, pacing, self.papi_origin())

    def checked(self, name: str, params: Any) -> tuple[CallOptions, LimitsOptions]:
        """The call's options and the limits options, checked once for each change of them."""
        snapshot = (name, self.exchange.options.get(OPTIONS_KEY), params)
        last = self._checked
        with contextlib.suppress(Exception):  # an option that cannot be compared is simply checked again
            if last is not None and last[0] == snapshot:
                return last[1], last[2]
        options, pacing = call_options(snapshot[1], params, name), limits_options(snapshot[1])
        try:
            self._checked = (copy.deepcopy(snapshot), options, pacing)
        except Exception:
            self._checked = None
        return options, pacing

    def switch_url(self) -> str:
        """The URL of the dead-man's switch's store: the limits store's."""
        return configured(limits_options(self.exchange.options.get(OPTIONS_KEY)).store)

    def gate_first(self, call: Call) -> bool:
        """Whether the call must read the IP's gate before anything else: when markets are to be loaded, and for
        the calls of many requests, which are refused as a whole. A one-symbol call on loaded markets is
        refused by its first request's own check, one store read sooner."""
        return not self.exchange.markets or call.name not in calls.ONE_SYMBOL

    def refuse_if_banned(self, call: Call, gate: tuple[float, bool]) -> None:
        """Raise while a 418 ban runs: before a call loads markets, nothing at all is sent into it."""
        until, banned = gate
        if banned and until > (now := self.server_clock()):
            raise ccxt.DDoSProtection(
                f"{self.exchange.id} {call.name}: not sent, the IP is banned (HTTP 418) for {until - now:.0f} more s"
            )

    def protect_logs(self) -> None:
        """Teach the redacting log filters this exchange's key and secret."""
        self._protected = (self.exchange.apiKey, self.exchange.secret)
        for logger in (self.exchange.logger, URLLIB3_LOGGER):
            protect_logger(logger, self._protected)

    def context(self, call: Call, request: Request) -> str:
        endpoint = request.endpoint
        if endpoint == endpoints.CANCEL_ALL:
            what = call.name
        elif endpoint in endpoints.CANCEL_ALLS:  # a futures call cancels through two endpoints: say which
            what = f"{call.name} {endpoint.method} {endpoint.path}"
        else:
            what = f"{endpoint.method} {endpoint.path}"
        return f"{self.exchange.id} {what} {request.label}"

    def begin_attempt(self, call: Call, request: Request, tries: Tries) -> None:
        """Count an attempt; once the call's deadline has passed, none starts (but the call's very first)."""
        tries.attempts += 1
        if not call.deadline.start_attempt():
            spent = f"the call's maxElapsed of {call.deadline.seconds:g} s is spent"
            raise ccxt.RequestTimeout(f"{self.context(call, request)}: not sent, {spent}")

    def time_left(self, call: Call) -> float:
        """How long an attempt may wait for its answer: what is left of the call (the first gets at least 1 s)."""
        left = call.deadline.left()
        return left if call.deadline.attempts > 1 else max(left, FIRST_ATTEMPT_SECONDS)

    def admission_wait(self, call: Call, request: Request, admission: Admission, looks: int = 0) -> float:
        """How long to wait before asking the IP's limits again; raises when the wait must not be taken.

        A ban is never waited out (the caller hears at once); a 429's pause is, when it is no longer than
        ``maxRetryAfter`` and ends inside the call; the budget's next window is, when it starts inside the call.
        A wait for the answers in flight (``FIGURE_WAIT_SECONDS``) doubles with each look (``looks``), up to
        16 times: many requests waiting together must not keep the store busy.
        """
        left = call.deadline.left()
        if admission.reason == BUDGET and admission.wait == FIGURE_WAIT_SECONDS:
            admission = admission._replace(wait=admission.wait * 2 ** min(looks, 2))
        if admission.reason == BANNED:
            raise ccxt.DDoSProtection(
                f"{self.context(call, request)}: not sent, the IP is banned (HTTP 418) for {admission.wait:.0f} more s"
            )
        if admission.reason == BUDGET:
            if admission.wait >= left:
                raise ccxt.RateLimitExceeded(
                    f"{self.context(call, request)}: not sent, the papi weight budget of this minute is spent"
                    f" for {admission.wait:.1f} more s, past the call's maxElapsed"
                )
            return admission.wait
        if admission.wait > min(call.options.budget.max_retry_after, left):
            raise ccxt.RateLimitExceeded(
                f"{self.context(call, request)}: not sent, rate limited (HTTP 429) for {admission.wait:.0f} more s"
            )
        return admission.wait

    def failure(
        self, call: Call, request: Request, tries: Tries, kept: list[Answer], raised: ccxt.BaseError
    ) -> Failure:
        """Classify a failed attempt and record what it means for the next ones (a clock resync)."""
        secrets = tuple(s for s in (self.exchange.apiKey, self.exchange.secret) if isinstance(s, str))
        now = self.server_clock()
        verdict = classify(raised, kept[-1] if kept else Answer(), self.context(call, request), now, secrets)
        if verdict.action is Action.RESYNC_CLOCK:
            tries.resyncs += 1
            tries.resync_due = True
        tries.fate_unknown = tries.fate_unknown or fate_unknown(verdict)
        return Failure(verdict)

    def before_sleep(self, call: Call, request: Request) -> Callable[[RetryCallState], None]:
        def before_the_wait(state: RetryCallState) -> None:
            from papi_plugin.call.retry_policy import verdict_of  # loaded with tenacity, after a first failure

            verdict, delay = verdict_of(state), state.upcoming_sleep
            log.warning(
                "attempt %d of %d failed, retrying in %.2f s: %s: %s",
                state.attempt_number,
                call.options.budget.max_attempts,
                delay,
                type(verdict.error).__name__,
                verdict.error,
            )
            tell(
                self.hook.before_retry,
                exchange=self.exchange,
                symbol=request.label,
                attempt=state.attempt_number,
                error=verdict.error,
                delay=delay,
            )

        return before_the_wait

    def weight_of(self, request: Request) -> int:
        """The weight an attempt reserves: none when ccxt's ``enableRateLimit`` is off (no pacing then)."""
        return request.weight if self.exchange.enableRateLimit else 0

    def settled(self, request: Request, tries: Tries, response: Any, failure: Failure | None) -> Any:
        """What an attempt gives its flow: its answer, nothing open for a cancel-all that found nothing, or
        its failure raised (for tenacity to judge)."""
        if failure is None:
            return flow_answer(request, tries, response)
        if nothing_open(request, failure):
            return flow_answer(request, tries, [])
        raise failure

    def gave_up(self, call: Call, tries: Tries, failure: Failure) -> ccxt.BaseError:
        return exhausted(failure.verdict, tries.attempts, call.deadline.elapsed())

    def cancel_flow(
        self, market: dict[str, Any], call: Call, kind: Kind = MARGIN, known: Known | None = None
    ) -> Flow[list[Order]]:
        """The flow that cancels every open order of ``kind`` on ``market`` (``known``: futures orders a
        discovery has just read)."""
        reported = call.reported
        if kind is MARGIN:
            return margin_flows.cancel(self.exchange, market, call.options, call.started_ms, reported)
        return futures_flows.cancel_futures(self.exchange, market, kind, call.options, call.started_ms, known, reported)

    def announce(self, call: Call, kind: Kind, market: dict[str, Any], orders: list[Order]) -> list[Order]:
        """Remember what was canceled (``protocol/reported.py``) and tell the observers of ``kind``."""
        call.reported.remember(kind, market["id"], orders)
        hook = self.hook.margin_orders_canceled if kind is MARGIN else self.hook.futures_orders_canceled
        tell(hook, exchange=self.exchange, symbol=market["symbol"], orders=orders)
        return orders

    def announce_failed(self, call: Call, kind: Kind, market: dict[str, Any], error: BaseException) -> None:
        """A failed call still tells the observers what it had canceled before it failed, if anything."""
        if canceled := canceled_before(error):
            self.announce(call, kind, market, canceled)

    def symbol_of(self, symbol: str) -> str:
        try:
            return str(margin_market(self.exchange, symbol)["symbol"])
        except ccxt.BaseError:
            return unified_symbol(self.exchange, symbol)


def gate_after(failure: Failure | None, now: float) -> tuple[float, bool] | None:
    """(until, banned): how a failed attempt's answer closes the IP's gate, if it does (a 418, a 429)."""
    if failure is None:
        return None
    verdict = failure.verdict
    if verdict.action is Action.BANNED:
        seconds = verdict.retry_after if verdict.retry_after is not None else DEFAULT_BAN_SECONDS
        return now + seconds, True
    if verdict.action is Action.RATE_LIMITED and verdict.retry_after is not None:
        return now + verdict.retry_after, False
    return None


def used_weight(kept: list[Answer]) -> int | None:
    """The IP's weight this window per the answers' ``X-MBX-USED-WEIGHT-1M`` (the highest), if any said."""
    found = None
    for answer in kept:
        value = header(answer.headers, USED_WEIGHT_HEADER)
        if value and value.isdigit():
            found = max(found or 0, int(value))
    return found


def flow_answer(request: Request, tries: Tries, response: Any) -> Any:
    """A request's answer for its flow. A cancel that finds nothing open right after an attempt of unknown
    fate has most likely lost what that attempt canceled: it says so (``LostAnswer``) so that the flow can
    recover it from the history. (Had the retry found orders, the lost attempt most likely did nothing.)"""
    if tries.fate_unknown and request.endpoint == endpoints.CANCEL_ALL and response == []:
        return LostAnswer([])
    return response


def nothing_open(request: Request, failure: Failure) -> bool:
    """A cancel-all that failed with -2011 ("Unknown order sent."): nothing was open, which is success."""
    return failure.verdict.action is Action.NOTHING_OPEN and request.endpoint in endpoints.CANCEL_ALLS
