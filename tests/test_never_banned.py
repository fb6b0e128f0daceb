"""In one process, nothing is sent into a ban or past the limit: the gate is checked right before every send,
after every wait, and the budget adds to the server's figure what it may not have counted yet."""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt
import pytest

import papi_plugin
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
