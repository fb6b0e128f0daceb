"""The threads of the sync many-symbol calls, kept between calls.

A thread takes about as long to start as a request to Binance takes CPU, so a fresh thread pool a call
(``ThreadPoolExecutor``) costs a flatten of 20 symbols a third of its time. These threads are kept instead,
with one rule a fixed pool cannot keep: work never waits behind a busy thread. It runs on an idle thread,
or on a new one when none is idle, so a call never queues behind threads still stuck in an earlier call
(a hung connection is what a kill switch is called into). A thread idle for ``IDLE_SECONDS`` ends. Each
piece of work runs in a fresh ``contextvars`` context, as on a new thread.
"""

from __future__ import annotations

import contextvars
import os
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

IDLE_SECONDS = 60.0


class Workers:
    """Threads that run work at once: an idle one, else a new one."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]]] = []
        self.started = 0  # threads started so far

    def submit(self, work: Callable[[], R]) -> Future[R]:
        """Run ``work`` now on a thread of its own; its future."""
        future: Future[R] = Future()
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
            if inbox is None:
                self.started += 1
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), name="papi-plugin-symbol", daemon=True).start()
        inbox.put((future, work))
        return future

    def _serve(self, inbox: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]]) -> None:
        while True:
            try:
                future, work = inbox.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if inbox in self._idle:  # still idle: end; else work was just handed to it
                        self._idle.remove(inbox)
                        return
                continue
            if not future.set_running_or_notify_cancel():
                continue
            result, error = None, None
            try:
                result = contextvars.Context().run(work)
            except BaseException as raised:  # handed to the caller, as ThreadPoolExecutor does
                error = raised
            with self._lock:  # idle again before the caller hears: its next call finds this thread
                self._idle.append(inbox)
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
            del future, work, result, error

    def each(self, items: Sequence[T], work: Callable[[T], R], at_most: int) -> list[R]:
        """``work`` on every item, at most ``at_most`` at once; results in the items' order. Every item is worked
        on, whatever another raised; then the first exception raised (in the items' order), if any, is raised."""
        results: list[Any] = [None] * len(items)
        errors: list[BaseException | None] = [None] * len(items)
        order = iter(range(len(items)))
        taking = threading.Lock()

        def drain() -> None:
            while True:
                with taking:
                    index = next(order, None)
                if index is None:
                    return
                try:
                    results[index] = work(items[index])
                except BaseException as error:  # the other items are still worked on
                    errors[index] = error

        for future in [self.submit(drain) for _ in range(min(at_most, len(items)))]:
            future.result()
        if raised := next((error for error in errors if error is not None), None):
            raise raised
        return results


WORKERS = Workers()


def _after_fork_in_child() -> None:
    """A forked child has none of its parent's threads."""
    global WORKERS
    WORKERS = Workers()


os.register_at_fork(after_in_child=_after_fork_in_child)
