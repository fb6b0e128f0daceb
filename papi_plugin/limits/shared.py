"""One IP's limits as this process sees them: the shared store when it answers, its own copy when not.

Every change goes to the process's own copy (``memory.Store``) and to the shared store. The shared
store's answer decides while it is usable; when it fails (unreachable, slow, locked, read-only, corrupt,
full, restarted) the call goes on with the process's own copy, which knows everything this process sent
and was told, and the store is tried again a second later. A store fault is logged at WARNING at most
once a minute per store, and never raised: a kill switch does not stop for its bookkeeping.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import queue
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from papi_plugin.limits import memory, stores
from papi_plugin.limits.state import BANNED, MAX_GATE_SECONDS, RATE_LIMITED, Admission
from papi_plugin.limits.stores import described

log = logging.getLogger("papi_plugin")

RETRY_STORE_SECONDS = 1.0  # after a failure, the store is left alone this long
FLUSH_SECONDS = 0.5  # at exit, what the writer thread still has to write is waited for this long
ANSWERS_FIRST_SECONDS = 2.0  # a reservation waits this long at most for this process's answers to be written
WARN_EVERY_SECONDS = 60.0
DEFAULT_PORTS = {"http": 80, "https": 443}

LOCAL = memory.Store()  # this process's own copy of every IP's limits


class SharedStore:
    """A store URL in this process: its clients (made on first use) and whether it is usable now."""

    def __init__(self, url: str, clock: Any = time.monotonic) -> None:
        self.url = url
        self.shown = stores.shown(url)
        self.clock = clock
        self.disabled = stores.scheme(url) == "memory"  # nothing shared: the process's own copy is all
        self._sync: Any = None
        self._async: Any = None
        self._async_made = False
        self._down_until = -math.inf
        self._warned_at = -math.inf
        self._queue: queue.SimpleQueue[Callable[[Any], object] | threading.Event | None] | None = None
        self.pending = 0  # answers handed to the writer thread and not written yet
        self._lock = threading.RLock()  # held while a client is made, which may give the store up

    def sync(self) -> Any:
        """The sync store, or None while it is not to be used."""
        if self.disabled or self.clock() < self._down_until:
            return None
        if self._sync is None:
            with self._lock:
                if self._sync is None and not self.disabled:
                    self._sync = self._open("Store")
        return self._sync

    def asynchronous(self) -> Any:
        """The asyncio store, or None: then the sync one serves async callers too (its calls take microseconds)."""
        if self.disabled or self.clock() < self._down_until:
            return None
        if not self._async_made:
            with self._lock:
                if not self._async_made:
                    self._async = self._open("AsyncStore")
                    self._async_made = True
        return self._async

    def _open(self, flavour: str) -> Any:
        try:
            return stores.open_store(self.url, flavour)
        except Exception as error:  # the extra is missing, or the URL cannot make a client
            self.give_up(error)
            return None

    def give_up(self, error: BaseException) -> None:
        """This process cannot use the store at all: it goes on with its own limits, and says so once."""
        with self._lock:
            if self.disabled:
                return
            self.disabled = True
        log.warning(
            "papi_plugin: limits store %s cannot be used (%s); this process keeps its IP limits to itself",
            self.shown,
            described(error),
        )

    def failed(self, error: BaseException) -> None:
        if isinstance(error, stores.Unusable):
            self.give_up(error)
            return
        now = self.clock()
        with self._lock:
            self._down_until = now + RETRY_STORE_SECONDS
            if now - self._warned_at < WARN_EVERY_SECONDS:
                return
            self._warned_at = now
        log.warning(
            "papi_plugin: limits store %s failed (%s); going on with this process's own IP limits"
            " (tried again in %.0f s; this warning at most once a minute)",
            self.shown,
            described(error),
            RETRY_STORE_SECONDS,
        )

    def later(self, work: Callable[[Any], object] | threading.Event) -> None:
        """``work(store)`` on this store's writer thread: bookkeeping that no request needs to wait for.
        Until it is done the store counts the request still in flight, which errs on the safe side. An event
        is set once everything handed over before it is done."""
        if self._queue is None:
            with self._lock:
                if self._queue is None:
                    self._queue = queue.SimpleQueue()
                    threading.Thread(target=self._write, args=(self._queue,), name="papi-limits", daemon=True).start()
        with self._lock:
            self.pending += 1
        self._queue.put(work)

    def _write(self, handed: queue.SimpleQueue[Callable[[Any], object] | threading.Event | None]) -> None:
        while (work := handed.get()) is not None:
            try:
                if isinstance(work, threading.Event):
                    work.set()
                elif (shared := self.sync()) is not None:  # else down or given up: the process's own copy has it
                    work(shared)
            except Exception as error:
                self.failed(error)
            finally:
                with self._lock:
                    self.pending -= 1

    def flush(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until the writer thread has done what was handed to it so far."""
        if self._queue is None:
            return True
        done = threading.Event()
        self.later(done)
        return done.wait(timeout)

    def close(self) -> None:
        if self._queue is not None:
            self.flush(FLUSH_SECONDS)
            self._queue.put(None)
        for store in (self._sync, self._async):
            close = getattr(store, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()


class IpLimits:
    """The gate and budget of one IP (``key``), through ``store``; the sync and async methods are twins."""

    def __init__(self, key: str, store: SharedStore) -> None:
        self.key = key
        self.store = store

    def _mirror(self, admission: Admission, weight: int, window: float, now: float) -> Admission:
        """Keep the process's own copy in step with what the shared store said."""
        if admission.admitted:
            LOCAL.reserve(self.key, weight, window, now)
        elif admission.reason in (BANNED, RATE_LIMITED):
            LOCAL.close_gate(self.key, now + admission.wait, admission.reason == BANNED, now)
        return admission

    def acquire(self, weight: int, limit: int, window: float, now: float) -> Admission:
        """The gate, then the budget (``state.acquire``), in one step of the store."""
        if self.store.pending:
            self.store.flush(ANSWERS_FIRST_SECONDS)  # the answers this process has had count first (a busy host
            # can keep the writer thread waiting for hundreds of milliseconds)
        shared = self.store.sync()
        if shared is not None:
            try:
                admission = shared.acquire(self.key, weight, limit, window, now)
            except Exception as error:
                self.store.failed(error)
            else:
                return self._mirror(admission, weight, window, now)
        return LOCAL.acquire(self.key, weight, limit, window, now)

    async def acquire_async(self, weight: int, limit: int, window: float, now: float) -> Admission:
        shared = self.store.asynchronous()
        if shared is None:
            return self.acquire(weight, limit, window, now)
        try:
            admission = await shared.acquire(self.key, weight, limit, window, now)
        except Exception as error:
            self.store.failed(error)
            return LOCAL.acquire(self.key, weight, limit, window, now)
        return self._mirror(admission, weight, window, now)

    def answered(self, ticket: int, weight: int, used: int | None, window: float, now: float) -> None:
        """A request's answer (or failure): the process's own copy knows at once, the shared store a moment
        later, from the store's writer thread (the sync shell's request returns without waiting for it; this
        process's next reservation waits for it, so that it never goes on less than what it was told)."""
        if not self.store.disabled:  # handed over first: whoever sees the answer below also waits for its write
            key = self.key
            self.store.later(lambda shared: shared.answered(key, ticket, weight, used, window, now))
        LOCAL.answered(self.key, ticket, weight, used, window, now)

    async def answered_async(self, ticket: int, weight: int, used: int | None, window: float, now: float) -> None:
        """The async shell's: written at once (a wait for the writer thread would stall the event loop)."""
        LOCAL.answered(self.key, ticket, weight, used, window, now)
        asynchronous = self.store.asynchronous()
        shared = asynchronous if asynchronous is not None else self.store.sync()
        if shared is None:
            return
        try:
            if asynchronous is not None:
                await asynchronous.answered(self.key, ticket, weight, used, window, now)
            else:
                shared.answered(self.key, ticket, weight, used, window, now)
        except Exception as error:
            self.store.failed(error)

    def close_gate(self, until: float, banned: bool, now: float) -> None:
        LOCAL.close_gate(self.key, until, banned, now)
        shared = self.store.sync()
        if shared is not None:
            try:
                shared.close_gate(self.key, until, banned, now)
            except Exception as error:
                self.store.failed(error)

    async def close_gate_async(self, until: float, banned: bool, now: float) -> None:
        shared = self.store.asynchronous()
        if shared is None:
            self.close_gate(until, banned, now)
            return
        LOCAL.close_gate(self.key, until, banned, now)
        try:
            await shared.close_gate(self.key, until, banned, now)
        except Exception as error:
            self.store.failed(error)

    def gate(self, now: float) -> tuple[float, bool]:
        """(until, banned): the gate as the shared store has it, or as this process knows it."""
        shared = self.store.sync()
        if shared is not None:
            try:
                return self._mirror_gate(shared.gate(self.key), now)
            except Exception as error:
                self.store.failed(error)
        return LOCAL.gate(self.key)

    async def gate_async(self, now: float) -> tuple[float, bool]:
        shared = self.store.asynchronous()
        if shared is None:
            return self.gate(now)
        try:
            return self._mirror_gate(await shared.gate(self.key), now)
        except Exception as error:
            self.store.failed(error)
            return LOCAL.gate(self.key)

    def _mirror_gate(self, gate: tuple[float, bool], now: float) -> tuple[float, bool]:
        """The stored gate, checked (one closed beyond Binance's longest ban was not closed by a ban: dropped),
        and kept in the process's own copy."""
        until, banned = gate
        if not math.isfinite(until) or until > now + MAX_GATE_SECONDS:
            stores.distrusted(f"the limits store {self.store.shown}, IP {self.key}", [f"a gate closed until {until!r}"])
            return LOCAL.gate(self.key)
        if until > now:
            LOCAL.close_gate(self.key, until, banned, now)
        return gate


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL, with the scheme's default port spelled out."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


_stores: dict[str, SharedStore] = {}
_limits: dict[tuple[str, str], IpLimits] = {}
_lock = threading.Lock()


def store_for(store_url: str) -> SharedStore:
    """This process's ``SharedStore`` for ``store_url`` (made on first use, then kept)."""
    found = _stores.get(store_url)
    if found is None:
        with _lock:
            found = _stores.setdefault(store_url, SharedStore(store_url))
    return found


def limits_for(store_url: str, key: str) -> IpLimits:
    """The limits of the IP named ``key`` in the store at ``store_url`` (made on first use, then kept)."""
    found = _limits.get((store_url, key))
    if found is None:
        store = store_for(store_url)
        with _lock:
            found = _limits.setdefault((store_url, key), IpLimits(key, store))
    return found


def forget_all() -> None:
    """Forget this process's limits and close its stores (a test's end, or a process that moved IP)."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()
        _limits.clear()
        LOCAL.forget()


def flush_all(timeout: float = FLUSH_SECONDS) -> None:
    """Write what the writer threads still hold (at exit: a bot's last answers reach the store)."""
    for store in list(_stores.values()):
        store.flush(timeout)


def _after_fork_in_child() -> None:
    """A forked child starts with no store of its parent's: no shared connection, no writer thread, no held lock."""
    global LOCAL, _lock
    _lock = threading.Lock()
    _stores.clear()
    _limits.clear()
    LOCAL = memory.Store()


atexit.register(flush_all)
os.register_at_fork(after_in_child=_after_fork_in_child)
