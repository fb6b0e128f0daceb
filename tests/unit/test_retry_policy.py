"""The retry policy as tenacity objects, stepped by hand: retry states made up, no I/O, no clock."""

from __future__ import annotations

import ccxt
import pytest
from tenacity import RetryCallState, Retrying

from papi_plugin.call.attempts import Deadline, Failure, Tries, exhausted
from papi_plugin.call.retry_policy import (
    BACKOFF_INITIAL,
    BACKOFF_JITTER,
    MAX_RESYNCS,
    RATE_LIMIT_WAIT,
    is_retryable,
    retrying_kwargs,
    stop_at_deadline,
    wait,
    wait_after,
)
from papi_plugin.protocol.answers import Action, Verdict
from papi_plugin.protocol.params import Budget

BUDGET = Budget(max_attempts=5, max_elapsed=30.0, max_retry_after=10.0)


def verdict(action: Action, retry_after: float | None = None, error: ccxt.BaseError | None = None) -> Verdict:
    error = error or ccxt.ExchangeNotAvailable("binance cancel_all_margin_orders: HTTP 503")
    return Verdict(action, error, None, 503, retry_after)


def state_after(failure: Failure, attempt: int, upcoming_sleep: float = 0.0) -> RetryCallState:
    """A retry state as tenacity holds it after ``attempt`` attempts, the last one failing with ``failure``."""
    state = RetryCallState(Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((Failure, failure, None))
    state.upcoming_sleep = upcoming_sleep
    return state


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("action", "retry_after", "retryable"),
    [
        (Action.RETRY, None, True),
        (Action.RATE_LIMITED, 5, True),
        (Action.RATE_LIMITED, 11, False),  # longer than maxRetryAfter
        (Action.RESYNC_CLOCK, None, True),
        (Action.BANNED, 120, False),
        (Action.RAISE, None, False),
        (Action.NOTHING_OPEN, None, False),
    ],
)
def test_what_is_worth_another_attempt(action: Action, retry_after: float | None, retryable: bool) -> None:
    assert is_retryable(verdict(action, retry_after), BUDGET, Tries()) is retryable


def test_the_clock_is_resynced_once_then_no_more() -> None:
    tries = Tries()
    tries.resyncs = MAX_RESYNCS
    assert is_retryable(verdict(Action.RESYNC_CLOCK), BUDGET, tries)
    tries.resyncs += 1
    assert not is_retryable(verdict(Action.RESYNC_CLOCK), BUDGET, tries)


def test_the_wait_is_retry_after_a_second_at_least_nothing_after_a_resync_else_the_backoff() -> None:
    assert wait_after(verdict(Action.RATE_LIMITED, 3.5), backoff=0.25) == 3.5
    assert wait_after(verdict(Action.RATE_LIMITED, None), backoff=0.25) == RATE_LIMIT_WAIT
    assert wait_after(verdict(Action.RESYNC_CLOCK), backoff=2.0) == 0.0
    assert wait_after(verdict(Action.RETRY), backoff=0.75) == 0.75


def test_the_backoff_grows_from_a_quarter_second_with_jitter() -> None:
    failure = Failure(verdict(Action.RETRY))
    first, third = (wait(state_after(failure, attempt)) for attempt in (1, 3))
    assert BACKOFF_INITIAL <= first <= BACKOFF_INITIAL + BACKOFF_JITTER
    assert 4 * BACKOFF_INITIAL <= third <= 4 * BACKOFF_INITIAL + BACKOFF_JITTER


def test_no_wait_is_started_that_would_end_past_the_deadline() -> None:
    clock = Clock()
    deadline = Deadline(clock, 3.0)
    stop = stop_at_deadline(deadline)
    failure = Failure(verdict(Action.RATE_LIMITED, 2))
    assert not stop(state_after(failure, 1, upcoming_sleep=2.0))
    clock.now += 1.5
    assert stop(state_after(failure, 2, upcoming_sleep=2.0))


def test_the_deadline_lets_the_calls_first_attempt_go_and_no_attempt_after_it() -> None:
    clock = Clock()
    deadline = Deadline(clock, 0.0)
    assert deadline.start_attempt()  # the call's first always goes
    assert not deadline.start_attempt()
    clock.now += 1
    assert deadline.elapsed() == 1 and deadline.left() == -1


def test_the_policy_stops_after_max_attempts() -> None:
    clock = Clock()
    tries = Tries()
    budget = Budget(max_attempts=2, max_elapsed=30.0, max_retry_after=10.0)
    calls: list[int] = []

    def attempt() -> None:
        calls.append(1)
        raise Failure(verdict(Action.RETRY))

    policy = retrying_kwargs(budget, Deadline(clock, 30), tries, lambda state: None)
    retrying = Retrying(sleep=lambda seconds: None, **policy)
    with pytest.raises(Failure):
        retrying(attempt)
    assert len(calls) == 2


def test_a_given_up_429_says_how_long_to_wait_and_how_much_was_spent() -> None:
    error = exhausted(verdict(Action.RATE_LIMITED, 7, ccxt.RateLimitExceeded("HTTP 429")), 3, 2.0)
    assert isinstance(error, ccxt.RateLimitExceeded)
    assert "retry after 7 s" in str(error) and "gave up after 3 attempt(s) in 2.0 s" in str(error)


def test_a_given_up_transient_failure_keeps_its_class() -> None:
    error = exhausted(verdict(Action.RETRY), 5, 4.2)
    assert isinstance(error, ccxt.ExchangeNotAvailable) and "gave up after 5 attempts in 4.2 s" in str(error)
    once = verdict(Action.RAISE, error=ccxt.AuthenticationError("bad key"))
    assert exhausted(once, 1, 0.1) is once.error
