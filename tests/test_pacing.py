"""The Portfolio Margin weight budget, stepped by hand in time: no I/O, no clock."""

from __future__ import annotations

from papi_plugin.pacing import ROLLOVER_GUARD, WeightBudget

START = 6000.0  # the start of a 60 s window


def test_sends_at_once_while_the_work_fits_what_is_left_of_the_minute() -> None:
    weights = WeightBudget(100)
    assert [weights.reserve(5, START + i * 0.001) for i in range(20)] == [0.0] * 20  # all 100, no spreading
    assert weights.used(START + 1) == 100


def test_waits_for_the_next_window_rather_than_overspend() -> None:
    weights = WeightBudget(10)
    assert weights.reserve(5, START + 20) == 0.0 and weights.reserve(5, START + 20) == 0.0
    assert weights.reserve(5, START + 20) == 40 + ROLLOVER_GUARD  # the rest of this window, and a little more
    weights.answered(5)
    weights.answered(5)
    assert weights.reserve(5, START + 60 + ROLLOVER_GUARD) == 0.0


def test_the_servers_figure_counts_when_it_is_higher() -> None:
    weights = WeightBudget(100)
    weights.observe(98, START + 1)  # other programs on the same IP
    assert weights.reserve(5, START + 2) > 0


def test_a_figure_from_an_earlier_window_is_ignored() -> None:
    weights = WeightBudget(100)
    weights.reserve(5, START + 1)
    weights.observe(99, START - 1)
    assert weights.used(START + 2) == 5


def test_requests_in_flight_count_in_the_next_window() -> None:
    weights = WeightBudget(10)
    assert weights.reserve(5, START) == 0.0 and weights.reserve(5, START) == 0.0  # both in flight
    assert weights.used(START + 60) == 10  # they may reach Binance after the minute turned
    weights.answered(5)
    weights.answered(5)
    assert weights.used(START + 120) == 0


def test_1100_cancels_fit_one_minute_and_the_next_ones_wait_for_the_next() -> None:
    weights = WeightBudget()
    sent = [weights.reserve(5, START + i * 0.001) for i in range(1200)]
    assert sent == [0.0] * 1200  # 6,000 weight at once
    assert weights.reserve(5, START + 2) == 58 + ROLLOVER_GUARD
