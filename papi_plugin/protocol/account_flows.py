"""The whole account's flows: find each kind's symbols with open orders, and read one symbol's (sans-IO)."""

from __future__ import annotations

from typing import Any, NamedTuple

from papi_plugin.errors import Order
from papi_plugin.protocol import futures_flows, margin_flows
from papi_plugin.protocol.flow import Flow
from papi_plugin.protocol.futures_flows import Known
from papi_plugin.protocol.kinds import MARGIN, Kind
from papi_plugin.protocol.markets import market_or_id
from papi_plugin.protocol.orders import unified_open_orders
from papi_plugin.protocol.params import CallOptions


class Target(NamedTuple):
    """One symbol of a whole-account cancel: its kind, its market, and its open orders if already read."""

    kind: Kind
    market: dict[str, Any]
    known: Known | None = None


def discover(exchange: Any, kind: Kind, options: CallOptions) -> Flow[list[Target]]:
    """The symbols of ``kind`` with open orders, read with the cheapest requests Binance documents."""
    if kind is MARGIN:
        ids = yield from margin_flows.discover(exchange, options)
        return [Target(MARGIN, market_or_id(exchange, market_id, MARGIN)) for market_id in ids]
    found = yield from futures_flows.discover(exchange, kind, options)
    return [Target(kind, market, known) for market, known in found]


def read_open_orders(exchange: Any, target: Target, options: CallOptions) -> Flow[list[Order]]:
    """A target's open orders, unified: what a cancel would cancel."""
    if target.kind is MARGIN:
        return unified_open_orders(
            exchange, target.market, *(yield from margin_flows.read_open_entries(target.market, options))
        )
    return (yield from futures_flows.read_open_orders(exchange, target.market, target.kind, options, target.known))


def discovery_label(kind: Kind) -> str:
    return f"all {kind.title} symbols"
