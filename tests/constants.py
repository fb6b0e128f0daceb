"""Test constants shared by every test module: made-up keys, endpoints and the documented example."""

from __future__ import annotations

# Made-up credentials: cassettes are replayed with them and recorded (from the simulator) with them.
TEST_API_KEY = "papiTestKey0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
TEST_SECRET = "papiTestSecret0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"

CANCEL_ALL = "DELETE /papi/v1/margin/allOpenOrders"
CANCEL_ALL_PATH = "/papi/v1/margin/allOpenOrders"
OPEN_ORDERS = "GET /papi/v1/margin/openOrders"
OPEN_ORDERS_PATH = "/papi/v1/margin/openOrders"
OPEN_ORDER_LISTS_PATH = "/papi/v1/margin/openOrderList"
MARKET_OPTIONS = {"fetchMarkets": {"types": ["spot", "linear"]}, "fetchCurrencies": False, "fetchMargins": False}
# Every kind of Portfolio Margin market, as the simulator's attach() loads them: spot, USD-M and COIN-M.
ALL_MARKET_OPTIONS = {**MARKET_OPTIONS, "fetchMarkets": {"types": ["spot", "linear", "inverse"]}}

# Binance's documented answer: limit order 11 and OCO list 1929 with legs 20 and 21, with their own client ids.
DOCUMENTED_IDS = ["11", "20", "21"]
DOCUMENTED = {"11": "E6APeyTJvkMvLMYMqu1KQ4", "20": "CwOOIPHSmYywx6jZX77TdL", "21": "461cPg51vQjV3zIMOXNz39"}
CANCEL_REQUEST_CLIENT_ID = "pXLV6Hz6mprAcVYpVMTGgx"
