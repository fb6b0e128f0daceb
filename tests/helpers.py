"""What the tests share besides fixtures: exchanges sync or async, a runner for both, the simulator on the
test's time, the VCR configuration and the cassettes' folder."""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Callable
from typing import Any

import ccxt
import ccxt.async_support as accxt
import pytest

from papi_plugin.simulator import Fault, Simulator
from papi_plugin.simulator.futures import FuturesOrder, Section
from tests.constants import CANCEL_ALL
from tests.fake_time import FakeTime


def in_ci() -> bool:
    """True in CI (``$CI`` set, as ``.ci/run`` sets it): a missing test dependency fails there, never skips."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def required(module: str, install: str) -> Any:
    """``module`` imported; without it a developer's run skips the tests that need it and CI fails."""
    if in_ci():
        try:
            return importlib.import_module(module)
        except ImportError as error:
            pytest.fail(f"{module} is missing ({error}); {install}")
    return pytest.importorskip(module, reason=f"{module} is missing; {install}")


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASSETTES = os.path.join(ROOT, "cassettes")


def vcr_settings() -> dict[str, Any]:
    """The one VCR configuration: what is scrubbed before writing, and how requests match."""
    return {
        "filter_headers": [("X-MBX-APIKEY", "REDACTED")],
        "filter_query_parameters": ["signature", "timestamp"],
        "filter_post_data_parameters": ["signature", "timestamp"],
        # Cassettes recorded from the simulator (any port) replay against Binance's real URLs.
        "match_on": ["method", "path", "query"],
        "decode_compressed_response": True,
    }


def scenario(
    seed: bool = True,
    faults: list[Fault | None] | None = None,
    skew_ms: int = 0,
    endpoint: str = CANCEL_ALL,
    futures: bool = False,
) -> pytest.MarkDecorator:
    """What the simulator plays when a cassette is recorded from it (ignored on replay)."""
    return pytest.mark.scenario(seed=seed, faults=faults or [], skew_ms=skew_ms, endpoint=endpoint, futures=futures)


def binance(mode: str, config: dict[str, Any]) -> Any:
    """A ccxt binance, sync or async; async ones close at once (ccxt waits 250 ms by default)."""
    if mode == "async":
        exchange = accxt.binance(config)
        exchange.timeout_on_exit = 0
        return exchange
    return ccxt.binance(config)


def simulator(fake_time: FakeTime | None, **kwargs: Any) -> Simulator:
    """A simulator (not started) whose limits and bans run on the test's clock."""
    if fake_time is not None:
        kwargs.setdefault("clock", fake_time.clock)
    return Simulator(**kwargs)


class Runner:
    """Runs a capability of a sync or async exchange from a plain test, one event loop per test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __call__(self, result: Any) -> Any:
        if asyncio.iscoroutine(result):
            return self.loop.run_until_complete(result)
        return result

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``function``; a coroutine's result is awaited, its exception re-raised here."""
        return self(function(*args, **kwargs))

    def close(self, exchanges: list[Any]) -> None:
        for exchange in exchanges:
            if isinstance(exchange, accxt.Exchange):
                self.loop.run_until_complete(exchange.close())
        self.loop.close()


SINCE = 1_700_000_000_000  # when a flow stepped by hand began, on Binance's clock (ms)


def um_record_of(order_id: int, conditional: bool, status: str = "NEW", since: int = SINCE - 99_000) -> dict[str, Any]:
    """A UM order (``conditional``: a UM algo order) as Binance reports it."""
    type_, trigger = ("STOP", "59000") if conditional else ("LIMIT", None)
    order = FuturesOrder(Section("um", conditional), "BTCUSDT", order_id, f"c{order_id}", "BUY", type_, "1", "60000")
    order.stop_price = trigger
    order.time = order.update_time = since
    order.status = status
    return order.report(history=status != "NEW")


def open_anywhere(sim: Simulator) -> int:
    """Every order still open on the simulator: margin, USD-M and COIN-M, conditional orders included."""
    futures = [sim.open_futures(kind, conditional=c) for kind in ("um", "cm") for c in (False, True)]
    return len(sim.open_orders()) + sum(len(orders) for orders in futures)
