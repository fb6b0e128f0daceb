"""The switch's store interface, declared once: what every backend of the dead-man's switch implements.

``memory``, ``sqlite`` and ``redis`` each declare which they implement (``class Store(SwitchStore)``), and the
type checker holds them to it, as alisaifee/limits declares its storage. Every time is in milliseconds on the
store's own clock (SQLite's for one host, Redis's for many, the process's for ``memory``): the bot's push and
the guard's read are timed by one clock, whatever the hosts' clocks say. What a store gives back is raw: the
readers of ``records.py`` check it before anything uses it.
"""

from __future__ import annotations

from typing import Any, Protocol


class SwitchStore(Protocol):
    """Countdowns, guards alive, the firing lease and the firings of each account (its key's fingerprint)."""

    url: str
    where: str  # the store as logs and outputs show it: a path, or a host without its password

    def arm(self, account: str, name: str, timeout_ms: int) -> int:
        """Push the countdown ``name``: due ``timeout_ms`` from now. Returns now (when it was armed)."""
        ...

    def disarm(self, account: str, name: str, armed_ms: int | None = None) -> None:
        """Drop the countdown ``name``; with ``armed_ms``, only if it was not pushed since."""
        ...

    def countdowns(self, account: str) -> tuple[int, list[tuple[Any, Any, Any]]]:
        """(now, rows of (name, timeout ms, armed ms)), read at one moment."""
        ...

    def beat(self, account: str, guard: str) -> None:
        """Guard ``guard`` is alive now."""
        ...

    def beats(self, account: str) -> tuple[int, list[tuple[Any, Any]]]:
        """(now, rows of (guard, last seen ms))."""
        ...

    def lease(self, account: str) -> tuple[int, tuple[Any, Any] | None]:
        """(now, (holder, until ms) or None): who holds the account's firing lease."""
        ...

    def take_lease(self, account: str, holder: str, ttl_ms: int, replacing: str = "") -> bool:
        """Take or renew the lease for ``ttl_ms``: when free, lapsed, ``holder``'s own, or held by ``replacing``."""
        ...

    def drop_lease(self, account: str, holder: str) -> None:
        """Let the lease go, if ``holder`` has it."""
        ...

    def record(self, account: str, name: str, firing: str, outcome: str) -> None:
        """Write (or rewrite) firing ``firing`` of countdown ``name``; only the newest ``KEPT_FIRINGS`` stay."""
        ...

    def firings(self, account: str) -> list[tuple[Any, Any, Any]]:
        """Rows of (countdown name, firing id, outcome JSON)."""
        ...

    def close(self) -> None:
        """Let go of the store's connections."""
        ...


class AsyncSwitchStore(Protocol):
    """What an async bot's arming call needs, for a store with an asyncio client (Redis)."""

    url: str
    where: str

    async def arm(self, account: str, name: str, timeout_ms: int) -> int:
        """As ``SwitchStore.arm``."""
        ...

    async def disarm(self, account: str, name: str, armed_ms: int | None = None) -> None:
        """As ``SwitchStore.disarm``."""
        ...

    async def beats(self, account: str) -> tuple[int, list[tuple[Any, Any]]]:
        """As ``SwitchStore.beats``."""
        ...

    async def firings(self, account: str) -> list[tuple[Any, Any, Any]]:
        """As ``SwitchStore.firings``."""
        ...
