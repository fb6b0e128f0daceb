"""The switch's records as read back from a store, checked: countdowns, guards alive, the lease, firings.

Nothing read back is trusted: whoever may write the store could otherwise switch the kill switch off for
every process. Each reader here takes what the store gave and returns what is sound, with what was not
(each problem said once by the caller, ``stores.distrusted``); one bad row never hides another. Times are
milliseconds on the store's own clock (``switch/base.py``). No I/O.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

MAX_TIMEOUT_MS = 7 * 24 * 3600 * 1000
MAX_NAME = 64
GUARD_ALIVE_MS = 3000  # a guard announces itself every second: one silent for 3 s is taken for dead
LEASE_MS = 5000  # a firing guard's hold on the account; renewed every beat, so it lapses only with its guard
SKEW_MS = 2000  # a time up to this far ahead of the store's clock is taken as now (its clock moved a little)
KEPT_FIRINGS = 20  # firings kept per countdown, newest first


class Countdown(NamedTuple):
    """One armed countdown: due ``timeout_ms`` after ``armed_ms`` (its last push, on the store's clock)."""

    name: str
    timeout_ms: int
    armed_ms: int

    @property
    def deadline_ms(self) -> int:
        return self.armed_ms + self.timeout_ms


class Lease(NamedTuple):
    """Who fires the account now, and until when (store's clock); ``until_ms`` None: an endless (forged) one."""

    holder: str
    until_ms: int | None


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def integer(value: Any) -> int | None:
    """An integer stored as one or as its decimal text (Redis keeps text), else None."""
    if is_integer(value):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        return int(value)
    return None


def countdowns(rows: list[tuple[Any, Any, Any]], now_ms: int) -> tuple[list[Countdown], list[str]]:
    """The sound countdowns of ``rows`` of (name, timeout ms, armed ms), and what was wrong with the others.
    One armed in the future (a store clock that stepped back, or a forged row) is taken as armed now: its
    timeout still runs, the guard never waits longer for it than it was asked to."""
    found, problems = [], []
    for name, timeout, armed in rows:
        timeout_ms, armed_ms = integer(timeout), integer(armed)
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            problems.append(f"a countdown named {str(name)[:80]!r}, which no arming call writes")
        elif timeout_ms is None or not 0 < timeout_ms <= MAX_TIMEOUT_MS:
            problems.append(f"countdown {name!r} with a timeout of {str(timeout)[:40]!r} ms")
        elif armed_ms is None:
            problems.append(f"countdown {name!r} armed at {str(armed)[:40]!r}, not a time")
        elif armed_ms > now_ms + SKEW_MS:
            problems.append(f"countdown {name!r} armed at {armed_ms}, in the store clock's future ({now_ms})")
            found.append(Countdown(name, timeout_ms, now_ms))
        else:
            found.append(Countdown(name, timeout_ms, armed_ms))
    return sorted(found), problems


def alive(beats: list[tuple[Any, Any]], now_ms: int, alive_ms: int = GUARD_ALIVE_MS) -> tuple[list[str], list[str]]:
    """The guards seen within ``alive_ms``, from (guard, seen ms) rows; a beat from the future is not a guard
    alive (it would tell a bot it is protected when it is not)."""
    found, problems = [], []
    for guard, seen in beats:
        seen_ms = integer(seen)
        if not isinstance(guard, str) or seen_ms is None:
            problems.append(f"a guard's beat {str(guard)[:80]!r} at {str(seen)[:40]!r}")
        elif seen_ms > now_ms + SKEW_MS:
            problems.append(f"guard {guard!r} seen at {seen_ms}, in the store clock's future ({now_ms})")
        elif now_ms - seen_ms < alive_ms:
            found.append(guard)
    return sorted(found), problems


def lease(row: tuple[Any, Any] | None) -> Lease | None:
    """The lease of (holder, until ms), or None when nobody holds it; an ``until`` that is not a time is an
    endless lease (``held_too_long`` then says so)."""
    if row is None:
        return None
    holder, until = row
    return Lease(str(holder), integer(until))  # whole: a takeover names the holder it replaces


def held_too_long(found: Lease, now_ms: int, alive: list[str]) -> str | None:
    """Why another guard may take ``found`` over, if it may: held past any guard's lease time, or by a guard
    not seen alive (a lease the rules could not have left)."""
    holder = found.holder[:200]  # as a log line shows it
    if found.until_ms is None or found.until_ms - now_ms > LEASE_MS + SKEW_MS:
        return f"lease held by {holder} until {found.until_ms}, past any guard's {LEASE_MS} ms"
    if found.until_ms > now_ms and found.holder not in alive:
        return f"lease held by {holder} until {found.until_ms}, a guard not seen alive"
    return None


FIRING_KEYS = {"guard": str, "outcome": str, "fired": int, "attempts": int}


def firings(rows: list[tuple[Any, Any, Any]]) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """{countdown name: its firings, newest first}, from (name, firing id, outcome JSON) rows."""
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    problems = []
    for name, firing, text in rows:
        try:
            outcome = json.loads(text) if isinstance(text, (str, bytes)) else None
        except ValueError:
            outcome = None
        sound = isinstance(outcome, dict) and all(
            isinstance(outcome.get(key), kind) and not isinstance(outcome.get(key), bool)
            for key, kind in FIRING_KEYS.items()
        )
        if not isinstance(name, str) or not isinstance(firing, str) or not sound:
            problems.append(f"a firing record {str(firing)[:60]!r} of {str(name)[:60]!r} that does not parse")
            continue
        assert isinstance(outcome, dict)
        found.setdefault(name, []).append((firing, outcome))
    newest = {name: [o for _, o in sorted(kept, key=lambda f: f[0], reverse=True)] for name, kept in found.items()}
    return newest, problems


def firing_id(fired_ms: int, guard: str) -> str:
    """A firing's name in the store: sorts by when it fired."""
    return f"{fired_ms:015d} {guard}"
