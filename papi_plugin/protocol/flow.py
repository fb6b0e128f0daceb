"""The protocol of a flow: a generator that yields the requests a call needs and receives their answers.

A flow yields a ``Request`` and receives its answer (or has the request's ccxt error thrown into it). It
never sleeps, retries or touches the network; the shells (``call/shells.py``) do, and a test can step a
flow by hand with made-up answers.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, NamedTuple, TypeVar

import ccxt

from papi_plugin.protocol.endpoints import Endpoint

ALL_SYMBOLS = "all symbols"
# Binance refuses a request whose timestamp is more than 1000 ms ahead of its clock (-1021, and the plugin
# then re-syncs ccxt's clock): a call whose requests are accepted began at most this long after Binance's
# clock says it did. What the history shows canceled since then (less this) may be the call's.
AHEAD_MS = 1000


class Request(NamedTuple):
    """One signed papi request a flow needs; the shells send it (retrying as the policy allows)."""

    endpoint: Endpoint
    params: dict[str, Any]
    label: str  # the unified symbol, or "all symbols", for messages and hooks
    weight: int  # what Binance charges the IP for it


def ask(endpoint: Endpoint, params: dict[str, Any], label: str, weight: int | None = None) -> Request:
    """A request for ``endpoint``, weighing what Binance documents for it unless told otherwise."""
    return Request(endpoint, params, label, endpoint.weight if weight is None else weight)


T = TypeVar("T")
Flow = Generator[Request, Any, T]


class LostAnswer(NamedTuple):
    """What a cancel-all answered after an earlier attempt of unknown fate (a timeout, a cut connection, a
    5xx): that attempt may have canceled orders whose report was lost. ``found`` is the last answer."""

    found: list[Any]


def open_list(answer: Any, what: str) -> list[Any]:
    """An open-orders read's answer, which Binance documents as a list; anything else is ``ccxt.BadResponse``."""
    if not isinstance(answer, list):
        raise ccxt.BadResponse(f"binance open {what} answer is not a list: {type(answer).__name__}")
    return answer
