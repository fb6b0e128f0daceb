"""From the caller's symbol to the spot market open to margin trading that the papi endpoints take."""

from __future__ import annotations

from typing import Any

import ccxt

from papi_plugin.params import echo

SPOT = "spot"


def margin_market(exchange: Any, symbol: str, call: str = "cancel_all_margin_orders") -> dict[str, Any]:
    """The spot market with margin trading for a unified symbol or a Binance market id."""
    # ccxt's safe_market picks the USD-M perpetual for an id such as BTCUSDT unless asked for the spot one.
    market = (exchange.markets or {}).get(symbol) or exchange.safe_market(symbol, None, None, SPOT)
    if market.get("id") is None:  # ccxt's placeholder for an id it does not know
        raise ccxt.BadSymbol(f"binance {call}() does not know the symbol {echo(symbol)}")
    if not market.get("spot") or not market.get("margin"):
        raise ccxt.BadSymbol(
            f"binance {call}() needs a spot market open to margin trading; {market['symbol']} is not one"
        )
    return market  # type: ignore[no-any-return]


def margin_markets(exchange: Any, symbols: list[str], call: str) -> list[dict[str, Any]]:
    """Each symbol's margin market, once each, in the order given; raises before anything is sent."""
    markets: dict[str, dict[str, Any]] = {}
    for symbol in symbols:
        market = margin_market(exchange, symbol, call)
        markets.setdefault(market["symbol"], market)
    return list(markets.values())


def unified_symbol(exchange: Any, market_id: str) -> str:
    return exchange.safe_symbol(market_id, None, None, SPOT)  # type: ignore[no-any-return]


def trading_spot_symbols(exchange: Any) -> int:
    """How many spot symbols trade on the exchange, as far as the loaded markets tell."""
    return sum(1 for m in (exchange.markets or {}).values() if m.get(SPOT) and m.get("active") is not False)
