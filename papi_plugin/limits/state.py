"""One IP's ban gate and weight budget as plain state, and the things that change or check it: no I/O, no clock.

Binance bans and rate-limits an IP, so this state is shared by every process on it through a store
(``stores.py``); the memory and SQLite stores apply these functions inside their lock or transaction, the
Redis store runs the same rules as Lua scripts (``redis.py``). Time is Binance's, in seconds, given with
each call: each process knows its own offset to Binance's clock.

The gate is closed by a 418 (a ban: never waited out) or by a 429's ``Retry-After`` (waited out when it
fits the call). The budget counts weight in Binance's fixed windows (one minute of 6,000 for Portfolio
Margin). Its view of a window is the larger of the weight the fleet sent in it and the server's highest
figure (``X-MBX-USED-WEIGHT-1M``, which counts other programs on the IP too) plus every request of the
fleet sent in it whose answer has not arrived: the server may not have counted it yet (concurrent requests
reach it in any order), and once answered it counts only through the figures, never twice. What the last
window left in flight counts on top, until answered. What other programs spend between two figures no rule
sees: so at most a quarter of what the window has left is in flight at once (``crowded``), and once a figure
shows other programs, their pace is left to them (``headroom``).

Nothing read back from a store is trusted (``sane``): anyone who may write it could otherwise close the
gate for years or switch pacing off for the whole fleet.
"""

from __future__ import annotations

import math
from typing import NamedTuple

WEIGHT_LIMIT = 6000  # Portfolio Margin's request weight a minute per IP
WINDOW_SECONDS = 60.0
ROLLOVER_GUARD = 0.25  # seconds past a window's end before counting on a fresh one (clocks differ a little)
DEFAULT_BAN_SECONDS = 120.0  # Binance's shortest IP ban, when a 418 says nothing of its end
MAX_GATE_SECONDS = 3 * 24 * 3600.0  # Binance's longest IP ban: a gate closed for longer was not closed by it
MAX_WEIGHT = 1_000_000  # far above any window's weight: a count beyond it was not made by these rules
BLIND_SHARE = 4  # in flight at most 1/4 of what the window has left (always one request)
CLOCK_SLACK_SECONDS = 5.0  # how far apart the fleet's ideas of Binance's clock may be: a later window is not forged
HEADROOM_SHARE = 20  # with other programs on the IP, 1/20 of the limit is left to them
FIGURE_WAIT_SECONDS = 0.02  # how long a request waits, before looking again, for a window's first figure

OPEN, BANNED, RATE_LIMITED, BUDGET = "", "banned", "rate limited", "budget"


class Admission(NamedTuple):
    """What the store says to a request about to be sent."""

    wait: float  # seconds to wait before asking again; 0: the weight is reserved, send now
    reason: str  # why it must wait: BANNED (never waited out), RATE_LIMITED (a 429's pause) or BUDGET
    ticket: int  # the window the weight was reserved in, for ``answered``

    @property
    def admitted(self) -> bool:
        return self.wait <= 0


class IpState:
    """The fields every store keeps per IP (a SQLite row, a Redis hash)."""

    __slots__ = ("banned", "carried", "gate_until", "in_flight", "others", "reserved", "used", "window")

    def __init__(
        self,
        gate_until: float = 0.0,
        banned: bool = False,
        window: int = -1,
        reserved: int = 0,
        in_flight: int = 0,
        carried: int = 0,
        used: int = 0,
        others: int = 0,
    ) -> None:
        self.gate_until = gate_until  # Binance's clock, seconds: nothing is sent before
        self.banned = banned  # closed by a 418 (True) or by a 429 (False)
        self.window = window  # the current window's number: floor(now / window seconds)
        self.reserved = reserved  # weight sent in this window
        self.in_flight = in_flight  # weight sent in this window and not answered yet
        self.carried = carried  # weight sent in the last window, not answered yet: it may count in this one
        self.used = used  # the server's highest figure for this window, from an answer to a request sent in it
        self.others = others  # the most a figure showed beyond all the fleet had sent; 1: others in the last window

    def fields(self) -> tuple[float, bool, int, int, int, int, int, int]:
        fleet = (self.reserved, self.in_flight, self.carried)
        return self.gate_until, self.banned, self.window, *fleet, self.used, self.others

    def __repr__(self) -> str:
        return f"IpState{self.fields()}"


def window_of(now: float, window: float) -> int:
    return math.floor(now / window)


def roll(state: IpState, index: int) -> None:
    """Move to window ``index`` if it is a later one: what was in flight counts once more, then never again
    (a process killed mid-request leaves nothing behind for longer)."""
    if index > state.window:
        following = index == state.window + 1
        state.carried = state.in_flight if following else 0
        seen = 1 if following and state.others > 0 else 0  # a neighbour of the last window is likely still there
        state.reserved, state.in_flight, state.used, state.others, state.window = 0, 0, 0, seen, index


def view(state: IpState) -> int:
    """The window's weight as the budget sees it: what the fleet sent in it, or the server's figure plus what
    of it is not answered yet, whichever is more; and what the last window left in flight."""
    return max(state.reserved, state.used + state.in_flight) + state.carried


def acquire(state: IpState, weight: int, limit: int, window: float, now: float) -> Admission:
    """Check the gate, then reserve ``weight`` if it fits this window; else say how long to wait.

    ``weight`` 0 checks the gate only.
    """
    if state.gate_until > now:
        return Admission(state.gate_until - now, BANNED if state.banned else RATE_LIMITED, state.window)
    roll(state, window_of(now, window))
    if weight > 0 and weight > room(state, limit, window, now):
        if alone(state) and weight <= limit - state.reserved:  # full only while the fleet's answers are out
            return Admission(FIGURE_WAIT_SECONDS, BUDGET, state.window)
        return Admission((state.window + 1) * window - now + ROLLOVER_GUARD, BUDGET, state.window)
    if weight > 0 and crowded(state, weight, limit):
        return Admission(FIGURE_WAIT_SECONDS, BUDGET, state.window)
    return Admission(0.0, OPEN, reserve(state, weight, window, now))


def room(state: IpState, limit: int, window: float, now: float) -> int:
    """What the window has left for the fleet: the limit less the view, and less what other programs on the
    IP will likely spend before it ends (``headroom``)."""
    return limit - headroom(state, limit, window, now) - view(state)


def headroom(state: IpState, limit: int, window: float, now: float) -> int:
    """Weight left to the other programs a figure has shown on the IP: at the pace they spent so far this
    window, for what is left of it; at least ``1 / HEADROOM_SHARE`` of the limit (they spend between a figure
    and the requests it lets out), at most half. None when nobody else was seen."""
    if not state.others:
        return 0
    start = state.window * window
    pace = state.others / max(now - start, window / 20)
    expected = math.ceil(pace * max(start + window - now, 0.0))
    return min(limit // 2, max(limit // HEADROOM_SHARE, expected))


def alone(state: IpState) -> bool:
    """Whether the server's figures show nobody but the fleet on the IP this window (none above what it sent).
    Then a window that looks full only because answers are out is looked at again a round trip later; with
    other programs about, it is left to the next window: a window filled to its last weight would leave
    them the 429s, and a 429 to anyone on the IP counts toward its ban."""
    return state.others == 0


def crowded(state: IpState, weight: int, limit: int) -> bool:
    """Whether ``weight`` must wait for answers in flight (one request always goes). What other programs spend
    between two figures no rule sees, so in flight at once is at most what the window has left but a quarter
    of the limit, and in that last quarter only a quarter of what is left: an overshoot costs a few 429s,
    and the first closes the gate before a ban."""
    outstanding = state.in_flight + state.carried
    left = limit - view(state) + outstanding  # what the window had left before these were sent
    return outstanding > 0 and outstanding + weight > max(left // BLIND_SHARE, left - limit // BLIND_SHARE)


def reserve(state: IpState, weight: int, window: float, now: float) -> int:
    """Count ``weight`` as sent now, in flight; the window's number (the ticket)."""
    roll(state, window_of(now, window))
    state.reserved += weight
    state.in_flight += weight
    return state.window


def answered(state: IpState, ticket: int, weight: int, used: int | None, window: float, now: float) -> None:
    """A request reserved in window ``ticket`` got its answer (or failed): it is no longer in flight.

    ``used``: the answer's ``X-MBX-USED-WEIGHT-1M``, if it had one. It counts only for a request sent in this
    window: one sent in the last may have been counted in either, and its figure would hold this one shut.
    """
    roll(state, window_of(now, window))
    if ticket == state.window:
        state.in_flight = max(0, state.in_flight - weight)
        if used is not None:
            state.used = max(state.used, used)
            state.others = max(state.others, used - state.reserved)
    elif ticket == state.window - 1:  # counted in the last window or in this one: no figure tells which
        answered_now = min(weight, state.carried)
        state.carried -= answered_now
        state.reserved += answered_now  # so it counts here, as if sent here: safe, for this window only


def close_gate(state: IpState, until: float, banned: bool, now: float) -> None:
    """Close the gate until ``until``: a ban (418) or a 429's pause. A running ban stays a ban."""
    still_banned = state.banned and state.gate_until > now
    state.gate_until = max(state.gate_until, until)
    state.banned = still_banned or banned


def used(state: IpState, window: float, now: float) -> int:
    """The budget's view of the current window's weight."""
    roll(state, window_of(now, window))
    return view(state)


def sane(state: IpState, window: float | None, now: float) -> list[str]:
    """What in ``state`` (read back from a store) these rules could not have produced, each said once; such a
    value is dropped in place (the gate opened, the window's counts started afresh) so the caller can write the
    state back. A gate the rules did close stays closed: only one beyond Binance's longest ban is dropped.
    ``window`` None: the gate only (a caller that does not know the window's length)."""
    problems = []
    if not math.isfinite(state.gate_until) or state.gate_until > now + MAX_GATE_SECONDS:
        problems.append(f"a gate closed until {state.gate_until!r}, more than 3 days from now ({now:.0f})")
        state.gate_until, state.banned = 0.0, False
    if window is None:
        return problems
    counts = (state.reserved, state.in_flight, state.carried, state.used, state.others)
    index, latest = window_of(now, window), window_of(now + CLOCK_SLACK_SECONDS, window)
    if state.window > latest:  # another process's clock a little ahead rolls the window a little early: not this
        problems.append(f"a budget window ({state.window}) later than the current one ({index})")
    elif (
        any(count < 0 or count > MAX_WEIGHT for count in counts)
        or state.in_flight > state.reserved
        or state.others > max(state.used, 1)
    ):
        problems.append(f"budget counts (reserved, in flight, carried, used, others) {counts} the rules cannot produce")
    else:
        return problems
    state.window, state.reserved, state.in_flight, state.carried, state.used, state.others = index, 0, 0, 0, 0, 0
    return problems
