"""The UM and CM endpoints the simulator serves: what each answers, weighs and reads, as Binance documents it.

Per section (UM orders, UM algo orders, CM orders, CM conditional orders): place an order (checked against
the symbol's filters), read the open ones, query and cancel one, cancel all on a symbol, and read the
history; and each kind's position read.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from papi_plugin.simulator import exchange_info
from papi_plugin.simulator.api_error import ApiError, missing
from papi_plugin.simulator.endpoint import Route, Served, Weigh
from papi_plugin.simulator.exchange import SimulatedExchange
from papi_plugin.simulator.futures import CANCEL_ALL_CONDITIONAL_DONE, CANCEL_ALL_DONE, CM, UM, Section

NO_SYMBOL_WEIGHT = 40  # an open-orders read without a symbol
LEVERAGE = "20"  # every position's leverage here (Binance's default is 20)
CONTRACT_USD = Decimal(100)  # a COIN-M contract's value in USD


class Paths(NamedTuple):
    """A section's endpoints (under /papi/v1/) and what Binance documents for them."""

    new: str
    open: str
    cancel_all: str
    history: str
    history_weight: int
    history_limit: tuple[int, int]  # default, max
    order_fields: tuple[str, ...]  # what placing an order reads
    history_fields: tuple[str, ...]  # what the history read reads
    one: str  # cancel one order (DELETE) and, but for UM algo orders, query one (GET)
    open_one: str  # query one open order
    ids: tuple[str, str]  # how a request names one order: its id, its client id


ONE_ORDER = ("orderId", "origClientOrderId")


PLAIN_ORDER = ("symbol", "side", "positionSide", "type", "timeInForce", "quantity", "reduceOnly", "price")
SECTIONS: dict[Section, Paths] = {
    Section(UM, False): Paths(
        "um/order",
        "um/openOrders",
        "um/allOpenOrders",
        "um/allOrders",
        5,
        (500, 1000),
        (*PLAIN_ORDER, "newClientOrderId", "newOrderRespType", "priceMatch", "selfTradePreventionMode", "goodTillDate"),
        ("symbol", "orderId", "startTime", "endTime", "limit"),
        "um/order",
        "um/openOrder",
        ONE_ORDER,
    ),
    Section(UM, True): Paths(
        "um/algo/order",
        "um/algo/openAlgoOrders",
        "um/algo/allOpenOrders",
        "um/algo/allAlgoOrders",
        5,
        (500, 1000),
        (
            "algoType",
            *PLAIN_ORDER,
            "triggerPrice",
            "workingType",
            "priceMatch",
            "closePosition",
            "priceProtect",
            "activatePrice",
            "callbackRate",
            "clientAlgoId",
            "selfTradePreventionMode",
            "goodTillDate",
        ),
        ("symbol", "algoId", "startTime", "endTime", "page", "limit"),
        "um/algo/order",
        "um/algo/algoOrder",
        ("algoId", "clientAlgoId"),
    ),
    Section(CM, False): Paths(
        "cm/order",
        "cm/openOrders",
        "cm/allOpenOrders",
        "cm/allOrders",
        20,
        (50, 100),
        (*PLAIN_ORDER, "newClientOrderId", "newOrderRespType"),
        ("symbol", "pair", "orderId", "startTime", "endTime", "limit"),
        "cm/order",
        "cm/openOrder",
        ONE_ORDER,
    ),
    Section(CM, True): Paths(
        "cm/conditional/order",
        "cm/conditional/openOrders",
        "cm/conditional/allOpenOrders",
        "cm/conditional/allOrders",
        1,
        (500, 1000),
        (
            "symbol",
            "side",
            "positionSide",
            "strategyType",
            "timeInForce",
            "quantity",
            "reduceOnly",
            "price",
            "workingType",
            "priceProtect",
            "newClientStrategyId",
            "stopPrice",
            "activationPrice",
            "callbackRate",
        ),
        ("symbol", "strategyId", "startTime", "endTime", "limit"),
        "cm/conditional/order",
        "cm/conditional/openOrder",
        ("strategyId", "newClientStrategyId"),
    ),
}
CM_CONDITIONAL_ONE_FROM_HISTORY = "cm/conditional/orderHistory"
PREFIX = "/papi/v1/"
CLIENT_ID = {
    Section(UM, False): "newClientOrderId",
    Section(UM, True): "clientAlgoId",
    Section(CM, False): "newClientOrderId",
    Section(CM, True): "newClientStrategyId",
}
CONDITIONAL_TYPES = ("STOP", "TAKE_PROFIT", "STOP_MARKET", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")


def symbols_of(sim: SimulatedExchange, section: Section) -> dict[str, Any]:
    return sim.um_symbols if section.kind == UM else sim.cm_symbols


def symbol_param(sim: SimulatedExchange, section: Section, params: dict[str, str], required: bool) -> str | None:
    symbol = params.get("symbol")
    if not symbol:
        if required:
            raise ApiError(400, -1102, missing("symbol"))
        return None
    if symbol not in symbols_of(sim, section):
        raise ApiError(400, -1121)
    return symbol


def positive(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    try:
        if value is None or Decimal(value) <= 0:
            raise ValueError
    except (ValueError, InvalidOperation):
        raise ApiError(400, -1102, missing(name)) from None
    return value


def new_order(section: Section) -> Route:
    def place(sim: SimulatedExchange, params: dict[str, str]) -> Any:
        symbol = symbol_param(sim, section, params, required=True)
        assert symbol is not None
        side = params.get("side", "")
        if side not in ("BUY", "SELL"):
            raise ApiError(400, -1102, missing("side"))
        if section.conditional:
            type_name = "type" if section.kind == UM else "strategyType"
            if params.get(type_name) not in CONDITIONAL_TYPES:
                raise ApiError(400, -1102, missing(type_name))
            if section.kind == UM and params.get("algoType") != "CONDITIONAL":
                raise ApiError(400, -1102, missing("algoType"))
            stop = positive(params, "triggerPrice" if section.kind == UM else "stopPrice")
        elif params.get("type") != "LIMIT":
            raise ApiError(400, -1102, missing("type"))
        else:
            stop = None
        quantity, price = positive(params, "quantity"), positive(params, "price")
        check_filters(section, price, quantity)
        order = sim.place_futures(
            section.kind,
            symbol,
            side,
            quantity,
            price,
            type=params.get("type") or params.get("strategyType"),
            conditional=section.conditional,
            stop_price=stop,
            client_id=params.get(CLIENT_ID[section]),
            time_in_force=params.get("timeInForce", "GTC"),
            position_side=params.get("positionSide", "BOTH"),
        )
        order.activate_price = params.get("activatePrice" if section.kind == UM else "activationPrice")
        order.callback_rate = params.get("callbackRate")
        return order.answer()

    return place


def check_filters(section: Section, price: str, quantity: str) -> None:
    """What Binance answers for a futures order breaking its symbol's PRICE_FILTER, LOT_SIZE or MIN_NOTIONAL
    (the futures exchange information lists them), in the order its matching engine checks them."""
    price_filter, lot_size = exchange_info.futures_filters(section.kind == CM)[:2]
    amount, qty = Decimal(price), Decimal(quantity)
    if amount < Decimal(price_filter["minPrice"]):
        raise ApiError(400, -4013, "Price less than min price.")
    if amount > Decimal(price_filter["maxPrice"]):
        raise ApiError(400, -4002, "Price greater than max price.")
    if amount % Decimal(price_filter["tickSize"]):
        raise ApiError(400, -4014, "Price not increased by tick size.")
    if qty < Decimal(lot_size["minQty"]):
        raise ApiError(400, -4004, "Quantity less than min quantity.")
    if qty > Decimal(lot_size["maxQty"]):
        raise ApiError(400, -4005, "Quantity greater than max quantity.")
    if qty % Decimal(lot_size["stepSize"]):
        raise ApiError(400, -4023, "Qty not increased by step size.")
    if section.kind == UM and amount * qty < Decimal(exchange_info.UM_MIN_NOTIONAL):
        minimum = exchange_info.UM_MIN_NOTIONAL
        raise ApiError(
            400, -4164, f"Order's notional must be no smaller than {minimum} (unless you choose reduce only)."
        )


def the_order(sim: SimulatedExchange, section: Section, params: dict[str, str], code: int) -> Any:
    """The order a one-order request names (by id or client id, on its symbol when it takes one), or ``code``."""
    paths = SECTIONS[section]
    if section != Section(UM, True):
        symbol_param(sim, section, params, required=True)
    id_name, client_name = paths.ids
    if id_name not in params and client_name not in params:
        raise ApiError(400, -1102, missing(f"{id_name}' or '{client_name}"))
    order = sim.futures.find(section, params.get(id_name), params.get(client_name))
    if order is None or ("symbol" in params and order.symbol != params["symbol"]):
        raise ApiError(400, code)
    return order


def query_one(section: Section, open_only: bool) -> Route:
    def read(sim: SimulatedExchange, params: dict[str, str]) -> Any:
        order = the_order(sim, section, params, -2013)
        if open_only and order.status != "NEW":
            raise ApiError(400, -2013)  # "If the queried order has been filled or cancelled": Order does not exist.
        return order.report(history=section == Section(UM, True))  # one algo order: with its actual order

    return read


def cm_conditional_from_history(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    order = the_order(sim, Section(CM, True), params, -2013)
    if order.status == "NEW":
        raise ApiError(400, -2013)  # "NEW orders will not be found."
    return order.report(history=True, one=True)


def cancel_one(section: Section) -> Route:
    def cancel(sim: SimulatedExchange, params: dict[str, str]) -> Any:
        order = the_order(sim, section, params, -2011)
        if not sim.futures.cancel(section, order, sim.server_time()):
            raise ApiError(400, -2011)
        return {"complete": True} if section == Section(UM, True) else order.answer(new=False)

    return cancel


def um_positions(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    symbol = symbol_param(sim, Section(UM, False), params, required=False)
    answer = []
    for name in [symbol] if symbol else list(sim.um_symbols):
        position = sim.futures.position(UM, name)
        mark = position.entry_price  # no market moves here: the mark price is the entry price
        answer.append(
            {
                "entryPrice": f"{position.entry_price:.5f}",
                "leverage": LEVERAGE,
                "markPrice": f"{mark:.8f}",
                "maxNotionalValue": "20000000",
                "positionAmt": f"{position.amount:.3f}",
                "notional": f"{position.amount * mark:f}",
                "symbol": name,
                "unRealizedProfit": "0.00000000",
                "liquidationPrice": "0",
                "positionSide": "BOTH",
                "updateTime": position.update_time,
            }
        )
    return answer


def cm_positions(sim: SimulatedExchange, params: dict[str, str]) -> Any:
    """Every COIN-M symbol's position, or those of ``pair`` or of ``marginAsset``, as Binance documents."""
    pair, asset = params.get("pair"), params.get("marginAsset")
    answer = []
    for name, (base, *_) in sim.cm_symbols.items():
        if (pair and name.split("_")[0] != pair) or (asset and base != asset):
            continue
        position = sim.futures.position(CM, name)
        mark = position.entry_price
        value = position.amount * CONTRACT_USD / mark if mark else Decimal(0)  # in the base coin
        answer.append(
            {
                "symbol": name,
                "positionAmt": f"{position.amount:f}",
                "entryPrice": f"{position.entry_price:.1f}",
                "markPrice": f"{mark:.8f}",
                "unRealizedProfit": "0.00000000",
                "liquidationPrice": "0",
                "leverage": LEVERAGE,
                "positionSide": "BOTH",
                "updateTime": position.update_time,
                "maxQty": "50",
                "notionalValue": f"{value:.8f}",
            }
        )
    return answer


def open_orders(section: Section) -> Route:
    def read(sim: SimulatedExchange, params: dict[str, str]) -> Any:
        symbol = symbol_param(sim, section, params, required=False)
        return [order.report() for order in sim.futures.open_orders(section, symbol)]

    return read


def cancel_all(section: Section) -> Route:
    def cancel(sim: SimulatedExchange, params: dict[str, str]) -> Any:
        symbol = symbol_param(sim, section, params, required=True)
        assert symbol is not None
        sim.futures.cancel_all(section, symbol, sim.server_time())
        # The same answer whether anything was open or not.
        return dict(CANCEL_ALL_CONDITIONAL_DONE if section == Section(CM, True) else CANCEL_ALL_DONE)

    return cancel


def history(section: Section) -> Route:
    default, maximum = SECTIONS[section].history_limit

    def read(sim: SimulatedExchange, params: dict[str, str]) -> Any:
        symbol = symbol_param(sim, section, params, required=section != Section(CM, True))
        limit = params.get("limit", str(default))
        if not limit.isdigit() or not 1 <= int(limit) <= maximum:
            raise ApiError(400, -1102, missing("limit"))
        return [order.report(history=True) for order in sim.futures.all_orders(section, symbol, int(limit))]

    return read


def open_weight(sim: SimulatedExchange, params: dict[str, str]) -> int:
    return 1 if "symbol" in params else NO_SYMBOL_WEIGHT


def section_endpoints(section: Section, paths: Paths) -> dict[tuple[str, str], Served]:
    """A section's endpoints."""
    history_weight: int | Weigh = paths.history_weight
    if section == Section(CM, True):
        history_weight = open_weight  # the CM conditional history weighs 1 with a symbol, 40 without
    open_reads: tuple[str, ...] = ("symbol", "pair") if section.kind == CM else ("symbol",)
    if section == Section(UM, True):
        open_reads = ("algoType", "symbol", "algoId")
    one_reads = paths.ids if section == Section(UM, True) else ("symbol", *paths.ids)
    served = {
        ("POST", PREFIX + paths.new): Served(new_order(section), 1, paths.order_fields, places=1),
        ("GET", PREFIX + paths.open): Served(open_orders(section), open_weight, open_reads),
        ("DELETE", PREFIX + paths.cancel_all): Served(cancel_all(section), 1, ("symbol",)),
        ("GET", PREFIX + paths.history): Served(history(section), history_weight, paths.history_fields),
        ("DELETE", PREFIX + paths.one): Served(cancel_one(section), 1, one_reads),
        ("GET", PREFIX + paths.open_one): Served(query_one(section, open_only=True), 1, one_reads),
    }
    if not section.conditional:  # query one order, whatever its state
        served[("GET", PREFIX + paths.one)] = Served(query_one(section, open_only=False), 1, one_reads)
    return served


ENDPOINTS: dict[tuple[str, str], Served] = {
    ("GET", PREFIX + CM_CONDITIONAL_ONE_FROM_HISTORY): Served(
        cm_conditional_from_history, 1, ("symbol", "strategyId", "newClientStrategyId")
    ),
    ("GET", PREFIX + "um/positionRisk"): Served(um_positions, 5, ("symbol",)),
    ("GET", PREFIX + "cm/positionRisk"): Served(cm_positions, 1, ("marginAsset", "pair")),
}
for _section, _paths in SECTIONS.items():
    ENDPOINTS.update(section_endpoints(_section, _paths))
