"""A local Binance Portfolio Margin simulator: a real HTTP server on loopback.

Binance has no Portfolio Margin testnet. This serves what a cancel-all and a bot need (server time,
exchange info, margin orders and OCO lists, open orders, ``DELETE /papi/v1/margin/allOpenOrders``)
and behaves like Binance where a client can get it wrong: API key and HMAC-SHA256 / Ed25519
signatures, ``timestamp`` against its own (skewable) clock and ``recvWindow``, bad parameters, the
per-minute request weight with 429 + ``Retry-After`` and 418 bans, ``X-MBX-USED-WEIGHT-1M`` on every
answer. Faults can be scripted per request.

    with Simulator() as sim:
        exchange = sim.attach(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret}))

or ``python -m papi_plugin.simulator --port 8765``.
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import hmac
import itertools
import json
import math
import os
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WEIGHT_LIMIT_1M = 6000  # Portfolio Margin IP limit, request weight per minute
BAN_AFTER_VIOLATIONS = 3  # requests sent while rate limited before the IP is banned
BAN_SECONDS = 120  # Binance's first ban lasts 2 minutes
MAX_RECV_WINDOW = 60000
# Public, made-up credentials for the stand-alone simulator; they guard nothing.
DEMO_API_KEY = "papi-simulator-demo-key"
DEMO_SECRET = "papi-simulator-demo-secret"

SPOT_MARGIN_SYMBOLS = {"BTCUSDT": ("BTC", "USDT"), "ETHUSDT": ("ETH", "USDT"), "BNBUSDT": ("BNB", "USDT")}
SPOT_ONLY_SYMBOLS = {"DOGEBTC": ("DOGE", "BTC")}  # spot, not open to margin trading
PERPETUAL_SYMBOLS = {"BTCUSDT": ("BTC", "USDT")}  # the USD-M perpetual BTC/USDT:USDT

SIGNED_PREFIXES = ("/papi/", "/sapi/")
JSON = "application/json;charset=UTF-8"
ORDER_TYPES = {"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"}

# Request weights as documented by Binance for each served endpoint.
WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/papi/v1/ping"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/fapi/v1/exchangeInfo"): 1,
    ("GET", "/dapi/v1/exchangeInfo"): 1,
    ("GET", "/sapi/v1/capital/config/getall"): 10,
    ("GET", "/sapi/v1/margin/allPairs"): 1,
    ("GET", "/sapi/v1/margin/isolated/allPairs"): 10,
    ("POST", "/papi/v1/margin/order"): 1,
    ("POST", "/papi/v1/margin/order/oco"): 1,
    ("GET", "/papi/v1/margin/openOrders"): 5,
    ("GET", "/papi/v1/margin/openOrderList"): 5,
    ("DELETE", "/papi/v1/margin/allOpenOrders"): 5,
}
# GET margin/openOrders without a symbol counts one request per symbol trading on the exchange.


class ApiError(Exception):
    def __init__(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg, self.headers = status, code, msg, headers or {}


# ---- faults ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour for one request. Build with the class methods."""

    kind: str
    status: int = 0
    code: int = 0
    seconds: float = 0.0
    msg: str = ""

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Answer normally, ``seconds`` late."""
        return cls("delay", seconds=seconds)

    @classmethod
    def server_error(cls, status: int = 503) -> Fault:
        """An HTTP 5xx with a JSON-less plain body."""
        return cls("status", status=status, msg="Service Unavailable")

    @classmethod
    def html(cls, status: int = 502) -> Fault:
        """An HTML error page, as a CDN or load balancer sends."""
        return cls("html", status=status)

    @classmethod
    def error(cls, code: int, status: int = 400, msg: str = "") -> Fault:
        """A Binance JSON error, e.g. ``Fault.error(-1001, 503)`` or ``Fault.error(-1007, 408)``."""
        return cls("error", status=status, code=code, msg=msg or BINANCE_MESSAGES.get(code, "Error."))

    @classmethod
    def rate_limited(cls, retry_after: float = 1) -> Fault:
        """HTTP 429 with ``Retry-After``."""
        return cls("status429", status=429, seconds=retry_after)

    @classmethod
    def banned(cls, retry_after: float = BAN_SECONDS) -> Fault:
        """HTTP 418: the IP is banned for ``retry_after`` seconds (the ban is real: later requests get 418 too)."""
        return cls("status418", status=418, seconds=retry_after)

    @classmethod
    def clock(cls) -> Fault:
        """-1021: the timestamp is outside recvWindow."""
        return cls.error(-1021, 400)

    @classmethod
    def drop(cls) -> Fault:
        """Send the status line, headers and half the body, then cut the connection."""
        return cls("drop")

    @classmethod
    def truncate(cls) -> Fault:
        """A complete HTTP 200 whose JSON body is cut short."""
        return cls("truncate")

    @classmethod
    def answer(cls, body: str, status: int = 200) -> Fault:
        """Answer with exactly this JSON ``body`` (e.g. ``"[]"``, or a dict where a list belongs)."""
        return cls("answer", status=status, msg=body)

    @classmethod
    def disconnect(cls) -> Fault:
        """Read the request, then close the connection without answering."""
        return cls("disconnect")


BINANCE_MESSAGES = {
    -1000: "An unknown error occurred while processing the request.",
    -1001: "Internal error; unable to process your request. Please try again.",
    -1003: "Too much request weight used; current limit is 6000 request weight per 1 MINUTE.",
    -1006: "An unexpected response was received from the message bus. Execution status unknown.",
    -1007: "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
    -1008: "Request throttled by system-level protection. Please try again.",
    -1021: "Timestamp for this request is outside of the recvWindow.",
    -1022: "Signature for this request is not valid.",
    -1102: "Mandatory parameter was not sent, was empty/null, or malformed.",
    -1121: "Invalid symbol.",
    -1131: "recvWindow must be less than 60000",
    -2011: "Unknown order sent.",
    -2014: "API-key format invalid.",
    -2015: "Invalid API-key, IP, or permissions for action.",
}


@dataclass
class SeenRequest:
    """A request as the simulator saw it: ``params`` without the signature, ``raw`` as sent."""

    method: str
    path: str
    params: dict[str, str]
    status: int
    raw: str = ""
    api_key: str | None = None


# ---- the exchange's state --------------------------------------------------------------------------


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

    def report(self, status: str, client_order_id: str | None = None) -> dict[str, Any]:
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
                "executedQty": "0.000000",
                "cummulativeQuoteQty": "0.000000",
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


@dataclass
class OrderList:
    symbol: str
    order_list_id: int
    list_client_order_id: str
    order_ids: list[int]
    contingency_type: str = "OCO"
    time: int = 0


def new_client_id() -> str:
    return base64.b32encode(secrets.token_bytes(15)).decode().rstrip("=")[:22]


@dataclass
class Book:
    """Open margin orders and order lists; every mutation holds ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    orders: dict[int, Order] = field(default_factory=dict)
    lists: dict[int, OrderList] = field(default_factory=dict)
    order_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    list_ids: Iterator[int] = field(default_factory=lambda: itertools.count(5000))

    def next_order_id(self) -> int:
        return next(i for i in self.order_ids if i not in self.orders)

    def next_list_id(self) -> int:
        return next(i for i in self.list_ids if i not in self.lists)


# ---- the server ---------------------------------------------------------------------------------------


class Simulator:
    """A Portfolio Margin stand-in on 127.0.0.1; a context manager that leaves nothing running."""

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
    ) -> None:
        self.latency = latency  # seconds added to every answer, as a network between client and exchange would
        self.margin_symbols = dict(SPOT_MARGIN_SYMBOLS)  # market id -> (base, quote)
        # More margin symbols (X000USDT, X001USDT, ...), for flattening many symbols at once.
        self.margin_symbols.update({f"X{i:03d}USDT": (f"X{i:03d}", "USDT") for i in range(extra_symbols)})
        self.api_key = api_key or "sim" + secrets.token_hex(30)
        self.secret = secret or secrets.token_hex(32)
        self.public_keys: dict[str, Any] = {}  # api key -> Ed25519 or RSA public key
        self.clock_skew_ms = 0
        self.weight_limit = weight_limit
        self.window_seconds = window_seconds
        self.ban_after = ban_after
        self.ban_seconds = ban_seconds
        self.book = Book()
        self.requests: list[SeenRequest] = []
        self.rate_limited_answers = 0  # how many 429 and 418 the simulator sent
        self._faults: dict[str, collections.deque[Fault | None]] = collections.defaultdict(collections.deque)
        self._state_lock = threading.Lock()
        self._window_start = 0.0
        self._weight_used = 0
        self._violations = 0
        self._banned_until = 0.0
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> Simulator:
        simulator = self

        class Handler(RequestHandler):
            sim = simulator

        self._server = Server(("127.0.0.1", self._port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="papi-simulator", daemon=True)
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

    def add_public_key(self, api_key: str, public_key: Any) -> None:
        """Accept requests from ``api_key`` signed with the private half of an Ed25519 or RSA ``public_key``."""
        self.public_keys[api_key] = public_key

    # -- fault scripting

    def inject(self, endpoint: str, *faults: Fault | None) -> None:
        """Script the next requests to ``endpoint`` ("DELETE /papi/v1/margin/allOpenOrders"); None = normal."""
        with self._state_lock:
            self._faults[endpoint].extend(faults)

    def _next_fault(self, endpoint: str) -> Fault | None:
        with self._state_lock:
            queue = self._faults.get(endpoint)
            return queue.popleft() if queue else None

    def seen(self, method: str, path: str) -> int:
        """How many requests to this endpoint the simulator received."""
        return sum(1 for r in list(self.requests) if r.method == method and r.path == path)

    def server_time(self) -> int:
        return int(time.time() * 1000) + self.clock_skew_ms

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
        with self.book.lock:
            order = Order(
                symbol,
                order_id if order_id is not None else self.book.next_order_id(),
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
            self.book.orders[order.order_id] = order
            return order

    def place_oco(
        self,
        symbol: str,
        legs: list[dict[str, Any]],
        order_list_id: int | None = None,
        list_client_order_id: str | None = None,
    ) -> OrderList:
        """Open an OCO list; each leg is a dict of ``place`` arguments."""
        with self.book.lock:
            list_id = order_list_id if order_list_id is not None else self.book.next_list_id()
            order_list = OrderList(symbol, list_id, list_client_order_id or new_client_id(), [])
            for leg in legs:
                order_id = leg.pop("order_id", None)
                order = Order(
                    symbol,
                    order_id if order_id is not None else self.book.next_order_id(),
                    leg.pop("client_order_id", None) or new_client_id(),
                    order_list_id=list_id,
                    time=self.server_time(),
                    **leg,
                )
                self.book.orders[order.order_id] = order
                order_list.order_ids.append(order.order_id)
            order_list.time = self.server_time()
            self.book.lists[list_id] = order_list
            return order_list

    def seed_documented_example(self) -> None:
        """The orders of Binance's documented example answer: limit 11 and OCO list 1929 (legs 20, 21)."""
        self.place("BTCUSDT", "BUY", "LIMIT", "0.178622", "0.089853", 11, "E6APeyTJvkMvLMYMqu1KQ4")
        self.place_oco(
            "BTCUSDT",
            [
                {
                    "order_id": 20,
                    "client_order_id": "CwOOIPHSmYywx6jZX77TdL",
                    "side": "BUY",
                    "type": "STOP_LOSS_LIMIT",
                    "quantity": "0.690354",
                    "price": "0.668611",
                    "stop_price": "0.378131",
                    "iceberg_qty": "0.017083",
                },
                {
                    "order_id": 21,
                    "client_order_id": "461cPg51vQjV3zIMOXNz39",
                    "side": "BUY",
                    "type": "LIMIT_MAKER",
                    "quantity": "0.690354",
                    "price": "0.008791",
                    "iceberg_qty": "0.639962",
                },
            ],
            order_list_id=1929,
            list_client_order_id="2inzWQdDvZLHbbAmAozX2N",
        )

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        with self.book.lock:
            return [o for o in self.book.orders.values() if symbol is None or o.symbol == symbol]

    def open_lists(self, symbol: str | None = None) -> list[OrderList]:
        with self.book.lock:
            return [x for x in self.book.lists.values() if symbol is None or x.symbol == symbol]

    def cancel_all(self, symbol: str) -> list[dict[str, Any]]:
        """Cancel every open order and order list on ``symbol``, atomically; the documented answer shape."""
        with self.book.lock:
            answer: list[dict[str, Any]] = []
            in_lists: set[int] = set()
            lists = [x for x in self.book.lists.values() if x.symbol == symbol]
            for order_list in lists:
                in_lists.update(order_list.order_ids)
            for order in [o for o in self.book.orders.values() if o.symbol == symbol]:
                if order.order_id not in in_lists:
                    answer.append(order.report("CANCELED", new_client_id()))
                    del self.book.orders[order.order_id]
            now = self.server_time()
            for order_list in lists:
                legs = [self.book.orders.pop(i) for i in order_list.order_ids if i in self.book.orders]
                del self.book.lists[order_list.order_list_id]
                answer.append(
                    {
                        "orderListId": order_list.order_list_id,
                        "contingencyType": order_list.contingency_type,
                        "listStatusType": "ALL_DONE",
                        "listOrderStatus": "ALL_DONE",
                        "listClientOrderId": order_list.list_client_order_id,
                        "transactionTime": now,
                        "symbol": symbol,
                        "orders": [
                            {"symbol": symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id} for o in legs
                        ],
                        "orderReports": [o.report("CANCELED", new_client_id()) for o in legs],
                    }
                )
            return answer

    # -- limits

    def charge(self, weight: int) -> tuple[int, ApiError | None]:
        """Count ``weight`` against this minute's budget; the error to answer with, if any."""
        with self._state_lock:
            now = time.time()
            if now < self._banned_until:
                return self._weight_used, self._ban_error(now)
            window = math.floor(now / self.window_seconds) * self.window_seconds
            if window != self._window_start:
                self._window_start, self._weight_used, self._violations = window, 0, 0
            if self._weight_used + weight > self.weight_limit:
                self._violations += 1
                if self._violations > self.ban_after:
                    self._banned_until = now + self.ban_seconds
                    return self._weight_used, self._ban_error(now)
                retry_after = max(1, math.ceil(window + self.window_seconds - now))
                return self._weight_used, ApiError(
                    429, -1003, BINANCE_MESSAGES[-1003], {"Retry-After": str(retry_after)}
                )
            self._weight_used += weight
            return self._weight_used, None

    def ban(self, seconds: float) -> ApiError:
        with self._state_lock:
            self._banned_until = time.time() + seconds
            return self._ban_error(time.time())

    def _ban_error(self, now: float) -> ApiError:
        until_ms = int(self._banned_until * 1000)
        return ApiError(
            418,
            -1003,
            f"Way too much request weight used; IP banned until {until_ms}. "
            "Please use WebSocket Streams for live updates to avoid bans.",
            {"Retry-After": str(max(1, math.ceil(self._banned_until - now)))},
        )

    @property
    def weight_used(self) -> int:
        with self._state_lock:
            return self._weight_used


def point_at(exchange: Any, base_url: str) -> Any:
    """Send every API of a ccxt ``binance`` to ``base_url`` (same paths), e.g. a simulator or a proxy."""
    for name, url in list(exchange.urls["api"].items()):
        if isinstance(url, str):
            exchange.urls["api"][name] = base_url.rstrip("/") + urllib.parse.urlsplit(url).path
    return exchange


# ---- HTTP handling ------------------------------------------------------------------------------------


class Server(ThreadingHTTPServer):
    request_queue_size = 512  # many concurrent async clients; the default 5 refuses connections
    daemon_threads = False
    block_on_close = True


class RequestHandler(BaseHTTPRequestHandler):
    sim: Simulator
    server_version = "papi-simulator"
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers after stop()

    seen: SeenRequest | None = None

    def log_message(self, format: str, *args: Any) -> None:  # quiet: a test suite runs thousands
        return

    def send_response(self, code: int, message: str | None = None) -> None:
        if self.seen is not None:
            self.seen.status = code  # before the client can read the answer
        super().send_response(code, message)

    def do_GET(self) -> None:
        self.handle_request()

    def do_POST(self) -> None:
        self.handle_request()

    def do_DELETE(self) -> None:
        self.handle_request()

    def handle_request(self) -> None:
        sim = self.sim
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        raw_query = split.query
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length).decode() if length else ""
        raw_params = "&".join(part for part in (raw_query, raw_body) if part)
        params = dict(urllib.parse.parse_qsl(raw_params, keep_blank_values=True))
        endpoint = f"{self.command} {path}"
        fault = sim._next_fault(endpoint)
        kept = {k: v for k, v in params.items() if k != "signature"}
        # Counted before answering: a client that got its answer sees its request counted.
        seen = SeenRequest(self.command, path, kept, 0, raw_params, self.headers.get("X-MBX-APIKEY"))
        sim.requests.append(seen)
        self.seen = seen
        status = 200
        try:
            if sim.latency:
                time.sleep(sim.latency)
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.seconds)
                fault = None
            if fault is not None and fault.kind == "disconnect":
                status = 0
                self.close_connection = True
                return
            weight = WEIGHTS.get((self.command, path), 1)
            if path == "/papi/v1/margin/openOrders" and "symbol" not in params:
                # Without a symbol, Binance counts one request per symbol trading on the exchange.
                weight = len(sim.margin_symbols) + len(SPOT_ONLY_SYMBOLS)
            used, limited = sim.charge(weight)
            self.used_weight = used
            if limited is not None:
                raise limited
            if fault is not None:
                self.answer_fault(fault)
                status = fault.status or 200
                return
            handler = ROUTES.get((self.command, path))
            if handler is None:
                raise ApiError(404, -1000, f"Unknown endpoint {endpoint}")
            if path.startswith(SIGNED_PREFIXES):
                self.authenticate(raw_params, params)
            status = 200
            self.send_json(200, handler(sim, params))
        except ApiError as error:
            status = error.status
            if error.status in (418, 429):
                with sim._state_lock:
                    sim.rate_limited_answers += 1
            self.send_json(error.status, {"code": error.code, "msg": error.msg}, error.headers)
        finally:
            seen.status = status

    # -- authentication, as Binance checks it

    def authenticate(self, raw_params: str, params: dict[str, str]) -> None:
        sim = self.sim
        api_key = self.headers.get("X-MBX-APIKEY")
        if not api_key:
            raise ApiError(401, -2014, BINANCE_MESSAGES[-2014])
        if api_key != sim.api_key and api_key not in sim.public_keys:
            raise ApiError(401, -2015, BINANCE_MESSAGES[-2015])
        if "timestamp" not in params or not params["timestamp"].lstrip("-").isdigit():
            raise ApiError(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
        recv_window = params.get("recvWindow", "5000")
        if not recv_window.isdigit() or int(recv_window) > MAX_RECV_WINDOW:
            raise ApiError(400, -1131, BINANCE_MESSAGES[-1131])
        head, sep, signature = raw_params.rpartition("&signature=")
        if not sep or not signature:
            raise ApiError(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
        if not self.signature_valid(api_key, head, urllib.parse.unquote(signature)):
            raise ApiError(400, -1022, BINANCE_MESSAGES[-1022])
        now = sim.server_time()
        timestamp = int(params["timestamp"])
        if timestamp > now + 1000 or now - timestamp > int(recv_window):
            raise ApiError(400, -1021, BINANCE_MESSAGES[-1021])

    def signature_valid(self, api_key: str, payload: str, signature: str) -> bool:
        sim = self.sim
        public_key = sim.public_keys.get(api_key)
        if public_key is not None:
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding, rsa

            try:
                raw = base64.b64decode(signature)
                if isinstance(public_key, rsa.RSAPublicKey):
                    public_key.verify(raw, payload.encode(), padding.PKCS1v15(), hashes.SHA256())
                else:
                    public_key.verify(raw, payload.encode())
                return True
            except (InvalidSignature, ValueError):
                return False
        expected = hmac.new(sim.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    # -- answers

    def send_body(
        self,
        status: int,
        body: bytes,
        content_type: str = JSON,
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        """One answer; ``length`` larger than the body announces bytes that never come (a cut connection)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        if content_type == JSON:
            self.send_header("X-MBX-USED-WEIGHT-1M", str(getattr(self, "used_weight", 0)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_body(status, json.dumps(payload).encode(), headers=headers)

    def answer_fault(self, fault: Fault) -> None:
        if fault.kind == "status":
            self.send_body(fault.status, fault.msg.encode(), "text/plain")
        elif fault.kind == "html":
            page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            self.send_body(fault.status, page, "text/html")
        elif fault.kind == "error":
            self.send_json(fault.status, {"code": fault.code, "msg": fault.msg})
        elif fault.kind == "status429":
            headers = {"Retry-After": f"{fault.seconds:g}"}
            self.send_json(429, {"code": -1003, "msg": BINANCE_MESSAGES[-1003]}, headers)
        elif fault.kind == "status418":
            error = self.sim.ban(fault.seconds)
            self.send_json(418, {"code": error.code, "msg": error.msg}, error.headers)
        elif fault.kind == "answer":
            self.send_body(fault.status, fault.msg.encode())
        elif fault.kind == "drop":
            body = json.dumps([{"symbol": "BTCUSDT", "orderId": 1, "status": "CANCELED"}] * 4).encode()
            self.send_body(200, body[: len(body) // 2], length=len(body))
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif fault.kind == "truncate":
            self.send_body(200, b'[{"symbol": "BTCUSDT", "orderId": 11, "orderLi')


# ---- routes ---------------------------------------------------------------------------------------


def _symbol(sim: Simulator, params: dict[str, str], required: bool = True) -> str | None:
    symbol = params.get("symbol")
    if symbol is None or symbol == "":
        if required:
            raise ApiError(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        return None
    if symbol not in sim.margin_symbols:
        raise ApiError(400, -1121, BINANCE_MESSAGES[-1121])
    return symbol


def _decimal(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    try:
        if value is None or Decimal(value) <= 0:
            raise ValueError
    except (ValueError, ArithmeticError):
        raise ApiError(
            400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        ) from None
    return value


def route_time(sim: Simulator, params: dict[str, str]) -> Any:
    return {"serverTime": sim.server_time()}


def route_ping(sim: Simulator, params: dict[str, str]) -> Any:
    return {}


def _spot_symbol(symbol: str, base: str, quote: str, margin: bool) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": margin,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.00000100",
                "maxPrice": "1000000.00",
                "tickSize": "0.00000100",
            },
            {"filterType": "LOT_SIZE", "minQty": "0.00000100", "maxQty": "9000.00", "stepSize": "0.00000100"},
        ],
        "permissions": [],
        "permissionSets": [["SPOT", "MARGIN"] if margin else ["SPOT"]],
    }


def route_exchange_info(sim: Simulator, params: dict[str, str]) -> Any:
    symbols = [_spot_symbol(s, b, q, True) for s, (b, q) in sim.margin_symbols.items()]
    symbols += [_spot_symbol(s, b, q, False) for s, (b, q) in SPOT_ONLY_SYMBOLS.items()]
    return {"timezone": "UTC", "serverTime": sim.server_time(), "rateLimits": [], "symbols": symbols}


def route_futures_exchange_info(sim: Simulator, params: dict[str, str]) -> Any:
    symbols = [
        {
            "symbol": symbol,
            "pair": symbol,
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000,
            "status": "TRADING",
            "baseAsset": base,
            "quoteAsset": quote,
            "marginAsset": quote,
            "pricePrecision": 2,
            "quantityPrecision": 3,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "0.10", "maxPrice": "4529764", "tickSize": "0.10"},
                {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
            ],
            "orderTypes": ["LIMIT", "MARKET"],
            "timeInForce": ["GTC"],
        }
        for symbol, (base, quote) in PERPETUAL_SYMBOLS.items()
    ]
    return {"timezone": "UTC", "serverTime": sim.server_time(), "rateLimits": [], "symbols": symbols}


def route_delivery_exchange_info(sim: Simulator, params: dict[str, str]) -> Any:
    return {"timezone": "UTC", "serverTime": sim.server_time(), "rateLimits": [], "symbols": []}


def route_currencies(sim: Simulator, params: dict[str, str]) -> Any:
    return []  # ccxt asks for coins when it has keys; nothing here depends on them


def route_margin_pairs(sim: Simulator, params: dict[str, str]) -> Any:
    return [
        {
            "id": i,
            "symbol": s,
            "base": b,
            "quote": q,
            "isMarginTrade": True,
            "isBuyAllowed": True,
            "isSellAllowed": True,
        }
        for i, (s, (b, q)) in enumerate(sim.margin_symbols.items(), start=1)
    ]


def route_isolated_pairs(sim: Simulator, params: dict[str, str]) -> Any:
    return []


def route_new_order(sim: Simulator, params: dict[str, str]) -> Any:
    symbol = _symbol(sim, params)
    assert symbol is not None
    side = params.get("side", "")
    order_type = params.get("type", "")
    if side not in ("BUY", "SELL") or order_type not in ORDER_TYPES:
        raise ApiError(400, -1102, "Mandatory parameter 'side' or 'type' was not sent, was empty/null, or malformed.")
    stop_price = _decimal(params, "stopPrice") if order_type in ("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT") else None
    order = sim.place(
        symbol,
        side,
        order_type,
        _decimal(params, "quantity"),
        _decimal(params, "price"),
        client_order_id=params.get("newClientOrderId"),
        time_in_force="GTC" if order_type == "LIMIT_MAKER" else params.get("timeInForce", "GTC"),
        stop_price=stop_price,
        iceberg_qty=params.get("icebergQty"),
    )
    report = order.report("NEW")
    report["transactTime"] = order.time
    return report


def route_new_oco(sim: Simulator, params: dict[str, str]) -> Any:
    symbol = _symbol(sim, params)
    assert symbol is not None
    side = params.get("side", "")
    if side not in ("BUY", "SELL"):
        raise ApiError(400, -1102, "Mandatory parameter 'side' was not sent, was empty/null, or malformed.")
    quantity = _decimal(params, "quantity")
    order_list = sim.place_oco(
        symbol,
        [
            {
                "side": side,
                "type": "STOP_LOSS_LIMIT",
                "quantity": quantity,
                "price": _decimal(params, "stopLimitPrice"),
                "stop_price": _decimal(params, "stopPrice"),
                "client_order_id": params.get("stopClientOrderId"),
                "time_in_force": params.get("stopLimitTimeInForce", "GTC"),
            },
            {
                "side": side,
                "type": "LIMIT_MAKER",
                "quantity": quantity,
                "price": _decimal(params, "price"),
                "client_order_id": params.get("limitClientOrderId"),
            },
        ],
        list_client_order_id=params.get("listClientOrderId"),
    )
    return _list_status(sim, order_list, "EXEC_STARTED", "EXECUTING", "NEW")


def _list_status(sim: Simulator, order_list: OrderList, status: str, order_status: str, leg_status: str) -> Any:
    with sim.book.lock:
        legs = [sim.book.orders[i] for i in order_list.order_ids if i in sim.book.orders]
    return {
        "orderListId": order_list.order_list_id,
        "contingencyType": order_list.contingency_type,
        "listStatusType": status,
        "listOrderStatus": order_status,
        "listClientOrderId": order_list.list_client_order_id,
        "transactionTime": order_list.time,
        "symbol": order_list.symbol,
        "orders": [{"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id} for o in legs],
        "orderReports": [o.report(leg_status) for o in legs],
    }


def route_open_orders(sim: Simulator, params: dict[str, str]) -> Any:
    symbol = _symbol(sim, params, required=False)
    answer = []
    for order in sim.open_orders(symbol):
        entry = order.report("NEW")
        entry.update({"time": order.time, "updateTime": order.time, "isWorking": True})
        answer.append(entry)
    return answer


def route_open_order_lists(sim: Simulator, params: dict[str, str]) -> Any:
    symbol = _symbol(sim, params, required=False)
    return [
        {k: v for k, v in _list_status(sim, x, "EXEC_STARTED", "EXECUTING", "NEW").items() if k != "orderReports"}
        for x in sim.open_lists(symbol)
    ]


def route_cancel_all(sim: Simulator, params: dict[str, str]) -> Any:
    symbol = _symbol(sim, params)
    assert symbol is not None
    canceled = sim.cancel_all(symbol)
    if not canceled:
        raise ApiError(400, -2011, BINANCE_MESSAGES[-2011])
    return canceled


ROUTES: dict[tuple[str, str], Callable[[Simulator, dict[str, str]], Any]] = {
    ("GET", "/api/v3/ping"): route_ping,
    ("GET", "/papi/v1/ping"): route_ping,
    ("GET", "/api/v3/time"): route_time,
    ("GET", "/api/v3/exchangeInfo"): route_exchange_info,
    ("GET", "/fapi/v1/exchangeInfo"): route_futures_exchange_info,
    ("GET", "/dapi/v1/exchangeInfo"): route_delivery_exchange_info,
    ("GET", "/sapi/v1/capital/config/getall"): route_currencies,
    ("GET", "/sapi/v1/margin/allPairs"): route_margin_pairs,
    ("GET", "/sapi/v1/margin/isolated/allPairs"): route_isolated_pairs,
    ("POST", "/papi/v1/margin/order"): route_new_order,
    ("POST", "/papi/v1/margin/order/oco"): route_new_oco,
    ("GET", "/papi/v1/margin/openOrders"): route_open_orders,
    ("GET", "/papi/v1/margin/openOrderList"): route_open_order_lists,
    ("DELETE", "/papi/v1/margin/allOpenOrders"): route_cancel_all,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the local Binance Portfolio Margin simulator.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", action="store_true", help="open the documented example orders on BTCUSDT")
    parser.add_argument("--api-key", default=os.environ.get("PAPI_SIMULATOR_API_KEY", DEMO_API_KEY))
    parser.add_argument("--secret", default=os.environ.get("PAPI_SIMULATOR_SECRET", DEMO_SECRET))
    args = parser.parse_args(argv)
    sim = Simulator(port=args.port, api_key=args.api_key, secret=args.secret)
    if args.seed:
        sim.seed_documented_example()
    with sim:
        print(f"papi simulator on {sim.url} (Ctrl-C stops it); it accepts the key and secret it was given")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
