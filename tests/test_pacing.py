"""The Portfolio Margin weight budget on a fake clock, without I/O."""

from __future__ import annotations

from papi_plugin.pacing import ROLLOVER_GUARD, WeightBudget
from tests.fake_time import FakeTime


def budget(limit: int = 100, window: float = 60.0) -> tuple[WeightBudget, FakeTime]:
    fake = FakeTime(start=6000.0)  # the start of a window
    return WeightBudget(limit, window, clock=fake.clock), fake


def test_reserves_at_once_while_the_minute_has_room() -> None:
    weights, _ = budget()
    assert [weights.reserve(5) for _ in range(16)] == [0.0] * 16  # 80 of 100
    assert weights.used == 80


def test_waits_for_the_next_window_rather_than_overspend() -> None:
    weights, fake = budget(limit=10)
    fake.now += 20
    assert weights.reserve(5) == 0.0 and weights.reserve(5) == 0.0
    assert weights.reserve(5) == 40 + ROLLOVER_GUARD  # the rest of this window, and a little more
    weights.answered(5)
    weights.answered(5)
    fake.sleep(40 + ROLLOVER_GUARD)
    assert weights.reserve(5) == 0.0


def test_the_servers_figure_counts_when_it_is_higher() -> None:
    weights, _ = budget(limit=100)
    weights.observe(98)  # other programs on the same IP
    assert weights.reserve(5) > 0


def test_a_figure_from_an_earlier_window_is_ignored() -> None:
    weights, fake = budget(limit=100)
    weights.reserve(5)
    weights.observe(99, at=fake.now - 61)
    assert weights.used == 5


def test_requests_in_flight_count_in_the_next_window() -> None:
    weights, fake = budget(limit=10)
    assert weights.reserve(5) == 0.0 and weights.reserve(5) == 0.0  # both in flight
    fake.sleep(60)
    assert weights.used == 10  # they may reach Binance after the minute turned
    weights.answered(5)
    weights.answered(5)
    fake.sleep(60)
    assert weights.used == 0


def test_spreads_the_last_fifth_of_the_minute() -> None:
    weights, _ = budget(limit=100)
    for _ in range(16):
        weights.reserve(5)
    assert weights.reserve(5) == 0.0  # 85: past 80%, the next call gets a slot later in the minute
    assert weights.reserve(5) > 0
