"""The switch's store, from its URL, and never another one: no fallback to this process's memory.

``memory`` is this process's own (the demo, tests); ``sqlite:`` the host's file; ``redis://`` many hosts.
A URL that names no store, a store whose extra is missing, or a SQLite path that another user could write
raises ``Unusable`` with one line saying what to fix: the arming call turns it into a ccxt error, the
commands into exit 2. A store that fails a moment later (unreachable, locked) fails that call only: the
next call tries it again at once.
"""

from __future__ import annotations

import importlib
import os
import threading
from typing import Any

import ccxt

from papi_plugin.limits import stores as limits_stores
from papi_plugin.limits.sqlite import check_path
from papi_plugin.switch.base import AsyncSwitchStore, SwitchStore

# URL scheme -> the module of its switch store (the same schemes as the limits store's).
STORES = {
    "memory": "papi_plugin.switch.memory",
    "sqlite": "papi_plugin.switch.sqlite",
    "redis": "papi_plugin.switch.redis",
    "rediss": "papi_plugin.switch.redis",
    "unix": "papi_plugin.switch.redis",
}
EXTRAS = {"papi_plugin.switch.redis": "pip install 'papi_plugin[redis]'"}


class Unusable(Exception):
    """The switch's store cannot be used at all, and why, in one line (no password in it)."""


_opened: dict[str, tuple[SwitchStore, AsyncSwitchStore | None]] = {}
_lock = threading.Lock()


def _open(url: str) -> tuple[SwitchStore, AsyncSwitchStore | None]:
    try:
        url = limits_stores.checked_url(url, "the switch's store")
    except ccxt.BadRequest as error:
        raise Unusable(str(error)) from None
    module_name = STORES[limits_stores.scheme(url)]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        missing = getattr(error, "name", None) or "a module"
        raise Unusable(
            f"the store {limits_stores.shown(url)} needs {missing}, which is not installed: {EXTRAS[module_name]}"
        ) from None
    if limits_stores.scheme(url) == "sqlite":
        try:
            check_path(url)
        except limits_stores.Unusable as error:
            raise Unusable(str(error)) from None
    try:
        sync: SwitchStore = module.Store(url)
        asynchronous: AsyncSwitchStore | None = module.AsyncStore(url) if hasattr(module, "AsyncStore") else None
    except Exception as error:  # a URL redis-py cannot make a client of
        problem = limits_stores.described(error)
        raise Unusable(f"the store {limits_stores.shown(url)} cannot be used: {problem}") from None
    return sync, asynchronous


def switch_store(url: str) -> tuple[SwitchStore, AsyncSwitchStore | None]:
    """(sync store, asyncio store or None) of the switch at ``url``, opened once a process; ``Unusable``
    when it cannot be (tried again on the next call: the extra may have been installed meanwhile)."""
    found = _opened.get(url)
    if found is None:
        with _lock:
            found = _opened.get(url)
            if found is None:
                found = _opened[url] = _open(url)
    return found


def forget_all() -> None:
    """Close every switch store of this process (a test's end)."""
    with _lock:
        for sync, _ in _opened.values():
            close: Any = getattr(sync, "close", None)
            if close is not None:
                close()
        _opened.clear()


def _after_fork_in_child() -> None:
    """A forked child opens its own stores: no connection or lock of its parent's."""
    global _lock
    _lock = threading.Lock()
    _opened.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
