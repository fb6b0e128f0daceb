"""Hook specifications: what a papi_plugin plugin can offer and observe.

The markers live here, beside the specs they mark (as in pluggy's eggsample). Each function is only a
signature and the contract a plugin must keep.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

PROJECT = "papi_plugin"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_capabilities(exchange: Any, hook: pluggy.HookRelay) -> dict[str, Callable[..., Any]] | None:
    """Offer the capabilities this plugin adds to ``exchange``.

    Return a dict from snake_case capability name (``"cancel_all_margin_orders"``) to a callable
    already bound to ``exchange`` (a coroutine function when ``exchange`` is an async ccxt object),
    or ``None`` when the plugin has nothing for this exchange. ``papi_plugin.extend`` attaches every
    offered capability under its snake_case name and its camelCase alias and sets
    ``exchange.has[camelCaseName] = True``. ``hook`` is the manager's hook relay, through which a
    capability tells the observers below what happened; a plugin may leave it out of its signature.
    Called once per ``extend``; must not send a request.
    """


@hookspec
def margin_orders_canceled(exchange: Any, symbol: str, orders: list[dict[str, Any]]) -> None:
    """Observe a successful cancel-all.

    Called after every successful ``cancel_all_margin_orders`` (and for each margin symbol of the
    many-symbol and whole-account calls) with the unified ``symbol`` and the
    ccxt unified orders it canceled (possibly ``[]``), so a framework can update its order state.
    The orders are the ones returned to the caller: treat them as read-only. Also called, before the
    error is raised, with what a failed call had canceled. An exception raised here is logged at WARNING
    with the plugin's name and ignored: an observer never aborts a cancel or loses its result.
    """


@hookspec
def futures_orders_canceled(exchange: Any, symbol: str, orders: list[dict[str, Any]]) -> None:
    """Observe a successful USD-M or COIN-M cancel (``cancel_all_um_orders``, ``cancel_all_cm_orders``, or
    a futures symbol of ``cancel_all_portfolio_orders``).

    ``symbol`` is the unified futures symbol (``BTC/USDT:USDT``, ``BTC/USD:BTC``); ``orders`` are the ccxt
    unified orders the call canceled, a conditional one with ``order["conditional"] = True``. Called as
    ``margin_orders_canceled`` is: also with what a failed call had canceled; an exception is logged and ignored.
    """


@hookspec
def before_retry(exchange: Any, symbol: str, attempt: int, error: Exception, delay: float) -> None:
    """Observe a retry before it sleeps.

    ``attempt`` is the 1-based number of the attempt that just failed, ``error`` the ccxt error it
    failed with (its message holds no key or signature) and ``delay`` the seconds about to be slept
    before the next attempt. Called in the thread or task that runs the request (a sync many-symbol call
    runs its symbols on a few threads); must not block for long. An
    exception raised here is logged at WARNING with the plugin's name and ignored.
    """
