"""The IP limits' store interface, declared once: what every backend of the gate and budget implements.

``memory``, ``sqlite`` and ``redis`` each declare which they implement (``class Store(IpLimitsStore)``), and the
type checker holds them to it, as alisaifee/limits declares its storage. Times are Binance's, in seconds.
"""

from __future__ import annotations

from typing import Protocol

from papi_plugin.limits.state import Admission, IpState


class IpLimitsStore(Protocol):
    """The IPs' gates and budgets, sync."""

    url: str

    def acquire(self, key: str, weight: int, limit: int, window: float, now: float) -> Admission:
        """The gate, then the budget: ``weight`` reserved (wait 0), or how long to wait and why."""
        ...

    def answered(self, key: str, ticket: int, weight: int, used: int | None, window: float, now: float) -> None:
        """A request reserved with ``ticket`` is answered (``used``: the server's figure, if it gave one)."""
        ...

    def close_gate(self, key: str, until: float, banned: bool, now: float) -> None:
        """Nothing is sent before ``until``: a 418 ban (``banned``) or a 429's pause."""
        ...

    def gate(self, key: str) -> tuple[float, bool]:
        """(until, banned) as stored: the caller checks it (``shared.IpLimits``)."""
        ...

    def snapshot(self, key: str) -> IpState:
        """The IP's state, for tests and benchmarks."""
        ...

    def close(self) -> None:
        """Let go of the store's connections."""
        ...


class AsyncIpLimitsStore(Protocol):
    """The asyncio twin of ``IpLimitsStore``, for a store with an asyncio client (Redis)."""

    url: str

    async def acquire(self, key: str, weight: int, limit: int, window: float, now: float) -> Admission:
        """As ``IpLimitsStore.acquire``."""
        ...

    async def answered(self, key: str, ticket: int, weight: int, used: int | None, window: float, now: float) -> None:
        """As ``IpLimitsStore.answered``."""
        ...

    async def close_gate(self, key: str, until: float, banned: bool, now: float) -> None:
        """As ``IpLimitsStore.close_gate``."""
        ...

    async def gate(self, key: str) -> tuple[float, bool]:
        """As ``IpLimitsStore.gate``."""
        ...
