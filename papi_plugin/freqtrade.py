"""freqtrade: the ccxt binance a strategy trades through, extended by papi_plugin.

freqtrade has no supported way to reach that ccxt object (its ``Exchange`` keeps it private, as ``_api``)
and no exchange-plugin path. ``exchange_of`` is that way, in one place, and tested against a real
freqtrade (the ``freqtrade`` extra): a freqtrade release that moves it fails this package's tests rather
than a bot's kill switch. freqtrade is never imported here.
"""

from __future__ import annotations

from typing import Any

import ccxt

from papi_plugin.plugins import extend

LIVE_MODES = ("live", "dry_run")  # freqtrade's RunMode values of a trading bot


def exchange_of(strategy: Any) -> Any:
    """The sync ccxt binance behind a freqtrade strategy, extended (``papi_plugin.extend``).

    Call it from ``bot_start`` or later: freqtrade hands the strategy its data provider (``strategy.dp``)
    before ``bot_start``. Raises ``ccxt.NotSupported`` outside live and dry-run trading (backtesting and
    hyperopt have no account to flatten) or when freqtrade keeps its exchange elsewhere, and what
    ``extend`` raises for an exchange that is not binance.
    """
    provider = getattr(strategy, "dp", None)
    mode = getattr(getattr(provider, "runmode", None), "value", None)
    api = getattr(getattr(provider, "_exchange", None), "_api", None)
    if mode not in LIVE_MODES or not isinstance(api, ccxt.Exchange):
        raise ccxt.NotSupported(
            "papi_plugin.freqtrade.exchange_of: this strategy has no live freqtrade exchange to extend"
            f" (run mode {mode or 'unknown'}; call it from bot_start or later, in live or dry-run trading)"
        )
    return extend(api)
