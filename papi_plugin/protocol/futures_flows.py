"""What a UM or CM cancel asks of Binance, as flows (sans-IO, like ``margin_flows.py``).

The futures cancel-alls answer only a code and a message, so a cancel reads the symbol's open orders
first (per section: plain, and conditional unless told otherwise), cancels the conditional ones then the
plain ones, and reconciles through each section's order history: every order the call canceled is
returned once, as the history reports it, including one placed between the read and the cancel.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

import ccxt

from papi_plugin.errors import NotFlat, Order, carrying_canceled
from papi_plugin.protocol import endpoints
from papi_plugin.protocol.flow import AHEAD_MS, ALL_SYMBOLS, Flow, ask, open_list
from papi_plugin.protocol.kinds import CANCELED_STATUSES, Kind, Section
from papi_plugin.protocol.markets import market_or_id
from papi_plugin.protocol.orders import futures_orders
from papi_plugin.protocol.params import CallOptions
from papi_plugin.protocol.reported import Key, order_key

DONE_CODE = "200"
Known = dict[Section, list[Any]]  # a symbol's open futures orders per section, as a discovery read them


def formed(section: Section, records: list[Any]) -> list[dict[str, Any]]:
    """The records that are orders of ``section`` (a dict with its id)."""
    return [r for r in records if isinstance(r, dict) and r.get(section.id_key) is not None]


class Seen:
    """Every open order a call saw on one symbol, per section, by id (the last record of each)."""

    def __init__(self) -> None:
        self.records: dict[Section, dict[str, dict[str, Any]]] = {}

    def add(self, section: Section, records: list[Any]) -> list[dict[str, Any]]:
        """Remember the records of ``section``; the well-formed ones, for the caller."""
        kept = self.records.setdefault(section, {})
        records = formed(section, records)
        for record in records:
            kept[str(record[section.id_key])] = record
        return records

    def of(self, section: Section) -> dict[str, dict[str, Any]]:
        return self.records.get(section, {})


def cancel_futures(
    exchange: Any,
    market: dict[str, Any],
    kind: Kind,
    options: CallOptions,
    since_ms: int,
    known: Known | None = None,
    reported: Container[Key] = (),
) -> Flow[list[Order]]:
    """Cancel every open order of ``kind`` on ``market``; ``known``: its open orders, already read.

    ``reported``: the keys (``order_key``) of orders earlier calls reported canceled; one of them is not
    taken for an order that appeared during this call.
    """
    sections = kind.sections(options.conditional)
    seen = Seen()
    canceled: list[Section] = []  # the sections whose cancel-all went through
    remaining: list[dict[str, Any]] = []
    try:
        if known is None:
            yield from read_sections(market, sections, options, seen)
        else:
            for section in sections:
                seen.add(section, known.get(section, []))
        yield from cancel_sections(market, sections, options, canceled)
        rounds = 0
        while options.confirm_rounds is not None:
            remaining = yield from read_sections(market, sections, options, seen)
            if not remaining or rounds >= options.confirm_rounds:
                break
            rounds += 1
            yield from cancel_sections(market, sections, options, canceled)
        since = since_ms - AHEAD_MS
        orders = yield from reconcile(exchange, market, sections, options, seen, since, reported)
    except ccxt.BaseError as error:
        raise carrying_canceled(error, assumed_canceled(exchange, market, canceled, seen)) from None
    if remaining:
        raise NotFlat(market["symbol"], rounds, remaining, [], orders)
    return orders


def read_sections(
    market: dict[str, Any], sections: tuple[Section, ...], options: CallOptions, seen: Seen
) -> Flow[list[Any]]:
    """The open orders of each section on ``market`` (weight 1 each), remembered in ``seen``; all of them."""
    found: list[Any] = []
    for section in sections:
        answer = yield ask(section.open_orders, {**options.sent, "symbol": market["id"]}, market["symbol"])
        found += seen.add(section, open_list(answer, "orders"))
    return found


def read_open_orders(
    exchange: Any, market: dict[str, Any], kind: Kind, options: CallOptions, known: Known | None
) -> Flow[list[Order]]:
    """The open orders of ``kind`` on ``market`` (what a cancel would cancel), unified; ``known``: already read."""
    orders: list[Order] = []
    for section in kind.sections(options.conditional):
        if known is None:
            params = {**options.sent, "symbol": market["id"]}
            records = open_list((yield ask(section.open_orders, params, market["symbol"])), "orders")
        else:
            records = known.get(section, [])
        orders += futures_orders(exchange, market, section, formed(section, records))
    return orders


def cancel_sections(
    market: dict[str, Any], sections: tuple[Section, ...], options: CallOptions, canceled: list[Section]
) -> Flow[None]:
    for section in sections:
        answer = yield ask(section.cancel_all, {**options.sent, "symbol": market["id"]}, market["symbol"])
        if answer != [] and not (isinstance(answer, dict) and str(answer.get("code")) == DONE_CODE):
            raise ccxt.BadResponse(f"binance {section.cancel_all.path} answered neither code 200 nor an error")
        if section not in canceled:
            canceled.append(section)


def reconcile(
    exchange: Any,
    market: dict[str, Any],
    sections: tuple[Section, ...],
    options: CallOptions,
    seen: Seen,
    since_ms: int,
    reported: Container[Key] = (),
) -> Flow[list[Order]]:
    """The orders the call canceled, per each section's history (its most recent orders).

    An order is the call's if the history shows it canceled and the call saw it open, or if it was placed
    and canceled since the call began (it appeared between the read and the cancel). An order the call saw
    open that the history no longer lists (more than a read's worth of newer orders) is reported from its
    open record, as canceled.
    """
    orders: list[Order] = []
    for section in sections:
        params = {**options.sent, "symbol": market["id"], "limit": section.history_limit}
        history = open_list((yield ask(section.history, params, market["symbol"])), "order history")
        orders += canceled_in(exchange, market, section, seen.of(section), history, since_ms, reported)
    return orders


def canceled_in(
    exchange: Any,
    market: dict[str, Any],
    section: Section,
    seen: dict[str, dict[str, Any]],
    history: list[Any],
    since_ms: int,
    reported: Container[Key] = (),
) -> list[Order]:
    records: list[dict[str, Any]] = []
    listed: set[str] = set()
    for record in history:
        if not isinstance(record, dict) or record.get(section.id_key) is None:
            continue
        order_id = str(record[section.id_key])
        listed.add(order_id)
        if record.get(section.status_key) not in CANCELED_STATUSES:
            continue
        # Seen open by this call, or placed and canceled since it began (and not an earlier call's).
        appeared = min(stamp(record, "updateTime"), stamp(record, section.created_key)) >= since_ms
        if order_id in seen or (appeared and order_key(section.history.path, market["id"], order_id) not in reported):
            records.append(record)
    records += [
        {**record, section.status_key: "CANCELED"} for order_id, record in seen.items() if order_id not in listed
    ]
    return futures_orders(exchange, market, section, records)


def stamp(record: dict[str, Any], key: str) -> int:
    value = record.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def assumed_canceled(exchange: Any, market: dict[str, Any], sections: list[Section], seen: Seen) -> list[Order]:
    """What a failed call had canceled as far as it knows: the orders it saw open in each section whose
    cancel-all went through (the history could not be read to tell more)."""
    records = {s: [{**r, s.status_key: "CANCELED"} for r in seen.of(s).values()] for s in sections}
    try:
        return [order for s in sections for order in futures_orders(exchange, market, s, records[s])]
    except ccxt.BaseError:
        return []


def discover(exchange: Any, kind: Kind, options: CallOptions) -> Flow[list[tuple[dict[str, Any], Known]]]:
    """Every market of ``kind`` with open orders, with those orders: one read per section without a symbol
    (weight 40 each, Binance's cheapest way to see every symbol at once)."""
    found: dict[str, Known] = {}
    for section in kind.sections(options.conditional):
        request = ask(section.open_orders, dict(options.sent), ALL_SYMBOLS, endpoints.NO_SYMBOL_WEIGHT)
        for record in open_list((yield request), "orders"):
            if isinstance(record, dict) and isinstance(record.get("symbol"), str):
                found.setdefault(record["symbol"], {}).setdefault(section, []).append(record)
    return [(market_or_id(exchange, market_id, kind), found[market_id]) for market_id in sorted(found)]
