"""A fleet on one IP, as real processes: every bot flattens at the same moment, through one simulator at a
scaled-down limit, sharing the IP's gate and budget through the default store (SQLite) or Redis.

Real time is the point: the processes share no clock but the machine's.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator

import pytest

from papi_plugin.limits.stores import open_store
from papi_plugin.simulator import Fault, Simulator
from papi_plugin.simulator.fleet import Fleet, place_one_order_each
from tests.constants import CANCEL_ALL

SYMBOLS_EACH = 20
WINDOW = 1.0  # a scaled-down minute
BAN = 2.0


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
def fleet_sim() -> Iterator[Simulator]:
    with Simulator(extra_symbols=8 * SYMBOLS_EACH, window_seconds=WINDOW, weight_limit=10_000) as sim:
        yield sim


@pytest.mark.realtime
@pytest.mark.parametrize("processes", [3, 8])
def test_a_fleet_flattening_at_once_is_never_rate_limited(processes: int, store: str, fleet_sim: Simulator) -> None:
    # Half the fleet's weight fits a window: the flatten needs two windows at least.
    limit = processes * SYMBOLS_EACH * 5 // 2
    fleet_sim.limits.weight_limit = limit
    shares = [[f"X{p * SYMBOLS_EACH + i:03d}USDT" for i in range(SYMBOLS_EACH)] for p in range(processes)]
    placed = place_one_order_each(fleet_sim, [market_id for share in shares for market_id in share])
    with Fleet(fleet_sim, store, limit, WINDOW) as fleet:
        fleet.start([("async" if p % 2 else "sync", share) for p, share in enumerate(shares)])
        fleet.go()
        results = [fleet.result(p) for p in range(processes)]
    assert fleet_sim.rate_limited_answers == 0, [w for result in results for w in result["warnings"]]  # no 429/418
    assert all(result["errors"] == {} for result in results)
    assert fleet_sim.open_orders() == []
    reported = [order_id for result in results for ids in result["canceled"].values() for order_id in ids]
    assert sorted(reported) == sorted(placed.values())  # every order, each reported once
    for share, result in zip(shares, results, strict=True):  # by the process that canceled it
        assert sorted(result["canceled"]) == sorted(f"{market_id[:-4]}/USDT" for market_id in share)
        assert sorted(i for ids in result["canceled"].values() for i in ids) == sorted(placed[m] for m in share)


@pytest.mark.realtime
def test_after_a_418_to_one_process_no_process_sends_until_the_ban_ends(store: str, fleet_sim: Simulator) -> None:
    shares = [[f"X{p * SYMBOLS_EACH + i:03d}USDT" for i in range(SYMBOLS_EACH)] for p in range(4)]
    place_one_order_each(fleet_sim, [market_id for share in shares for market_id in share])
    with Fleet(fleet_sim, store) as fleet:
        fleet.start(list(zip(["sync", "async", "sync", "async"], shares, strict=True)))
        fleet_sim.inject(CANCEL_ALL, Fault.banned(BAN))  # the first cancel to arrive: the IP is banned
        fleet.go(0)
        banned = fleet.result(0)  # that process has ended: what it was told lives on in the store
        sent = len(fleet_sim.requests)
        fleet.go(1)
        time.sleep(0.5)
        fleet.go(2)  # both start their flatten inside the ban
        for result in (fleet.result(1), fleet.result(2)):
            assert result["canceled"] == {} and list(result["errors"]) == ["*"]  # refused before anything
            assert "DDoSProtection: binance cancel_all_margin_orders_many: not sent, the IP is banned" in str(result)
        assert len(fleet_sim.requests) == sent  # nothing at all went out from them
        while time.time() < banned["started"] + BAN + 0.5:
            time.sleep(0.05)
        fleet.go(3)  # the ban is over: the gate opens again
        flattened = fleet.result(3)
    assert sum(len(e) for e in banned["errors"].values()) and "IP banned until" in str(banned["errors"])
    assert all(r.status == 200 for r in fleet_sim.requests[sent:])  # after the ban, nothing met it again
    assert flattened["errors"] == {} and len(flattened["canceled"]) == SYMBOLS_EACH


@pytest.mark.realtime
def test_a_bots_last_answers_reach_the_store_before_its_process_ends(store: str, fleet_sim: Simulator) -> None:
    # A sync bot hands its answers to a writer thread; a process that left before they were written would
    # leave its requests in flight in the store, and the whole fleet would count them once more next window.
    shares = [[f"X{i:03d}USDT" for i in range(SYMBOLS_EACH)]]
    place_one_order_each(fleet_sim, shares[0])
    with Fleet(fleet_sim, store) as fleet:
        fleet.start([("sync", shares[0])])
        fleet.go()
        result = fleet.result(0)
        fleet.stop()  # the bot's process has ended
    assert len(result["canceled"]) == SYMBOLS_EACH and result["errors"] == {}
    shared = open_store(store)
    try:
        state = shared.snapshot(f"{fleet_sim.url} {fleet_sim.instance}")  # the simulator's limitsKey
    finally:
        shared.close()
    assert state.window >= 0 and state.in_flight == 0 and state.carried == 0, state
