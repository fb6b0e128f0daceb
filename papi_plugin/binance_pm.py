"""The Binance Portfolio Margin adapter: the built-in plugin (entry point ``binance_portfolio_margin``).

It offers ccxt's ``binance`` objects, sync and async, the capabilities of one ``SyncAccount`` or
``AsyncAccount`` per exchange object (``capabilities/account.py``, built on the shells of ``call/shells.py``).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ccxt
import pluggy

from papi_plugin.hookspecs import hookimpl
from papi_plugin.protocol.calls import CAPABILITIES

if TYPE_CHECKING:
    from papi_plugin.capabilities.account import AsyncAccount, SyncAccount

ATTRIBUTE = "papi_plugin_canceller"  # where an exchange object keeps its canceller
_lock = threading.Lock()


def async_ccxt() -> Any:
    """``ccxt.async_support`` if the program imported it; never imported here (aiohttp and every exchange)."""
    return sys.modules.get("ccxt.async_support")


def is_binance(exchange: Any) -> bool:
    if isinstance(exchange, ccxt.binance):
        return True
    support = async_ccxt()
    return support is not None and isinstance(exchange, support.binance)


@hookimpl
def register_capabilities(exchange: Any, hook: pluggy.HookRelay) -> dict[str, Callable[..., Any]] | None:
    if not is_binance(exchange):
        return None
    canceller = attach_canceller(exchange, hook)
    return {name: getattr(canceller, name) for name in CAPABILITIES}


def attach_canceller(exchange: Any, hook: pluggy.HookRelay) -> SyncAccount | AsyncAccount:
    """The one canceller of this exchange object, made on first use."""
    # The capabilities, their flows and the retry machinery load with the first extend(), not with the import.
    from papi_plugin.capabilities.account import AsyncAccount, SyncAccount
    from papi_plugin.protocol.params import DEFAULT_BUDGET, OPTIONS_KEY
    from papi_plugin.wire.transport import keep_answers

    with _lock:
        existing = exchange.__dict__.get(ATTRIBUTE)
        if existing is not None:
            return existing  # type: ignore[no-any-return]
        support = async_ccxt()
        is_async = support is not None and isinstance(exchange, support.Exchange)
        canceller = AsyncAccount(exchange, hook) if is_async else SyncAccount(exchange, hook)
        setattr(exchange, ATTRIBUTE, canceller)
        canceller.protect_logs()  # from the first line: ccxt logs the key and signed URLs at DEBUG
        options = exchange.options.get(OPTIONS_KEY)
        exchange.options[OPTIONS_KEY] = {**DEFAULT_BUDGET, **(options if isinstance(options, dict) else {})}
        keep_answers(exchange)
        return canceller


def canceller_of(exchange: Any) -> SyncAccount | AsyncAccount:
    """The canceller ``papi_plugin.extend`` gave this exchange object (its time can be replaced in tests)."""
    canceller = exchange.__dict__.get(ATTRIBUTE)
    if canceller is None:
        raise ccxt.NotSupported(f"{type(exchange).__name__} was not extended by papi_plugin.extend()")
    return canceller  # type: ignore[no-any-return]
