"""What each Binance answer means for a cancel-all: the error table, as data, and the one function reading it.

Classification goes by Binance's numeric ``code`` and the HTTP status, never by the ccxt class alone:
ccxt maps papi codes with its ``portfolioMargin`` table on ``https://papi.*`` and with its global table
on any other host (-1021 is ``BadRequest`` on one and ``InvalidNonce`` on the other), and it reports a
firewall block (403) or a region block (451) as ``ExchangeNotAvailable``, a ``NetworkError``.
"""

from __future__ import annotations

import enum
import json
import math
import re
import time
from collections.abc import Mapping
from typing import NamedTuple

import ccxt

from papi_plugin.redaction import redact


class Action(enum.Enum):
    NOTHING_OPEN = "nothing open: return []"
    RETRY = "retry with exponential backoff and jitter"
    RATE_LIMITED = "wait Retry-After, then retry if it fits the budget"
    BANNED = "IP banned: raise at once, never retry"
    RESYNC_CLOCK = "re-sync the clock, then retry once"
    RAISE = "raise at once"


class Rule(NamedTuple):
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

# ccxt raises ExchangeError for a body cut short (aiohttp's ClientPayloadError, requests'
# ChunkedEncodingError without "Connection broken") and for a status line that is not HTTP (aiohttp's
# ClientResponseError; requests gives a ConnectionError, a NetworkError): nothing usable came back.
NO_ANSWER_CAUSES = {
    "ClientPayloadError",
    "ClientResponseError",
    "ChunkedEncodingError",
    "ContentDecodingError",
    "ServerDisconnectedError",
}

RETRY_AFTER_FLOOR = 1.0  # seconds: a missing, zero, negative or past Retry-After never makes a hot loop
RETRY_AFTER_CEILING = 3 * 24 * 3600.0  # Binance's longest IP ban: an absurd Retry-After never closes for good


class Answer(NamedTuple):
    """What came back over HTTP for one attempt (``status`` None when nothing came back)."""

    status: int | None = None
    reason: str = ""
    headers: Mapping[str, str] | None = None
    body: str | None = None


class Verdict(NamedTuple):
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
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python's stack
        return None, None
    if not isinstance(payload, dict):
        return None, None
    code, msg = payload.get("code"), payload.get("msg")
    if isinstance(code, bool) or not isinstance(code, (int, str)):
        return None, None
    try:
        number = int(code)
    except ValueError:  # a gateway's {"code": "ERR_UPSTREAM"}: not Binance's
        return None, None
    return number, msg if isinstance(msg, str) else None


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


_BANNED_UNTIL = re.compile(r"banned until (\d{12,})")


def retry_after_seconds(answer: Answer, now: float, ban: bool = False) -> float | None:
    """Seconds to wait per ``Retry-After`` (seconds or an HTTP date) or per "IP banned until <ms>" in the body.

    A ban (418) is read from its message first: Binance states there when it ends, on its own clock (``now``
    is Binance's clock too). None when the answer says nothing; otherwise kept between ``RETRY_AFTER_FLOOR``
    and ``RETRY_AFTER_CEILING``.
    """
    from_body = banned_until(answer, now)
    seconds = from_body if ban else None
    value = (header(answer.headers, "Retry-After") or "").strip()
    if seconds is None and value:
        try:
            seconds = float(value)
        except ValueError:
            import email.utils  # here, not at the top: it alone would cost the plugin's import 7 ms

            try:
                seconds = email.utils.parsedate_to_datetime(value).timestamp() - now
            except (TypeError, ValueError, IndexError, OverflowError):
                seconds = None
    if seconds is None or math.isnan(seconds):
        seconds = from_body
        if seconds is None and value:
            seconds = RETRY_AFTER_FLOOR  # there but unreadable: wait the floor, never nothing
    if seconds is None:
        return None
    return min(max(seconds, RETRY_AFTER_FLOOR), RETRY_AFTER_CEILING)


def banned_until(answer: Answer, now: float) -> float | None:
    """Seconds until the ban a -1003 message states ("IP banned until 1659761931230"), if it states one."""
    match = _BANNED_UNTIL.search(answer.body or "")
    return int(match.group(1)) / 1000 - now if match else None


# Failures retried although Binance says it did not act: the request was refused before execution.
REFUSED_CODES = {-1001, -1008}  # "unable to process your request", "throttled": "Please try again"


def fate_unknown(verdict: Verdict) -> bool:
    """True when the failed attempt may have been executed: a timeout, a cut connection, a 5xx, -1006, -1007."""
    return verdict.action is Action.RETRY and verdict.code not in REFUSED_CODES


def retry_after_text(seconds: float | None) -> str:
    return "unknown" if seconds is None else f"{seconds:g} s"


def describe(answer: Answer, code: int | None, msg: str | None) -> str:
    parts = []
    if answer.status is not None:
        parts.append(f"HTTP {answer.status}" + (f" {answer.reason}" if answer.reason else ""))
    if code is not None:
        parts.append(f"code {code}" + (f": {msg}" if msg else ""))
    elif answer.body:
        excerpt = " ".join(answer.body[:400].split())[:120]
        parts.append(f"body {excerpt!r}")
    return ", ".join(parts)


def rule_for(status: int, code: int | None) -> Rule:
    """The table's rule for an HTTP answer: status first for 418/429, then the code, then the status."""
    return (
        BY_STATUS_FIRST.get(status)
        or (BY_CODE.get(code) if code is not None else None)
        or BY_STATUS.get(status)
        or (SERVER_ERROR if status >= 500 else None)
        or (Rule(Action.RAISE, None) if code is not None else UNREADABLE)
    )


def is_transport_failure(raised: ccxt.BaseError) -> bool:
    """True when no HTTP answer came back: refused, reset, timed out, or cut off mid-body."""
    if isinstance(raised, ccxt.NetworkError) and not isinstance(raised, ccxt.DDoSProtection):
        return True
    cause = raised.__cause__
    return cause is not None and type(cause).__name__ in NO_ANSWER_CAUSES


def classify(
    raised: ccxt.BaseError, answer: Answer, context: str, now: float | None = None, secrets: tuple[str, ...] = ()
) -> Verdict:
    """Decide what a failed attempt means. ``context`` prefixes the message (exchange, call, symbol)."""
    now = time.time() if now is None else now
    if answer.status is None:
        rule = TRANSPORT_ERROR if is_transport_failure(raised) else Rule(Action.RAISE, None)
        code, retry_after = None, None
        detail = f"{type(raised).__name__}: {redact(str(raised), secrets)}"
    else:
        code, msg = error_code(answer.body)
        rule = rule_for(answer.status, code)
        retry_after = retry_after_seconds(answer, now, ban=rule.action is Action.BANNED)
        detail = describe(answer, code, msg)
    message = f"{context}: {detail}"
    if rule.action is Action.BANNED:
        until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + (retry_after or 0)))
        message += f"; IP banned until {until} (Retry-After {retry_after_text(retry_after)}); not retried"
    error_class = rule.error or type(raised)
    return Verdict(rule.action, error_class(redact(message, secrets)), code, answer.status, retry_after)
