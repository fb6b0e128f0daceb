"""What the calls through one papi origin reported canceled, so that a call does not report it again.

A futures cancel takes for its own an order placed and canceled since the call began (it appeared between
the read and the cancel); a call made a moment after another must not take the other's orders. Order ids
are Binance's, unique per symbol, so the memory can be shared by every account behind one origin.
"""

from __future__ import annotations

import collections
import threading
from typing import Any

from papi_plugin.kinds import Kind, Section

Order = dict[str, Any]


def order_key(section: Section, market_id: str, order_id: Any) -> str:
    """An order's key across sections and symbols (a UM order and a UM algo order may share an id)."""
    return f"{section.history.path} {market_id} {order_id}"


class Reported:
    """The keys of the latest ``size`` futures orders reported canceled."""

    def __init__(self, size: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._order: collections.deque[str] = collections.deque()
        self._keys: set[str] = set()
        self.size = size

    def remember(self, kind: Kind, market_id: str, orders: list[Order]) -> None:
        with self._lock:
            for order in orders:
                section = kind.conditional if order.get("conditional") else kind.plain
                if section is None or (key := order_key(section, market_id, order.get("id"))) in self._keys:
                    continue
                self._keys.add(key)
                self._order.append(key)
                if len(self._order) > self.size:
                    self._keys.discard(self._order.popleft())

    def snapshot(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._keys)
