"""The spot, margin and exchange-information endpoints the simulator serves, and the table of every endpoint
(``ENDPOINTS``): what each answers, weighs and reads, as Binance documents it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from papi_plugin.simulator import exchange_info, futures_routes
from papi_plugin.simulator.api_error import ApiError, missing
from papi_plugin.simulator.book import Order
from papi_plugin.simulator.endpoint import Served
from papi_plugin.simulator.exchange import SimulatedExchange

ORDER_TYPES = {"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"}
STP_MODES = ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH")

HISTORY_LIMIT = 500  # allOrders and allOrderList: "Default 500; max 500"

ORDER_PARAMS = (
    "symbol",
    "side",
    "type",
    "quantity",
    "price",
    "timeInForce",
    "newClientOrderId",
    "stopPrice",
    "icebergQty",
    "newOrderRespType",
    "quoteOrderQty",
    "sideEffectType",
    "autoRepayAtCancel",
    "selfTradePreventionMode",
)
OCO_PARAMS = (
    "symbol",
    "side",
    "quantity",
    "price",
    "stopPrice",
    "stopLimitPrice",
    "stopLimitTimeInForce",
    "listClientOrderId",
    "limitClientOrderId",
    "stopClientOrderId",
    "limitIcebergQty",
    "stopIcebergQty",
    "newOrderRespType",
    "sideEffectType",
    "selfTradePreventionMode",
)
INSTANCE_PATH = "/simulator/v1/instance"


def margin_open_orders_weight(sim: SimulatedExchange, params: dict[str, str]) -> int:
    """5 with a symbol; without one, Binance counts one request per symbol trading on the exchange."""
    return 5 if "symbol" in params else len(sim.margin_symbols) + len(exchange_info.SPOT_ONLY_SYMBOLS)


def symbol_param(sim: SimulatedExchange, params: dict[str, str], required: bool = True) -> str | None:
    symbol = params.get("symbol")
    if not symbol:
        if required:
            raise ApiError(400, -1102, missing("symbol"))
        return None
    if symbol not in sim.margin_symbols:
        raise ApiError(400, -1121)
    return symbol


def decimal_param(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    try:
        if value is None or Decimal(value) <= 0:
            raise ValueError
    except (ValueError, ArithmeticError):
        raise ApiError(400, -1102, missing(name)) from None
    return value


def server_time(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    return {"serverTime": sim.server_time()}


def ping(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    return {}


def instance(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    """Not Binance's: which simulator answers on this port (a new one is a new exchange, with its own limits)."""
    return {"instance": sim.instance}


def new_order(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    symbol = symbol_param(sim, params)
    assert symbol is not None
    side, order_type = params.get("side", ""), params.get("type", "")
    if side not in ("BUY", "SELL") or order_type not in ORDER_TYPES:
        raise ApiError(400, -1102, missing("side' or 'type"))
    stop_price = decimal_param(params, "stopPrice") if order_type in ("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT") else None
    respond = params.get("newOrderRespType", "FULL" if order_type == "LIMIT" else "ACK")
    if respond not in ("ACK", "RESULT", "FULL"):
        raise ApiError(400, -1102, missing("newOrderRespType"))
    quantity, price = decimal_param(params, "quantity"), decimal_param(params, "price")
    exchange_info.check_order(price, quantity)
    order = sim.place(
        symbol,
        side,
        order_type,
        quantity,
        price,
        client_order_id=params.get("newClientOrderId"),
        time_in_force="GTC" if order_type == "LIMIT_MAKER" else params.get("timeInForce", "GTC"),
        stop_price=stop_price,
        iceberg_qty=params.get("icebergQty"),
        self_trade_prevention=stp_mode(params),
    )
    return order_answer(order, respond)


def stp_mode(params: dict[str, str]) -> str:
    mode = params.get("selfTradePreventionMode", "EXPIRE_MAKER")
    if mode not in STP_MODES:
        raise ApiError(400, -1102, missing("selfTradePreventionMode"))
    return mode


def order_answer(order: Order, respond: str) -> dict[str, Any]:
    """A new order's answer in the shape asked for: ACK, RESULT, or FULL (RESULT with ``fills``)."""
    if respond == "ACK":
        return {
            "symbol": order.symbol,
            "orderId": order.order_id,
            "clientOrderId": order.client_order_id,
            "transactTime": order.time,
        }
    result = {**order.answer(order.status), "transactTime": order.time}
    return result if respond == "RESULT" else {**result, "fills": []}  # resting orders have no fills yet


def new_oco(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    symbol = symbol_param(sim, params)
    assert symbol is not None
    side = params.get("side", "")
    if side not in ("BUY", "SELL"):
        raise ApiError(400, -1102, missing("side"))
    quantity = decimal_param(params, "quantity")
    exchange_info.check_order(params.get("price"), quantity)
    exchange_info.check_order(params.get("stopLimitPrice"), quantity, "stopLimitPrice")
    stop_leg = {
        "side": side,
        "type": "STOP_LOSS_LIMIT",
        "quantity": quantity,
        "price": decimal_param(params, "stopLimitPrice"),
        "stop_price": decimal_param(params, "stopPrice"),
        "client_order_id": params.get("stopClientOrderId"),
        "time_in_force": params.get("stopLimitTimeInForce", "GTC"),
    }
    limit_leg = {
        "side": side,
        "type": "LIMIT_MAKER",
        "quantity": quantity,
        "price": decimal_param(params, "price"),
        "client_order_id": params.get("limitClientOrderId"),
    }
    order_list = sim.place_oco(symbol, [stop_leg, limit_leg], list_client_order_id=params.get("listClientOrderId"))
    answer = sim.book.list_status(order_list, "EXEC_STARTED", "EXECUTING", "NEW")
    # A new list's reports carry when each leg was placed; a canceled list's do not (as Binance documents both).
    answer["orderReports"] = [{**report, "transactTime": order_list.time} for report in answer["orderReports"]]
    return answer


def open_orders(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    symbol = symbol_param(sim, params, required=False)
    # As Binance documents this answer: no orderListId (a leg's list is found from the lists' own "orders").
    return [order.record(working=True) for order in sim.open_orders(symbol)]


def open_order_lists(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    symbol = symbol_param(sim, params, required=False)
    statuses = (sim.book.list_status(x, "EXEC_STARTED", "EXECUTING", "NEW") for x in sim.open_lists(symbol))
    return [{k: v for k, v in status.items() if k != "orderReports"} for status in statuses]


def limit_param(params: dict[str, str]) -> int:
    limit = params.get("limit", str(HISTORY_LIMIT))
    if not limit.isdigit() or not 1 <= int(limit) <= HISTORY_LIMIT:
        raise ApiError(400, -1102, missing("limit"))
    return int(limit)


def all_orders(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    symbol = symbol_param(sim, params)
    assert symbol is not None
    start, end = int(params.get("startTime", 0)), int(params.get("endTime", 2**62))
    return [
        order.record(working=False)
        for order in sim.book.all_orders(symbol, limit_param(params))
        if start <= order.time <= end
    ]


def all_order_lists(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    start, end = int(params.get("startTime", 0)), int(params.get("endTime", 2**62))
    answer = []
    for order_list in sim.book.all_lists(limit_param(params)):
        if start <= order_list.time <= end:
            done = order_list.status == "ALL_DONE"
            status = sim.book.list_status(order_list, order_list.status, "ALL_DONE" if done else "EXECUTING", "")
            answer.append({k: v for k, v in status.items() if k != "orderReports"})
    return answer


def the_order(sim: SimulatedExchange, params: dict[str, str], missing_code: int) -> Any:
    """The order named by ``orderId`` or ``origClientOrderId`` on the request's symbol."""
    symbol = symbol_param(sim, params)
    if "orderId" not in params and "origClientOrderId" not in params:
        raise ApiError(400, -1102, missing("orderId' or 'origClientOrderId"))
    order = sim.book.find(params.get("orderId"), params.get("origClientOrderId"))
    if order is None or order.symbol != symbol:
        raise ApiError(400, missing_code)
    return order


def query_order(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    order = the_order(sim, params, -2013)
    working = order.status == "NEW"
    return order.record(working)


def cancel_order(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    order = the_order(sim, params, -2011)
    if order.status != "NEW":
        raise ApiError(400, -2011)
    if order.order_list_id != -1:  # a leg: Binance cancels its whole list
        order_list = sim.book.find_list(str(order.order_list_id), None)
        assert order_list is not None
        entry = sim.book.cancel_list(order_list, sim.server_time())
        return next(r for r in entry["orderReports"] if r["orderId"] == order.order_id)
    return sim.book.cancel_one(order, sim.server_time())


def cancel_order_list(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    symbol = symbol_param(sim, params)
    if "orderListId" not in params and "listClientOrderId" not in params:
        raise ApiError(400, -1102, missing("orderListId' or 'listClientOrderId"))
    order_list = sim.book.find_list(params.get("orderListId"), params.get("listClientOrderId"))
    if order_list is None or order_list.symbol != symbol or order_list.status == "ALL_DONE":
        raise ApiError(400, -2011)
    return sim.book.cancel_list(order_list, sim.server_time())


def cancel_all(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    symbol = symbol_param(sim, params)
    assert symbol is not None
    canceled = sim.cancel_all(symbol)
    if not canceled:
        raise ApiError(400, -2011)
    return canceled


def spot_info(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    return exchange_info.spot_info(sim.margin_symbols, sim.server_time())


def usdm_info(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    return exchange_info.usdm_info(sim.um_symbols, sim.server_time())


def coinm_info(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    return exchange_info.coinm_info(sim.cm_symbols, sim.server_time())


def margin_pairs(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    return exchange_info.margin_pairs(sim.margin_symbols)


def nothing(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    return []  # coins and isolated pairs: nothing here depends on them


# Every endpoint served, with Binance's documented weight and, for a signed one, the parameters it reads.
ENDPOINTS: dict[tuple[str, str], Served] = {
    ("GET", "/api/v3/ping"): Served(ping, 1),
    ("GET", "/papi/v1/ping"): Served(ping, 1),
    ("GET", INSTANCE_PATH): Served(instance, 1),
    ("GET", "/api/v3/time"): Served(server_time, 1),
    ("GET", "/api/v3/exchangeInfo"): Served(spot_info, 20),
    ("GET", "/fapi/v1/exchangeInfo"): Served(usdm_info, 1),
    ("GET", "/dapi/v1/exchangeInfo"): Served(coinm_info, 1),
    ("GET", "/sapi/v1/capital/config/getall"): Served(nothing, 10),
    ("GET", "/sapi/v1/margin/allPairs"): Served(margin_pairs, 1),
    ("GET", "/sapi/v1/margin/isolated/allPairs"): Served(nothing, 10),
    ("POST", "/papi/v1/margin/order"): Served(new_order, 1, ORDER_PARAMS, places=1),
    ("POST", "/papi/v1/margin/order/oco"): Served(new_oco, 1, OCO_PARAMS, places=2),
    ("GET", "/papi/v1/margin/openOrders"): Served(open_orders, margin_open_orders_weight, ("symbol",)),
    ("GET", "/papi/v1/margin/openOrderList"): Served(open_order_lists, 5, ()),
    ("DELETE", "/papi/v1/margin/allOpenOrders"): Served(cancel_all, 5, ("symbol",)),
    ("GET", "/papi/v1/margin/allOrders"): Served(
        all_orders, 100, ("symbol", "orderId", "startTime", "endTime", "limit")
    ),
    ("GET", "/papi/v1/margin/allOrderList"): Served(all_order_lists, 100, ("fromId", "startTime", "endTime", "limit")),
    ("DELETE", "/papi/v1/margin/order"): Served(
        cancel_order, 2, ("symbol", "orderId", "origClientOrderId", "newClientOrderId")
    ),
    ("GET", "/papi/v1/margin/order"): Served(query_order, 10, ("symbol", "orderId", "origClientOrderId")),
    ("DELETE", "/papi/v1/margin/orderList"): Served(
        cancel_order_list, 2, ("symbol", "orderListId", "listClientOrderId", "newClientOrderId")
    ),
    **futures_routes.ENDPOINTS,
}
