"""What each Binance answer means for a cancel-all, and when retrying it is safe and useful.

Classification goes by Binance's numeric ``code`` and the HTTP status, never by the ccxt class alone:
ccxt maps papi codes with its ``portfolioMargin`` table on ``https://papi.*`` and with its global table
on any other host (-1021 is ``BadRequest`` on one and ``InvalidNonce`` on the other), and it reports a
firewall block (403) or a region block (451) as ``ExchangeNotAvailable``, a ``NetworkError``.
Everything here is plain data and plain functions, shared by the sync and async shells.
"""

from __future__ import annotations

import email.utils
import enum
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ccxt

from papi_plugin.redaction import redact


class Action(enum.Enum):
    NOTHING_OPEN = "nothing open: return []"
    RETRY = "retry with exponential backoff and jitter"
    RATE_LIMITED = "wait Retry-After, then retry if it fits the budget"
    BANNED = "IP banned: raise at once, never retry"
    RESYNC_CLOCK = "re-sync the clock, then retry once"
    RAISE = "raise at once"


@dataclass(frozen=True)
class Rule:
    action: Action
    error: type[ccxt.BaseError] | None  # None keeps the class ccxt raised


# Binance error codes (Portfolio Margin "Error Codes" page).
BY_CODE: dict[int, Rule] = {
    -2011: Rule(Action.NOTHING_OPEN, None),  # "Unknown order sent.": nothing open on the symbol
    -1000: Rule(Action.RETRY, ccxt.ExchangeError),  # UNKNOWN
    -1001: Rule(Action.RETRY, ccxt.ExchangeNotAvailable),  # DISCONNECTED, "Please try again"
    -1006: Rule(Action.RETRY, ccxt.BadResponse),  # UNEXPECTED_RESP, execution status unknown
    -1007: Rule(Action.RETRY, ccxt.RequestTimeout),  # TIMEOUT, execution status unknown
    -1008: Rule(Action.RETRY, ccxt.ExchangeNotAvailable),  # system-level throttling, "Please try again"
    -1003: Rule(Action.RATE_LIMITED, ccxt.RateLimitExceeded),  # TOO_MANY_REQUESTS
    -1021: Rule(Action.RESYNC_CLOCK, ccxt.InvalidNonce),  # timestamp outside recvWindow
    -1022: Rule(Action.RAISE, ccxt.AuthenticationError),  # INVALID_SIGNATURE
    -2014: Rule(Action.RAISE, ccxt.AuthenticationError),  # BAD_API_KEY_FMT
    -2015: Rule(Action.RAISE, ccxt.AuthenticationError),  # REJECTED_MBX_KEY
    -1102: Rule(Action.RAISE, ccxt.BadRequest),  # MANDATORY_PARAM_EMPTY_OR_MALFORMED
    -1121: Rule(Action.RAISE, ccxt.BadSymbol),  # BAD_SYMBOL
    -1131: Rule(Action.RAISE, ccxt.BadRequest),  # BAD_RECV_WINDOW
}

# HTTP statuses that decide before the body does (418 and 429 carry -1003 in their body).
BY_STATUS_FIRST: dict[int, Rule] = {
    418: Rule(Action.BANNED, ccxt.DDoSProtection),
    429: Rule(Action.RATE_LIMITED, ccxt.RateLimitExceeded),
}

# HTTP statuses that decide when the body has no known code.
BY_STATUS: dict[int, Rule] = {
    401: Rule(Action.RAISE, ccxt.AuthenticationError),
    403: Rule(Action.RAISE, ccxt.DDoSProtection),  # web application firewall
    451: Rule(Action.RAISE, ccxt.PermissionDenied),  # region restricted
}

SERVER_ERROR = Rule(Action.RETRY, ccxt.ExchangeNotAvailable)  # 5xx: status unknown, cancel-all is idempotent
TRANSPORT_ERROR = Rule(Action.RETRY, None)  # no answer at all: connection refused, reset, timeout
UNREADABLE = Rule(Action.RAISE, ccxt.BadResponse)  # an answer that is neither JSON nor a known error


@dataclass(frozen=True)
class Answer:
    """What came back over HTTP for one attempt (``status`` None when nothing came back)."""

    status: int | None = None
    reason: str = ""
    headers: Mapping[str, str] | None = None
    body: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The decision for one failed attempt: what to do and which clean ccxt error stands for it."""

    action: Action
    error: ccxt.BaseError
    code: int | None = None
    status: int | None = None
    retry_after: float | None = None  # seconds, from Retry-After (or the ban's end for a 418)


def error_code(body: str | None) -> tuple[int | None, str | None]:
    """Binance's ``{"code": -1121, "msg": "Invalid symbol."}`` as (code, msg); (None, None) otherwise."""
    if not body:
        return None, None
    try:
        payload = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(payload, dict):
        return None, None
    code = payload.get("code")
    msg = payload.get("msg")
    if isinstance(code, bool) or not isinstance(code, (int, str)):
        return None, None
    try:
        number = int(code)
    except ValueError:
        return None, None
    return number, msg if isinstance(msg, str) else None


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


_BANNED_UNTIL = re.compile(r"banned until (\d{12,})")


def retry_after_seconds(answer: Answer, now: float | None = None) -> float | None:
    """Seconds to wait per ``Retry-After`` (seconds or an HTTP date), else per "IP banned until <ms>"."""
    now = time.time() if now is None else now
    value = header(answer.headers, "Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - now)
    match = _BANNED_UNTIL.search(answer.body or "")
    if match:
        return max(0.0, int(match.group(1)) / 1000 - now)
    return None


def _describe(answer: Answer, code: int | None, msg: str | None) -> str:
    parts = []
    if answer.status is not None:
        parts.append(f"HTTP {answer.status}" + (f" {answer.reason}" if answer.reason else ""))
    if code is not None:
        parts.append(f"code {code}" + (f": {msg}" if msg else ""))
    elif answer.body:
        excerpt = " ".join(answer.body.split())[:120]
        parts.append(f"body {excerpt!r}")
    return ", ".join(parts)


def classify(raised: ccxt.BaseError, answer: Answer, context: str, secrets: tuple[str, ...] = ()) -> Verdict:
    """Decide what a failed attempt means. ``context`` prefixes the message (exchange, call, symbol)."""
    code, msg = error_code(answer.body)
    status = answer.status
    if status is None:
        rule = TRANSPORT_ERROR if _is_transport_failure(raised) else Rule(Action.RAISE, None)
        detail = f"{type(raised).__name__}: {redact(str(raised), secrets)}"
    else:
        rule = (
            BY_STATUS_FIRST.get(status)
            or (BY_CODE.get(code) if code is not None else None)
            or BY_STATUS.get(status)
            or (SERVER_ERROR if status >= 500 else None)
            or (Rule(Action.RAISE, None) if code is not None else UNREADABLE)
        )
        detail = _describe(answer, code, msg)
    retry_after = retry_after_seconds(answer) if status is not None else None
    message = f"{context}: {detail}"
    if rule.action is Action.BANNED:
        until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + (retry_after or 0)))
        message += f"; IP banned until {until} (Retry-After {retry_after_text(retry_after)}); not retried"
    error_class = rule.error or type(raised)
    return Verdict(rule.action, error_class(redact(message, secrets)), code, status, retry_after)


def retry_after_text(seconds: float | None) -> str:
    return "unknown" if seconds is None else f"{seconds:g} s"


def _is_transport_failure(raised: ccxt.BaseError) -> bool:
    """True when no HTTP answer came back: refused, reset, timed out, or cut off mid-body."""
    if isinstance(raised, ccxt.NetworkError) and not isinstance(raised, ccxt.DDoSProtection):
        return True
    # A body cut short raises ExchangeError in ccxt (aiohttp's ClientPayloadError, requests'
    # ChunkedEncodingError without "Connection broken"): nothing was answered, so it is transport.
    cause = raised.__cause__
    return cause is not None and type(cause).__name__ in {
        "ClientPayloadError",
        "ChunkedEncodingError",
        "ContentDecodingError",
        "ServerDisconnectedError",
    }


# ---- budget -------------------------------------------------------------------------------------

BUDGET_KEYS = ("maxAttempts", "maxElapsed", "maxRetryAfter")
DEFAULT_BUDGET: dict[str, float] = {"maxAttempts": 5, "maxElapsed": 30, "maxRetryAfter": 10}


@dataclass(frozen=True)
class Budget:
    max_attempts: int
    max_elapsed: float  # seconds, first attempt to the start of the last
    max_retry_after: float  # the longest Retry-After worth waiting for, seconds


def budget_from(options: Mapping[str, Any], params: Mapping[str, Any]) -> Budget:
    """Defaults, overridden by ``exchange.options["cancelAllMarginOrders"]``, then by ``params``."""
    merged: dict[str, Any] = dict(DEFAULT_BUDGET)
    for source in (options, params):
        merged.update({key: source[key] for key in BUDGET_KEYS if key in source})
    attempts, elapsed, retry_after = (merged[key] for key in BUDGET_KEYS)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ccxt.BadRequest(f"papi_plugin maxAttempts must be an integer >= 1, got {attempts!r}")
    for name, value in (("maxElapsed", elapsed), ("maxRetryAfter", retry_after)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != value:
            raise ccxt.BadRequest(f"papi_plugin {name} must be a number of seconds >= 0, got {value!r}")
    return Budget(attempts, float(elapsed), float(retry_after))


# ---- retry decisions ----------------------------------------------------------------------------

BACKOFF_INITIAL = 0.25  # seconds before the first retry of a transient failure
RATE_LIMIT_WAIT = 1.0  # seconds at least, after a 429 that did not say how long (Binance's always do)
BACKOFF_MAX = 4.0
BACKOFF_JITTER = 0.25


def is_retryable(verdict: Verdict, budget: Budget, resyncs_done: int) -> bool:
    """Whether this failure is worth another attempt at all (the budget's stop is checked apart)."""
    if verdict.action is Action.RETRY:
        return True
    if verdict.action is Action.RATE_LIMITED:
        wait = verdict.retry_after if verdict.retry_after is not None else RATE_LIMIT_WAIT
        return wait <= budget.max_retry_after
    if verdict.action is Action.RESYNC_CLOCK:
        return resyncs_done <= 1
    return False


def rate_limit_exhausted(verdict: Verdict, attempts: int, elapsed: float) -> ccxt.BaseError:
    """The error for a 429 we will not wait for: it says how long to wait."""
    return ccxt.RateLimitExceeded(
        f"{verdict.error}; retry after {retry_after_text(verdict.retry_after)}"
        f" (gave up after {attempts} attempt(s) in {elapsed:.1f} s)"
    )


def exhausted(verdict: Verdict, attempts: int, elapsed: float) -> ccxt.BaseError:
    """The last error, once retrying stops, with how much of the budget was spent."""
    if verdict.action is Action.RATE_LIMITED:
        return rate_limit_exhausted(verdict, attempts, elapsed)
    if verdict.action in (Action.RETRY, Action.RESYNC_CLOCK) and attempts > 1:
        return type(verdict.error)(f"{verdict.error} (gave up after {attempts} attempts in {elapsed:.1f} s)")
    return verdict.error


class NotFlat(ccxt.OperationFailed):  # type: ignore[misc]
    """A verified cancel (``confirm``) that left orders open: names them, and carries what was canceled."""

    def __init__(
        self, symbol: str, rounds: int, open_orders: list[Any], open_lists: list[Any], canceled: list[dict[str, Any]]
    ) -> None:
        order_ids = [str(o.get("orderId")) for o in open_orders if isinstance(o, dict)]
        list_ids = [str(x.get("orderListId")) for x in open_lists if isinstance(x, dict)]
        super().__init__(
            f"{symbol} is not flat after {rounds} extra cancel round(s): open orders [{', '.join(order_ids)}],"
            f" open order lists [{', '.join(list_ids)}]; {len(canceled)} order(s) were canceled"
        )
        self.symbol = symbol
        self.remaining_orders = open_orders
        self.remaining_lists = open_lists
        self.canceled = canceled


class CancelManyFailed(ccxt.OperationFailed):  # type: ignore[misc]
    """Some symbols of a many-symbol cancel failed; the others were canceled and are carried here."""

    def __init__(self, errors: dict[str, ccxt.BaseError], canceled: dict[str, list[dict[str, Any]]]) -> None:
        failed = "; ".join(f"{symbol}: {type(error).__name__}: {error}" for symbol, error in errors.items())
        count = sum(len(orders) for orders in canceled.values())
        super().__init__(
            f"{len(errors)} of {len(errors) + len(canceled)} symbol(s) failed: {failed}."
            f" Canceled {count} order(s) on the {len(canceled)} other symbol(s)"
        )
        self.errors = errors
        self.canceled = canceled
