"""The simulator's order book: open margin orders and OCO order lists, and what a cancel-all answers."""

from __future__ import annotations

import base64
import itertools
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ACCOUNT_ID = 152950866  # the simulated account's id, as order reads report it
ZERO = "0.00000000"  # what order reads report for an order without a stop price or an iceberg part


def new_client_id() -> str:
    return base64.b32encode(secrets.token_bytes(15)).decode().rstrip("=")[:22]


@dataclass
class Order:
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    price: str
    quantity: str
    time_in_force: str = "GTC"
    stop_price: str | None = None
    iceberg_qty: str | None = None
    order_list_id: int = -1
    time: int = 0
    status: str = "NEW"
    update_time: int = 0
    executed: str = "0"
    self_trade_prevention: str = "EXPIRE_MAKER"  # Binance's default mode

    def report(self, status: str, client_order_id: str | None = None) -> dict[str, Any]:
        """The order as Binance reports it; ``client_order_id`` is a cancel request's own id, when given."""
        entry: dict[str, Any] = {"symbol": self.symbol}
        if client_order_id is not None:
            entry["origClientOrderId"] = self.client_order_id
        entry.update(
            {
                "orderId": self.order_id,
                "orderListId": self.order_list_id,
                "clientOrderId": client_order_id or self.client_order_id,
                "price": self.price,
                "origQty": self.quantity,
                "executedQty": f"{Decimal(self.executed):.8f}",
                "cummulativeQuoteQty": f"{Decimal(self.executed) * Decimal(self.price):.8f}",
                "status": status,
                "timeInForce": self.time_in_force,
                "type": self.type,
                "side": self.side,
            }
        )
        if self.stop_price is not None:
            entry["stopPrice"] = self.stop_price
        if self.iceberg_qty is not None:
            entry["icebergQty"] = self.iceberg_qty
        return entry

    def answer(self, status: str, client_order_id: str | None = None) -> dict[str, Any]:
        """The order as a new-order or cancel-one answer reports it: without its list's id."""
        entry = self.report(status, client_order_id)
        del entry["orderListId"]
        return entry

    def record(self, working: bool) -> dict[str, Any]:
        """The order as the order reads (one order, open orders, all orders) report it."""
        executed = Decimal(self.executed)
        return {
            "clientOrderId": self.client_order_id,
            "cummulativeQuoteQty": f"{executed * Decimal(self.price):.8f}",
            "executedQty": f"{executed:.8f}",
            "icebergQty": self.iceberg_qty or ZERO,
            "isWorking": working,
            "orderId": self.order_id,
            "origQty": self.quantity,
            "price": self.price,
            "side": self.side,
            "status": self.status,
            "stopPrice": self.stop_price or ZERO,
            "symbol": self.symbol,
            "time": self.time,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "updateTime": self.update_time,
            "accountId": ACCOUNT_ID,
            "selfTradePreventionMode": self.self_trade_prevention,
            # Binance's documented example shows both as the text "None" for an order no self-trade prevented.
            "preventedMatchId": "None",
            "preventedQuantity": "None",
        }


@dataclass
class OrderList:
    symbol: str
    order_list_id: int
    list_client_order_id: str
    order_ids: list[int]
    contingency_type: str = "OCO"
    time: int = 0
    status: str = "EXEC_STARTED"  # listStatusType: ALL_DONE once canceled


@dataclass
class Book:
    """Open margin orders and order lists; every read and change holds ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    orders: dict[int, Order] = field(default_factory=dict)
    lists: dict[int, OrderList] = field(default_factory=dict)
    history: dict[int, Order] = field(default_factory=dict)  # every order ever placed, by id (its last state)
    list_history: dict[int, OrderList] = field(default_factory=dict)
    order_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    list_ids: Iterator[int] = field(default_factory=lambda: itertools.count(5000))

    def place(self, order: Order) -> Order:
        with self.lock:
            if order.order_id < 0:
                order.order_id = next(i for i in self.order_ids if i not in self.history)
            order.update_time = order.update_time or order.time
            self.orders[order.order_id] = self.history[order.order_id] = order
            return order

    def place_list(self, order_list: OrderList, legs: list[Order]) -> OrderList:
        with self.lock:
            if order_list.order_list_id < 0:
                order_list.order_list_id = next(i for i in self.list_ids if i not in self.list_history)
            for leg in legs:
                if leg.order_id < 0:
                    leg.order_id = next(i for i in self.order_ids if i not in self.history)
                leg.order_list_id = order_list.order_list_id
                leg.update_time = leg.update_time or leg.time
                self.orders[leg.order_id] = self.history[leg.order_id] = leg
                order_list.order_ids.append(leg.order_id)
            self.lists[order_list.order_list_id] = self.list_history[order_list.order_list_id] = order_list
            return order_list

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        with self.lock:
            return [o for o in self.orders.values() if symbol is None or o.symbol == symbol]

    def open_lists(self, symbol: str | None = None) -> list[OrderList]:
        with self.lock:
            return [x for x in self.lists.values() if symbol is None or x.symbol == symbol]

    def list_status(self, order_list: OrderList, status: str, order_status: str, leg_status: str) -> dict[str, Any]:
        """An order list as Binance reports it (``orders`` and ``orderReports`` for its legs)."""
        with self.lock:
            legs = [self.history[i] for i in order_list.order_ids if i in self.history]
        return list_entry(order_list, legs, status, order_status, [o.report(leg_status) for o in legs])

    def cancel_all(self, symbol: str, now: int) -> list[dict[str, Any]]:
        """Cancel every open order and order list on ``symbol``, atomically; the documented answer shape."""
        with self.lock:
            answer: list[dict[str, Any]] = []
            lists = [x for x in self.lists.values() if x.symbol == symbol]
            in_lists = {i for order_list in lists for i in order_list.order_ids}
            for order in [o for o in self.orders.values() if o.symbol == symbol and o.order_id not in in_lists]:
                self.close(order, now)
                answer.append(order.report("CANCELED", new_client_id()))
            for order_list in lists:
                legs = [self.orders[i] for i in order_list.order_ids if i in self.orders]
                for leg in legs:
                    self.close(leg, now)
                del self.lists[order_list.order_list_id]
                order_list.time, order_list.status = now, "ALL_DONE"
                reports = [o.report("CANCELED", new_client_id()) for o in legs]
                answer.append(list_entry(order_list, legs, "ALL_DONE", "ALL_DONE", reports))
            return answer

    def find(self, order_id: str | None, client_order_id: str | None) -> Order | None:
        """An order ever placed, by its id or its client id."""
        with self.lock:
            if order_id is not None:
                return self.history.get(int(order_id)) if order_id.lstrip("-").isdigit() else None
            return next((o for o in self.history.values() if o.client_order_id == client_order_id), None)

    def find_list(self, order_list_id: str | None, list_client_order_id: str | None) -> OrderList | None:
        with self.lock:
            if order_list_id is not None:
                return self.list_history.get(int(order_list_id)) if order_list_id.lstrip("-").isdigit() else None
            return next((x for x in self.list_history.values() if x.list_client_order_id == list_client_order_id), None)

    def cancel_list(self, order_list: OrderList, now: int) -> dict[str, Any]:
        """Cancel an open order list (all its legs); the documented answer."""
        with self.lock:
            legs = [self.orders[i] for i in order_list.order_ids if i in self.orders]
            for leg in legs:
                self.close(leg, now)
            self.lists.pop(order_list.order_list_id, None)
            order_list.time, order_list.status = now, "ALL_DONE"
            reports = [o.report("CANCELED", new_client_id()) for o in legs]
            return list_entry(order_list, legs, "ALL_DONE", "ALL_DONE", reports)

    def cancel_one(self, order: Order, now: int) -> dict[str, Any]:
        """Cancel one open order that is not a leg of a list; the documented answer."""
        with self.lock:
            self.close(order, now)
            return order.answer("CANCELED", new_client_id())

    def fill(self, order: Order, quantity: str, now: int) -> None:
        """Fill ``quantity`` more of an open order; once all of it is filled, it leaves the book as FILLED."""
        with self.lock:
            order.executed = str(min(Decimal(order.executed) + Decimal(quantity), Decimal(order.quantity)))
            order.update_time = now
            if Decimal(order.executed) == Decimal(order.quantity):
                self.close(order, now, "FILLED")
            else:
                order.status = "PARTIALLY_FILLED"

    def close(self, order: Order, now: int, status: str = "CANCELED") -> None:
        """Take an open order off the book; it stays in the history with its final status."""
        del self.orders[order.order_id]
        order.status, order.update_time = status, now

    def all_orders(self, symbol: str, limit: int) -> list[Order]:
        """The symbol's most recent orders, open or not, oldest first (as Binance lists them)."""
        with self.lock:
            mine = sorted((o for o in self.history.values() if o.symbol == symbol), key=lambda o: o.order_id)
            return mine[-limit:]

    def all_lists(self, limit: int) -> list[OrderList]:
        with self.lock:
            return sorted(self.list_history.values(), key=lambda x: x.order_list_id)[-limit:]


def list_entry(
    order_list: OrderList, legs: list[Order], status: str, order_status: str, reports: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "orderListId": order_list.order_list_id,
        "contingencyType": order_list.contingency_type,
        "listStatusType": status,
        "listOrderStatus": order_status,
        "listClientOrderId": order_list.list_client_order_id,
        "transactionTime": order_list.time,
        "symbol": order_list.symbol,
        "orders": [{"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id} for o in legs],
        "orderReports": reports,
    }
