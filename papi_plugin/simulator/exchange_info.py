"""The markets the simulator serves: spot symbols (most open to margin) and one USD-M perpetual."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from papi_plugin.simulator.api_error import ApiError

SPOT_MARGIN_SYMBOLS = {"BTCUSDT": ("BTC", "USDT"), "ETHUSDT": ("ETH", "USDT"), "BNBUSDT": ("BNB", "USDT")}
SPOT_ONLY_SYMBOLS = {"DOGEBTC": ("DOGE", "BTC")}  # spot, not open to margin trading
PERPETUAL_SYMBOLS = {"BTCUSDT": ("BTC", "USDT")}  # the USD-M perpetual BTC/USDT:USDT
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


def perpetual_symbol(symbol: str, base: str, quote: str) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "pair": symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "baseAsset": base,
        "quoteAsset": quote,
        "marginAsset": quote,
        "pricePrecision": 2,
        "quantityPrecision": 3,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.10", "maxPrice": "4529764", "tickSize": "0.10"},
            {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
        ],
        "orderTypes": ["LIMIT", "MARKET"],
        "timeInForce": ["GTC"],
    }


def spot_info(margin_symbols: dict[str, tuple[str, str]], server_time: int) -> dict[str, Any]:
    symbols = [spot_symbol(s, b, q, True) for s, (b, q) in margin_symbols.items()]
    symbols += [spot_symbol(s, b, q, False) for s, (b, q) in SPOT_ONLY_SYMBOLS.items()]
    return {"timezone": "UTC", "serverTime": server_time, "rateLimits": [], "symbols": symbols}


def usdm_info(server_time: int) -> dict[str, Any]:
    symbols = [perpetual_symbol(s, b, q) for s, (b, q) in PERPETUAL_SYMBOLS.items()]
    return {"timezone": "UTC", "serverTime": server_time, "rateLimits": [], "symbols": symbols}


def coinm_info(server_time: int) -> dict[str, Any]:
    return {"timezone": "UTC", "serverTime": server_time, "rateLimits": [], "symbols": []}


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
