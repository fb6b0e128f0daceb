"""``papi-guard``: the dead-man's switch's watcher, which flattens an account whose bot stopped pushing.

    papi-guard                      # watch the account of BINANCE_API_KEY, until SIGTERM or Ctrl-C
    papi-guard --status             # each countdown's deadline, the guards alive, the lease, the last firings
    papi-guard --check              # exit 0 when the switch would work, else 7 and one line per problem
    papi-guard --demo               # a simulator, a bot that arms a 2 s countdown and dies, and the firing

The bot arms a countdown with ``exchange.cancel_all_portfolio_orders_after(timeout)`` and pushes it from its
main loop (``switch/arming.py``); the guard (``switch/guard.py``) watches the store named by
``--limits-store`` (else ``$PAPI_PLUGIN_LIMITS_STORE``, else the default SQLite file) and no other: a store
that cannot be used is exit 2, one that cannot be reached is waited for. ``--status`` and ``--check`` need
only ``BINANCE_API_KEY`` (the account's fingerprint). Under systemd it speaks the notify protocol.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any, TextIO

import ccxt

from papi_plugin import cli
from papi_plugin.commands import (
    BAD_INPUT,
    DONE,
    EXIT_CODES_TEXT,
    INTERNAL,
    INTERRUPTED,
    UNPROTECTED,
    Output,
    exit_code,
    handle,
    keys,
    secrets_known,
)
from papi_plugin.limits.stores import checked_url, configured, described
from papi_plugin.protocol.params import OPTIONS_KEY
from papi_plugin.redaction import redact
from papi_plugin.switch import status as switch_status
from papi_plugin.switch.arming import account_of
from papi_plugin.switch.guard import READ_SECONDS, Guard
from papi_plugin.switch.stores import Unusable, switch_store

log = logging.getLogger("papi_plugin.guard")

DEMO_TIMEOUT_MS = 2000


def when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def show_status(status: dict[str, Any], out: Output) -> None:
    out.line(f"account {status['account']} in {status['store']}")
    for countdown in status["countdowns"]:
        left = countdown["in_ms"] / 1000
        state = f"in {left:.1f} s" if left > 0 else f"{-left:.1f} s ago"
        out.line(f"countdown {countdown['name']}: deadline {when(countdown['deadline'])} ({state})")
    if not status["countdowns"]:
        out.line("no countdown armed")
    out.line(f"guards alive: {', '.join(status['guards']) or 'none'}")
    lease = status["lease"]
    out.line("lease: free" if lease is None else f"lease: held by {lease['holder']} until {when(lease['until'])}")
    for name, firings in sorted(status["firings"].items()):
        firing = firings[0]
        done = f"at {when(firing['finished'])}" if firing.get("finished") else f"({firing.get('error')})"
        out.line(
            f"last firing of {name}: {firing['outcome']} {done}, {firing.get('orders', 0)} order(s) canceled,"
            f" {firing['attempts']} attempt(s), by {firing['guard']} ({len(firings)} firing(s) kept)"
        )
    for problem in status["distrusted"]:
        out.line(f"ignored: {problem}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="papi-guard",
        description="Flatten a Portfolio Margin account whose bot stopped refreshing its countdown"
        " (exchange.cancel_all_portfolio_orders_after).",
        epilog="Keys come from $CREDENTIALS_DIRECTORY/binance_api_key and binance_api_secret (systemd), else"
        " BINANCE_API_KEY and BINANCE_API_SECRET (or --key-file); --status and --check need only the key. "
        + EXIT_CODES_TEXT,
    )
    p.add_argument("--once", action="store_true", help="check once (fire if a countdown is due) and exit")
    p.add_argument("--status", action="store_true", help="show the countdowns, the guards alive, the last firings")
    p.add_argument("--check", action="store_true", help="exit 0 if the switch would work, else 7 and the problems")
    p.add_argument("--json", action="store_true", help="with --status: as JSON")
    p.add_argument("--key-file", metavar="PATH", help="RSA or Ed25519 private key (PEM) instead of a secret")
    p.add_argument("--base-url", metavar="URL", help="send to URL instead of Binance (a proxy, or a running simulator)")
    p.add_argument("--demo", action="store_true", help="a local simulator, a bot that arms a countdown and dies")
    p.add_argument("--limits-store", metavar="URL", help="where the countdowns live (as papi-cancel-all's)")
    return p


def report(args: argparse.Namespace, url: str, out: Output) -> int:
    """``--status`` or ``--check``: the account's switch, from the key alone."""
    key, _ = keys()
    if not key:
        raise ccxt.ArgumentsRequired("set BINANCE_API_KEY (the account's fingerprint is all --status needs)")
    store, _ = switch_store(url)
    try:
        found = switch_status.status(store, account_of(key))
    except Exception as error:
        problem = f"the switch's store {store.where} cannot be read: {described(error)}"
        if args.check:
            out.line(f"papi-guard --check: {problem}")
            return UNPROTECTED
        raise ccxt.ExchangeNotAvailable(problem) from None
    if args.check:
        problems = switch_status.problems(found)
        for problem in problems:
            out.line(f"papi-guard --check: {problem}")
        if not problems:
            out.line(f"papi-guard --check: ok: {', '.join(found['guards'])} watching in {found['store']}")
        return UNPROTECTED if problems else DONE
    if args.json:
        out.line(json.dumps(found, indent=2))
    else:
        show_status(found, out)
    return DONE


def watch(args: argparse.Namespace, url: str, stop: threading.Event, err: Output) -> int:
    """Watch (or ``--once``, or ``--demo``) the store at ``url`` with an exchange of the account's keys."""
    store, _ = switch_store(url)  # before anything else: exit 2 if it cannot be used at all
    args.all, args.symbols = True, []  # the whole account: markets of every kind
    with cli.exchange_for(args, err, "papi-guard") as exchange:
        exchange.options[OPTIONS_KEY]["limitsStore"] = url  # the calls' IP limits: the same store
        guard = Guard(exchange, store, stop)
        if args.demo:
            return demo(guard, exchange)
        return guard.run(once=args.once)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = Output(stdout or sys.stdout), Output(stderr or sys.stderr)
    args = parser().parse_args(argv)
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

    previous = {number: handle(number, on_signal) for number in (signal.SIGTERM, signal.SIGINT)}
    secrets = secrets_known()
    try:
        if args.limits_store is not None:
            url = checked_url(args.limits_store, "--limits-store")
        else:
            url = "memory" if args.demo else configured(None)
        if args.status or args.check:
            return report(args, url, out)
        code = watch(args, url, stop, err)
        log.info("guard stopped")
        if code == DONE and signal.SIGINT in stopped_by:
            return INTERRUPTED
        return code
    except Unusable as error:
        err.line(f"papi-guard: {redact(str(error), secrets)}")
        return BAD_INPUT
    except ccxt.BaseError as error:
        err.line(f"papi-guard: {type(error).__name__}: {redact(str(error), secrets)}")
        return exit_code(error)
    except Exception as error:  # a bug, or a store that fails for --status: still one line, still no secret
        err.line(f"papi-guard: internal error: {type(error).__name__}: {redact(str(error), secrets)}")
        return INTERNAL
    finally:
        logger.removeHandler(handler)
        for number, action in previous.items():
            handle(number, action)


def demo(guard: Guard, exchange: Any) -> int:
    """A bot arms a countdown and dies; the guard fires once its deadline passes, then exits."""
    guard.beat()
    armed = exchange.cancel_all_portfolio_orders_after(DEMO_TIMEOUT_MS, {"name": "demo-bot"})
    log.info("DEMO: a bot armed countdown %r for %d ms and stopped refreshing it", armed["name"], DEMO_TIMEOUT_MS)
    while not guard.stop.is_set():
        guard.prepare()
        if guard.read() is not None and guard.timer.due():
            return guard.check()
        guard.stop.wait(READ_SECONDS)
    return DONE


if __name__ == "__main__":
    raise SystemExit(main())
