"""The dead-man's switch, the bot's side: a countdown per account and name, kept in the limits store.

Portfolio Margin has no server-side countdown (``countdownCancelAll`` is for plain futures accounts), so
the bot arms one here and keeps pushing its deadline from its main loop; ``papi-guard`` (``guard.py``),
another process, flattens the whole account once a deadline passes. The account is named in the store by
a fingerprint of its API key, never the key.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, NamedTuple

import ccxt

from papi_plugin.limits.shared import described
from papi_plugin.protocol.calls import CANCEL_PORTFOLIO_AFTER as CALL
from papi_plugin.protocol.params import echo

log = logging.getLogger("papi_plugin")

DEFAULT_NAME = "default"
GUARD_ALIVE_MS = 3000  # a guard announces itself every second: one silent for 3 s is taken for dead
MAX_TIMEOUT_MS = 7 * 24 * 3600 * 1000
MAX_NAME = 64


def account_of(api_key: Any) -> str:
    """The account's name in the store: a fingerprint of its API key (the key itself is never stored)."""
    return hashlib.sha256(f"papi_plugin account {api_key}".encode()).hexdigest()[:20]


def countdown_arguments(timeout: Any, params: Any) -> tuple[int, str]:
    """(timeout in ms, the countdown's name), checked: a clear ccxt error before anything is stored."""
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 0 <= timeout <= MAX_TIMEOUT_MS:
        raise ccxt.BadRequest(
            f"binance {CALL}() timeout must be an integer of milliseconds in 0..{MAX_TIMEOUT_MS} (0 disarms),"
            f" got {echo(timeout)}"
        )
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ccxt.BadRequest(f"binance {CALL}() params must be a dict, got {echo(params)}")
    unknown = [key for key in params if key != "name"]
    if unknown:
        raise ccxt.BadRequest(f"binance {CALL}() does not take the parameter {echo(unknown[0])}; it takes name")
    name = params.get("name", DEFAULT_NAME)
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ccxt.BadRequest(f"binance {CALL}() name must be a non-empty string of at most {MAX_NAME} characters")
    return timeout, name


class Countdown(NamedTuple):
    """One arming call, checked: the countdown's name, the account's fingerprint, now and the deadline (ms on
    Binance's clock; deadline 0 disarms)."""

    name: str
    account: str
    now_ms: int
    deadline_ms: int


def checked_countdown(exchange: Any, timeout: Any, params: Any, now: float) -> Countdown:
    """A ``cancel_all_portfolio_orders_after`` call, checked, at ``now`` on Binance's clock (seconds)."""
    timeout_ms, name = countdown_arguments(timeout, params)
    exchange.check_required_credentials()
    now_ms = int(now * 1000)
    return Countdown(name, account_of(exchange.apiKey), now_ms, now_ms + timeout_ms if timeout_ms else 0)


def arm(store: Any, countdown: Countdown, where: str) -> dict[str, Any]:
    """Store ``countdown`` in a sync store (memory, SQLite, Redis); what the arming call returns."""
    problem = None
    try:
        if countdown.deadline_ms:
            store.arm(countdown.account, countdown.name, countdown.deadline_ms, countdown.now_ms)
        else:
            store.disarm(countdown.account, countdown.name)
        guards = store.guards(countdown.account, countdown.now_ms, GUARD_ALIVE_MS)
        firings = store.firings(countdown.account)
    except Exception as error:
        problem = store_failed(where, error)
    if problem is not None:
        raise problem  # outside the handler: nothing chained
    return armed(countdown.name, countdown.deadline_ms, guards, firings)


async def arm_async(store: Any, countdown: Countdown, where: str) -> dict[str, Any]:
    """The async twin of ``arm``, for an asyncio store (Redis)."""
    problem = None
    try:
        if countdown.deadline_ms:
            await store.arm(countdown.account, countdown.name, countdown.deadline_ms, countdown.now_ms)
        else:
            await store.disarm(countdown.account, countdown.name)
        guards = await store.guards(countdown.account, countdown.now_ms, GUARD_ALIVE_MS)
        firings = await store.firings(countdown.account)
    except Exception as error:
        problem = store_failed(where, error)
    if problem is not None:
        raise problem  # outside the handler: nothing chained
    return armed(countdown.name, countdown.deadline_ms, guards, firings)


def armed(name: str, deadline_ms: int, guards: list[str], firings: dict[str, str]) -> dict[str, Any]:
    """What the arming call returns; a WARNING when no guard would act on it."""
    if deadline_ms and not guards:
        log.warning(
            "papi_plugin: countdown %r armed, but no papi-guard of this account is alive: nothing will flatten it",
            name,
        )
    last = firings.get(name)
    return {"name": name, "deadline": deadline_ms, "guards": guards, "lastFiring": json.loads(last) if last else None}


def store_failed(store: str, error: BaseException) -> ccxt.BaseError:
    """A countdown that could not be stored is not armed: the caller must hear it."""
    return ccxt.ExchangeNotAvailable(
        f"binance {CALL}(): the limits store {store} failed ({described(error)}): the countdown is not armed"
    )
