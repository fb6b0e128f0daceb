"""Binance's clock as ccxt knows it: the local clock less ccxt's ``options["timeDifference"]`` (ms).

The one function the calls and ``papi-guard`` read Binance's time through (the IP's ban gate is on it); ccxt
sets the difference in ``load_time_difference()``, which the calls run on a -1021 and the guard at its start
and every hour.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def binance_now(exchange: Any, clock: Callable[[], float] = time.time) -> float:
    """Binance's time now, in seconds, per ``exchange``'s last sync."""
    difference = exchange.options.get("timeDifference") or 0
    return clock() - float(difference) / 1000
