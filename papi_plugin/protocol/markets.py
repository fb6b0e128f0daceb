"""From the caller's symbol to the market, of the right kind, that the papi endpoints take."""

from __future__ import annotations

from typing import Any

import ccxt

from papi_plugin.protocol import calls
from papi_plugin.protocol.kinds import KINDS, MARGIN, Kind, kind_of
from papi_plugin.protocol.params import echo

SPOT = "spot"


def candidates(exchange: Any, symbol: str) -> list[dict[str, Any]]:
    """The loaded markets a unified symbol or a Binance market id names (an id such as BTCUSDT names the
    spot market and the USD-M perpetual alike)."""
    market = (exchange.markets or {}).get(symbol)
    if market is not None:
        return [market]
    return list((exchange.markets_by_id or {}).get(symbol) or [])


def market_of_kind(exchange: Any, symbol: str, kind: Kind, call: str | None = None) -> dict[str, Any]:
    """The market of ``kind`` that ``symbol`` names; raises ``BadSymbol`` naming the right call otherwise."""
    call = call or kind.call
    found = candidates(exchange, symbol)
    for market in found:
        if kind_of(market) is kind:
            return market
    if not found:
        raise ccxt.BadSymbol(f"binance {call}() does not know the symbol {echo(symbol)}")
    market = found[0]
    other = kind_of(market)
    if kind is MARGIN:
        need = "needs a spot market open to margin trading"
    else:
        need = f"needs a {kind.title} market (such as {kind.example})"
    hint = f"; for {other.title} use {other.call}()" if other is not None else ""
    raise ccxt.BadSymbol(f"binance {call}() {need}; {market['symbol']} is not one{hint}")


def margin_market(exchange: Any, symbol: str, call: str = MARGIN.call) -> dict[str, Any]:
    """The spot market with margin trading for a unified symbol or a Binance market id."""
    return market_of_kind(exchange, symbol, MARGIN, call)


def margin_markets(exchange: Any, symbols: list[str], call: str) -> list[dict[str, Any]]:
    """Each symbol's margin market, once each, in the order given; raises before anything is sent."""
    markets: dict[str, dict[str, Any]] = {}
    for symbol in symbols:
        market = margin_market(exchange, symbol, call)
        markets.setdefault(market["symbol"], market)
    return list(markets.values())


def portfolio_market(exchange: Any, symbol: str, call: str = calls.CANCEL_PORTFOLIO) -> tuple[Kind, dict[str, Any]]:
    """The market of any of the three kinds that ``symbol`` names, with its kind.

    A Binance id naming markets of two kinds (BTCUSDT: the spot market and the USD-M perpetual) is refused:
    the unified symbol says which is meant.
    """
    named = candidates(exchange, symbol)
    found = [(kind, market) for market in named if (kind := kind_of(market)) is not None]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        which = " or ".join(market["symbol"] for _, market in found)
        raise ccxt.BadSymbol(f"binance {call}() cannot tell which market {echo(symbol)} is: use {which}")
    if named:
        kinds = ", ".join(kind.title for kind in KINDS)
        raise ccxt.BadSymbol(f"binance {call}() cancels {kinds} orders; {named[0]['symbol']} is none of them")
    raise ccxt.BadSymbol(f"binance {call}() does not know the symbol {echo(symbol)}")


def portfolio_markets(exchange: Any, symbols: list[str], call: str) -> list[tuple[Kind, dict[str, Any]]]:
    """Each symbol's market and kind, once each, in the order given; raises before anything is sent."""
    markets: dict[str, tuple[Kind, dict[str, Any]]] = {}
    for symbol in symbols:
        kind, market = portfolio_market(exchange, symbol, call)
        markets.setdefault(market["symbol"], (kind, market))
    return list(markets.values())


def market_by_id(exchange: Any, market_id: str, kind: Kind) -> dict[str, Any] | None:
    """The loaded market of ``kind`` with this Binance id (as an answer names it), if any."""
    return next((m for m in candidates(exchange, market_id) if kind_of(m) is kind), None)


def market_or_id(exchange: Any, market_id: str, kind: Kind) -> dict[str, Any]:
    """The loaded market of ``kind`` with this Binance id; for one listed after the markets were loaded,
    a market of Binance's id as given, so that its orders are still canceled (and reported under it)."""
    found = market_by_id(exchange, market_id, kind)
    if found is not None:
        return found
    listed_later = {**exchange.safe_market(None), "id": market_id, "symbol": market_id}
    if kind is MARGIN:
        listed_later.update(type=SPOT, spot=True, margin=True)
    return listed_later


def unified_symbol(exchange: Any, market_id: str) -> str:
    return exchange.safe_symbol(market_id, None, None, SPOT)  # type: ignore[no-any-return]


def trading_spot_symbols(exchange: Any) -> int:
    """How many spot symbols trade on the exchange, as far as the loaded markets tell."""
    return sum(1 for m in (exchange.markets or {}).values() if m.get(SPOT) and m.get("active") is not False)
