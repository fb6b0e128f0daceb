"""When a countdown is due, as one guard sees it: no wall clock of any host, only the store's and its own.

A push is timed by the store's clock (``armed_ms``). The guard reads the store's clock with the countdowns,
so at the first sight of a push it knows how much of the timeout had run (none, or the whole gap while it
was down: a restarted guard fires on time); from then on its own monotonic clock times the rest, so a
store clock that steps while it watches moves no firing. A new push (another ``armed_ms``) starts afresh.
No I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from papi_plugin.switch.records import Countdown


class Sighting(NamedTuple):
    countdown: Countdown
    seen_at: float  # the guard's monotonic clock, seconds
    left_ms: int  # of the timeout, when first seen


class Timer:
    """Each countdown's due time, from the reads of the store (``update``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.sightings: dict[str, Sighting] = {}

    def update(self, countdowns: list[Countdown], now_ms: int) -> None:
        """What a read found: ``countdowns`` at ``now_ms`` on the store's clock."""
        seen_at = self.clock()
        current = {}
        for countdown in countdowns:
            known = self.sightings.get(countdown.name)
            if known is not None and known.countdown == countdown:
                current[countdown.name] = known
                continue
            run = min(max(now_ms - countdown.armed_ms, 0), countdown.timeout_ms)
            current[countdown.name] = Sighting(countdown, seen_at, countdown.timeout_ms - run)
        self.sightings = current

    def left_ms(self, name: str) -> int | None:
        """Milliseconds until ``name`` is due (negative: overdue), or None if it is not armed."""
        found = self.sightings.get(name)
        if found is None:
            return None
        return found.left_ms - round((self.clock() - found.seen_at) * 1000)

    def due(self) -> list[Countdown]:
        """The countdowns whose timeout has run out since their last push."""
        return [s.countdown for name, s in sorted(self.sightings.items()) if (self.left_ms(name) or 0) <= 0]

    def forget(self, countdown: Countdown) -> None:
        """A countdown fired and disarmed: not due again unless pushed again."""
        if self.sightings.get(countdown.name, Sighting(countdown, 0, 0)).countdown == countdown:
            del self.sightings[countdown.name]
