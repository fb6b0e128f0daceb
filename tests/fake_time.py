"""Injected time: a clock that moves only when someone sleeps, and a record of every wait asked for."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import papi_plugin
from papi_plugin.binance_pm import canceller_of
from papi_plugin.call.shells import AsyncCanceller


class FakeTime:
    """``clock()`` in seconds since the epoch; ``sleep`` and ``asleep`` record the wait and move the clock.

    Concurrent async sleepers move the clock to the latest of their wake-up times, as real ones would.
    """

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self.waits: list[float] = []
        self.while_asleep: Callable[[], Any] | None = None  # what the rest of the world does during a wait
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            self.now += max(0.0, seconds)
        self._meanwhile()

    def _meanwhile(self) -> Any:
        happening, self.while_asleep = self.while_asleep, None
        return happening() if happening is not None else None

    async def asleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            wake = self.now + max(0.0, seconds)
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would
        with self._lock:
            self.now = max(self.now, wake)
        happened = self._meanwhile()
        if asyncio.iscoroutine(happened):
            await happened

    def advance_to_window(self, window: float, past: float = 0.05) -> None:
        """Move to ``past`` seconds after the start of the next ``window``-second window."""
        with self._lock:
            self.now = (self.now // window + 1) * window + past


class UseFakeTime:
    """A papi_plugin plugin that gives every extended binance object this fake time."""

    def __init__(self, fake: FakeTime) -> None:
        self.fake = fake

    @papi_plugin.hookimpl(wrapper=True)
    def register_capabilities(self, exchange: Any) -> Any:
        offers = yield
        if exchange.__dict__.get("papi_plugin_canceller") is not None:
            canceller = canceller_of(exchange)
            canceller.clock = self.fake.clock
            is_async = isinstance(canceller, AsyncCanceller)
            canceller.sleep = self.fake.asleep if is_async else self.fake.sleep
        return offers
