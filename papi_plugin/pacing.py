"""The Portfolio Margin request-weight budget of one IP.

ccxt paces every Binance call by its spot budget (``rateLimit`` 50 ms per weight unit: 1,200 weight a
minute), so a weight-5 papi call waits 250 ms. Portfolio Margin allows 6,000 weight a minute per IP.
The plugin's papi calls are paced here instead, by that limit, while everything else the exchange object
does keeps ccxt's throttle. Binance counts weight in fixed one-minute windows and reports the IP's use
in ``X-MBX-USED-WEIGHT-1M`` (which includes other programs on the same IP), so the budget counts its own
reservations, takes the larger of that and the server's figure, sends at once while a request fits what
is left of the minute, and waits for the next minute rather than send into a 429.
"""

from __future__ import annotations

import math
import threading

WEIGHT_LIMIT = 6000  # Portfolio Margin IP limit per minute
WINDOW_SECONDS = 60.0
ROLLOVER_GUARD = 0.25  # seconds past a window's end before counting on a fresh one (clocks differ a little)
USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"


class WeightBudget:
    """One per IP; shared by threads and asyncio tasks (the lock is never held across a wait).

    Time is given with each call (``now``, seconds on Binance's clock), so one budget serves callers
    with different clocks and a test steps it by hand.
    """

    def __init__(self, limit: int = WEIGHT_LIMIT, window: float = WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._window_start = -math.inf
        self._reserved = 0  # weight sent in the current window
        self._in_flight = 0  # weight sent and not answered yet: it may be counted in the next window
        self._reported = 0  # the IP's weight in the current window, per the latest answer

    def configure(self, limit: int, window: float) -> None:
        with self._lock:
            self.limit, self.window = limit, window

    def _roll(self, now: float) -> float:
        start = math.floor(now / self.window) * self.window
        if start > self._window_start:
            # Requests still on their way may reach Binance after the minute turns: count them in the new one.
            self._window_start, self._reserved, self._reported = start, self._in_flight, 0
        return self._window_start

    def reserve(self, weight: int, now: float) -> float:
        """Reserve ``weight`` at ``now`` and return 0, or return the seconds to wait before asking again."""
        with self._lock:
            start = self._roll(now)
            if weight > self.limit - max(self._reserved, self._reported):
                return start + self.window - now + ROLLOVER_GUARD
            self._reserved += weight
            self._in_flight += weight
            return 0.0

    def answered(self, weight: int) -> None:
        """A request reserved with ``reserve(weight)`` got its answer (or failed)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - weight)

    def observe(self, used_weight: int, at: float) -> None:
        """Take the server's ``X-MBX-USED-WEIGHT-1M`` from an answer received at ``at``."""
        with self._lock:
            start = math.floor(at / self.window) * self.window
            if start > self._window_start:  # the first word of a new window may come before any reservation
                self._roll(at)
            if start == self._window_start:
                self._reported = max(self._reported, used_weight)

    def used(self, now: float) -> int:
        with self._lock:
            self._roll(now)
            return max(self._reserved, self._reported)
