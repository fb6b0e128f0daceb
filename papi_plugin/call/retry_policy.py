"""When retrying a failed papi request is safe and useful, and how long to wait: tenacity's primitives as data.

Shared by the sync and async shells: they pass these to ``Retrying`` and ``AsyncRetrying`` with their own
``sleep``. The budget of a call (attempts per request, one deadline for the whole call, the longest
``Retry-After`` worth waiting for) comes from ``params.call_options``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from tenacity import RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_exponential, wait_random

from papi_plugin.call.attempts import Deadline, Failure, Tries
from papi_plugin.protocol.answers import Action, Verdict
from papi_plugin.protocol.params import Budget

BACKOFF_INITIAL = 0.25  # seconds before the first retry of a transient failure
BACKOFF_MAX = 4.0
BACKOFF_JITTER = 0.25
RATE_LIMIT_WAIT = 1.0  # seconds at least, after a 429 that did not say how long (Binance's always do)
MAX_RESYNCS = 1  # -1021: re-sync the clock and retry once


class stop_at_deadline(stop_base):
    """Stop when the wait before the next attempt would not end inside the call's deadline."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.upcoming_sleep >= self.deadline.left()


_backoff = wait_exponential(multiplier=BACKOFF_INITIAL, max=BACKOFF_MAX) + wait_random(0, BACKOFF_JITTER)


def verdict_of(state: RetryCallState) -> Verdict:
    assert state.outcome is not None
    error = state.outcome.exception()
    assert isinstance(error, Failure)
    return error.verdict


def is_retryable(verdict: Verdict, budget: Budget, tries: Tries) -> bool:
    """Whether this failure is worth another attempt at all (the stops are checked apart)."""
    if verdict.action is Action.RETRY:
        return True
    if verdict.action is Action.RATE_LIMITED:
        return wait_after(verdict) <= budget.max_retry_after
    if verdict.action is Action.RESYNC_CLOCK:
        return tries.resyncs <= MAX_RESYNCS
    return False


def wait_after(verdict: Verdict, backoff: float = 0.0) -> float:
    """Seconds before the next attempt: none after a clock resync, ``Retry-After`` after a 429, else backoff."""
    if verdict.action is Action.RESYNC_CLOCK:
        return 0.0
    if verdict.action is Action.RATE_LIMITED:
        return verdict.retry_after if verdict.retry_after is not None else max(RATE_LIMIT_WAIT, backoff)
    return backoff


def wait(state: RetryCallState) -> float:
    return wait_after(verdict_of(state), float(_backoff(state)))


def retrying_kwargs(
    budget: Budget, deadline: Deadline, tries: Tries, before_sleep: Callable[[RetryCallState], None]
) -> dict[str, Any]:
    """The retry policy as data, for tenacity's ``Retrying`` and ``AsyncRetrying`` alike."""
    return {
        "stop": stop_after_attempt(budget.max_attempts) | stop_at_deadline(deadline),
        "wait": wait,
        "retry": retry_if_exception(lambda e: isinstance(e, Failure) and is_retryable(e.verdict, budget, tries)),
        "before_sleep": before_sleep,
        "reraise": True,
    }


def replaying(failure: Failure, attempt: Callable[..., Any]) -> Callable[..., Any]:
    """``attempt``, whose first call raises ``failure`` again: the first attempt goes out before any retry
    machinery is built, and tenacity takes over only after it failed, deciding exactly as if it had run it."""
    pending = [failure]
    if inspect.iscoroutinefunction(attempt):

        async def again_async(*args: Any) -> Any:
            if pending:
                raise pending.pop()
            return await attempt(*args)

        return again_async

    def again(*args: Any) -> Any:
        if pending:
            raise pending.pop()
        return attempt(*args)

    return again
