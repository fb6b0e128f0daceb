"""The IP's request-weight limit and its bans, as Binance applies them: 429 with ``Retry-After``, then 418."""

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
        self._window_start = 0.0
        self._weight_used = 0
        self._violations = 0
        self._banned_until = 0.0
        self._order_window = 0.0
        self._orders = 0

    def charge(self, weight: int) -> tuple[int, ApiError | None]:
        """Count ``weight`` against this window's limit: (weight used, the error to answer with, if any)."""
        with self._lock:
            now = self.clock()
            if now < self._banned_until:
                return self._weight_used, self._ban_error(now)
            window = math.floor(now / self.window_seconds) * self.window_seconds
            if window != self._window_start:
                self._window_start, self._weight_used, self._violations = window, 0, 0
            if self._weight_used + weight > self.weight_limit:
                self._violations += 1
                if self._violations > self.ban_after:
                    self._banned_until = now + min(self.ban_seconds * 2**self.bans, LONGEST_BAN)
                    self.bans += 1
                    return self._weight_used, self._ban_error(now)
                retry_after = max(1, math.ceil(window + self.window_seconds - now))
                msg = message(-1003, limit=self.weight_limit)
                return self._weight_used, ApiError(429, -1003, msg, {"Retry-After": str(retry_after)})
            self._weight_used += weight
            return self._weight_used, None

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
        with self._lock:
            return self._weight_used
