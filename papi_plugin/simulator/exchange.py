"""The simulated exchange's state, apart from HTTP: what a route reads and changes."""

from __future__ import annotations

import collections
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from papi_plugin.simulator.api_error import ApiError
from papi_plugin.simulator.book import Book, Order, OrderList, new_client_id
from papi_plugin.simulator.exchange_info import CM_SYMBOLS, NO_DELIVERY, PERPETUAL, SPOT_MARGIN_SYMBOLS, UM_SYMBOLS
from papi_plugin.simulator.faults import Fault
from papi_plugin.simulator.futures import CM, UM, FuturesBook, FuturesOrder, Section
from papi_plugin.simulator.limits import BAN_AFTER_VIOLATIONS, BAN_SECONDS, WEIGHT_LIMIT_1M, Limits
from papi_plugin.simulator.signatures import Keys


@dataclass
class SeenRequest:
    """A request as the simulator saw it: ``params`` without the signature, ``raw`` as sent."""

    method: str
    path: str
    params: dict[str, str]
    status: int
    raw: str = ""
    api_key: str | None = None
    at: float = 0.0  # when it arrived (the machine's clock, seconds)


class SimulatedExchange:
    """What the simulated exchange knows: symbols, keys, limits and bans, the order book, scripted faults.

    ``clock`` (seconds) drives the weight windows and bans, so a test can share a fake one with the
    plugin; signed timestamps are checked against the real clock plus ``clock_skew_ms``.
    """

    def __init__(
        self,
        api_key: str | None = None,
        secret: str | None = None,
        weight_limit: int = WEIGHT_LIMIT_1M,
        window_seconds: float = 60.0,
        ban_after: int = BAN_AFTER_VIOLATIONS,
        ban_seconds: float = BAN_SECONDS,
        extra_symbols: int = 0,
        latency: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.instance = secrets.token_hex(8)  # this simulator, apart from any earlier one on the same port
        self.latency = latency  # seconds added to every answer, as a network between client and exchange would
        self.margin_symbols = dict(SPOT_MARGIN_SYMBOLS)  # market id -> (base, quote)
        # More margin symbols (X000USDT, X001USDT, ...), for flattening many symbols at once.
        self.margin_symbols.update({f"X{i:03d}USDT": (f"X{i:03d}", "USDT") for i in range(extra_symbols)})
        # Futures: the same extra symbols as USD-M perpetuals (X000/USDT:USDT) and COIN-M ones (X000/USD:X000).
        extra = [f"X{i:03d}" for i in range(extra_symbols)]
        self.um_symbols = {**UM_SYMBOLS, **{f"{x}USDT": (x, "USDT", PERPETUAL, NO_DELIVERY) for x in extra}}
        self.cm_symbols = {**CM_SYMBOLS, **{f"{x}USD_PERP": (x, "USD", PERPETUAL, NO_DELIVERY) for x in extra}}
        self.futures = FuturesBook()
        self.keys = Keys(api_key or "sim" + new_client_id() * 3, secret or new_client_id() * 3)
        self.clock_skew_ms = 0
        self.limits = Limits(weight_limit, window_seconds, ban_after, ban_seconds, clock)
        self.book = Book()
        self.requests: list[SeenRequest] = []
        self.stopping = threading.Event()  # set by stop(): every scripted wait ends at once
        self._faults: dict[str, collections.deque[Fault | None]] = collections.defaultdict(collections.deque)
        self._faults_lock = threading.Lock()

    # -- keys and limits

    @property
    def api_key(self) -> str:
        return self.keys.api_key

    @property
    def secret(self) -> str:
        return self.keys.secret

    @property
    def public_keys(self) -> dict[str, Any]:
        return self.keys.public_keys

    def add_public_key(self, api_key: str, public_key: Any) -> None:
        """Accept requests from ``api_key`` signed with the private half of an Ed25519 or RSA ``public_key``."""
        self.keys.public_keys[api_key] = public_key

    @property
    def weight_limit(self) -> int:
        return self.limits.weight_limit

    @property
    def window_seconds(self) -> float:
        return self.limits.window_seconds

    @property
    def weight_used(self) -> int:
        return self.limits.weight_used

    @property
    def rate_limited_answers(self) -> int:
        """How many 429 and 418 the simulator answered."""
        return self.limits.rate_limited_answers

    def charge(self, weight: int) -> tuple[int, ApiError | None]:
        """Spend ``weight`` of this window, as another program on the same IP would."""
        return self.limits.charge(weight)

    def server_time(self) -> int:
        return int(time.time() * 1000) + self.clock_skew_ms

    # -- fault scripting

    def inject(self, endpoint: str, *faults: Fault | None) -> None:
        """Script the next requests to ``endpoint`` ("DELETE /papi/v1/margin/allOpenOrders"); None = normal."""
        with self._faults_lock:
            self._faults[endpoint].extend(faults)

    def next_fault(self, endpoint: str) -> Fault | None:
        with self._faults_lock:
            queue = self._faults.get(endpoint)
            return queue.popleft() if queue else None

    def seen(self, method: str, path: str) -> int:
        """How many requests to this endpoint the simulator received."""
        return sum(1 for r in list(self.requests) if r.method == method and r.path == path)

    # -- orders

    def place(
        self,
        symbol: str,
        side: str,
        type: str,
        quantity: str,
        price: str,
        order_id: int | None = None,
        client_order_id: str | None = None,
        time_in_force: str = "GTC",
        stop_price: str | None = None,
        iceberg_qty: str | None = None,
        self_trade_prevention: str = "EXPIRE_MAKER",
    ) -> Order:
        """Open a margin order directly (as the exchange would after a valid POST)."""
        order = Order(
            symbol,
            -1 if order_id is None else order_id,
            client_order_id or new_client_id(),
            side,
            type,
            price,
            quantity,
            time_in_force,
            stop_price,
            iceberg_qty,
            time=self.server_time(),
            self_trade_prevention=self_trade_prevention,
        )
        return self.book.place(order)

    def place_oco(
        self,
        symbol: str,
        legs: list[dict[str, Any]],
        order_list_id: int | None = None,
        list_client_order_id: str | None = None,
    ) -> OrderList:
        """Open an OCO list; each leg is a dict of ``place`` arguments."""
        now = self.server_time()
        orders = [
            Order(
                symbol,
                leg.pop("order_id", None) or -1,
                leg.pop("client_order_id", None) or new_client_id(),
                time=now,
                **leg,
            )
            for leg in (dict(leg) for leg in legs)
        ]
        order_list = OrderList(symbol, -1 if order_list_id is None else order_list_id, "", [], time=now)
        order_list.list_client_order_id = list_client_order_id or new_client_id()
        return self.book.place_list(order_list, orders)

    def seed_documented_example(self) -> None:
        """The orders of Binance's documented example answer: limit 11 and OCO list 1929 (legs 20, 21)."""
        self.place("BTCUSDT", "BUY", "LIMIT", "0.178622", "0.089853", 11, "E6APeyTJvkMvLMYMqu1KQ4")
        stop_leg = {
            "order_id": 20,
            "client_order_id": "CwOOIPHSmYywx6jZX77TdL",
            "side": "BUY",
            "type": "STOP_LOSS_LIMIT",
            "quantity": "0.690354",
            "price": "0.668611",
            "stop_price": "0.378131",
            "iceberg_qty": "0.017083",
        }
        maker_leg = {
            "order_id": 21,
            "client_order_id": "461cPg51vQjV3zIMOXNz39",
            "side": "BUY",
            "type": "LIMIT_MAKER",
            "quantity": "0.690354",
            "price": "0.008791",
            "iceberg_qty": "0.639962",
        }
        self.place_oco("BTCUSDT", [stop_leg, maker_leg], 1929, "2inzWQdDvZLHbbAmAozX2N")

    def fill(self, order_id: int, quantity: str) -> Order:
        """Fill part or all of an open order, as a trade would: its reports then show ``executedQty``."""
        order = self.book.orders[order_id]
        self.book.fill(order, quantity, self.server_time())
        return order

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return self.book.open_orders(symbol)

    def open_lists(self, symbol: str | None = None) -> list[OrderList]:
        return self.book.open_lists(symbol)

    def cancel_all(self, symbol: str) -> list[dict[str, Any]]:
        """Cancel every open order and order list on ``symbol``, atomically; the documented answer shape."""
        return self.book.cancel_all(symbol, self.server_time())

    # -- futures (UM and CM, plain and conditional)

    def place_futures(
        self,
        kind: str,
        symbol: str,
        side: str,
        quantity: str,
        price: str,
        type: str | None = None,
        conditional: bool = False,
        stop_price: str | None = None,
        order_id: int | None = None,
        client_id: str | None = None,
        time_in_force: str = "GTC",
        position_side: str = "BOTH",
    ) -> FuturesOrder:
        """Open a UM or CM order directly: plain (LIMIT), or conditional (a UM algo or CM conditional STOP)."""
        if kind not in (UM, CM):
            raise ValueError(f"kind must be {UM!r} or {CM!r}")
        order = FuturesOrder(
            Section(kind, conditional),
            symbol,
            -1 if order_id is None else order_id,
            client_id or "",
            side,
            type or ("STOP" if conditional else "LIMIT"),
            quantity,
            price,
            stop_price if stop_price is not None or not conditional else price,
            time=self.server_time(),
            time_in_force=time_in_force,
            position_side=position_side,
        )
        return self.futures.place(order)

    def seed_futures_example(self) -> None:
        """A USD-M order and algo order on BTCUSDT, a COIN-M order and conditional order on BTCUSD_PERP."""
        self.place_futures(UM, "BTCUSDT", "BUY", "0.010", "60000.0", order_id=8100, client_id="umLimitBuy")
        place = self.place_futures
        place(UM, "BTCUSDT", "SELL", "0.010", "120000.0", conditional=True, order_id=3100, client_id="umStopSell")
        self.place_futures(CM, "BTCUSD_PERP", "BUY", "1", "60000.0", order_id=9100, client_id="cmLimitBuy")
        place(CM, "BTCUSD_PERP", "SELL", "1", "120000.0", conditional=True, order_id=4100, client_id="cmStopSell")

    def fill_futures(self, kind: str, order_id: int, conditional: bool = False) -> FuturesOrder:
        """Fill an open UM or CM order whole (or trigger a conditional one): it leaves the open orders."""
        return self.futures.fill(Section(kind, conditional), order_id, self.server_time())

    def open_futures(self, kind: str, conditional: bool = False, symbol: str | None = None) -> list[FuturesOrder]:
        return self.futures.open_orders(Section(kind, conditional), symbol)
