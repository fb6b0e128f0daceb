"""One deadline per call (``maxElapsed``): every attempt, wait, round and symbol of a call ends inside it.

Real time is the point here: a server that hangs or drips its answer is only cut off by the clock.
"""

from __future__ import annotations

import time
from typing import Any

import ccxt
import pytest

import papi_plugin
from papi_plugin.errors import CancelManyFailed
from papi_plugin.simulator import Fault, Simulator
from tests.constants import CANCEL_ALL
from tests.helpers import Runner, binance

MARGIN = 1.0  # seconds past maxElapsed: a loaded 2-core machine's scheduling, not a budget


def twenty_symbols(sim: Simulator) -> list[str]:
    symbols = sorted(sim.margin_symbols)[:20]
    for market_id in symbols:
        sim.place(market_id, "BUY", "LIMIT", "1", "10")
    return symbols


@pytest.mark.realtime
def test_twenty_symbols_with_three_hanging_finish_inside_the_deadline(mode: str) -> None:
    with Simulator(extra_symbols=17) as sim:
        run = Runner()
        exchange = sim.attach(papi_plugin.extend(binance(mode, {"apiKey": sim.api_key, "secret": sim.secret})))
        symbols = twenty_symbols(sim)
        run.call(exchange.load_markets)
        sim.inject(CANCEL_ALL, *[Fault.delay(30)] * 3)  # the first three cancels to arrive hang
        started = time.monotonic()
        with pytest.raises(CancelManyFailed) as raised:
            run.call(exchange.cancel_all_margin_orders_many, symbols, {"maxElapsed": 1})
        elapsed = time.monotonic() - started
        run.close([exchange])
    assert elapsed < 1 + MARGIN
    assert len(raised.value.errors) == 3 and len(raised.value.canceled) == 17
    assert all(isinstance(e, ccxt.RequestTimeout) for e in raised.value.errors.values())


@pytest.mark.realtime
def test_a_dripping_answer_is_cut_at_the_deadline(mode: str) -> None:
    with Simulator() as sim:
        run = Runner()
        exchange = sim.attach(papi_plugin.extend(binance(mode, {"apiKey": sim.api_key, "secret": sim.secret})))
        sim.seed_documented_example()
        run.call(exchange.load_markets)
        sim.inject(CANCEL_ALL, *[Fault.drip(0.2)] * 5)
        started = time.monotonic()
        with pytest.raises(ccxt.RequestTimeout, match="within"):
            run.call(exchange.cancel_all_margin_orders, "BTC/USDT", {"maxElapsed": 1})
        elapsed = time.monotonic() - started
        run.close([exchange])
    assert elapsed < 1 + MARGIN


def test_a_wait_that_cannot_end_inside_the_deadline_is_not_started(
    sim: Simulator, sim_exchange: tuple[Any, Runner], waits: list[float]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.rate_limited(5))
    with pytest.raises(ccxt.RateLimitExceeded, match="retry after 5 s"):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT", {"maxElapsed": 3})
    assert waits == []
    assert sim.seen("DELETE", "/papi/v1/margin/allOpenOrders") == 1


def test_confirm_rounds_share_the_calls_deadline(
    sim: Simulator, sim_exchange: tuple[Any, Runner], waits: list[float]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    # The verification read is answered 429 for 5 s, which maxRetryAfter (10) would wait out but the
    # call's 3 s deadline does not. (A real answer is waited for as long as the call has left: a deadline
    # far below a loaded machine's answer time would time the read out instead, on the wall clock.)
    sim.inject("GET /papi/v1/margin/openOrders", Fault.rate_limited(5))
    with pytest.raises(ccxt.RateLimitExceeded, match="retry after 5 s") as raised:
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT", {"confirm": True, "maxElapsed": 3})
    assert waits == []  # no wait is started that would end past the deadline
    assert [o["id"] for o in raised.value.canceled] == ["11", "20", "21"]  # what was canceled is carried
