"""The switch in this process's memory: only for ``memory`` (the demo, tests); no other process sees it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from papi_plugin.switch.base import SwitchStore
from papi_plugin.switch.records import KEPT_FIRINGS


class Store(SwitchStore):
    """Each account's records in dicts, under one lock; the clock is this process's."""

    def __init__(self, url: str = "memory", clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.where = "memory (this process only)"
        self.clock = clock
        self._lock = threading.Lock()
        self._countdowns: dict[str, dict[str, tuple[int, int]]] = {}
        self._guards: dict[str, dict[str, int]] = {}
        self._leases: dict[str, tuple[str, int]] = {}
        self._firings: dict[str, dict[tuple[str, str], str]] = {}

    def _now(self) -> int:
        return int(self.clock() * 1000)

    def arm(self, account: str, name: str, timeout_ms: int) -> int:
        with self._lock:
            now = self._now()
            self._countdowns.setdefault(account, {})[name] = (timeout_ms, now)
            return now

    def disarm(self, account: str, name: str, armed_ms: int | None = None) -> None:
        with self._lock:
            found = self._countdowns.get(account, {})
            if name in found and (armed_ms is None or found[name][1] == armed_ms):
                del found[name]

    def countdowns(self, account: str) -> tuple[int, list[tuple[Any, Any, Any]]]:
        with self._lock:
            return self._now(), [(name, *times) for name, times in self._countdowns.get(account, {}).items()]

    def beat(self, account: str, guard: str) -> None:
        with self._lock:
            self._guards.setdefault(account, {})[guard] = self._now()

    def beats(self, account: str) -> tuple[int, list[tuple[Any, Any]]]:
        with self._lock:
            return self._now(), list(self._guards.get(account, {}).items())

    def lease(self, account: str) -> tuple[int, tuple[Any, Any] | None]:
        with self._lock:
            now, found = self._now(), self._leases.get(account)
            return now, found if found is not None and found[1] > now else None

    def take_lease(self, account: str, holder: str, ttl_ms: int, replacing: str = "") -> bool:
        with self._lock:
            now, current = self._now(), self._leases.get(account)
            if current is not None and current[0] not in (holder, replacing or None) and current[1] > now:
                return False
            self._leases[account] = (holder, now + ttl_ms)
            return True

    def drop_lease(self, account: str, holder: str) -> None:
        with self._lock:
            if self._leases.get(account, ("", 0))[0] == holder:
                del self._leases[account]

    def record(self, account: str, name: str, firing: str, outcome: str) -> None:
        with self._lock:
            kept = self._firings.setdefault(account, {})
            kept[(name, firing)] = outcome
            for old in sorted(key for key in kept if key[0] == name)[:-KEPT_FIRINGS]:
                del kept[old]

    def firings(self, account: str) -> list[tuple[Any, Any, Any]]:
        with self._lock:
            return [(name, firing, text) for (name, firing), text in self._firings.get(account, {}).items()]

    def close(self) -> None:
        return None
