"""The IP's request-weight limits and its bans, as Binance applies them: 429 with ``Retry-After``, then 418.

Binance counts each API's weight apart: the Portfolio Margin API (``/papi/``, 6,000 a minute) has its
own budget, and the spot (``/api/``), USD-M (``/fapi/``) and COIN-M (``/dapi/``) APIs theirs; a spot
exchange-info read never spends papi weight, and ``X-MBX-USED-WEIGHT-1M`` reports the answering API's.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from papi_plugin.simulator.api_error import ApiError, message

WEIGHT_LIMIT_1M = 6000  # Portfolio Margin IP limit, request weight per minute
BAN_AFTER_VIOLATIONS = 3  # requests sent while rate limited before the IP is banned
BAN_SECONDS = 120.0  # Binance's first ban lasts 2 minutes
LONGEST_BAN = 3 * 24 * 3600.0  # repeat offenders: bans grow up to 3 days
PAPI = "papi"
# The other APIs' request weight a minute per IP, as Binance documents them (spot, USD-M, COIN-M, SAPI).
OTHER_API_LIMITS = {"api": 6000, "fapi": 2400, "dapi": 2400, "sapi": 12000}


def api_of(path: str) -> str:
    """The API a path belongs to: ``/papi/v1/...`` is ``papi``, ``/api/v3/...`` is ``api``."""
    return path.lstrip("/").split("/", 1)[0]


class Window:
    """One API's weight in the current window, and the requests sent past its limit."""

    __slots__ = ("start", "used", "violations")

    def __init__(self) -> None:
        self.start, self.used, self.violations = -math.inf, 0, 0


class Limits:
    """The weight used in the current window, the 429s answered, and the ban (all under one lock)."""

    def __init__(
        self,
        weight_limit: int = WEIGHT_LIMIT_1M,
        window_seconds: float = 60.0,
        ban_after: int = BAN_AFTER_VIOLATIONS,
        ban_seconds: float = BAN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.weight_limit = weight_limit
        self.window_seconds = window_seconds
        self.ban_after = ban_after
        self.ban_seconds = ban_seconds
        self.clock = clock
        self.rate_limited_answers = 0  # how many 429 and 418 were answered
        self.bans = 0  # each ban is twice as long as the one before, up to LONGEST_BAN
        self._lock = threading.Lock()
        self._windows: dict[str, Window] = {}
        self._banned_until = 0.0
        self._order_window = 0.0
        self._orders = 0

    def charge(self, weight: int, api: str = PAPI) -> tuple[int, ApiError | None]:
        """Count ``weight`` against ``api``'s limit in this window: (its weight used, the error to answer with)."""
        with self._lock:
            now = self.clock()
            counted = self._windows.setdefault(api, Window())
            if now < self._banned_until:
                return counted.used, self._ban_error(now)
            window = math.floor(now / self.window_seconds) * self.window_seconds
            if window != counted.start:
                counted.start, counted.used, counted.violations = window, 0, 0
            limit = self.weight_limit if api == PAPI else OTHER_API_LIMITS.get(api, self.weight_limit)
            if counted.used + weight > limit:
                counted.violations += 1
                if counted.violations > self.ban_after:
                    self._banned_until = now + min(self.ban_seconds * 2**self.bans, LONGEST_BAN)
                    self.bans += 1
                    return counted.used, self._ban_error(now)
                retry_after = max(1, math.ceil(window + self.window_seconds - now))
                msg = message(-1003, limit=limit)
                return counted.used, ApiError(429, -1003, msg, {"Retry-After": str(retry_after)})
            counted.used += weight
            return counted.used, None

    def count_orders(self, placed: int) -> int:
        """Count orders placed now; how many this minute (Binance's X-MBX-ORDER-COUNT-1M)."""
        with self._lock:
            window = math.floor(self.clock() / 60) * 60
            if window != self._order_window:
                self._order_window, self._orders = window, 0
            self._orders += placed
            return self._orders

    def ban(self, seconds: float) -> ApiError:
        """Ban the IP now for ``seconds``; the 418 to answer with."""
        with self._lock:
            now = self.clock()
            self._banned_until = now + seconds
            return self._ban_error(now)

    def count_rate_limited(self) -> None:
        with self._lock:
            self.rate_limited_answers += 1

    def _ban_error(self, now: float) -> ApiError:
        until_ms = int(self._banned_until * 1000)
        return ApiError(
            418,
            -1003,
            f"Way too much request weight used; IP banned until {until_ms}. "
            "Please use WebSocket Streams for live updates to avoid bans.",
            {"Retry-After": str(max(1, math.ceil(self._banned_until - now)))},
        )

    @property
    def weight_used(self) -> int:
        """The papi weight used in the current window."""
        return self.weight_used_by(PAPI)

    def weight_used_by(self, api: str) -> int:
        with self._lock:
            counted = self._windows.get(api)
            if counted is None or math.floor(self.clock() / self.window_seconds) * self.window_seconds != counted.start:
                return 0
            return counted.used
