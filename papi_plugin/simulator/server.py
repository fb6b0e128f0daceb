"""The simulator: the simulated exchange behind a real HTTP server on loopback, and pointing ccxt at it."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from papi_plugin.protocol.params import OPTIONS_KEY
from papi_plugin.simulator.exchange import SimulatedExchange
from papi_plugin.simulator.handler import RequestHandler, Server
from papi_plugin.simulator.limits import BAN_AFTER_VIOLATIONS, BAN_SECONDS, WEIGHT_LIMIT_1M
from papi_plugin.simulator.routes import INSTANCE_PATH
from papi_plugin.wire.transport import point_at

POLL_SECONDS = 0.01  # how soon the server notices stop(): the standard library's default is 0.5 s
# Public, made-up credentials for the stand-alone simulator; they guard nothing.
DEMO_API_KEY = "papi-simulator-demo-key"
DEMO_SECRET = "papi-simulator-demo-secret"


class Simulator(SimulatedExchange):
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
        super().__init__(
            api_key, secret, weight_limit, window_seconds, ban_after, ban_seconds, extra_symbols, latency, clock
        )
        self._port = port
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> Simulator:
        self.stopping.clear()
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
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.cut_every_connection()
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

        Markets load from the simulator's spot, USD-M and COIN-M exchange info only (three requests).
        """
        return attach(exchange, self.url, self.instance)


def attach(exchange: Any, url: str, instance: str | None = None) -> Any:
    """Point a ccxt ``binance`` (sync or async) at a simulator running at ``url``, in this process or another.

    Every API goes to the simulator, and markets load from its spot, USD-M and COIN-M exchange info only
    (ccxt would also ask for currencies and margin pairs, which need Binance's own account endpoints).
    The IP limits are those of this simulator (``limitsKey``): a new simulator on a port an earlier one
    used never inherits the earlier one's ban.
    """
    point_at(exchange, url)
    instance = instance or instance_at(url)
    if instance:
        options = exchange.options.get(OPTIONS_KEY)
        options = options if isinstance(options, dict) else {}
        exchange.options[OPTIONS_KEY] = {**options, "limitsKey": f"{url} {instance}"}
    exchange.options["fetchMarkets"] = {"types": ["spot", "linear", "inverse"]}
    exchange.options["fetchCurrencies"] = False
    exchange.options["fetchMargins"] = False
    return exchange


def instance_at(url: str) -> str | None:
    """The instance of the simulator at ``url`` (None if it does not say)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + INSTANCE_PATH, timeout=5) as answer:
            found = json.loads(answer.read()).get("instance")
    except (OSError, ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None
