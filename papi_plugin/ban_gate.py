"""The ban gate: closed while an IP ban (418) or a 429's ``Retry-After`` runs, so nothing is sent into it.

Binance escalates IP bans from 2 minutes to 3 days for clients that keep sending: after a 418 nothing
goes out until the ban ends; after a 429 a sender waits out ``Retry-After`` when that fits its budget.
"""

from __future__ import annotations

import threading

import ccxt

from papi_plugin.error_table import Action, Verdict

DEFAULT_BAN_SECONDS = 120.0  # Binance's shortest IP ban, when a 418 does not say how long


class BanGate:
    """One per IP; shared by threads and asyncio tasks (its lock is never held across a wait)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.until = 0.0
        self.banned = False  # closed by a 418 (True) or by a 429 (False)

    def close_after(self, verdict: Verdict, now: float) -> None:
        """Close the gate for what a failed attempt's answer asks: a 418's ban, a 429's Retry-After."""
        if verdict.action is Action.BANNED:
            seconds = verdict.retry_after if verdict.retry_after is not None else DEFAULT_BAN_SECONDS
        elif verdict.action is Action.RATE_LIMITED and verdict.retry_after is not None:
            seconds = verdict.retry_after
        else:
            return
        with self._lock:
            still_banned = self.banned and self.until > now
            self.until = max(self.until, now + seconds)
            self.banned = still_banned or verdict.action is Action.BANNED

    def refuse_if_banned(self, now: float, context: str) -> None:
        """Raise while a 418 ban runs (before a call loads markets or sends anything at all)."""
        with self._lock:
            left, banned = self.until - now, self.banned
        if banned and left > 0:
            raise ccxt.DDoSProtection(f"{context}: not sent, the IP is banned (HTTP 418) for {left:.0f} more s")

    def wait_before_sending(self, now: float, max_wait: float, context: str) -> float:
        """Seconds to wait before sending (0 when open); raises when the gate must not be waited out.

        A ban is never waited out (the caller hears at once); a 429's pause is, when it is no longer
        than ``max_wait``.
        """
        with self._lock:
            left, banned = self.until - now, self.banned
        if left <= 0:
            return 0.0
        if banned:
            raise ccxt.DDoSProtection(f"{context}: not sent, the IP is banned (HTTP 418) for {left:.0f} more s")
        if left > max_wait:
            raise ccxt.RateLimitExceeded(f"{context}: not sent, rate limited (HTTP 429) for {left:.0f} more s")
        return left
