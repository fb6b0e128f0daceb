"""The three kinds of order a Portfolio Margin account holds, and the papi endpoints of each.

Cross margin (spot symbols open to margin trading), USD-M futures (UM: linear perpetuals and delivery
contracts) and COIN-M futures (CM: inverse ones). A futures kind has two sections, its plain orders and
its conditional ones (UM algo orders, CM conditional orders), each with an open-orders read, a
cancel-all and a history read.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from papi_plugin.protocol import calls, endpoints
from papi_plugin.protocol.endpoints import Endpoint


class Section(NamedTuple):
    """The plain or the conditional orders of a futures kind, as Binance reports them."""

    open_orders: Endpoint
    cancel_all: Endpoint
    history: Endpoint
    history_limit: int  # the most one history read returns
    conditional: bool
    id_key: str  # orderId, algoId or strategyId
    client_id_key: str
    status_key: str
    created_key: str  # when the order was placed


class Kind(NamedTuple):
    name: str  # "margin", "um" or "cm"
    title: str  # for people: "cross margin", "USD-M futures", "COIN-M futures"
    call: str  # the capability that cancels this kind on one symbol
    example: str  # a unified symbol of this kind, for messages
    plain: Section | None  # None for margin, whose cancel-all reports the orders itself
    conditional: Section | None

    def sections(self, conditional: bool) -> tuple[Section, ...]:
        """The sections a cancel covers, the conditional one first: once it is canceled, no conditional
        order can trigger into a new plain order behind the plain cancel."""
        chosen = (self.conditional if conditional else None, self.plain)
        return tuple(section for section in chosen if section is not None)

    def history_path(self, conditional: bool) -> str:
        """The path of the history read that lists an order of this kind (margin: ``margin/allOrders``)."""
        section = self.conditional if conditional else self.plain
        return section.history.path if section is not None else endpoints.ALL_ORDERS.path


MARGIN = Kind("margin", "cross margin", calls.CANCEL_MARGIN, "BTC/USDT", None, None)
UM = Kind(
    "um",
    "USD-M futures",
    calls.CANCEL_UM,
    "BTC/USDT:USDT",
    Section(
        endpoints.UM_OPEN_ORDERS,
        endpoints.UM_CANCEL_ALL,
        endpoints.UM_ALL_ORDERS,
        1000,
        False,
        "orderId",
        "clientOrderId",
        "status",
        "time",
    ),
    Section(
        endpoints.UM_ALGO_OPEN_ORDERS,
        endpoints.UM_ALGO_CANCEL_ALL,
        endpoints.UM_ALGO_ALL_ORDERS,
        1000,
        True,
        "algoId",
        "clientAlgoId",
        "algoStatus",
        "createTime",
    ),
)
CM = Kind(
    "cm",
    "COIN-M futures",
    calls.CANCEL_CM,
    "BTC/USD:BTC",
    Section(
        endpoints.CM_OPEN_ORDERS,
        endpoints.CM_CANCEL_ALL,
        endpoints.CM_ALL_ORDERS,
        100,
        False,
        "orderId",
        "clientOrderId",
        "status",
        "time",
    ),
    Section(
        endpoints.CM_CONDITIONAL_OPEN_ORDERS,
        endpoints.CM_CONDITIONAL_CANCEL_ALL,
        endpoints.CM_CONDITIONAL_ALL_ORDERS,
        1000,
        True,
        "strategyId",
        "newClientStrategyId",
        "strategyStatus",
        "bookTime",
    ),
)
KINDS = (MARGIN, UM, CM)
CANCELED_STATUSES = ("CANCELED", "CANCELLED")  # Binance spells the CM conditional one "CANCELLED"


def kind_of(market: dict[str, Any]) -> Kind | None:
    """The kind of order papi_plugin cancels on ``market``, or None (a spot market closed to margin, an option)."""
    if market.get("spot"):
        return MARGIN if market.get("margin") else None
    if market.get("option") or not market.get("contract"):
        return None
    if market.get("linear"):
        return UM
    if market.get("inverse"):
        return CM
    return None
