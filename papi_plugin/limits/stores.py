"""Which store holds the IPs' gates and budgets, from its URL: one table, one module per store.

A store module offers ``Store`` (and, when its client has an asyncio flavour, ``AsyncStore``) with the
same methods as ``memory.Store``. Adding a store is adding its module and its row here.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import urllib.parse
from typing import Any

import ccxt

from papi_plugin.redaction import redact

log = logging.getLogger("papi_plugin")

ENVIRONMENT = "PAPI_PLUGIN_LIMITS_STORE"
DEFAULT = "sqlite:"  # every process on this host; sqlite:////abs/path for another file
# URL scheme -> the module of its store.
STORES = {
    "memory": "papi_plugin.limits.memory",
    "sqlite": "papi_plugin.limits.sqlite",
    "redis": "papi_plugin.limits.redis",
    "rediss": "papi_plugin.limits.redis",
    "unix": "papi_plugin.limits.redis",
}
EXTRAS = {"papi_plugin.limits.redis": "pip install 'papi_plugin[redis]'"}


def scheme(url: str) -> str:
    return url.split(":", 1)[0].lower() if ":" in url else url.lower()


def checked_url(url: Any, source: str) -> str:
    """``url`` if it names a store; raises ``ccxt.BadRequest`` saying what is accepted otherwise."""
    accepted = "memory, sqlite: (or sqlite:////absolute/path), redis://host:port/db, rediss://... or unix://..."
    if not isinstance(url, str) or scheme(url) not in STORES:
        raise ccxt.BadRequest(f"papi_plugin {source} must be a limits store URL ({accepted}), got {shown(url)}")
    if scheme(url) == "memory" and url.lower() != "memory":
        raise ccxt.BadRequest(f"papi_plugin {source}: the memory store takes no path, got {shown(url)}")
    if scheme(url) == "sqlite" and url != "sqlite:" and not url.startswith("sqlite:////"):
        raise ccxt.BadRequest(
            f"papi_plugin {source}: a SQLite store is sqlite: (the default file) or sqlite:/// and an absolute path,"
            f" got {shown(url)}"
        )
    return url


def shown(url: Any) -> str:
    """A store URL as logs and errors may show it: no password, no user name."""
    if not isinstance(url, str):
        return repr(url)[:60]
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url[:200]
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))[:200]


def described(error: BaseException) -> str:
    """An error as logs may show it: its class and message, redacted, bounded."""
    return redact(f"{type(error).__name__}: {error}")[:200]


def configured(option: Any) -> str:
    """The store URL: the exchange option, else ``$PAPI_PLUGIN_LIMITS_STORE``, else the default."""
    if option is not None:
        return checked_url(option, 'exchange.options["cancelAllMarginOrders"]["limitsStore"]')
    from_environment = os.environ.get(ENVIRONMENT)
    if from_environment:
        return checked_url(from_environment, f"${ENVIRONMENT}")
    return DEFAULT


def open_store(url: str, flavour: str = "Store") -> Any:
    """A new ``Store`` (or ``AsyncStore``) for ``url``; ImportError when its extra is not installed."""
    module_name = STORES[scheme(url)]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ImportError(f"{error}; it needs {EXTRAS.get(module_name, 'its extra')}") from None
    factory = getattr(module, flavour, None)
    return None if factory is None else factory(url)


class Unusable(Exception):
    """A store this process cannot use at all (a SQLite file it cannot create or open): it uses memory."""


_distrusted: set[tuple[str, str]] = set()
_distrusted_lock = threading.Lock()
MAX_DISTRUSTED = 1000  # distinct forged values said in one process's life (each once)


def distrusted(where: str, problems: list[str]) -> None:
    """Log, once a process, each value read back from a store that the rules could not have written (it was
    dropped): who may write the store is the trust boundary, and whoever crossed it should be seen."""
    for problem in problems:
        with _distrusted_lock:
            if (where, problem) in _distrusted or len(_distrusted) >= MAX_DISTRUSTED:
                continue
            _distrusted.add((where, problem))
        log.warning("papi_plugin: %s held %s; ignored", where, problem)
