"""Plugin wiring: the process-wide plugin manager and ``extend``."""

from __future__ import annotations

import threading
from typing import Any, TypeVar

import pluggy

from papi_plugin import binance_pm, hookspecs

_manager: pluggy.PluginManager | None = None
_manager_lock = threading.Lock()

ExchangeT = TypeVar("ExchangeT")


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide manager: specs added, entry-point plugins loaded, built-in adapter registered."""
    global _manager
    if _manager is not None:  # the common case: no lock on every call
        return _manager
    with _manager_lock:
        if _manager is None:
            manager = pluggy.PluginManager(hookspecs.PROJECT)
            manager.add_hookspecs(hookspecs)
            manager.load_setuptools_entrypoints(hookspecs.PROJECT)
            # Running from a source tree without installed metadata still gets the built-in adapter.
            if not manager.is_registered(binance_pm):
                manager.register(binance_pm, name="binance_portfolio_margin")
            _manager = manager
        return _manager


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def extend(exchange: ExchangeT) -> ExchangeT:
    """Attach every capability the registered plugins offer for ``exchange``; return the same object.

    Idempotent: extending again re-attaches the same capabilities (plugins keep their per-exchange
    state). On an exchange no plugin serves, nothing is attached and ``has`` is left as it was.
    """
    target: Any = exchange
    manager = plugin_manager()
    offers = manager.hook.register_capabilities(exchange=exchange, hook=manager.hook)
    for offer in offers:
        for name, capability in (offer or {}).items():
            setattr(target, name, capability)
            setattr(target, camel_case(name), capability)
            target.has[camel_case(name)] = True
    return exchange
