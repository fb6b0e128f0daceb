"""Plugin wiring: the process-wide plugin manager and ``extend``."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import threading
from typing import Any, TypeVar

import pluggy

from papi_plugin import binance_pm, hookspecs

DISABLE_AUTOLOAD = "PAPI_PLUGIN_DISABLE_AUTOLOAD"  # set (to anything but "" or "0"): no entry-point plugins
BUILT_IN = "binance_portfolio_margin"

log = logging.getLogger("papi_plugin")
_manager: PluginManager | None = None
_manager_lock = threading.Lock()

ExchangeT = TypeVar("ExchangeT")


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, refusing a plugin whose hook does not match its spec with a one-line error."""

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        try:
            return super().register(plugin, name)
        except pluggy.PluginValidationError as error:
            problem = " ".join(str(error).split())
            refused = pluggy.PluginValidationError(error.plugin, f"papi_plugin refused plugin {name!r}: {problem}")
        raise refused


def autoload_disabled() -> bool:
    return os.environ.get(DISABLE_AUTOLOAD, "") not in ("", "0")


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide manager: specs added, entry-point plugins loaded, built-in adapter registered.

    A plugin that cannot be loaded or does not match the specs is left out with an ERROR log line naming
    it: a broken plugin never takes the kill switch down with it.
    """
    global _manager
    if _manager is not None:  # the common case: no lock on every call
        return _manager
    with _manager_lock:
        if _manager is None:
            manager = PluginManager(hookspecs.PROJECT)
            manager.add_hookspecs(hookspecs)
            if not autoload_disabled():
                load_entry_points(manager)
            if not manager.is_registered(binance_pm):  # running from a source tree without installed metadata
                manager.register(binance_pm, name=BUILT_IN)
            _manager = manager
        return _manager


def entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
    """The entry points of ``group``, from every installed distribution, the first on ``sys.path`` first.

    ``importlib.metadata.entry_points(group=...)`` parses every distribution's entry points and normalises
    every name before it selects: in an environment of a hundred packages that is most of a first
    ``extend()``. Only a distribution whose ``entry_points.txt`` names the group is parsed here; a package
    installed twice on ``sys.path`` counts once, the first, as in ``importlib.metadata``.
    """
    found: list[importlib.metadata.EntryPoint] = []
    seen: set[str] = set()
    section = f"[{group}]"
    for dist in importlib.metadata.distributions():
        text = dist.read_text("entry_points.txt")
        if not text or section not in text:
            continue
        name = re.sub(r"[-_.]+", "-", dist.name or "").lower()
        if name not in seen:
            seen.add(name)
            found += [entry_point for entry_point in dist.entry_points if entry_point.group == group]
    return found


def load_entry_points(manager: PluginManager) -> None:
    for entry_point in entry_points(hookspecs.PROJECT):
        if manager.get_plugin(entry_point.name) is not None or manager.is_blocked(entry_point.name):
            continue
        try:
            manager.register(entry_point.load(), name=entry_point.name)
        except Exception as error:
            log.error("papi_plugin: plugin %r not loaded: %s", entry_point.name, " ".join(str(error).split()))


def installed_plugins() -> list[tuple[str, str, str]]:
    """(name, package, version) of each plugin installed under the ``papi_plugin`` entry-point group."""
    found = []
    for entry_point in entry_points(hookspecs.PROJECT):
        dist = entry_point.dist
        found.append((entry_point.name, dist.name if dist else "?", dist.version if dist else "?"))
    return sorted(found)


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
