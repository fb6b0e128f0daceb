"""The ``memory`` store: this process only. Also every process's own copy of its limits, which it falls
back on when its shared store fails (``shared.py``).

Like every store it also keeps the dead-man's switch (``capabilities/countdown.py``, ``guard.py``): each account's
countdowns, the guards alive, the lease of the guard that fires, and the outcome of each firing.
"""

from __future__ import annotations

import threading

from papi_plugin.limits import state
from papi_plugin.limits.state import Admission, IpState


class Store:
    """Each IP's state in a dict, under one lock (threads and asyncio tasks; never held across a wait)."""

    def __init__(self, url: str = "memory") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._states: dict[str, IpState] = {}
        self._countdowns: dict[str, dict[str, tuple[int, int]]] = {}
        self._guards: dict[str, dict[str, int]] = {}
        self._leases: dict[str, tuple[str, int]] = {}
        self._firings: dict[str, dict[str, str]] = {}

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

    # -- the dead-man's switch (times in ms on Binance's clock)

    def arm(self, account: str, name: str, deadline_ms: int, now_ms: int) -> None:
        with self._lock:
            self._countdowns.setdefault(account, {})[name] = (deadline_ms, now_ms)

    def disarm(self, account: str, name: str, deadline_ms: int | None = None) -> None:
        """Drop the countdown ``name`` (only if its deadline is still ``deadline_ms``, when given)."""
        with self._lock:
            found = self._countdowns.get(account, {})
            if name in found and (deadline_ms is None or found[name][0] == deadline_ms):
                del found[name]

    def countdowns(self, account: str) -> list[tuple[str, int, int]]:
        """(name, deadline, armed at) of each armed countdown of ``account``."""
        with self._lock:
            return sorted((name, *times) for name, times in self._countdowns.get(account, {}).items())

    def beat(self, account: str, guard: str, now_ms: int) -> None:
        with self._lock:
            self._guards.setdefault(account, {})[guard] = now_ms

    def guards(self, account: str, now_ms: int, alive_ms: int) -> list[str]:
        with self._lock:
            return sorted(g for g, seen in self._guards.get(account, {}).items() if now_ms - seen < alive_ms)

    def take_lease(self, account: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        """The account's firing lease for ``holder``: taken if free or expired, renewed if its own."""
        with self._lock:
            current = self._leases.get(account)
            if current is not None and current[0] != holder and current[1] > now_ms:
                return False
            self._leases[account] = (holder, now_ms + ttl_ms)
            return True

    def drop_lease(self, account: str, holder: str) -> None:
        with self._lock:
            if self._leases.get(account, ("", 0))[0] == holder:
                del self._leases[account]

    def record(self, account: str, name: str, outcome: str) -> None:
        with self._lock:
            self._firings.setdefault(account, {})[name] = outcome

    def firings(self, account: str) -> dict[str, str]:
        with self._lock:
            return dict(self._firings.get(account, {}))

    def forget(self) -> None:
        with self._lock:
            self._states.clear()
            self._countdowns.clear()
            self._guards.clear()
            self._leases.clear()
            self._firings.clear()

    def close(self) -> None:
        return None
