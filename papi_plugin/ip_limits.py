"""What every exchange object talking to one papi origin shares: its IP's ban gate and weight budget, and
what its calls reported canceled (``reported.py``).

Binance bans and rate-limits an IP, not an object: freqtrade, for one, keeps a sync and an async ccxt
object for one account. Keyed by the papi origin (scheme, host, port), so two simulators on two ports
are two exchanges.
"""

from __future__ import annotations

import threading
import urllib.parse
from typing import Any

from papi_plugin.ban_gate import BanGate
from papi_plugin.pacing import WeightBudget
from papi_plugin.reported import Reported

DEFAULT_PORTS = {"http": 80, "https": 443}


class IpLimits:
    def __init__(self) -> None:
        self.gate = BanGate()
        self.weights = WeightBudget()
        self.reported = Reported()


_by_origin: dict[str, IpLimits] = {}
_by_url: dict[Any, IpLimits] = {}  # the same, by the exact papi URL: no parsing on every call
_lock = threading.Lock()


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL, with the scheme's default port spelled out."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def limits_for(exchange: Any) -> IpLimits:
    """The gate and budget of the IP behind ``exchange``'s papi URL (made on first use)."""
    url = exchange.urls["api"]["papi"]
    limits = _by_url.get(url)
    if limits is None:
        with _lock:
            limits = _by_origin.setdefault(origin(str(url)), IpLimits())
            _by_url[url] = limits
    return limits


def forget_all() -> None:
    """Forget every origin's gate and budget (a test's end, or a process that moved to another IP)."""
    with _lock:
        _by_origin.clear()
        _by_url.clear()
