"""The Portfolio Margin endpoints the plugin sends to, with the request weight Binance documents for each."""

from __future__ import annotations

from typing import NamedTuple


class Endpoint(NamedTuple):
    method: str
    path: str  # under urls["api"]["papi"]
    weight: int  # Binance's documented request weight


CANCEL_ALL = Endpoint("DELETE", "margin/allOpenOrders", 5)
OPEN_ORDERS = Endpoint("GET", "margin/openOrders", 5)  # with a symbol
OPEN_ORDER_LISTS = Endpoint("GET", "margin/openOrderList", 5)  # takes no symbol: every open list
ALL_ORDERS = Endpoint("GET", "margin/allOrders", 100)  # a symbol's most recent orders, open or not
ALL_ORDER_LISTS = Endpoint("GET", "margin/allOrderList", 100)  # the most recent order lists, every symbol
# USD-M futures: orders, and algo orders (which replaced the UM conditional orders)
UM_CANCEL_ALL = Endpoint("DELETE", "um/allOpenOrders", 1)
UM_OPEN_ORDERS = Endpoint("GET", "um/openOrders", 1)  # with a symbol; 40 without
UM_ALL_ORDERS = Endpoint("GET", "um/allOrders", 5)
UM_ALGO_CANCEL_ALL = Endpoint("DELETE", "um/algo/allOpenOrders", 1)
UM_ALGO_OPEN_ORDERS = Endpoint("GET", "um/algo/openAlgoOrders", 1)  # with a symbol; 40 without
UM_ALGO_ALL_ORDERS = Endpoint("GET", "um/algo/allAlgoOrders", 5)
# COIN-M futures: orders and conditional orders
CM_CANCEL_ALL = Endpoint("DELETE", "cm/allOpenOrders", 1)
CM_OPEN_ORDERS = Endpoint("GET", "cm/openOrders", 1)  # with a symbol; 40 without
CM_ALL_ORDERS = Endpoint("GET", "cm/allOrders", 20)
CM_CONDITIONAL_CANCEL_ALL = Endpoint("DELETE", "cm/conditional/allOpenOrders", 1)
CM_CONDITIONAL_OPEN_ORDERS = Endpoint("GET", "cm/conditional/openOrders", 1)  # with a symbol; 40 without
CM_CONDITIONAL_ALL_ORDERS = Endpoint("GET", "cm/conditional/allOrders", 1)  # with a symbol; 40 without
NO_SYMBOL_WEIGHT = 40  # a futures open-orders read without a symbol: every symbol's open orders
CANCEL_ALLS = frozenset({CANCEL_ALL, UM_CANCEL_ALL, UM_ALGO_CANCEL_ALL, CM_CANCEL_ALL, CM_CONDITIONAL_CANCEL_ALL})
