"""The rules of an IP's gate and budget (``limits/state.py``), stepped by hand in time: no I/O, no clock."""

from __future__ import annotations

import math

import ccxt
import pytest

from papi_plugin.call.attempts import Failure
from papi_plugin.call.canceller import gate_after, used_weight
from papi_plugin.limits import state
from papi_plugin.limits.state import BANNED, BUDGET, DEFAULT_BAN_SECONDS, RATE_LIMITED, ROLLOVER_GUARD, IpState
from papi_plugin.protocol.answers import Action, Answer, Verdict

START = 6000.0  # the start of a 60 s window (window number 100)
W = 60.0


def reserve(ip: IpState, weight: int, now: float, limit: int = 100) -> float:
    return state.acquire(ip, weight, limit, W, now).wait


def known(ip: IpState, now: float, others: int = 0, limit: int = 100) -> None:
    """A first request of the window and its answer: the server's figure says what others use."""
    ticket = state.acquire(ip, 5, limit, W, now).ticket
    state.answered(ip, ticket, 5, others + 5, W, now)


def failed(action: Action, retry_after: float | None) -> Failure:
    return Failure(Verdict(action, ccxt.ExchangeError("x"), -1003, 418, retry_after))


# -- the gate


def test_an_open_gate_and_a_budget_with_room_admit_at_once() -> None:
    admission = state.acquire(IpState(), 5, 100, W, START)
    assert admission.admitted and admission.reason == "" and admission.ticket == 100


def test_a_ban_is_reported_as_a_ban_until_it_ends() -> None:
    ip = IpState()
    state.close_gate(ip, START + 300, True, START)
    admission = state.acquire(ip, 5, 100, W, START + 299)
    assert (admission.reason, admission.wait) == (BANNED, 1.0)
    assert state.acquire(ip, 5, 100, W, START + 300).admitted


def test_a_ban_reserves_nothing() -> None:
    ip = IpState()
    state.close_gate(ip, START + 10, True, START)
    state.acquire(ip, 5, 100, W, START + 1)
    assert state.used(ip, W, START + 1) == 0


def test_a_429_pause_is_a_pause_not_a_ban() -> None:
    ip = IpState()
    state.close_gate(ip, START + 2, False, START)
    assert state.acquire(ip, 5, 100, W, START + 0.5)[:2] == (1.5, RATE_LIMITED)


def test_a_429_during_a_ban_keeps_it_a_ban() -> None:
    ip = IpState()
    state.close_gate(ip, START + 300, True, START)
    state.close_gate(ip, START + 2, False, START + 1)
    assert state.acquire(ip, 5, 100, W, START + 2).reason == BANNED


def test_a_429_after_a_ban_ended_is_only_a_pause() -> None:
    ip = IpState()
    state.close_gate(ip, START + 10, True, START)
    state.close_gate(ip, START + 21, False, START + 20)
    assert state.acquire(ip, 5, 100, W, START + 20)[:2] == (1.0, RATE_LIMITED)


def test_a_418_closes_the_gate_for_its_ban_or_binances_shortest() -> None:
    assert gate_after(failed(Action.BANNED, 300), START) == (START + 300, True)
    assert gate_after(failed(Action.BANNED, None), START) == (START + DEFAULT_BAN_SECONDS, True)
    assert gate_after(failed(Action.RATE_LIMITED, 2), START) == (START + 2, False)


@pytest.mark.parametrize("action", [Action.RETRY, Action.RAISE, Action.RESYNC_CLOCK, Action.NOTHING_OPEN])
def test_other_failures_leave_the_gate_open(action: Action) -> None:
    assert gate_after(failed(action, 30), START) is None
    assert gate_after(None, START) is None


# -- the budget


def test_three_quarters_of_a_window_go_out_at_once_and_the_last_quarter_a_quarter_of_what_is_left_at_a_time() -> None:
    ip = IpState()
    known(ip, START)  # 5 used, nobody else
    burst = [state.acquire(ip, 5, 100, W, START) for _ in range(15)]
    assert [a.admitted for a in burst] == [True] * 14 + [False]  # 70 in flight: all but the last quarter
    assert burst[-1].wait == state.FIGURE_WAIT_SECONDS
    for i, admission in enumerate(burst[:14]):
        state.answered(ip, admission.ticket, 5, 10 + 5 * i, W, START + 0.01)  # as the server counted them
    sent = 0
    while (admission := state.acquire(ip, 5, 100, W, START + 0.02)).admitted:  # 25 left: 6 at most in flight
        assert not state.acquire(ip, 5, 100, W, START + 0.02).admitted  # one at a time
        sent += 1
        state.answered(ip, admission.ticket, 5, 75 + 5 * sent, W, START + 0.02)
    assert sent == 5 and state.used(ip, W, START + 0.02) == 100  # the window filled exactly
    assert admission.wait == pytest.approx(60 - 0.02 + ROLLOVER_GUARD)


def test_before_any_answer_the_last_quarter_of_the_window_waits_for_answers() -> None:
    ip = IpState()
    sent = [state.acquire(ip, 5, 100, W, START) for _ in range(16)]
    assert [a.admitted for a in sent] == [True] * 15 + [False]  # 75: what nobody can know others did is kept
    assert sent[15].wait == state.FIGURE_WAIT_SECONDS and sent[15].reason == BUDGET


def test_the_first_request_of_a_window_always_goes_whatever_its_weight() -> None:
    assert state.acquire(IpState(), 40, 100, W, START).admitted


def test_waits_for_the_next_window_rather_than_overspend() -> None:
    ip = IpState()
    known(ip, START + 20, limit=10)
    assert reserve(ip, 5, START + 20, 10) == 0.0
    admission = state.acquire(ip, 5, 10, W, START + 20)
    assert (admission.reason, admission.wait) == (BUDGET, 40 + ROLLOVER_GUARD)
    state.answered(ip, 100, 5, None, W, START + 21)
    assert reserve(ip, 5, START + 60 + ROLLOVER_GUARD, 10) == 0.0


def test_a_request_heavier_than_the_limit_is_never_sent() -> None:
    assert state.acquire(IpState(), 50, 40, W, START).reason == BUDGET


def test_the_servers_figure_counts_when_it_is_higher() -> None:
    ip = IpState()
    ticket = state.acquire(ip, 5, 100, W, START).ticket
    state.answered(ip, ticket, 5, 98, W, START + 1)  # other programs on the same IP used 93
    assert state.used(ip, W, START + 2) == 98
    assert reserve(ip, 5, START + 2) > 0


def test_weight_sent_after_the_servers_report_is_added_to_it() -> None:
    ip = IpState()
    first = state.acquire(ip, 5, 1000, W, START).ticket
    state.answered(ip, first, 5, 80, W, START + 1)  # 75 by others
    for _ in range(3):
        assert state.acquire(ip, 5, 1000, W, START + 2).admitted  # sent after the report: not in it
    assert state.used(ip, W, START + 2) == 95


def test_requests_in_flight_count_on_top_of_the_latest_figure_until_answered_then_only_through_figures() -> None:
    ip = IpState()
    tickets = [state.acquire(ip, 5, 100, W, START).ticket for _ in range(4)]  # a burst of 20
    state.answered(ip, tickets[0], 5, 70, W, START + 1)  # 65 by others and this one: the others maybe not yet
    assert state.used(ip, W, START + 1) == 70 + 15  # the 15 in flight may reach the server after its report
    for ticket in tickets[1:]:
        state.answered(ip, ticket, 5, 85, W, START + 1)
    assert state.used(ip, W, START + 1) == 85  # once answered, counted once: in the figure


def test_a_second_burst_during_the_firsts_flight_on_a_busy_ip_waits_for_the_next_window() -> None:
    ip = IpState()
    known(ip, START, others=50)  # 55 used
    first = [state.acquire(ip, 5, 100, W, START).ticket for _ in range(8)]  # 40 in flight
    state.answered(ip, first[0], 5, 60, W, START + 0.1)  # the server had counted only this one of them
    # 60 + 35 still in flight = 95, and 5 left to the neighbour: none of a second burst fits this window.
    second = [state.acquire(ip, 5, 100, W, START + 0.1) for _ in range(8)]
    assert [a.admitted for a in second] == [False] * 8
    assert all(a.reason == BUDGET and a.wait > 59 for a in second)


def test_a_figure_for_a_request_sent_in_the_last_window_does_not_hold_this_one_shut() -> None:
    ip = IpState()
    ticket = state.acquire(ip, 5, 100, W, START + 59.9).ticket  # sent as the window ends
    state.answered(ip, ticket, 5, 99, W, START + 60.05)  # the last window's figure, in the next window
    assert state.used(ip, W, START + 60.1) == 5  # its own weight may have counted here; the 99 does not


def test_a_burst_fills_its_window_exactly() -> None:
    ip = IpState()
    tickets = [state.acquire(ip, 5, 100, W, START).ticket for _ in range(20)]
    for i, ticket in enumerate(tickets):
        state.answered(ip, ticket, 5, 5 * (i + 1), W, START + 1)  # answers as the server counted them
    assert state.used(ip, W, START + 1) == 100
    assert state.acquire(ip, 5, 100, W, START + 1).reason == BUDGET
    assert reserve(ip, 5, START + 60.25) == 0.0  # the next window is whole again


def test_a_figure_from_an_earlier_window_is_ignored() -> None:
    ip = IpState()
    state.acquire(ip, 5, 100, W, START + 1)
    state.answered(ip, 99, 0, 99, W, START - 1)
    assert state.used(ip, W, START + 2) == 5


def test_requests_in_flight_count_in_the_next_window_and_then_end() -> None:
    ip = IpState()
    known(ip, START, limit=20)
    assert reserve(ip, 5, START, 20) == 0.0 and reserve(ip, 5, START, 20) == 0.0  # both in flight
    assert state.used(ip, W, START + 60) == 10  # they may reach Binance after the window turned
    assert state.used(ip, W, START + 120) == 0  # never answered (their sender died): forgotten


def test_an_answer_in_the_next_window_ends_its_request_there() -> None:
    ip = IpState()
    ticket = state.acquire(ip, 5, 10, W, START).ticket
    state.answered(ip, ticket, 5, None, W, START + 61)
    assert ip.carried == 0 and state.used(ip, W, START + 121) == 0


def test_1200_cancels_fit_one_minute_and_the_next_ones_wait_for_the_next() -> None:
    ip = IpState()
    for i in range(1200):  # each answered as the server counts it: 6,000 weight in the minute
        admission = state.acquire(ip, 5, 6000, W, START + i * 0.001)
        assert admission.admitted
        state.answered(ip, admission.ticket, 5, 5 * (i + 1), W, START + i * 0.001)
    assert reserve(ip, 5, START + 2, 6000) == 58 + ROLLOVER_GUARD


def test_the_used_weight_of_the_answers_is_the_highest_they_report() -> None:
    answers = [Answer(200, "", {"X-MBX-USED-WEIGHT-1M": "7"}), Answer(429, "", {"x-mbx-used-weight-1m": "9"})]
    assert used_weight(answers) == 9
    assert used_weight([Answer(200, "", None), Answer(200, "", {"X-MBX-USED-WEIGHT-1M": "junk"})]) is None


# -- what is read back is checked


def test_a_gate_closed_beyond_the_longest_ban_is_dropped_and_said() -> None:
    ip = IpState(gate_until=START + 10 * 365 * 86400, banned=True)
    problems = state.sane(ip, W, START)
    assert ip.gate_until == 0.0 and not ip.banned and "more than 3 days" in problems[0]


def test_a_three_day_ban_stays() -> None:
    ip = IpState(gate_until=START + 3 * 86400 - 1, banned=True)
    assert state.sane(ip, W, START) == [] and ip.banned


@pytest.mark.parametrize(
    "forged",
    [
        IpState(window=10**9),  # a window from the future
        IpState(window=100, reserved=-10_000),  # a negative reservation: pacing off
        IpState(window=100, reserved=5, in_flight=50),  # more in flight than reserved
        IpState(window=100, used=10**12),
    ],
)
def test_counts_the_rules_cannot_produce_start_the_window_afresh(forged: IpState) -> None:
    problems = state.sane(forged, W, START)
    assert len(problems) == 1 and forged.fields()[2:] == (100, 0, 0, 0, 0, 0)
    assert state.acquire(forged, 5, 100, W, START).admitted


def test_a_gate_that_is_not_a_number_is_dropped() -> None:
    ip = IpState(gate_until=math.nan, banned=True)
    assert state.sane(ip, W, START) and (ip.gate_until, ip.banned) == (0.0, False)


def test_sound_state_passes_unchanged() -> None:
    ip = IpState(START - 1, False, 100, 30, 10, 5, 20, 3)
    assert state.sane(ip, W, START) == [] and ip.fields() == (START - 1, False, 100, 30, 10, 5, 20, 3)


def test_a_window_rolled_a_little_early_by_a_process_whose_clock_is_ahead_is_kept() -> None:
    ip = IpState(window=101, reserved=50, in_flight=10)  # another bot's clock is past 6060 already
    assert state.sane(ip, W, START + 59.8) == [] and ip.fields()[2:5] == (101, 50, 10)



def test_a_window_full_only_for_the_fleets_answers_still_out_is_looked_at_again_a_round_trip_later() -> None:
    ip = IpState()
    known(ip, START)  # nobody else on the IP
    sent = [state.acquire(ip, 5, 100, W, START) for _ in range(14)]  # 75 sent, 70 of it in flight
    assert all(a.admitted for a in sent)
    state.answered(ip, sent[0].ticket, 5, 75, W, START + 0.01)  # all 75 counted already: 75 + 65 looks past 100
    waiting = state.acquire(ip, 5, 100, W, START + 0.01)
    assert (waiting.reason, waiting.wait) == (BUDGET, state.FIGURE_WAIT_SECONDS)


def test_with_other_programs_on_the_ip_a_full_looking_window_is_left_to_the_next() -> None:
    ip = IpState()
    known(ip, START + 54, others=50)  # 50 in 54 s: about 6 more before the window ends
    for i in range(7):  # 55 + 35, and 6 left to the others
        admission = state.acquire(ip, 5, 100, W, START + 54)
        assert admission.admitted
        state.answered(ip, admission.ticket, 5, 60 + 5 * i, W, START + 54)
    waiting = state.acquire(ip, 5, 100, W, START + 54)
    assert waiting.wait == pytest.approx(6 + ROLLOVER_GUARD)


def test_the_headroom_left_to_others_follows_their_pace_for_what_is_left_of_the_window() -> None:
    ip = IpState(window=100, reserved=100, used=1100, others=1000)  # others spent 1,000 in the first 20 s
    assert state.headroom(ip, 6000, W, START + 20) == 2000  # at that pace, 2,000 more in the 40 s left
    assert state.headroom(ip, 6000, W, START + 59) == 300  # near the end: at least 1/20 of the limit
    assert state.headroom(ip, 6000, W, START + 1) == 3000  # early: at most half
    assert state.headroom(IpState(window=100), 6000, W, START + 20) == 0  # nobody else seen


def test_other_programs_seen_in_the_last_window_keep_their_headroom_in_this_one() -> None:
    ip = IpState()
    known(ip, START, others=50)
    assert state.used(ip, W, START + 60) == 0 and ip.others == 1  # a new window, the neighbour still expected
    known(ip, START + 119)
    admitted = 0
    while (admission := state.acquire(ip, 5, 100, W, START + 119)).admitted:
        admitted += 1
        state.answered(ip, admission.ticket, 5, 5 + 5 * admitted, W, START + 119)
    assert admitted == 18 and admission.wait == pytest.approx(1 + ROLLOVER_GUARD)  # 5 of the 100 left to others
