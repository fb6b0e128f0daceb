"""Nothing is ever sent into a ban: the gate is checked before every attempt, and it belongs to the IP."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

import papi_plugin
from papi_plugin.simulator import Fault, Simulator
from tests.constants import CANCEL_ALL, CANCEL_ALL_PATH
from tests.fake_time import FakeTime
from tests.helpers import Runner, binance, simulator

THREE_DAYS = 3 * 24 * 3600


def extended(mode: str, sim: Simulator) -> Any:
    return sim.attach(papi_plugin.extend(binance(mode, {"apiKey": sim.api_key, "secret": sim.secret})))


def test_a_ban_met_by_another_call_during_a_wait_stops_the_retry(
    mode: str, sim: Simulator, sim_exchange: tuple[Any, Runner], fake_time: FakeTime
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.rate_limited(1), Fault.banned(300))
    other = extended(mode, sim)  # another object of the same bot, on the same IP
    met: list[Exception] = []

    def meet_the_ban() -> None:
        try:
            other.cancel_all_margin_orders("ETH/USDT")
        except ccxt.DDoSProtection as error:
            met.append(error)

    async def meet_the_ban_async() -> None:
        try:
            await other.cancel_all_margin_orders("ETH/USDT")
        except ccxt.DDoSProtection as error:
            met.append(error)

    # While the first call waits out its 429, the other call meets the 418.
    fake_time.while_asleep = meet_the_ban_async if mode == "async" else meet_the_ban
    with pytest.raises(ccxt.DDoSProtection, match="not sent, the IP is banned"):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    assert len(met) == 1 and "banned until" in str(met[0])
    assert [r.status for r in sim.requests if r.path == CANCEL_ALL_PATH] == [429, 418]
    if mode == "async":
        run(other.close())


def test_objects_on_the_same_papi_host_share_the_gate(mode: str, sim: Simulator) -> None:
    run = Runner()
    first, second = extended(mode, sim), extended("sync", sim)  # freqtrade keeps a sync and an async one
    sim.inject(CANCEL_ALL, Fault.banned(300))
    with pytest.raises(ccxt.DDoSProtection, match="banned until"):
        run.call(first.cancel_all_margin_orders, "BTC/USDT")
    with pytest.raises(ccxt.DDoSProtection, match="not sent"):
        second.cancel_all_margin_orders("BTC/USDT")
    assert sim.seen("DELETE", CANCEL_ALL_PATH) == 1
    run.close([first])


def test_another_port_is_another_exchange(sim: Simulator, fake_time: FakeTime) -> None:
    with simulator(fake_time) as elsewhere:
        elsewhere.seed_documented_example()
        banned, free = extended("sync", sim), extended("sync", elsewhere)
        sim.inject(CANCEL_ALL, Fault.banned(300))
        with pytest.raises(ccxt.DDoSProtection):
            banned.cancel_all_margin_orders("BTC/USDT")
        assert len(free.cancel_all_margin_orders("BTC/USDT")) == 3


@pytest.mark.parametrize("retry_after", [0, -5])
def test_a_retry_after_of_nothing_still_waits_a_second(
    retry_after: float, sim: Simulator, sim_exchange: tuple[Any, Runner], waits: list[float]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.rate_limited(retry_after))
    assert len(run.call(exchange.cancel_all_margin_orders, "BTC/USDT")) == 3
    assert waits == [1.0]


def test_a_retry_after_in_the_past_still_waits_a_second(
    sim: Simulator, sim_exchange: tuple[Any, Runner], waits: list[float]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.error(-1003, 429, headers={"Retry-After": "Thu, 01 Jan 2015 00:00:00 GMT"}))
    assert len(run.call(exchange.cancel_all_margin_orders, "BTC/USDT")) == 3
    assert waits == [1.0]


def test_an_endless_retry_after_closes_the_gate_for_three_days_not_for_good(
    sim: Simulator, sim_exchange: tuple[Any, Runner], fake_time: FakeTime
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.rate_limited(float("inf")))
    with pytest.raises(ccxt.RateLimitExceeded, match=f"retry after {THREE_DAYS} s"):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    with pytest.raises(ccxt.RateLimitExceeded, match="not sent"):
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    fake_time.sleep(THREE_DAYS)
    assert len(run.call(exchange.cancel_all_margin_orders, "BTC/USDT")) == 3
    assert sim.seen("DELETE", CANCEL_ALL_PATH) == 2


def test_a_new_simulator_on_the_port_of_a_banned_one_inherits_no_ban(fake_time: FakeTime) -> None:
    with simulator(fake_time) as banned_one:
        port = banned_one.port
        banned_one.seed_documented_example()
        banned_one.inject(CANCEL_ALL, Fault.banned(300))
        with pytest.raises(ccxt.DDoSProtection):
            extended("sync", banned_one).cancel_all_margin_orders("BTC/USDT")
    with simulator(fake_time, port=port) as new_one:  # the ban lives on in the store, under the old one's name
        new_one.seed_documented_example()
        assert len(extended("sync", new_one).cancel_all_margin_orders("BTC/USDT")) == 3
