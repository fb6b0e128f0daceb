"""Every fault kind, sync and async, through the simulator: the outcome and the requests the server saw."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import ccxt
import pytest

import papi_plugin
from papi_plugin.simulator import Fault, Simulator
from tests.constants import CANCEL_ALL, DOCUMENTED_IDS
from tests.constants import CANCEL_ALL_PATH as DELETE_PATH
from tests.fake_time import FakeTime
from tests.helpers import Runner, binance, simulator

# fault -> (error raised or None for success, DELETE requests the server saw)
OUTCOMES: dict[str, tuple[Fault, type[Exception] | None, int]] = {
    "delay": (Fault.delay(0.2), None, 1),
    "http-503": (Fault.server_error(503), None, 2),
    "http-500": (Fault.server_error(500), None, 2),
    "html-502": (Fault.html(502), None, 2),
    "code-1001": (Fault.error(-1001, 503), None, 2),
    "code-1007": (Fault.error(-1007, 408), None, 2),
    "429-retry-after-1": (Fault.rate_limited(1), None, 2),
    "418": (Fault.banned(60), ccxt.DDoSProtection, 1),
    "code-1021": (Fault.clock(), None, 2),
    "dropped-mid-answer": (Fault.drop(), None, 2),
    "disconnected": (Fault.disconnect(), None, 2),
    "garbage-status-line": (Fault.garbage(), None, 2),
    "truncated-body": (Fault.truncate(), ccxt.BadResponse, 1),
    "code-2015": (Fault.error(-2015, 401), ccxt.AuthenticationError, 1),
    "code-1121": (Fault.error(-1121), ccxt.BadSymbol, 1),
    "http-403": (Fault.html(403), ccxt.DDoSProtection, 1),
    "http-451": (Fault.error(0, 451, "Service unavailable from a restricted location."), ccxt.PermissionDenied, 1),
    "429-retry-after-30": (Fault.rate_limited(30), ccxt.RateLimitExceeded, 1),
}


@pytest.mark.parametrize("kind", list(OUTCOMES))
def test_fault_outcome_and_request_count(kind: str, sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    fault, error, requests = OUTCOMES[kind]
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, fault)
    if error is None:
        orders = run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
        assert [o["id"] for o in orders] == DOCUMENTED_IDS
    else:
        with pytest.raises(error):
            run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    assert sim.seen("DELETE", DELETE_PATH) == requests


def test_a_drop_after_the_cancel_went_through_returns_what_the_retry_found(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.drop())  # the simulator answers a drop without canceling
    assert len(run.call(exchange.cancel_all_margin_orders, "BTC/USDT")) == 3
    assert sim.open_orders() == []


def test_retry_after_is_waited_in_full(sim: Simulator, sim_exchange: tuple[Any, Runner], waits: list[float]) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.rate_limited(1))
    run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    assert waits == [1.0]


@pytest.mark.realtime
async def test_async_retry_after_does_not_block_other_tasks(sim: Simulator) -> None:
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.rate_limited(1))
    exchange = sim.attach(papi_plugin.extend(binance("async", {"apiKey": sim.api_key, "secret": sim.secret})))
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.05)

    try:
        await exchange.load_markets()
        task = asyncio.create_task(ticker())
        started = time.monotonic()
        orders = await exchange.cancel_all_margin_orders("BTC/USDT")
        elapsed = time.monotonic() - started
        task.cancel()
    finally:
        await exchange.close()
    assert len(orders) == 3 and elapsed >= 1.0
    during = [t for t in ticks if started <= t <= started + elapsed]
    assert len(during) >= 10  # ~20 expected at 50 ms; a blocking sleep would give 1


@pytest.mark.parametrize("skew_ms", [10_000, -10_000])
def test_clock_skew_resyncs_and_the_second_attempt_succeeds(
    skew_ms: int, sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.clock_skew_ms = skew_ms
    orders = run.call(exchange.cancel_all_margin_orders, "BTC/USDT", {"recvWindow": 5000})
    assert len(orders) == 3
    statuses = [r.status for r in sim.requests if r.path == DELETE_PATH]
    assert statuses == [400, 200]
    assert sim.seen("GET", "/api/v3/time") == 1
    assert abs(exchange.options["timeDifference"] + skew_ms) < 1000


def test_clock_still_wrong_after_resync_raises_invalid_nonce(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.clock(), Fault.clock())
    with pytest.raises(ccxt.InvalidNonce):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    assert sim.seen("DELETE", DELETE_PATH) == 2
    assert len(sim.open_orders()) == 3


def test_a_real_429_from_the_weight_limit_is_waited_out(fake_time: FakeTime) -> None:
    # One cancel (5) fills a 5-weight minute of 2 s (market loading spends the spot API's weight, not papi's).
    with simulator(fake_time, weight_limit=5, window_seconds=2) as sim:
        sim.seed_documented_example()
        exchange = sim.attach(papi_plugin.extend(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret})))
        exchange.load_markets()
        exchange.cancel_all_margin_orders("BTC/USDT")
        sim.seed_documented_example()
        assert len(exchange.cancel_all_margin_orders("BTC/USDT")) == 3
        assert sim.rate_limited_answers == 1
        [wait] = fake_time.waits  # Retry-After: to the simulator's next window, at most 2 s away
        assert 1.0 <= wait <= 2.0


def test_after_a_ban_the_exchange_object_sends_nothing_until_it_ends(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.banned(120))
    with pytest.raises(ccxt.DDoSProtection, match="banned until"):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    seen = len(sim.requests)
    with pytest.raises(ccxt.DDoSProtection, match="not sent"):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    assert len(sim.requests) == seen


def test_budget_max_elapsed_stops_retrying(
    sim: Simulator, sim_exchange: tuple[Any, Runner], waits: list[float]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    # Waits of exactly 1 s (Retry-After), so that the last attempt still has half a second of real time
    # for its answer (an answer is waited for only as long as the call has left, on the wall clock).
    sim.inject(CANCEL_ALL, *[Fault.rate_limited(1)] * 10)
    with pytest.raises(ccxt.RateLimitExceeded, match="gave up after 4 attempt"):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT", {"maxAttempts": 10, "maxElapsed": 3.5})
    assert waits == [1.0, 1.0, 1.0]  # no wait is started that would end past the deadline
    assert sim.seen("DELETE", DELETE_PATH) == 4


def test_simulator_leaves_no_thread_or_socket_behind() -> None:
    before = {t.ident for t in threading.enumerate()}
    with Simulator() as sim:
        sim.seed_documented_example()
        exchange = sim.attach(papi_plugin.extend(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret})))
        exchange.cancel_all_margin_orders("BTC/USDT")
        port = sim.port
    # The plugin's own limits-store writer (one a store, kept for the process) is not the simulator's.
    assert {t.ident for t in threading.enumerate() if t.name != "papi-limits"} <= before
    with socket.socket() as probe:
        # SO_REUSEADDR tolerates closed connections in TIME_WAIT, never a listener still bound.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()


def test_a_network_failure_right_after_a_resync_is_still_retried(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.clock(), Fault.disconnect())
    orders = run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    assert len(orders) == 3
    assert sim.seen("GET", "/api/v3/time") == 1
    assert sim.seen("DELETE", DELETE_PATH) == 3


def test_a_429_without_retry_after_waits_at_least_a_second(
    sim: Simulator, sim_exchange: tuple[Any, Runner], waits: list[float]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.error(-1003, 429))  # a 429 whose answer has no Retry-After header
    assert len(run.call(exchange.cancel_all_margin_orders, "BTC/USDT")) == 3
    assert len(waits) == 1 and waits[0] >= 1.0
    assert sim.seen("DELETE", DELETE_PATH) == 2
