"""The dead-man's switch, the bot's side: a countdown per account and name, pushed into the switch's store.

Portfolio Margin has no server-side countdown (``countdownCancelAll`` is for plain futures accounts), so the
bot arms one here and keeps pushing it from its main loop; ``papi-guard`` (``switch/guard.py``), another
process, flattens the whole account once ``timeout`` passes without a push. The store times the push on its
own clock; the account is named in the store by a fingerprint of its API key, never the key. A countdown
that could not be stored raises: the bot hears at once that it is not protected.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, NamedTuple

import ccxt

from papi_plugin.limits.stores import described, distrusted
from papi_plugin.protocol.calls import CANCEL_PORTFOLIO_AFTER as CALL
from papi_plugin.protocol.params import echo
from papi_plugin.switch import records
from papi_plugin.switch.base import AsyncSwitchStore, SwitchStore
from papi_plugin.switch.records import MAX_NAME, MAX_TIMEOUT_MS
from papi_plugin.switch.stores import Unusable, switch_store

log = logging.getLogger("papi_plugin")

DEFAULT_NAME = "default"


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


class Arming(NamedTuple):
    """One arming call, checked: the countdown's name, the account's fingerprint and the timeout (0 disarms)."""

    name: str
    account: str
    timeout_ms: int


def checked_arming(exchange: Any, timeout: Any, params: Any) -> Arming:
    """A ``cancel_all_portfolio_orders_after`` call, checked before anything is stored."""
    timeout_ms, name = countdown_arguments(timeout, params)
    exchange.check_required_credentials()
    return Arming(name, account_of(exchange.apiKey), timeout_ms)


def stores_of(url: str) -> tuple[SwitchStore, AsyncSwitchStore | None]:
    """The switch's store at ``url``; a store that cannot be used at all is a ccxt error, nothing armed."""
    try:
        return switch_store(url)
    except Unusable as error:
        problem = ccxt.ExchangeNotAvailable(f"binance {CALL}(): {error}: the countdown is not armed")
    raise problem  # outside the handler: nothing chained


def arm(store: SwitchStore, arming: Arming) -> dict[str, Any]:
    """Store ``arming`` (or disarm); what the arming call returns."""
    problem = None
    try:
        if arming.timeout_ms:
            armed_ms = store.arm(arming.account, arming.name, arming.timeout_ms)
        else:
            store.disarm(arming.account, arming.name)
            armed_ms = 0
        beats = store.beats(arming.account)
        firings = store.firings(arming.account)
    except Exception as error:
        problem = store_failed(store.where, error)
    if problem is not None:
        raise problem  # outside the handler: nothing chained
    return armed(store.where, arming, armed_ms, beats, firings)


async def arm_async(store: AsyncSwitchStore, arming: Arming) -> dict[str, Any]:
    """The async twin of ``arm``, for an asyncio store (Redis)."""
    problem = None
    try:
        if arming.timeout_ms:
            armed_ms = await store.arm(arming.account, arming.name, arming.timeout_ms)
        else:
            await store.disarm(arming.account, arming.name)
            armed_ms = 0
        beats = await store.beats(arming.account)
        firings = await store.firings(arming.account)
    except Exception as error:
        problem = store_failed(store.where, error)
    if problem is not None:
        raise problem  # outside the handler: nothing chained
    return armed(store.where, arming, armed_ms, beats, firings)


def armed(
    where: str, arming: Arming, armed_ms: int, beats: tuple[int, list[Any]], rows: list[Any]
) -> dict[str, Any]:
    """What the arming call returns; a WARNING when no guard would act on it."""
    now_ms, seen = beats
    guards, problems = records.alive(seen, now_ms)
    firings, more = records.firings(rows)
    distrusted(f"the switch's store {where}", problems + more)
    if arming.timeout_ms and not guards:
        log.warning(
            "papi_plugin: countdown %r armed, but no papi-guard of this account is alive: nothing will flatten it",
            arming.name,
        )
    last = firings.get(arming.name)
    return {
        "name": arming.name,
        "timeout": arming.timeout_ms,
        "armed": armed_ms,
        "deadline": armed_ms + arming.timeout_ms if arming.timeout_ms else 0,
        "guards": guards,
        "lastFiring": last[0] if last else None,
    }


def store_failed(where: str, error: BaseException) -> ccxt.BaseError:
    """A countdown that could not be stored is not armed: the caller must hear it."""
    return ccxt.ExchangeNotAvailable(
        f"binance {CALL}(): the switch's store {where} failed ({described(error)}): the countdown is not armed"
    )
