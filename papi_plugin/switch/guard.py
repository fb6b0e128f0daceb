"""The guard: watches one account's countdowns in the switch's store and flattens the account for a dead bot.

It announces itself alive every second (``BEAT_SECONDS``), reads the countdowns every 0.2 s and times each
from the store's clock and its own (``timing.py``). Once one is due, the guard that holds the account's
lease (one firing, however many guards run) flattens the whole account, margin, USD-M and COIN-M,
conditional orders included, with confirm, and again until a fresh read finds nothing open; a ban is waited
out (60 s at most between two looks at the gate), never sent into. Every store call is guarded: a store
that fails is waited for, said at most once a minute; the record and the disarm of a firing are retried
until they are written. Binance unreachable or banned at the start is waited for too: the guard never
exits but when it is stopped.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import ccxt

from papi_plugin.call.canceller import ip_limits_of
from papi_plugin.commands import NOT_FLAT, exit_code
from papi_plugin.errors import CancelManyFailed
from papi_plugin.limits.stores import described, distrusted
from papi_plugin.protocol.clock import binance_now
from papi_plugin.redaction import redact
from papi_plugin.switch import records
from papi_plugin.switch.arming import account_of
from papi_plugin.switch.base import SwitchStore
from papi_plugin.switch.notify import notify
from papi_plugin.switch.records import LEASE_MS, Countdown
from papi_plugin.switch.timing import Timer

log = logging.getLogger("papi_plugin.guard")

BEAT_SECONDS = 1.0  # how often a guard announces itself alive (and renews the lease of a firing)
READ_SECONDS = 0.2  # how often it reads the account's countdowns: it fires within this of a deadline
RETRY_SECONDS = (1.0, 2.0, 4.0, 8.0, 10.0)  # between flatten attempts after a failure (a ban: until it ends)
LONGEST_WAIT = 60.0  # seconds a guard waits at most before it looks at the gate again
START_PAUSES = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)  # between tries to load markets while Binance is away
SYNC_SECONDS = 3600.0  # Binance's clock is read again every hour
STORE_RETRY_SECONDS = 0.5  # between tries to write a firing's record or disarm while the store fails
STALLED_SECONDS = 30.0  # the watch loop silent this long: no WATCHDOG=1 (systemd restarts a stuck guard)
WARN_EVERY_SECONDS = 60.0


def guard_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


class Faults:
    """A repeating fault said at most once a minute, with how often it happened since; its end said once."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._counts: dict[str, int] = {}
        self._said_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def failed(self, what: str, problem: str) -> None:
        now = self.clock()
        with self._lock:
            count = self._counts[what] = self._counts.get(what, 0) + 1
            if now - self._said_at.get(what, -math.inf) < WARN_EVERY_SECONDS:
                return
            self._said_at[what] = now
        again = f" ({count} times in all so far; said at most once a minute)" if count > 1 else ""
        log.warning("%s failed: %s%s", what, problem, again)

    def works(self, what: str) -> None:
        with self._lock:
            count = self._counts.pop(what, 0)
            self._said_at.pop(what, None)
        if count:
            log.info("%s works again, after %d failure(s)", what, count)

    def failing(self) -> list[str]:
        with self._lock:
            return sorted(self._counts)


class Firing(NamedTuple):
    """One firing: its id in the store, the countdowns it fires for, when (store's clock) and how it goes."""

    id: str
    due: list[Countdown]
    fired_ms: int
    started: float  # the guard's monotonic clock


class Guard:
    """Watches one account's countdowns in one store; ``stop`` ends it between steps."""

    def __init__(
        self,
        exchange: Any,
        store: SwitchStore,
        stop: threading.Event | None = None,
        name: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.exchange = exchange
        self.store = store
        self.stop = stop or threading.Event()
        self.id = name or guard_id()
        self.account = account_of(exchange.apiKey)
        self.clock = clock
        self.timer = Timer(clock)
        self.faults = Faults(clock)
        self.where = f"the switch's store {store.where}"
        self.firing = False
        self.ready = False  # READY=1 said: from then on each beat says WATCHDOG=1
        self.progressed_at = clock()
        self.store_now_ms = 0  # the store's clock at the last read of the countdowns
        self.prepared = False
        self._prepare_at = -math.inf
        self._pauses = 0
        self._synced_at = -math.inf
        self._said: set[str] = set()
        self.secrets = tuple(s for s in (exchange.apiKey, exchange.secret) if isinstance(s, str))

    # -- the store, guarded

    def guarded(self, what: Callable[[], Any]) -> tuple[bool, Any]:
        """(worked, result) of one store call; a failure is said at most once a minute."""
        try:
            result = what()
        except Exception as error:
            self.faults.failed(self.where, described(error))
            return False, None
        self.faults.works(self.where)
        return True, result

    def until_written(self, what: Callable[[], Any], label: str) -> bool:
        """Retry a store write that must not be lost (a firing's record, its disarm) until it is written or
        the guard is stopped."""
        while True:
            worked, _ = self.guarded(what)
            if worked:
                return True
            self.progressed_at = self.clock()
            if self.stop.wait(STORE_RETRY_SECONDS):
                log.warning("stopped before %s was written", label)
                return False

    # -- being alive

    def beat(self) -> None:
        """Announce this guard alive; while it fires, keep the account's lease."""
        self.guarded(lambda: self.store.beat(self.account, self.id))
        if self.firing:
            self.guarded(lambda: self.store.take_lease(self.account, self.id, LEASE_MS))
        if self.ready and self.clock() - self.progressed_at < STALLED_SECONDS:
            notify("WATCHDOG=1", f"STATUS={self.status_line()}")

    def status_line(self) -> str:
        failing = self.faults.failing()
        state = "firing" if self.firing else "watching"
        return f"{state} account {self.account}" + (f"; failing: {', '.join(failing)}" if failing else "")

    def heartbeat(self) -> None:
        while not self.stop.wait(BEAT_SECONDS):
            self.beat()

    # -- Binance: markets and clock, through the gate

    def prepare(self) -> None:
        """Load the markets and read Binance's clock (hourly), unless Binance is banning the IP; on failure,
        try again after a growing pause. Never raises: a firing loads what it needs through the calls."""
        now = self.clock()
        if now < self._prepare_at or (self.prepared and now - self._synced_at < SYNC_SECONDS):
            return
        until, banned = ip_limits_of(self.exchange).gate(binance_now(self.exchange))
        left = until - binance_now(self.exchange)
        if left > 0:
            self._prepare_at = now + min(left + 0.05, LONGEST_WAIT)
            reason = "banned (418)" if banned else "rate limited (429)"
            self.faults.failed("Binance", f"the IP is {reason} for {left:.0f} more s; nothing is sent meanwhile")
            return
        try:
            self.exchange.load_time_difference()
            self._synced_at = now
            self.exchange.load_markets()
        except ccxt.BaseError as error:
            pause = START_PAUSES[min(self._pauses, len(START_PAUSES) - 1)]
            self._pauses += 1
            self._prepare_at = now + pause
            self.faults.failed("Binance", f"{type(error).__name__}: {self.clean(error)} (again in {pause:.0f} s)")
            return
        self._pauses = 0
        self.faults.works("Binance")
        if not self.prepared:
            log.info("markets loaded, Binance's clock read: ready to fire")
        self.prepared = True

    # -- watching

    def run(self, once: bool = False) -> int:
        """Watch until stopped (or check once); the exit code of the last firing that failed, else 0."""
        self.beat()
        log.info("guard %s watching account %s in %s", self.id, self.account, self.store.where)
        notify("READY=1", f"STATUS={self.status_line()}")
        self.ready = True
        if not once:
            threading.Thread(target=self.heartbeat, name="papi-guard-beat", daemon=True).start()
        code = 0
        while True:
            self.progressed_at = self.clock()
            self.prepare()
            code = self.check()
            if once or self.stop.wait(READ_SECONDS):
                return code

    def read(self) -> list[Countdown] | None:
        """The account's countdowns, checked, and the timer told; None when the store failed."""
        worked, found = self.guarded(lambda: self.store.countdowns(self.account))
        if not worked:
            return None
        now_ms, rows = found
        countdowns, problems = records.countdowns(rows, now_ms)
        distrusted(self.where, problems)
        self.timer.update(countdowns, now_ms)
        self.store_now_ms = now_ms
        return countdowns

    def check(self) -> int:
        """Fire if a countdown is due and no other guard is firing it."""
        if self.read() is None or not (due := self.timer.due()):
            return 0
        if not self.take_lease(due):
            return 0
        self.firing = True
        try:
            if self.read() is None or not (due := self.timer.due()):  # another guard may just have fired it
                return 0
            now_ms = self.store_now_ms
            return self.fire(Firing(records.firing_id(now_ms, self.id), due, now_ms, self.clock()))
        finally:
            self.firing = False
            self.guarded(lambda: self.store.drop_lease(self.account, self.id))

    def take_lease(self, due: list[Countdown]) -> bool:
        """The account's lease, if free, lapsed or this guard's; taken over from a holder the rules could not
        have left holding it (held past any guard's lease time, or not seen alive)."""
        worked, taken = self.guarded(lambda: self.store.take_lease(self.account, self.id, LEASE_MS))
        if not worked or taken:
            return bool(taken)
        worked, found = self.guarded(lambda: (self.store.lease(self.account), self.store.beats(self.account)))
        if not worked:
            return False
        (now_ms, row), (beat_ms, beats) = found
        lease = records.lease(row)
        if lease is None:
            return False  # lapsed between the two reads: the next check takes it
        guards, problems = records.alive(beats, beat_ms)
        distrusted(self.where, problems)
        names = ", ".join(countdown.name for countdown in due)
        why = records.held_too_long(lease, now_ms, guards)
        if why is None:
            self.say_once(f"countdown {names} due, lease held by {lease.holder} until {lease.until_ms}: it fires")
            return False
        log.warning("countdown %s due, %s: taken over", names, why)
        take_over = functools.partial(self.store.take_lease, self.account, self.id, LEASE_MS, lease.holder)
        worked, taken = self.guarded(take_over)
        return bool(worked and taken)

    def say_once(self, line: str) -> None:
        if line not in self._said and len(self._said) < 1000:
            self._said.add(line)
            log.info("%s", line)

    # -- firing

    def fire(self, firing: Firing) -> int:
        """Flatten the account until a fresh read finds nothing open, or until stopped."""
        names = ", ".join(countdown.name for countdown in firing.due)
        late = firing.fired_ms - min(countdown.deadline_ms for countdown in firing.due)
        log.info("countdown %s passed its deadline %d ms ago: flattening the account", names, late)
        canceled: list[dict[str, Any]] = []
        attempt = 0
        while True:
            attempt += 1
            self.progressed_at = self.clock()
            code, problem = self.flatten(canceled)
            outcome = self.outcome(firing, attempt, canceled, problem)
            if problem is None:
                self.until_written(functools.partial(self.record, firing, outcome), "the firing's record")
                for countdown in firing.due:  # unless the bot pushed it meanwhile
                    disarm = functools.partial(self.store.disarm, self.account, countdown.name, countdown.armed_ms)
                    if self.until_written(disarm, f"the disarm of {countdown.name}"):
                        self.timer.forget(countdown)
                log.info(
                    "flat: %d order(s) canceled on %d symbol(s) in %d attempt(s), %d ms after the deadline",
                    outcome["orders"],
                    outcome["symbols"],
                    attempt,
                    outcome["finished"] - min(countdown.deadline_ms for countdown in firing.due),
                )
                return 0
            self.guarded(functools.partial(self.record, firing, outcome))  # a progress note; the last one is retried
            wait = self.wait_before_retry(attempt)
            log.warning("not flat yet (%s); trying again in %.1f s", problem, wait)
            if self.wait(wait):
                stopped = {**outcome, "outcome": "stopped"}
                self.until_written(functools.partial(self.record, firing, stopped), "the firing's record")
                log.warning("stopped before the account was flat")
                return code

    def wait(self, seconds: float) -> bool:
        """Wait ``seconds`` in steps the watchdog sees; whether the guard was stopped meanwhile."""
        end = self.clock() + seconds
        while (left := end - self.clock()) > 0:
            self.progressed_at = self.clock()
            if self.stop.wait(min(left, BEAT_SECONDS)):
                return True
        return self.stop.is_set()

    def outcome(
        self, firing: Firing, attempt: int, canceled: list[dict[str, Any]], problem: str | None
    ) -> dict[str, Any]:
        finished = firing.fired_ms + round((self.clock() - firing.started) * 1000)
        return {
            "guard": self.id,
            "deadlines": {countdown.name: countdown.deadline_ms for countdown in firing.due},
            "fired": firing.fired_ms,
            "finished": finished if problem is None else None,
            "outcome": "flat" if problem is None else "trying",
            "attempts": attempt,
            "canceled": canceled,
            "orders": len(canceled),
            "symbols": len({order["symbol"] for order in canceled}),
            "error": problem,
        }

    def record(self, firing: Firing, outcome: dict[str, Any]) -> None:
        text = json.dumps(outcome, sort_keys=True)
        for countdown in firing.due:
            self.store.record(self.account, countdown.name, firing.id, text)

    def flatten(self, canceled: list[dict[str, Any]]) -> tuple[int, str | None]:
        """One pass: cancel everything (with confirm), then read what is still open. (exit code, problem)."""
        try:
            try:
                result = self.exchange.cancel_all_portfolio_orders(None, {"confirm": True})
            except CancelManyFailed as partial:
                self.canceled(canceled, partial.canceled)
                symbol, error = next(iter(partial.errors.items()))
                return exit_code(error), f"{symbol}: {type(error).__name__}: {self.clean(error)}"
            self.canceled(canceled, result)
            still = {symbol: orders for symbol, orders in self.exchange.open_portfolio_orders().items() if orders}
        except CancelManyFailed as partial:
            symbol, error = next(iter(partial.errors.items()))
            return exit_code(error), f"{symbol}: {type(error).__name__}: {self.clean(error)}"
        except ccxt.BaseError as error:
            return exit_code(error), f"{type(error).__name__}: {self.clean(error)}"
        if still:
            return NOT_FLAT, f"still open: {', '.join(sorted(still))}"
        return 0, None

    def canceled(self, canceled: list[dict[str, Any]], result: dict[str, list[Any]]) -> None:
        """Keep and log every order a pass canceled: its symbol, id and client id."""
        for symbol, orders in result.items():
            for order in orders:
                found = {"symbol": symbol, "id": order.get("id"), "clientOrderId": order.get("clientOrderId")}
                canceled.append(found)
                log.info("canceled %s order %s (client id %s)", symbol, found["id"], found["clientOrderId"])

    def wait_before_retry(self, attempt: int) -> float:
        """Until the IP's ban ends, if one runs (the plugin never sends into it), but 60 s at most before the
        gate is read again; else a growing pause."""
        now = binance_now(self.exchange)
        until, banned = ip_limits_of(self.exchange).gate(now)
        if banned and until > now:
            return min(until - now + 0.05, LONGEST_WAIT)  # the moment it ends, and not before
        return min(max(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS)) - 1], until - now), LONGEST_WAIT)

    def clean(self, error: BaseException) -> str:
        return redact(str(error), self.secrets)[:300]
