"""The UM and CM endpoints the simulator serves: what each answers, weighs and reads, as Binance documents it.

Per section (UM orders, UM algo orders, CM orders, CM conditional orders): place an order, read the open
ones, cancel all on a symbol, and read the history.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from papi_plugin.simulator.api_error import ApiError, missing
from papi_plugin.simulator.endpoint import Route, Served, Weigh
from papi_plugin.simulator.exchange import SimulatedExchange
from papi_plugin.simulator.futures import CANCEL_ALL_CONDITIONAL_DONE, CANCEL_ALL_DONE, CM, UM, Section

NO_SYMBOL_WEIGHT = 40  # an open-orders read without a symbol


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
    ),
}
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
        order = sim.place_futures(
            section.kind,
            symbol,
            side,
            positive(params, "quantity"),
            positive(params, "price"),
            type=params.get("type") or params.get("strategyType"),
            conditional=section.conditional,
            stop_price=stop,
            client_id=params.get(CLIENT_ID[section]),
            time_in_force=params.get("timeInForce", "GTC"),
            position_side=params.get("positionSide", "BOTH"),
        )
        return order.report()

    return place


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


def served(section: Section, paths: Paths) -> dict[tuple[str, str], Served]:
    """A section's endpoints."""
    history_weight: int | Weigh = paths.history_weight
    if section == Section(CM, True):
        history_weight = open_weight  # the CM conditional history weighs 1 with a symbol, 40 without
    open_reads: tuple[str, ...] = ("symbol", "pair") if section.kind == CM else ("symbol",)
    if section == Section(UM, True):
        open_reads = ("algoType", "symbol", "algoId")
    return {
        ("POST", PREFIX + paths.new): Served(new_order(section), 1, paths.order_fields, places=1),
        ("GET", PREFIX + paths.open): Served(open_orders(section), open_weight, open_reads),
        ("DELETE", PREFIX + paths.cancel_all): Served(cancel_all(section), 1, ("symbol",)),
        ("GET", PREFIX + paths.history): Served(history(section), history_weight, paths.history_fields),
    }


ENDPOINTS: dict[tuple[str, str], Served] = {}
for _section, _paths in SECTIONS.items():
    ENDPOINTS.update(served(_section, _paths))
