"""A call's attempts as plain data, without tenacity: its budget and deadline, a failed attempt, what one
request has been through, and what a caller sees once retrying stops.

The hot path needs only these; tenacity (``retry_policy.py``) loads when a first attempt fails.
"""

from __future__ import annotations

from collections.abc import Callable

import ccxt

from papi_plugin.protocol.answers import Action, Verdict, retry_after_text


class Deadline:
    """The end of one call's time budget, on the canceller's clock."""

    def __init__(self, clock: Callable[[], float], seconds: float) -> None:
        self.clock = clock
        self.seconds = seconds
        self.started = clock()
        self.at = self.started + seconds
        self.attempts = 0  # attempts started within the call

    def start_attempt(self) -> bool:
        """Count an attempt about to start; False past the deadline (but for the call's very first)."""
        if self.attempts and self.left() <= 0:
            return False
        self.attempts += 1
        return True

    def left(self) -> float:
        return self.at - self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.started


class Failure(Exception):
    """One failed attempt, classified (internal: callers only ever see ``verdict.error``)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(str(verdict.error))
        self.verdict = verdict


class Tries:
    """What one request has been through so far."""

    __slots__ = ("attempts", "fate_unknown", "resync_due", "resyncs")

    def __init__(self) -> None:
        self.attempts = 0
        self.resyncs = 0
        self.resync_due = False
        self.fate_unknown = False  # an attempt failed after the request may have been executed


def exhausted(verdict: Verdict, attempts: int, elapsed: float) -> ccxt.BaseError:
    """The error a caller sees once retrying stops, saying how much of the budget was spent."""
    if verdict.action is Action.RATE_LIMITED:
        return ccxt.RateLimitExceeded(
            f"{verdict.error}; retry after {retry_after_text(verdict.retry_after)}"
            f" (gave up after {attempts} attempt(s) in {elapsed:.1f} s)"
        )
    if verdict.action in (Action.RETRY, Action.RESYNC_CLOCK) and attempts > 1:
        return type(verdict.error)(f"{verdict.error} (gave up after {attempts} attempts in {elapsed:.1f} s)")
    return verdict.error
