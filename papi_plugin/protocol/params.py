"""Every input and option check, done before anything is sent: a clear ccxt error, never a bare one.

What a call sends is only what the endpoint takes (``symbol``, ``recvWindow``; ccxt adds ``timestamp``
and ``signature``). The call's own options (budget, ``confirm``) are read here and never sent; ccxt's
conventions for this kind of call are understood, not forwarded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import ccxt

from papi_plugin.limits.state import WEIGHT_LIMIT, WINDOW_SECONDS
from papi_plugin.limits.stores import checked_url
from papi_plugin.protocol import calls

OPTIONS_KEY = "cancelAllMarginOrders"  # exchange.options[OPTIONS_KEY]: the defaults of every call
MAX_RECV_WINDOW = 60000
MAX_SYMBOL_ECHO = 40  # characters of a bad symbol repeated in an error message
MAX_LIMITS_KEY = 200

BUDGET_KEYS = ("maxAttempts", "maxElapsed", "maxRetryAfter")
DEFAULT_BUDGET: dict[str, float] = {"maxAttempts": 5, "maxElapsed": 30, "maxRetryAfter": 10}
DEFAULT_CONFIRM_ROUNDS = 5
MAX_SECONDS = 3 * 24 * 3600.0  # maxElapsed and maxRetryAfter: Binance's longest IP ban, 3 days
MAX_COUNT = 1000  # maxAttempts and maxConfirmRounds
CALL_ONLY = (*BUDGET_KEYS, "confirm", "maxConfirmRounds", "conditional")  # read here, never sent
SENT = ("recvWindow",)  # what the caller may send, besides the symbol
SET_BY_CCXT = ("timestamp", "signature")
# ccxt's conventions that mean "this account's cross margin": accepted and not sent.
UNDERSTOOD = {"portfolioMargin": (True,), "marginMode": ("cross",)}


class Budget(NamedTuple):
    """A call's retry budget, from ``maxAttempts``, ``maxElapsed`` and ``maxRetryAfter``."""

    max_attempts: int  # per request
    max_elapsed: float  # seconds for the whole call: every request, wait and round of it
    max_retry_after: float  # the longest Retry-After worth waiting for, seconds


class CallOptions(NamedTuple):
    """A call's parameters, checked: its budget, its confirm rounds and what goes on the wire."""

    budget: Budget
    confirm_rounds: int | None  # None: no verification
    sent: dict[str, Any]  # sent with every request of the call (the symbol is added per request)
    conditional: bool = True  # futures: cancel the conditional orders too


def echo(value: Any) -> str:
    """A caller's value, cut to a sane length for an error message."""
    text = repr(value)
    return text if len(text) <= MAX_SYMBOL_ECHO else text[: MAX_SYMBOL_ECHO - 3] + "..."


def integer(name: str, value: Any, minimum: int, maximum: int | None = None, unit: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (maximum and value > maximum):
        allowed = f"in {minimum}..{maximum}" if maximum else f">= {minimum}"
        raise ccxt.BadRequest(f"papi_plugin {name} must be an integer {allowed}{unit}, got {echo(value)}")
    return value


def seconds(name: str, value: Any, positive: bool = False, maximum: float | None = None) -> float:
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    if not math.isfinite(number) or number < 0 or (positive and number == 0) or (maximum and number > maximum):
        allowed = f"{'> 0' if positive else '>= 0'}" + (f" and <= {maximum:g}" if maximum else "")
        raise ccxt.BadRequest(f"papi_plugin {name} must be a finite number of seconds {allowed}, got {echo(value)}")
    return float(number)


def symbol_argument(symbol: Any, call: str) -> str:
    if symbol is None or (isinstance(symbol, str) and not symbol.strip()):
        raise ccxt.ArgumentsRequired(f"binance {call}() requires a symbol argument")
    if not isinstance(symbol, str):
        raise ccxt.BadSymbol(f"binance {call}() symbol must be a string, got {echo(symbol)}")
    return symbol


def symbols_argument(symbols: Any, call: str) -> list[str] | None:
    """None (discover), or the given symbols; a bare string is refused, not split into letters."""
    if symbols is None:
        return None
    if isinstance(symbols, (str, bytes)) or not isinstance(symbols, (list, tuple, set, frozenset)):
        raise ccxt.BadRequest(f"binance {call}() symbols must be a list of symbols or None, got {echo(symbols)}")
    for symbol in symbols:
        if not isinstance(symbol, str) or not symbol.strip():
            raise ccxt.BadSymbol(f"binance {call}() got a bad symbol {echo(symbol)}")
    return list(symbols)


def exchange_options(options: Any) -> Mapping[str, Any]:
    """``exchange.options["cancelAllMarginOrders"]``, which must be a dict when set."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ccxt.BadRequest(f'papi_plugin exchange.options["{OPTIONS_KEY}"] must be a dict, got {echo(options)}')
    return options


def call_options(options: Any, params: Any, call: str) -> CallOptions:
    """Defaults, overridden by ``exchange.options["cancelAllMarginOrders"]``, then by ``params``."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ccxt.BadRequest(f"binance {call}() params must be a dict, got {echo(params)}")
    merged: dict[str, Any] = dict(DEFAULT_BUDGET)
    for source in (exchange_options(options), params):
        merged.update({key: source[key] for key in BUDGET_KEYS if key in source})
    budget = Budget(
        integer("maxAttempts", merged["maxAttempts"], 1, MAX_COUNT),
        seconds("maxElapsed", merged["maxElapsed"], maximum=MAX_SECONDS),
        seconds("maxRetryAfter", merged["maxRetryAfter"], maximum=MAX_SECONDS),
    )
    return CallOptions(budget, confirm_rounds(params), wire_params(params, call), conditional(params, call))


def conditional(params: Mapping[str, Any], call: str) -> bool:
    """Whether a futures cancel covers the conditional orders too (the default); only futures calls take it."""
    if "conditional" not in params:
        return True
    value = params["conditional"]
    if call not in calls.CONDITIONAL:
        raise ccxt.BadRequest(
            f"binance {call}() does not take the parameter 'conditional'; {calls.CONDITIONAL[0]}() does"
        )
    if not isinstance(value, bool):
        raise ccxt.BadRequest(f"papi_plugin conditional must be True or False, got {echo(value)}")
    return value


def confirm_rounds(params: Mapping[str, Any]) -> int | None:
    """None without ``confirm``; else how many extra cancel rounds a verified cancel may take."""
    confirm = params.get("confirm", False)
    if not isinstance(confirm, bool):
        raise ccxt.BadRequest(f"papi_plugin confirm must be True or False, got {echo(confirm)}")
    if not confirm:
        return None
    return integer("maxConfirmRounds", params.get("maxConfirmRounds", DEFAULT_CONFIRM_ROUNDS), 0, MAX_COUNT)


def wire_params(params: Mapping[str, Any], call: str) -> dict[str, Any]:
    """What the caller's params put on the wire: ``recvWindow`` only; anything Binance would refuse raises."""
    sent: dict[str, Any] = {}
    for key, value in params.items():
        if key in CALL_ONLY:
            continue
        if key in SET_BY_CCXT:
            raise ccxt.BadRequest(f"binance {call}() sets {key} itself; do not pass it")
        if key == "recvWindow":
            sent[key] = integer("recvWindow", value, 1, MAX_RECV_WINDOW, " (milliseconds)")
        elif key in UNDERSTOOD:
            if value not in UNDERSTOOD[key]:
                raise ccxt.BadRequest(
                    f"binance {call}() cancels Portfolio Margin cross-margin orders; {key}={echo(value)} is not that"
                )
        else:
            own = [key for key in CALL_ONLY if key != "conditional" or call in calls.CONDITIONAL]
            accepted = ", ".join((*SENT, *own, *UNDERSTOOD))
            raise ccxt.BadRequest(f"binance {call}() does not take the parameter {echo(key)}; it takes {accepted}")
    return sent


class LimitsOptions(NamedTuple):
    """How the IP's limits are kept: the papi weight a window, the window, the store and the IP's name in it."""

    weight_limit: int  # weightLimit
    window: float  # weightWindow, seconds
    store: str | None  # limitsStore: a store URL, None for $PAPI_PLUGIN_LIMITS_STORE or the default
    key: str | None  # limitsKey: the IP's name in the store, None for the papi origin


def limits_options(options: Any) -> LimitsOptions:
    """``weightLimit``, ``weightWindow``, ``limitsStore`` and ``limitsKey`` of ``exchange.options``, checked."""
    checked = exchange_options(options)
    limit = integer("weightLimit", checked.get("weightLimit", WEIGHT_LIMIT), 1)
    window = seconds("weightWindow", checked.get("weightWindow", WINDOW_SECONDS), positive=True)
    store = checked.get("limitsStore")
    if store is not None:
        checked_url(store, f'exchange.options["{OPTIONS_KEY}"]["limitsStore"]')
    key = checked.get("limitsKey")
    if key is not None and (not isinstance(key, str) or not key.strip() or len(key) > MAX_LIMITS_KEY):
        raise ccxt.BadRequest(
            f"papi_plugin limitsKey must be a non-empty string of at most {MAX_LIMITS_KEY} characters, got {echo(key)}"
        )
    return LimitsOptions(limit, window, store, key)
