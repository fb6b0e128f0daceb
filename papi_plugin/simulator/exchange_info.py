"""The markets the simulator serves: spot symbols (most open to margin), USD-M and COIN-M futures."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from papi_plugin.simulator.api_error import ApiError

SPOT_MARGIN_SYMBOLS = {"BTCUSDT": ("BTC", "USDT"), "ETHUSDT": ("ETH", "USDT"), "BNBUSDT": ("BNB", "USDT")}
SPOT_ONLY_SYMBOLS = {"DOGEBTC": ("DOGE", "BTC")}  # spot, not open to margin trading
QUARTER_DELIVERY = 1798185600000  # 2026-12-25 08:00 UTC, the delivery of the quarterly contracts below
PERPETUAL, NO_DELIVERY = "PERPETUAL", 4133404800000  # what Binance gives a perpetual as its delivery date
# USD-M futures (market id -> base, quote, contract type, delivery): BTC/USDT:USDT, ETH/USDT:USDT, BTC/USDT:USDT-261225
UM_SYMBOLS = {
    "BTCUSDT": ("BTC", "USDT", PERPETUAL, NO_DELIVERY),
    "ETHUSDT": ("ETH", "USDT", PERPETUAL, NO_DELIVERY),
    "BTCUSDT_261225": ("BTC", "USDT", "CURRENT_QUARTER", QUARTER_DELIVERY),
}
# COIN-M futures: BTC/USD:BTC, ETH/USD:ETH, BTC/USD:BTC-261225
CM_SYMBOLS = {
    "BTCUSD_PERP": ("BTC", "USD", PERPETUAL, NO_DELIVERY),
    "ETHUSD_PERP": ("ETH", "USD", PERPETUAL, NO_DELIVERY),
    "BTCUSD_261225": ("BTC", "USD", "CURRENT_QUARTER", QUARTER_DELIVERY),
}
FuturesSymbols = dict[str, tuple[str, str, str, int]]
TICK, STEP, MIN_PRICE, MAX_PRICE, MIN_QTY, MAX_QTY = "0.000001", "0.000001", "0.000001", "1000000", "0.000001", "9000"
MIN_NOTIONAL = "0.50000000"  # made up, as the symbols are; small, so that examples place tiny orders
DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")  # Binance's legal range for a decimal parameter


def check_order(price: str | None, quantity: str, name_price: str = "price") -> None:
    """Raise what Binance answers for an order breaking a spot symbol's filters (-1100, then -1013)."""
    for name, text in ((name_price, price), ("quantity", quantity)):
        if text is not None and not DECIMAL.match(text):
            raise ApiError(
                400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{DECIMAL.pattern}'."
            )
    qty = Decimal(quantity)
    if price is not None:
        amount = Decimal(price)
        if not Decimal(MIN_PRICE) <= amount <= Decimal(MAX_PRICE) or amount % Decimal(TICK):
            raise ApiError(400, -1013, "Filter failure: PRICE_FILTER")
    if not Decimal(MIN_QTY) <= qty <= Decimal(MAX_QTY) or qty % Decimal(STEP):
        raise ApiError(400, -1013, "Filter failure: LOT_SIZE")
    if price is not None and Decimal(price) * qty < Decimal(MIN_NOTIONAL):
        raise ApiError(400, -1013, "Filter failure: NOTIONAL")


def spot_symbol(symbol: str, base: str, quote: str, margin: bool) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": margin,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": MIN_PRICE, "maxPrice": MAX_PRICE, "tickSize": TICK},
            {"filterType": "LOT_SIZE", "minQty": MIN_QTY, "maxQty": MAX_QTY, "stepSize": STEP},
            {
                "filterType": "NOTIONAL",
                "minNotional": MIN_NOTIONAL,
                "applyMinToMarket": True,
                "maxNotional": "9000000.00",
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT", "MARGIN"] if margin else ["SPOT"]],
    }


UM_MIN_NOTIONAL = "5"  # USD-M: an order's notional (price times quantity) must be at least this


def futures_filters(coin_m: bool) -> list[dict[str, Any]]:
    """A futures symbol's filters, as the USD-M and COIN-M exchange information lists them."""
    step = "1" if coin_m else "0.001"
    filters: list[dict[str, Any]] = [
        {"filterType": "PRICE_FILTER", "minPrice": "0.1", "maxPrice": "4529764", "tickSize": "0.1"},
        {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "1000", "stepSize": step},
        {"filterType": "MARKET_LOT_SIZE", "minQty": step, "maxQty": "120" if not coin_m else "1000", "stepSize": step},
        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
    ]
    if not coin_m:
        filters.append({"filterType": "MIN_NOTIONAL", "notional": UM_MIN_NOTIONAL})
    return filters


def futures_symbol(
    symbol: str, base: str, quote: str, contract_type: str, delivery: int, coin_m: bool
) -> dict[str, Any]:
    """A USD-M (margined in the quote) or COIN-M (margined in the base, 100 USD a contract) futures symbol."""
    entry: dict[str, Any] = {
        "symbol": symbol,
        "pair": symbol.split("_")[0],
        "contractType": contract_type,
        "deliveryDate": delivery,
        "onboardDate": 1569398400000,
        "baseAsset": base,
        "quoteAsset": quote,
        "marginAsset": base if coin_m else quote,
        "pricePrecision": 1 if coin_m else 2,
        "quantityPrecision": 0 if coin_m else 3,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "filters": futures_filters(coin_m),
        "orderTypes": ["LIMIT", "MARKET", "STOP", "TAKE_PROFIT", "STOP_MARKET", "TAKE_PROFIT_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }
    if coin_m:
        entry.update({"contractStatus": "TRADING", "contractSize": 100})
    else:
        entry["status"] = "TRADING"
    return entry


def spot_info(margin_symbols: dict[str, tuple[str, str]], server_time: int) -> dict[str, Any]:
    symbols = [spot_symbol(s, b, q, True) for s, (b, q) in margin_symbols.items()]
    symbols += [spot_symbol(s, b, q, False) for s, (b, q) in SPOT_ONLY_SYMBOLS.items()]
    return {"timezone": "UTC", "serverTime": server_time, "rateLimits": [], "symbols": symbols}


def usdm_info(um_symbols: FuturesSymbols, server_time: int) -> dict[str, Any]:
    symbols = [futures_symbol(s, *entry, coin_m=False) for s, entry in um_symbols.items()]
    return {"timezone": "UTC", "serverTime": server_time, "rateLimits": [], "symbols": symbols}


def coinm_info(cm_symbols: FuturesSymbols, server_time: int) -> dict[str, Any]:
    symbols = [futures_symbol(s, *entry, coin_m=True) for s, entry in cm_symbols.items()]
    return {"timezone": "UTC", "serverTime": server_time, "rateLimits": [], "symbols": symbols}


def margin_pairs(margin_symbols: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "symbol": s,
            "base": b,
            "quote": q,
            "isMarginTrade": True,
            "isBuyAllowed": True,
            "isSellAllowed": True,
        }
        for i, (s, (b, q)) in enumerate(margin_symbols.items(), start=1)
    ]
