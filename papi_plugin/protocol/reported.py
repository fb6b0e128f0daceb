"""What the calls through one papi origin reported canceled, so that a call does not report it again.

A call takes from the order history, for its own, orders canceled since it began: a futures cancel one
placed between its read and its cancel, a margin cancel what a lost answer held. A call made a moment
after another must not take the other's orders. Order ids
are Binance's, unique per symbol, so the memory can be shared by every account behind one origin.
"""

from __future__ import annotations

import array
import threading
from typing import Any

from papi_plugin.errors import Order
from papi_plugin.protocol.kinds import Kind

Key = tuple[str, str, str]  # (history endpoint's path, market id, order id)


def order_key(history_path: str, market_id: str, order_id: Any) -> Key:
    """An order's key across kinds, sections and symbols (a UM order and a UM algo order may share an id)."""
    return history_path, market_id, str(order_id)


class Reported:
    """The keys of the latest ``size`` orders reported canceled; ``key in reported`` asks.

    A whole-account flatten reports thousands of orders at once, so the keys are kept as their hashes in one
    array used as a ring: 8 bytes a key, where a set of tuples of strings would outweigh the orders' own share
    of memory. Asking scans the array (microseconds), and only the history reads of a recovery ask. (Two keys
    of one hash would make a recovered order look reported: with 64-bit hashes, about one chance in 10**15.)
    """

    def __init__(self, size: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._hashes = array.array("q")
        self._next = 0  # where the next key goes once the ring is full
        self.size = size

    def remember(self, kind: Kind, market_id: str, orders: list[Order]) -> None:
        with self._lock:
            for order in orders:
                key = hash(order_key(kind.history_path(bool(order.get("conditional"))), market_id, order.get("id")))
                if len(self._hashes) < self.size:
                    self._hashes.append(key)
                else:
                    self._hashes[self._next] = key
                    self._next = (self._next + 1) % self.size

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return hash(key) in self._hashes


_by_origin: dict[str, Reported] = {}
_lock = threading.Lock()


def reported_for(papi_origin: str) -> Reported:
    """The memory of what calls through ``papi_origin`` reported canceled, in this process."""
    found = _by_origin.get(papi_origin)
    if found is None:
        with _lock:
            found = _by_origin.setdefault(papi_origin, Reported())
    return found


def forget_all() -> None:
    with _lock:
        _by_origin.clear()
