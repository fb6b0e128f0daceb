"""The simulator's futures books: USD-M (UM) and COIN-M (CM) orders of a Portfolio Margin account.

Each kind has plain orders and conditional ones: UM algo orders (``/papi/v1/um/algo/...``) and CM
conditional orders (``/papi/v1/cm/conditional/...``). Every order is reported in the shape Binance
documents for its section; a cancel-all answers only a code and a message.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from papi_plugin.simulator.book import new_client_id

UM, CM = "um", "cm"
CANCELED = {(UM, False): "CANCELED", (UM, True): "CANCELED", (CM, False): "CANCELED", (CM, True): "CANCELLED"}
CANCEL_ALL_DONE = {"code": 200, "msg": "The operation of cancel all open order is done."}
# As Binance documents "Cancel All CM Open Conditional Orders": the code is a string there.
CANCEL_ALL_CONDITIONAL_DONE = {"code": "200", "msg": "The operation of cancel all conditional open order is done."}
FIRST_IDS = {(UM, False): 8_000_000, (UM, True): 3_000, (CM, False): 9_000_000, (CM, True): 4_000}


class Section(NamedTuple):
    """One kind of futures order: ``kind`` "um" or "cm", plain or ``conditional``."""

    kind: str
    conditional: bool


@dataclass
class FuturesOrder:
    section: Section
    symbol: str
    order_id: int
    client_id: str
    side: str
    type: str  # LIMIT for a plain order; STOP, TAKE_PROFIT, ... for a conditional one
    quantity: str
    price: str
    stop_price: str | None = None
    time: int = 0
    update_time: int = 0
    status: str = "NEW"
    executed: str = "0"
    position_side: str = "BOTH"
    time_in_force: str = "GTC"

    activate_price: str | None = None  # a trailing stop's activation price
    callback_rate: str | None = None  # a trailing stop's callback rate, percent

    @property
    def trailing(self) -> dict[str, str]:
        """A CM conditional order's trailing-stop fields: only a TRAILING_STOP_MARKET order has them."""
        if self.type != "TRAILING_STOP_MARKET":
            return {}
        return {"activatePrice": self.activate_price or "0", "priceRate": self.callback_rate or "0"}

    def report(self, history: bool = False, one: bool = False) -> dict[str, Any]:
        """The order as Binance's reads report it for its section (``history``: as the history reads do,
        ``one``: as the query of one CM conditional order from the history does)."""
        kind, conditional = self.section
        if kind == UM and conditional:
            entry = self.algo()
            return {**entry, "actualOrderId": "", "actualPrice": "0.00000"} if history else entry
        if kind == CM and conditional:
            entry = {
                "newClientStrategyId": self.client_id,
                "strategyId": self.order_id,
                "strategyStatus": self.status,
                "strategyType": self.type,
                "origQty": self.quantity,
                "price": self.price,
                "reduceOnly": False,
                "side": self.side,
                "positionSide": self.position_side,
                "stopPrice": self.stop_price or "0",
                "symbol": self.symbol,
                "bookTime": self.time,
                "updateTime": self.update_time,
                "timeInForce": self.time_in_force,
                **self.trailing,
            }
            if not history:
                return entry
            entry["triggerTime"] = self.update_time if self.status == "TRIGGERED" else 0
            if self.status == "TRIGGERED":  # the order it became: "returned when strategy is triggered"
                entry.update({"orderId": self.order_id, "status": "NEW", "type": "LIMIT"})
            if one:
                entry.update({"workingType": "CONTRACT_PRICE", "priceProtect": False, "priceMatch": "NONE"})
            return entry
        executed = Decimal(self.executed)
        return {
            **self.plain(),
            "avgPrice": self.price if executed else "0.0",
            ("cumQuote" if kind == UM else "cumBase"): f"{executed * Decimal(self.price) if kind == UM else executed}",
            "origType": self.type,
            "time": self.time,
        }

    def answer(self, new: bool = True) -> dict[str, Any]:
        """The order as a new-order answer (``new``) or a cancel-one answer reports it."""
        kind, conditional = self.section
        if kind == UM and conditional:  # a new algo order (a canceled one answers only {"complete": true})
            entry = {k: v for k, v in self.algo().items() if k != "closePosition"}
            return {**entry, "activatePrice": self.activate_price or "", "callbackRate": self.callback_rate or ""}
        if kind == CM and conditional:
            entry = {**self.report(), "workingType": "CONTRACT_PRICE", "priceProtect": False}
            return {**entry, "pair": self.pair} if new else entry
        return {**self.plain(), "cumQty": self.executed}

    def plain(self) -> dict[str, Any]:
        """The fields a plain order's read and its new-order and cancel answers share."""
        entry = {
            "clientOrderId": self.client_id,
            "executedQty": self.executed,
            "orderId": self.order_id,
            "origQty": self.quantity,
            "price": self.price,
            "reduceOnly": False,
            "side": self.side,
            "positionSide": self.position_side,
            "status": self.status,
            "symbol": self.symbol,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "updateTime": self.update_time,
        }
        if self.section[0] == UM:
            entry.update({"selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0, "priceMatch": "NONE"})
        else:
            entry["pair"] = self.pair
        return entry

    def algo(self) -> dict[str, Any]:
        """A UM algo order, as its reads report it."""
        return {
            "algoId": self.order_id,
            "clientAlgoId": self.client_id,
            "algoType": "CONDITIONAL",
            "orderType": self.type,
            "symbol": self.symbol,
            "side": self.side,
            "positionSide": self.position_side,
            "timeInForce": self.time_in_force,
            "quantity": self.quantity,
            "algoStatus": self.status,
            "triggerPrice": self.stop_price or "0",
            "price": self.price,
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "workingType": "CONTRACT_PRICE",
            "priceMatch": "NONE",
            "closePosition": False,
            "priceProtect": False,
            "reduceOnly": False,
            "createTime": self.time,
            "updateTime": self.update_time,
            "triggerTime": self.update_time if self.status == "TRIGGERED" else 0,
            "goodTillDate": 0,
        }

    @property
    def pair(self) -> str:
        return self.symbol.split("_")[0]


def _counters() -> dict[Section, Iterator[int]]:
    return {Section(*key): itertools.count(first) for key, first in FIRST_IDS.items()}


@dataclass
class Position:
    """One futures symbol's position (one-way mode: side BOTH), from the plain orders filled on it."""

    amount: Decimal = Decimal(0)  # signed: long above zero
    entry_price: Decimal = Decimal(0)
    update_time: int = 0

    def add(self, signed: Decimal, price: Decimal, now: int) -> None:
        total = self.amount + signed
        if total == 0:
            self.entry_price = Decimal(0)
        elif self.amount == 0 or (self.amount > 0) != (total > 0):  # opened, or turned over: the fill's price
            self.entry_price = price
        elif (signed > 0) == (self.amount > 0):  # added to: the average entry price
            self.entry_price = (self.amount * self.entry_price + signed * price) / total
        self.amount, self.update_time = total, now


@dataclass
class FuturesBook:
    """Open UM and CM orders, plain and conditional, and every one ever placed; changes hold ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    open: dict[Section, dict[int, FuturesOrder]] = field(default_factory=dict)
    history: dict[Section, dict[int, FuturesOrder]] = field(default_factory=dict)
    ids: dict[Section, Iterator[int]] = field(default_factory=_counters)
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)  # by (kind, symbol)

    def place(self, order: FuturesOrder) -> FuturesOrder:
        with self.lock:
            placed = self.history.setdefault(order.section, {})
            if order.order_id < 0:
                order.order_id = next(i for i in self.ids[order.section] if i not in placed)
            order.client_id = order.client_id or new_client_id()
            order.update_time = order.update_time or order.time
            self.open.setdefault(order.section, {})[order.order_id] = placed[order.order_id] = order
            return order

    def open_orders(self, section: Section, symbol: str | None = None) -> list[FuturesOrder]:
        with self.lock:
            return [o for o in self.open.get(section, {}).values() if symbol is None or o.symbol == symbol]

    def cancel_all(self, section: Section, symbol: str, now: int) -> list[FuturesOrder]:
        """Cancel the section's open orders on ``symbol``, atomically."""
        with self.lock:
            book = self.open.get(section, {})
            canceled = [o for o in book.values() if o.symbol == symbol]
            for order in canceled:
                del book[order.order_id]
                order.status, order.update_time = CANCELED[section], now
            return canceled

    def fill(self, section: Section, order_id: int, now: int) -> FuturesOrder:
        """Fill an open plain order whole, or trigger an open conditional one: it leaves the book."""
        with self.lock:
            order = self.open[section].pop(order_id)
            order.executed = order.quantity if not section.conditional else "0"
            order.status = "TRIGGERED" if section.conditional else "FILLED"
            order.update_time = now
            if not section.conditional:
                signed = Decimal(order.quantity) * (1 if order.side == "BUY" else -1)
                position = self.positions.setdefault((section.kind, order.symbol), Position())
                position.add(signed, Decimal(order.price), now)
            return order

    def position(self, kind: str, symbol: str) -> Position:
        with self.lock:
            return self.positions.get((kind, symbol)) or Position()

    def find(self, section: Section, order_id: str | None, client_id: str | None) -> FuturesOrder | None:
        """An order of the section by its id or its client id, open or not."""
        with self.lock:
            for order in self.history.get(section, {}).values():
                if (order_id is not None and str(order.order_id) == order_id) or (
                    client_id is not None and order.client_id == client_id
                ):
                    return order
            return None

    def cancel(self, section: Section, order: FuturesOrder, now: int) -> bool:
        """Cancel one open order; False if it is no longer open."""
        with self.lock:
            if self.open.get(section, {}).pop(order.order_id, None) is None:
                return False
            order.status, order.update_time = CANCELED[section], now
            return True

    def all_orders(self, section: Section, symbol: str | None, limit: int) -> list[FuturesOrder]:
        """The most recent orders of the section (on ``symbol``), open or not, oldest first."""
        with self.lock:
            mine = [o for o in self.history.get(section, {}).values() if symbol is None or o.symbol == symbol]
            return sorted(mine, key=lambda o: o.order_id)[-limit:]
