"""``call.workers``: the threads of the sync many-symbol calls, kept between calls, never queued behind."""

from __future__ import annotations

import contextvars
import threading

import pytest

from papi_plugin.call.workers import Workers

WAIT = 10.0  # a bound for what should take milliseconds, on a loaded machine


def test_every_item_is_worked_on_and_the_results_keep_the_items_order() -> None:
    assert Workers().each(list(range(50)), lambda n: n * n, at_most=8) == [n * n for n in range(50)]


def test_no_more_than_at_most_run_at_once() -> None:
    running, most, lock = 0, 0, threading.Lock()
    all_started = threading.Barrier(4, timeout=WAIT)

    def work(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        if n < 4:
            all_started.wait()  # the first four are in flight together
        with lock:
            running -= 1
        return n

    assert Workers().each(list(range(20)), work, at_most=4) == list(range(20))
    assert most == 4


def test_threads_are_kept_between_calls() -> None:
    workers = Workers()
    together = threading.Barrier(6, timeout=WAIT)  # each call needs six threads at once

    def work(n: int) -> int:
        together.wait()
        return n

    for _ in range(5):
        assert workers.each(list(range(6)), work, at_most=6) == list(range(6))
        assert workers.started == 6


def test_a_call_never_waits_behind_a_thread_stuck_in_an_earlier_one() -> None:
    workers = Workers()
    release = threading.Event()
    stuck = workers.submit(lambda: release.wait(WAIT))  # an earlier call's hung connection
    try:
        results: list[list[int]] = []
        finisher = threading.Thread(target=lambda: results.append(workers.each([1, 2, 3], lambda n: n, at_most=3)))
        finisher.start()
        finisher.join(WAIT)
        assert results == [[1, 2, 3]] and not stuck.done()
    finally:
        release.set()
    assert stuck.result(WAIT) is True


def test_every_item_is_tried_then_the_first_error_is_raised() -> None:
    tried: list[int] = []

    def work(n: int) -> int:
        tried.append(n)
        if n in (2, 5):
            raise ValueError(f"item {n}")
        return n

    with pytest.raises(ValueError, match="item 2"):
        Workers().each(list(range(10)), work, at_most=1)
    assert tried == list(range(10))  # one thread: it goes on past an error
    tried.clear()
    with pytest.raises(ValueError, match="item 2"):
        Workers().each(list(range(10)), work, at_most=10)
    assert sorted(tried) == list(range(10))


def test_each_piece_of_work_starts_in_a_fresh_context() -> None:
    seen = contextvars.ContextVar("seen", default="fresh")
    workers = Workers()

    def leave_something() -> str:
        before = seen.get()
        seen.set("left behind")
        return before

    assert workers.submit(leave_something).result(WAIT) == "fresh"
    assert workers.submit(leave_something).result(WAIT) == "fresh"  # the same thread, kept
    assert workers.started == 1


def test_an_idle_thread_ends() -> None:
    workers = Workers(idle_seconds=0.01)
    thread = workers.submit(threading.current_thread).result(WAIT)
    thread.join(WAIT)
    assert not thread.is_alive()
    assert workers.submit(lambda: 1).result(WAIT) == 1 and workers.started == 2  # a new one when needed
