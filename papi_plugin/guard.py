"""``papi-guard``: the dead-man's switch's watcher, which flattens an account whose bot stopped refreshing.

    papi-guard                      # watch the account of BINANCE_API_KEY, until SIGTERM or Ctrl-C
    papi-guard --status             # each countdown's deadline, the guards alive, the last firings
    papi-guard --demo               # a simulator, a bot that arms a 2 s countdown and dies, and the firing

The bot arms a countdown with ``exchange.cancel_all_portfolio_orders_after(timeout)`` and pushes it from its
main loop (``capabilities/countdown.py``); countdowns live in the limits store (SQLite on this host by default, Redis
across hosts). The guard announces itself alive there every second and reads the account's countdowns
every 0.2 s. Once one passes its deadline, the guard that takes the account's lease (one firing, however
many guards run) flattens the whole account, margin, USD-M and COIN-M, conditional orders included, with
confirm, and again until a fresh read finds nothing open; a ban is waited out, never sent into. It records
each firing's outcome in the store and logs one line per event.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any, TextIO

import ccxt

from papi_plugin import cli
from papi_plugin.binance_pm import canceller_of
from papi_plugin.capabilities.countdown import GUARD_ALIVE_MS, account_of
from papi_plugin.errors import CancelManyFailed
from papi_plugin.protocol.params import OPTIONS_KEY
from papi_plugin.redaction import redact

log = logging.getLogger("papi_plugin.guard")

BEAT_SECONDS = 1.0  # how often a guard announces itself alive (and renews the lease of a firing)
READ_SECONDS = 0.2  # how often it reads the account's countdowns: it fires within this of a deadline
LEASE_MS = 5000  # a firing guard's hold on the account; renewed every beat, so it lapses only with its guard
RETRY_SECONDS = (1.0, 2.0, 4.0, 8.0, 10.0)  # between flatten attempts after a failure (a ban: until it ends)
DEMO_TIMEOUT_MS = 2000


def guard_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


class Guard:
    """Watches one account's countdowns in one store; ``stop`` ends it between steps."""

    def __init__(self, exchange: Any, stop: threading.Event | None = None, name: str | None = None) -> None:
        self.exchange = exchange
        self.stop = stop or threading.Event()
        self.id = name or guard_id()
        self.account = account_of(exchange.apiKey)
        self.store, _, self.where = canceller_of(exchange).switch_stores()  # the limits store, as shown
        self.firing = False
        self.secrets = tuple(s for s in (exchange.apiKey, exchange.secret) if isinstance(s, str))

    def now_ms(self) -> int:
        """Binance's clock as the exchange object knows it, in ms (the bot arms on the same clock)."""
        return int(canceller_of(self.exchange).server_clock() * 1000)

    # -- being alive

    def beat(self) -> None:
        """Announce this guard alive; while it fires, keep the account's lease."""
        now = self.now_ms()
        try:
            self.store.beat(self.account, self.id, now)
            if self.firing:
                self.store.take_lease(self.account, self.id, now, LEASE_MS)
        except Exception as error:
            log.warning("limits store %s failed (%s); still watching", self.where, self.clean(error))

    def heartbeat(self) -> None:
        while not self.stop.wait(BEAT_SECONDS):
            self.beat()

    # -- watching

    def run(self, once: bool = False) -> int:
        """Watch until stopped (or check once); the exit code of the last firing that failed, else 0."""
        self.exchange.load_markets()
        self.beat()
        log.info("guard %s watching account %s in %s", self.id, self.account, self.where)
        if not once:
            threading.Thread(target=self.heartbeat, name="papi-guard-beat", daemon=True).start()
        code = cli.DONE
        while True:
            code = self.check()
            if once or self.stop.wait(READ_SECONDS):
                return code

    def due(self) -> list[tuple[str, int]]:
        """(name, deadline) of each countdown of the account whose deadline has passed."""
        now = self.now_ms()
        return [(name, deadline) for name, deadline, _ in self.store.countdowns(self.account) if deadline <= now]

    def check(self) -> int:
        """Fire if a countdown is due and no other guard is firing it."""
        try:
            if not self.due() or not self.store.take_lease(self.account, self.id, self.now_ms(), LEASE_MS):
                return cli.DONE
            due = self.due()  # again, holding the lease: another guard may have fired it a moment ago
        except Exception as error:
            log.warning("limits store %s failed (%s); still watching", self.where, self.clean(error))
            return cli.DONE
        self.firing = True
        try:
            return self.fire(due) if due else cli.DONE
        finally:
            self.firing = False
            try:
                self.store.drop_lease(self.account, self.id)
            except Exception as error:
                log.warning("limits store %s failed (%s)", self.where, self.clean(error))

    # -- firing

    def fire(self, due: list[tuple[str, int]]) -> int:
        """Flatten the account until a fresh read finds nothing open, or until stopped."""
        fired = self.now_ms()
        names = ", ".join(name for name, _ in due)
        late = fired - min(deadline for _, deadline in due)
        log.info("countdown %s passed its deadline %d ms ago: flattening the account", names, late)
        canceled: dict[str, int] = {}
        for attempt in itertools.count(1):
            code, problem = self.flatten(canceled)
            outcome = {
                "guard": self.id,
                "deadlines": dict(due),
                "fired": fired,
                "finished": self.now_ms() if problem is None else None,
                "outcome": "flat" if problem is None else "trying",
                "attempts": attempt,
                "canceled": canceled,
                "orders": sum(canceled.values()),
                "error": problem,
            }
            self.record(due, outcome)
            if problem is None:
                for name, deadline in due:
                    self.store.disarm(self.account, name, deadline)  # unless the bot pushed it meanwhile
                log.info(
                    "flat: %d order(s) canceled on %d symbol(s) in %d attempt(s), %d ms after the deadline",
                    outcome["orders"],
                    len(canceled),
                    attempt,
                    outcome["finished"] - min(d for _, d in due),  # type: ignore[operator]
                )
                return cli.DONE
            wait = self.wait_before_retry(attempt)
            log.warning("not flat yet (%s); trying again in %.1f s", problem, wait)
            if self.stop.wait(wait):
                self.record(due, {**outcome, "outcome": "stopped"})
                log.warning("stopped before the account was flat")
                return code
        raise AssertionError("unreachable")  # itertools.count never ends

    def flatten(self, canceled: dict[str, int]) -> tuple[int, str | None]:
        """One pass: cancel everything (with confirm), then read what is still open. (exit code, problem)."""
        try:
            try:
                result = self.exchange.cancel_all_portfolio_orders(None, {"confirm": True})
            except CancelManyFailed as partial:
                count(canceled, partial.canceled)
                symbol, error = next(iter(partial.errors.items()))
                return cli.exit_code(error), f"{symbol}: {type(error).__name__}: {self.clean(error)}"
            count(canceled, result)
            still = {symbol: orders for symbol, orders in self.exchange.open_portfolio_orders().items() if orders}
        except CancelManyFailed as partial:
            symbol, error = next(iter(partial.errors.items()))
            return cli.exit_code(error), f"{symbol}: {type(error).__name__}: {self.clean(error)}"
        except ccxt.BaseError as error:
            return cli.exit_code(error), f"{type(error).__name__}: {self.clean(error)}"
        if still:
            return cli.NOT_FLAT, f"still open: {', '.join(sorted(still))}"
        return cli.DONE, None

    def wait_before_retry(self, attempt: int) -> float:
        """Until the IP's ban ends, if one runs (the plugin never sends into it); else a growing pause."""
        canceller = canceller_of(self.exchange)
        now = canceller.server_clock()
        until, banned = canceller.ip_limits().gate(now)
        if banned and until > now:
            return until - now + 0.05  # the moment it ends, and not before
        return max(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS)) - 1], until - now)

    def record(self, due: list[tuple[str, int]], outcome: dict[str, Any]) -> None:
        text = json.dumps(outcome, sort_keys=True)
        for name, _ in due:
            try:
                self.store.record(self.account, name, text)
            except Exception as error:
                log.warning("limits store %s failed (%s): outcome not recorded", self.where, self.clean(error))

    def clean(self, error: BaseException) -> str:
        return redact(str(error), self.secrets)[:300]

    # -- the small read

    def status(self) -> dict[str, Any]:
        now = self.now_ms()
        return {
            "account": self.account,
            "store": self.where,
            "now": now,
            "countdowns": [
                {"name": name, "deadline": deadline, "armed": armed, "in_ms": deadline - now}
                for name, deadline, armed in self.store.countdowns(self.account)
            ],
            "guards": self.store.guards(self.account, now, GUARD_ALIVE_MS),
            "firings": {name: json.loads(text) for name, text in self.store.firings(self.account).items()},
        }


def count(canceled: dict[str, int], result: dict[str, list[Any]]) -> None:
    for symbol, orders in result.items():
        canceled[symbol] = canceled.get(symbol, 0) + len(orders)


def when(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def show_status(status: dict[str, Any], out: cli.Output) -> None:
    out.line(f"account {status['account']} in {status['store']}")
    for countdown in status["countdowns"]:
        left = countdown["in_ms"] / 1000
        state = f"in {left:.1f} s" if left > 0 else f"{-left:.1f} s ago"
        out.line(f"countdown {countdown['name']}: deadline {when(countdown['deadline'])} ({state})")
    if not status["countdowns"]:
        out.line("no countdown armed")
    out.line(f"guards alive: {', '.join(status['guards']) or 'none'}")
    for name, firing in sorted(status["firings"].items()):
        done = f"at {when(firing['finished'])}" if firing.get("finished") else f"({firing.get('error')})"
        out.line(
            f"last firing of {name}: {firing['outcome']} {done}, {firing['orders']} order(s) canceled,"
            f" {firing['attempts']} attempt(s), by {firing['guard']}"
        )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="papi-guard",
        description="Flatten a Portfolio Margin account whose bot stopped refreshing its countdown"
        " (exchange.cancel_all_portfolio_orders_after).",
        epilog="Keys come from BINANCE_API_KEY and BINANCE_API_SECRET (or --key-file). " + cli.EXIT_CODES_TEXT,
    )
    p.add_argument("--once", action="store_true", help="check once (fire if a countdown is due) and exit")
    p.add_argument("--status", action="store_true", help="show the countdowns, the guards alive, the last firings")
    p.add_argument("--json", action="store_true", help="with --status: as JSON")
    p.add_argument("--key-file", metavar="PATH", help="RSA or Ed25519 private key (PEM) instead of a secret")
    p.add_argument("--base-url", metavar="URL", help="send to URL instead of Binance (a proxy, or a running simulator)")
    p.add_argument("--demo", action="store_true", help="a local simulator, a bot that arms a countdown and dies")
    p.add_argument("--limits-store", metavar="URL", help="where the countdowns live (as papi-cancel-all's)")
    return p


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = cli.Output(stdout or sys.stdout), cli.Output(stderr or sys.stderr)
    args = parser().parse_args(argv)
    args.all, args.symbols = True, []  # the whole account: markets of every kind
    handler = logging.StreamHandler(stderr or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s papi-guard: %(message)s"))
    logger = logging.getLogger("papi_plugin")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    stop = threading.Event()
    stopped_by: list[int] = []

    def on_signal(number: int, frame: FrameType | None) -> None:
        stopped_by.append(number)
        stop.set()

    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGTERM, signal.SIGINT)}
    secrets_ = tuple(s for s in (os.environ.get("BINANCE_API_KEY"), os.environ.get("BINANCE_API_SECRET")) if s)
    try:
        with cli.exchange_for(args, err, "papi-guard") as exchange:
            if args.demo and args.limits_store is None:
                exchange.options[OPTIONS_KEY]["limitsStore"] = "memory"  # the demo's countdown stays in it
            guard = Guard(exchange, stop)
            if guard.where == "memory" and not args.demo:
                log.warning("the memory store is this process's own: no bot's countdown can reach it")
            if args.status:
                status = guard.status()
                if args.json:
                    out.line(json.dumps(status, indent=2))
                else:
                    show_status(status, out)
                return cli.DONE
            if args.demo:
                return demo(guard, exchange)
            code = guard.run(once=args.once)
            log.info("guard %s stopped", guard.id)
            if code == cli.DONE and signal.SIGINT in stopped_by:
                return cli.INTERRUPTED
            return code
    except ccxt.BaseError as error:
        err.line(f"papi-guard: {type(error).__name__}: {redact(str(error), secrets_)}")
        return cli.exit_code(error)
    except Exception as error:  # a bug: still one line, still no secret
        err.line(f"papi-guard: internal error: {type(error).__name__}: {redact(str(error), secrets_)}")
        return cli.INTERNAL
    finally:
        logger.removeHandler(handler)
        for number, action in previous.items():
            signal.signal(number, action)


def demo(guard: Guard, exchange: Any) -> int:
    """A bot arms a countdown and dies; the guard fires once its deadline passes, then exits."""
    guard.exchange.load_markets()
    guard.beat()
    armed = exchange.cancel_all_portfolio_orders_after(DEMO_TIMEOUT_MS, {"name": "demo-bot"})
    log.info("DEMO: a bot armed countdown %r for %d ms and stopped refreshing it", armed["name"], DEMO_TIMEOUT_MS)
    while not guard.stop.is_set():
        if guard.due():
            return guard.check()
        guard.stop.wait(READ_SECONDS)
    return cli.DONE


if __name__ == "__main__":
    raise SystemExit(main())
