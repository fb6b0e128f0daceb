"""The switch's records read back from a store, checked, and a guard's timing of each countdown: no I/O."""

from __future__ import annotations

import json

from papi_plugin.switch import records
from papi_plugin.switch.records import LEASE_MS, Countdown, Lease
from papi_plugin.switch.timing import Timer
from tests.fake_time import FakeTime

NOW = 1_800_000_000_000  # ms on the store's clock


def test_sound_countdowns_are_read_as_they_were_armed() -> None:
    found, problems = records.countdowns([("default", 5000, NOW - 100), ("grid", "60000", str(NOW))], NOW)
    assert found == [Countdown("default", 5000, NOW - 100), Countdown("grid", 60000, NOW)] and problems == []


def test_one_bad_countdown_row_never_hides_another() -> None:
    rows = [
        ("broken", "not a number", NOW),
        ("", 5000, NOW),
        ("negative", -5, NOW),
        ("huge", 10**15, NOW),
        ("no time", 5000, "soon"),
        ("default", 5000, NOW - 100),
    ]
    found, problems = records.countdowns(rows, NOW)
    assert found == [Countdown("default", 5000, NOW - 100)]
    assert len(problems) == 5 and any("'not a number'" in problem for problem in problems)


def test_a_countdown_armed_in_the_stores_future_still_runs_from_now() -> None:
    found, problems = records.countdowns([("default", 5000, NOW + 3_600_000)], NOW)
    assert found == [Countdown("default", 5000, NOW)] and "future" in problems[0]


def test_a_beat_from_the_future_is_no_guard_alive() -> None:
    guards, problems = records.alive([("forged", NOW + 10**9), ("real", NOW - 500), ("dead", NOW - 5000)], NOW)
    assert guards == ["real"] and "forged" in problems[0]


def test_a_lease_held_past_any_guards_lease_time_or_by_a_guard_not_alive_may_be_taken_over() -> None:
    alive = ["guard-a"]
    assert records.held_too_long(Lease("guard-a", NOW + LEASE_MS), NOW, alive) is None  # a firing guard's
    assert "past any guard's" in str(records.held_too_long(Lease("guard-a", NOW + 10**12), NOW, alive))
    assert "not seen alive" in str(records.held_too_long(Lease("ghost", NOW + 1000), NOW, alive))
    assert records.held_too_long(records.lease(("guard-a", "forever")) or Lease("", 0), NOW, alive) is not None


def test_firings_are_kept_newest_first_and_one_that_does_not_parse_is_set_aside() -> None:
    outcome = {"guard": "g", "outcome": "flat", "fired": NOW, "attempts": 1}
    rows = [
        ("default", records.firing_id(NOW - 1000, "g"), json.dumps({**outcome, "fired": NOW - 1000})),
        ("default", records.firing_id(NOW, "g"), json.dumps(outcome)),
        ("default", "x", "{not json"),
        ("default", "y", json.dumps({"outcome": "flat"})),  # what no guard writes
    ]
    found, problems = records.firings(rows)
    assert [firing["fired"] for firing in found["default"]] == [NOW, NOW - 1000] and len(problems) == 2


# -- the guard's timing: the store's clock at first sight, then the guard's own


def test_a_countdown_is_due_its_timeout_after_the_push_on_the_stores_clock() -> None:
    time = FakeTime()
    timer = Timer(time.clock)
    countdown = Countdown("default", 1000, NOW - 200)  # pushed 200 ms before the guard saw it
    timer.update([countdown], NOW)
    assert timer.left_ms("default") == 800 and timer.due() == []
    time.sleep(0.799)
    assert timer.due() == []
    time.sleep(0.001)
    assert timer.due() == [countdown]


def test_a_push_starts_the_timeout_afresh() -> None:
    time = FakeTime()
    timer = Timer(time.clock)
    timer.update([Countdown("default", 1000, NOW)], NOW)
    time.sleep(0.9)
    timer.update([Countdown("default", 1000, NOW + 900)], NOW + 900)  # the bot pushed
    time.sleep(0.9)
    assert timer.due() == [] and timer.left_ms("default") == 100


def test_a_store_clock_that_jumps_an_hour_while_the_guard_watches_fires_nothing_early() -> None:
    time = FakeTime()
    timer = Timer(time.clock)
    countdown = Countdown("default", 60_000, NOW)
    timer.update([countdown], NOW)
    time.sleep(1)
    timer.update([countdown], NOW + 3_600_000)  # the same push, read on a clock that stepped forward
    assert timer.due() == [] and timer.left_ms("default") == 59_000


def test_a_guard_restarted_after_the_deadline_fires_at_once() -> None:
    time = FakeTime()
    timer = Timer(time.clock)
    countdown = Countdown("default", 1000, NOW - 5000)  # the bot died 5 s ago; this guard just started
    timer.update([countdown], NOW)
    assert timer.due() == [countdown]


def test_a_fired_countdown_is_forgotten_unless_pushed_again() -> None:
    time = FakeTime()
    timer = Timer(time.clock)
    countdown = Countdown("default", 1000, NOW - 5000)
    timer.update([countdown], NOW)
    timer.forget(countdown)
    assert timer.due() == [] and timer.left_ms("default") is None


def test_a_lease_is_read_with_its_whole_holder_so_a_takeover_names_the_one_it_replaces() -> None:
    forged = "x" * 300
    found = records.lease((forged, "forever"))
    assert found == Lease(forged, None) and "x" * 200 + " until" in str(records.held_too_long(found, NOW, []))
