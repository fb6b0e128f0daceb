"""In one process, nothing is sent into a ban or past the limit: the gate is checked right before every send,
after every wait, and the budget adds to the server's figure what it may not have counted yet."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from typing import Any

import ccxt
import pytest

import papi_plugin
from papi_plugin.limits import shared
from papi_plugin.protocol.answers import Action, Answer, classify
from papi_plugin.simulator import Fault, Simulator
from tests.constants import CANCEL_ALL, CANCEL_ALL_PATH
from tests.fake_time import FakeTime
from tests.helpers import Runner, binance, simulator

NOW = 1_700_000_000.0


def extended(mode: str, sim: Simulator, options: dict[str, Any] | None = None) -> Any:
    exchange = papi_plugin.extend(binance(mode, {"apiKey": sim.api_key, "secret": sim.secret, "rateLimit": 1}))
    sim.attach(exchange)
    exchange.options["cancelAllMarginOrders"].update(options or {})
    return exchange


@pytest.mark.parametrize("call", ["cancel_all_margin_orders", "cancel_all_portfolio_orders"])
def test_a_ban_met_by_another_call_during_a_429_pause_stops_a_call_waiting_at_the_gate(
    mode: str, call: str, sim: Simulator, fake_time: FakeTime
) -> None:
    run = Runner()
    sim.seed_documented_example()
    sim.place("ETHUSDT", "SELL", "LIMIT", "1", "5000")
    first, waiting, other = extended(mode, sim), extended(mode, sim), extended(mode, sim)
    for exchange in (first, waiting, other):
        run.call(exchange.load_markets)
    sim.inject(CANCEL_ALL, Fault.rate_limited(2), Fault.banned(300))
    with pytest.raises(ccxt.RateLimitExceeded):  # a 429: the IP's gate closes for 2 s
        run.call(first.cancel_all_margin_orders, "BTC/USDT", {"maxAttempts": 1})
    met: list[Exception] = []

    async def meet_the_ban_async() -> None:
        try:
            await other.cancel_all_margin_orders("ETH/USDT")
        except ccxt.DDoSProtection as error:
            met.append(error)

    def meet_the_ban() -> None:
        try:
            other.cancel_all_margin_orders("ETH/USDT")
        except ccxt.DDoSProtection as error:
            met.append(error)

    # The waiting call waits at the gate; meanwhile the other call's cancel is answered 418.
    fake_time.while_asleep = meet_the_ban_async if mode == "async" else meet_the_ban
    target = ["BTC/USDT"] if call == "cancel_all_portfolio_orders" else "BTC/USDT"
    with pytest.raises((ccxt.DDoSProtection, papi_plugin.errors.CancelManyFailed)) as raised:
        run.call(getattr(waiting, call), target)
    error = raised.value.errors["BTC/USDT"] if call == "cancel_all_portfolio_orders" else raised.value
    assert isinstance(error, ccxt.DDoSProtection) and "not sent, the IP is banned" in str(error)
    assert len(met) == 1
    assert [r.status for r in sim.requests if r.path == CANCEL_ALL_PATH] == [429, 418]  # none sent into the ban
    run.close([first, waiting, other])


def test_eight_concurrent_cancels_on_a_busy_ip_add_what_is_in_flight_to_the_servers_figure(
    mode: str, fake_time: FakeTime
) -> None:
    run = Runner()
    with simulator(fake_time, weight_limit=100, window_seconds=60, extra_symbols=8) as sim:
        # maxElapsed: fake waits of the sync call's threads add up on the one fake clock
        exchange = extended(mode, sim, {"weightLimit": 100, "weightWindow": 60, "maxElapsed": 600})
        run.call(exchange.load_markets)
        fake_time.advance_to_window(60)
        sim.charge(60)  # another program on this IP
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT")  # the answer tells: 65 used
        symbols = [f"X{i:03d}/USDT" for i in range(8)]  # 40 more: 105, past the limit of 100
        if mode == "async":

            async def eight() -> list[Any]:
                return list(await asyncio.gather(*(exchange.cancel_all_margin_orders(s) for s in symbols)))

            assert run(eight()) == [[]] * 8
        else:
            assert run.call(exchange.cancel_all_margin_orders_many, symbols) == {s: [] for s in symbols}
        assert sim.rate_limited_answers == 0
        assert fake_time.waits and fake_time.waits[0] > 1  # the last ones waited for the next window
        run.close([exchange])


def test_a_418s_end_is_read_from_its_message_before_retry_after() -> None:
    until_ms = int((NOW + 600) * 1000)
    body = f'{{"code": -1003, "msg": "Way too much request weight used; IP banned until {until_ms}."}}'
    verdict = classify(ccxt.DDoSProtection("x"), Answer(418, "", {"Retry-After": "120"}, body), "ctx", NOW)
    assert verdict.action is Action.BANNED and verdict.retry_after == 600
    plain = classify(ccxt.DDoSProtection("x"), Answer(418, "", {"Retry-After": "120"}, "{}"), "ctx", NOW)
    assert plain.retry_after == 120
    bare = classify(ccxt.DDoSProtection("x"), Answer(418, "", {}, "{}"), "ctx", NOW)
    assert bare.retry_after is None  # the gate then closes for Binance's shortest ban, 2 minutes


def test_a_418_closes_the_gate_for_the_ban_its_message_states(
    sim: Simulator, sim_exchange: tuple[Any, Runner], fake_time: FakeTime
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    run.call(exchange.load_markets)
    until_ms = int((fake_time.clock() + 600) * 1000)
    msg = f"Way too much request weight used; IP banned until {until_ms}."
    sim.inject(CANCEL_ALL, Fault.error(-1003, 418, msg, {"Retry-After": "5"}))
    with pytest.raises(ccxt.DDoSProtection):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    fake_time.sleep(300)  # long past Retry-After, well inside the ban
    with pytest.raises(ccxt.DDoSProtection, match="not sent, the IP is banned"):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    fake_time.sleep(301)
    assert len(run.call(exchange.cancel_all_margin_orders, "BTC/USDT")) == 3


def start_of_next_window(window: float, past: float = 0.05) -> None:
    """Sleep until ``past`` seconds into the next ``window``-second window of the real clock."""
    now = time.time()
    time.sleep((now // window + 1) * window + past - now)


@pytest.mark.realtime
def test_a_second_burst_sent_while_the_firsts_answers_are_in_flight_on_a_busy_ip_gets_no_429(mode: str) -> None:
    run = Runner()
    with Simulator(weight_limit=100, window_seconds=4, extra_symbols=16) as sim:
        exchange = extended(mode, sim, {"weightLimit": 100, "weightWindow": 4, "maxElapsed": 30})
        run.call(exchange.load_markets)
        key = exchange.options["cancelAllMarginOrders"]["limitsKey"]
        first, second = ([f"X{i:03d}/USDT" for i in range(start, start + 8)] for start in (0, 8))
        start_of_next_window(4)
        sim.charge(55)  # another program on this IP
        # The first burst's first answer comes at once (60 used); its seven others are counted a second later.
        sim.inject(CANCEL_ALL, None, *[Fault.delay(1.0)] * 7)

        def first_answer_is_in() -> bool:
            return shared.LOCAL.snapshot(key).used >= 60

        if mode == "async":

            async def bursts() -> list[Any]:
                burst = asyncio.gather(*(exchange.cancel_all_margin_orders(s) for s in first))
                while not first_answer_is_in():
                    await asyncio.sleep(0.005)
                later = await asyncio.gather(*(exchange.cancel_all_margin_orders(s) for s in second))
                return [*await burst, *later]

            assert run(bursts()) == [[]] * 16
        else:
            with concurrent.futures.ThreadPoolExecutor(1) as background:
                burst = background.submit(exchange.cancel_all_margin_orders_many, first)
                while not first_answer_is_in():
                    time.sleep(0.005)
                later = exchange.cancel_all_margin_orders_many(second)
                assert burst.result() == {s: [] for s in first} and later == {s: [] for s in second}
        assert sim.rate_limited_answers == 0  # the seven in flight were counted on top of the first figure
        run.close([exchange])


@pytest.mark.realtime
def test_200_async_tasks_beside_a_steady_neighbour_end_with_no_ban() -> None:
    run = Runner()
    # A scaled-down minute of 2 s: 600 weight, the neighbour 50 a second (a sixth of it), the tasks 1,000.
    with Simulator(weight_limit=600, window_seconds=2, extra_symbols=200) as sim:
        exchange = extended("async", sim, {"weightLimit": 600, "weightWindow": 2, "maxElapsed": 60})
        run.call(exchange.load_markets)
        stop = threading.Event()

        def neighbour() -> None:  # 50 weight a second, where the window still has room for it
            while not stop.wait(0.2):
                if sim.limits.weight_used + 10 <= 600:
                    sim.charge(10)

        spending = threading.Thread(target=neighbour, daemon=True)
        spending.start()
        symbols = [f"X{i:03d}/USDT" for i in range(200)]

        async def all_of_them() -> list[Any]:
            return list(await asyncio.gather(*(exchange.cancel_all_margin_orders(s) for s in symbols)))

        try:
            assert run(all_of_them()) == [[]] * 200
        finally:
            stop.set()
            spending.join()
        assert sim.limits.bans == 0 and not [r for r in sim.requests if r.status == 418]
        run.close([exchange])
