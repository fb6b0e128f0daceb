"""The simulator: the exchange's state behind a real HTTP server on loopback, and pointing ccxt at it."""

from __future__ import annotations

import collections
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

from papi_plugin.simulator.api_error import ApiError
from papi_plugin.simulator.book import Book, Order, OrderList, new_client_id
from papi_plugin.simulator.exchange_info import SPOT_MARGIN_SYMBOLS
from papi_plugin.simulator.faults import Fault
from papi_plugin.simulator.handler import RequestHandler, SeenRequest, Server
from papi_plugin.simulator.limits import BAN_AFTER_VIOLATIONS, BAN_SECONDS, WEIGHT_LIMIT_1M, Limits
from papi_plugin.simulator.signatures import Keys

POLL_SECONDS = 0.01  # how soon the server notices stop(): the standard library's default is 0.5 s
# Public, made-up credentials for the stand-alone simulator; they guard nothing.
DEMO_API_KEY = "papi-simulator-demo-key"
DEMO_SECRET = "papi-simulator-demo-secret"


class Simulator:
    """A Portfolio Margin stand-in on 127.0.0.1; a context manager that leaves nothing running.

    ``clock`` (seconds) drives the weight windows and bans, so a test can share a fake one with the
    plugin; signed timestamps are checked against the real clock plus ``clock_skew_ms``.
    """

    def __init__(
        self,
        port: int = 0,
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
        self.latency = latency  # seconds added to every answer, as a network between client and exchange would
        self.margin_symbols = dict(SPOT_MARGIN_SYMBOLS)  # market id -> (base, quote)
        # More margin symbols (X000USDT, X001USDT, ...), for flattening many symbols at once.
        self.margin_symbols.update({f"X{i:03d}USDT": (f"X{i:03d}", "USDT") for i in range(extra_symbols)})
        self.keys = Keys(api_key or "sim" + new_client_id() * 3, secret or new_client_id() * 3)
        self.clock_skew_ms = 0
        self.limits = Limits(weight_limit, window_seconds, ban_after, ban_seconds, clock)
        self.book = Book()
        self.requests: list[SeenRequest] = []
        self._faults: dict[str, collections.deque[Fault | None]] = collections.defaultdict(collections.deque)
        self._faults_lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> Simulator:
        simulator = self

        class Handler(RequestHandler):
            sim = simulator

        self._server = Server(("127.0.0.1", self._port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_SECONDS,), name="papi-simulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()  # joins the handler threads
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the simulator is not running"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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

    # -- wiring a ccxt exchange to it

    def attach(self, exchange: Any) -> Any:
        """Point a sync or async ccxt ``binance`` at this simulator; returns the same object.

        Markets load from the simulator's spot and USD-M exchange info only (two requests).
        """
        point_at(exchange, self.url)
        exchange.options["fetchMarkets"] = {"types": ["spot", "linear"]}
        exchange.options["fetchCurrencies"] = False
        exchange.options["fetchMargins"] = False
        return exchange

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

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return self.book.open_orders(symbol)

    def open_lists(self, symbol: str | None = None) -> list[OrderList]:
        return self.book.open_lists(symbol)

    def cancel_all(self, symbol: str) -> list[dict[str, Any]]:
        """Cancel every open order and order list on ``symbol``, atomically; the documented answer shape."""
        return self.book.cancel_all(symbol, self.server_time())


def point_at(exchange: Any, base_url: str) -> Any:
    """Send every API of a ccxt ``binance`` to ``base_url`` (same paths), e.g. a simulator or a proxy."""
    for name, url in list(exchange.urls["api"].items()):
        if isinstance(url, str):
            exchange.urls["api"][name] = base_url.rstrip("/") + urllib.parse.urlsplit(url).path
    return exchange
