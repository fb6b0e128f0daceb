"""The ``memory`` store: this process only. Also every process's own copy of its limits, which it falls
back on when its shared store fails (``shared.py``)."""

from __future__ import annotations

import threading

from papi_plugin.limits import state
from papi_plugin.limits.base import IpLimitsStore
from papi_plugin.limits.state import Admission, IpState


class Store(IpLimitsStore):
    """Each IP's state in a dict, under one lock (threads and asyncio tasks; never held across a wait)."""

    def __init__(self, url: str = "memory") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._states: dict[str, IpState] = {}

    def _state(self, key: str) -> IpState:
        found = self._states.get(key)
        if found is None:
            found = self._states[key] = IpState()
        return found

    def acquire(self, key: str, weight: int, limit: int, window: float, now: float) -> Admission:
        with self._lock:
            return state.acquire(self._state(key), weight, limit, window, now)

    def reserve(self, key: str, weight: int, window: float, now: float) -> None:
        """Count ``weight`` as sent now, whatever the budget says (the shared store admitted it)."""
        with self._lock:
            state.reserve(self._state(key), weight, window, now)

    def answered(self, key: str, ticket: int, weight: int, used: int | None, window: float, now: float) -> None:
        with self._lock:
            state.answered(self._state(key), ticket, weight, used, window, now)

    def close_gate(self, key: str, until: float, banned: bool, now: float) -> None:
        with self._lock:
            state.close_gate(self._state(key), until, banned, now)

    def gate(self, key: str) -> tuple[float, bool]:
        with self._lock:
            found = self._state(key)
            return found.gate_until, found.banned

    def snapshot(self, key: str) -> IpState:
        with self._lock:
            return IpState(*self._state(key).fields())

    def forget(self) -> None:
        with self._lock:
            self._states.clear()

    def close(self) -> None:
        return None
