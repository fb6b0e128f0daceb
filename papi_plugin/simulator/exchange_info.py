"""The markets the simulator serves: spot symbols (most open to margin) and one USD-M perpetual."""

from __future__ import annotations

from typing import Any

SPOT_MARGIN_SYMBOLS = {"BTCUSDT": ("BTC", "USDT"), "ETHUSDT": ("ETH", "USDT"), "BNBUSDT": ("BNB", "USDT")}
SPOT_ONLY_SYMBOLS = {"DOGEBTC": ("DOGE", "BTC")}  # spot, not open to margin trading
PERPETUAL_SYMBOLS = {"BTCUSDT": ("BTC", "USDT")}  # the USD-M perpetual BTC/USDT:USDT


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
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.00000100",
                "maxPrice": "1000000.00",
                "tickSize": "0.00000100",
            },
            {"filterType": "LOT_SIZE", "minQty": "0.00000100", "maxQty": "9000.00", "stepSize": "0.00000100"},
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
