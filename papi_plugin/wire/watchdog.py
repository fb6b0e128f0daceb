"""A deadline for a whole sync answer: requests' timeout is per read, so a server dripping its body one
byte at a time would hold a call for as long as it likes.

Until the headers are in, each read waits no longer than the time left (the session's adapters are
given that as their read timeout). Then a session response hook (requests calls it with the headers in,
before the body is read) hands the answer to one daemon thread, which stops it with urllib3's
``HTTPResponse.shutdown()`` if the body is still coming at the deadline: the blocked read ends at once and
the attempt fails like a cut connection.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import threading
import time
from typing import Any


class Watch:
    """One answer being waited for."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline  # time.monotonic()
        self.answer: Any = None  # urllib3's response, once its headers are in
        self.done = False
        self.cut = False


_watching: contextvars.ContextVar[Watch | None] = contextvars.ContextVar("papi_plugin_watch", default=None)


class Watchdog:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, seconds: float) -> tuple[Watch, contextvars.Token[Watch | None]]:
        """Start watching the answer the calling thread is about to wait for."""
        watch = Watch(time.monotonic() + seconds)
        with self._wake:
            heapq.heappush(self._heap, (watch.deadline, next(self._order), watch))
            if self._thread is None or not self._thread.is_alive():  # the first watch, or a thread that died
                self._thread = threading.Thread(target=self._run, name="papi-plugin-watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is watch:
                self._wake.notify()
        return watch, _watching.set(watch)

    def release(self, watch: Watch, token: contextvars.Token[Watch | None]) -> None:
        watch.done = True  # left in the heap until its time comes, without the answer it no longer guards
        watch.answer = None
        _watching.reset(token)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                _, _, watch = heapq.heappop(self._heap)
            answer = watch.answer  # read once: a release may drop it meanwhile
            if not watch.done and answer is not None:
                watch.cut = True
                with contextlib.suppress(Exception):  # urllib3 before 2.3 has no shutdown(); then reads time out
                    answer.shutdown()


WATCHDOG = Watchdog()


def note_answer(response: Any, *args: Any, **kwargs: Any) -> Any:
    """A requests response hook: the watched answer, for the watchdog to stop if need be."""
    watch = _watching.get()
    if watch is not None:
        watch.answer = getattr(response, "raw", None)
    return response


def timeout_left(send: Any) -> Any:
    """Wrap a requests adapter's ``send``: no single read of a watched answer waits past its deadline."""

    def send_within_deadline(request: Any, *args: Any, **kwargs: Any) -> Any:
        watch = _watching.get()
        if watch is not None:
            left = max(watch.deadline - time.monotonic(), 0.001)
            timeout = kwargs.get("timeout")
            connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
            kwargs["timeout"] = (min(connect or left, left), min(read or left, left))
        return send(request, *args, **kwargs)

    send_within_deadline.within_deadline = True  # type: ignore[attr-defined]
    return send_within_deadline


def watch_session(session: Any) -> None:
    """Teach a requests session (ccxt's sync ``exchange.session``) the deadlines, once."""
    hooks = getattr(session, "hooks", None)
    if isinstance(hooks, dict) and note_answer not in hooks.setdefault("response", []):
        hooks["response"].append(note_answer)
    for adapter in getattr(session, "adapters", {}).values():
        if not getattr(adapter.send, "within_deadline", False):
            adapter.send = timeout_left(adapter.send)
