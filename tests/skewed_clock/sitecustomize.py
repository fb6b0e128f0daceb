"""On a child's ``PYTHONPATH``: its wall clock moved by ``$PAPI_TEST_CLOCK_OFFSET`` seconds (``time.time``,
``time.time_ns``, ``datetime``), as a host whose clock is off. The monotonic clock, sleeps and waits are left
alone (libfaketime breaks Python 3.11's sleeps and waits on this system)."""

from __future__ import annotations

import datetime
import os
import time

OFFSET = float(os.environ.get("PAPI_TEST_CLOCK_OFFSET", "0"))

if OFFSET:
    _time, _time_ns = time.time, time.time_ns
    time.time = lambda: _time() + OFFSET
    time.time_ns = lambda: _time_ns() + int(OFFSET * 1e9)

    class _ShiftedDatetime(datetime.datetime):
        @classmethod
        def now(cls, tz: datetime.tzinfo | None = None) -> _ShiftedDatetime:
            return cls.fromtimestamp(time.time(), tz)

        @classmethod
        def utcnow(cls) -> _ShiftedDatetime:
            return cls.now(datetime.timezone.utc).replace(tzinfo=None)

    datetime.datetime = _ShiftedDatetime  # type: ignore[misc]
