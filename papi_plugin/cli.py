"""``papi-cancel-all``: cancel every open order on Portfolio Margin symbols (margin, USD-M, COIN-M), by hand.

    papi-cancel-all BTC/USDT --demo          # against a local simulator, no account needed
    BINANCE_API_KEY=... BINANCE_API_SECRET=... papi-cancel-all BTC/USDT --confirm

Exit codes: the one table of ``commands.py`` (``EXIT_MEANINGS``). Errors are one line on stderr, without
secrets. Ctrl-C (130) and SIGTERM (143) print what was canceled so far.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any, TextIO

import ccxt

import papi_plugin
from papi_plugin import plugins
from papi_plugin.commands import (
    DONE,
    EXIT_CODES_TEXT,
    INTERNAL,
    INTERRUPTED,
    TERMINATED,
    Output,
    exit_code,
    handle,
    keys,
    read_key_file,
    secrets_known,
)
from papi_plugin.errors import CancelManyFailed
from papi_plugin.limits.stores import checked_url
from papi_plugin.protocol.params import OPTIONS_KEY
from papi_plugin.redaction import redact
from papi_plugin.wire.transport import point_at

# Margin symbols are spot markets: one exchange-info request instead of ccxt's seven (futures, currencies,
# margin pairs), each paced by ccxt's throttle, when every second counts. Futures markets load only when a
# futures symbol (BTC/USDT:USDT, BTCUSD_PERP) or --all asks for them.
MARKET_OPTIONS = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}
ALL_MARKET_TYPES = ["spot", "linear", "inverse"]

COLUMNS = ("id", "client id", "type", "side", "price", "trigger", "amount", "filled", "list id")


class Terminated(BaseException):
    """SIGTERM, raised where the command is, as Ctrl-C raises ``KeyboardInterrupt``."""


class SoFar:
    """A plugin that keeps what the command canceled, to print it if the command is cut short."""

    def __init__(self) -> None:
        self.canceled: dict[str, list[dict[str, Any]]] = {}

    @papi_plugin.hookimpl
    def margin_orders_canceled(self, exchange: Any, symbol: str, orders: list[dict[str, Any]]) -> None:
        self.canceled.setdefault(symbol, []).extend(orders)

    @papi_plugin.hookimpl
    def futures_orders_canceled(self, exchange: Any, symbol: str, orders: list[dict[str, Any]]) -> None:
        self.canceled.setdefault(symbol, []).extend(orders)

    def show(self, stdout: Output) -> None:
        for symbol, orders in list(self.canceled.items()):
            stdout.line(f"{symbol}: canceled {len(orders)} order(s) before the command was stopped")
            if orders:
                stdout.line(table(orders))


class Progress:
    """A plugin that tells the operator, on stderr, what a retry is waiting for."""

    def __init__(self, output: Output) -> None:
        self.output = output

    @papi_plugin.hookimpl
    def before_retry(self, exchange: Any, symbol: str, attempt: int, error: Exception, delay: float) -> None:
        reason = str(error).split(": ", 1)[-1]
        self.output.line(
            f"{symbol}: attempt {attempt} failed ({type(error).__name__}: {reason}); retrying in {delay:.1f} s"
        )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="papi-cancel-all",
        description="Cancel every open order on Binance Portfolio Margin symbols: cross margin (OCO lists included),"
        " USD-M and COIN-M futures (conditional orders included).",
        epilog="Keys come from BINANCE_API_KEY and BINANCE_API_SECRET (or --key-file). " + EXIT_CODES_TEXT,
    )
    p.add_argument(
        "symbols",
        nargs="*",
        metavar="SYMBOL",
        help="BTC/USDT (margin), BTC/USDT:USDT (USD-M), BTC/USD:BTC (COIN-M), or a market id",
    )
    p.add_argument("--all", action="store_true", help="the whole account: every symbol with open orders, of every kind")
    p.add_argument("--json", action="store_true", help="print the unified orders as JSON, keyed by symbol")
    p.add_argument("--dry-run", action="store_true", help="list what would be canceled; cancel nothing")
    p.add_argument("--confirm", action="store_true", help="re-check the symbol is flat; cancel again if not")
    p.add_argument("--no-conditional", action="store_true", help="futures: leave the conditional orders open")
    p.add_argument("--recv-window", type=int, metavar="MS", help="recvWindow in milliseconds (1..60000)")
    p.add_argument("--key-file", metavar="PATH", help="RSA or Ed25519 private key (PEM) instead of a secret")
    p.add_argument("--demo", action="store_true", help="run against a local simulator with example orders")
    p.add_argument("--base-url", metavar="URL", help="send to URL instead of Binance (a proxy, or a running simulator)")
    p.add_argument(
        "--limits-store",
        metavar="URL",
        help="where the IP's ban gate and weight budget are shared: sqlite: (default, this host),"
        " sqlite:////path, redis://host:port/db (hosts), or memory (this process)",
    )
    p.add_argument("--plugins", action="store_true", help="list the installed papi_plugin plugins and exit")
    return p


def params_from(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if args.recv_window is not None:
        params["recvWindow"] = args.recv_window
    if args.confirm:
        params["confirm"] = True
    if args.no_conditional:
        params["conditional"] = False
    return params


def market_options(args: argparse.Namespace) -> dict[str, Any]:
    """Only spot markets for margin symbols; every kind for --all or any futures symbol."""
    futures = args.all or any(":" in symbol or "_" in symbol for symbol in args.symbols)
    return {**MARKET_OPTIONS, "fetchMarkets": {"types": ALL_MARKET_TYPES if futures else ["spot"]}}


@contextlib.contextmanager
def exchange_for(args: argparse.Namespace, stderr: Output, program: str = "papi-cancel-all") -> Iterator[Any]:
    """A papi_plugin-extended ccxt binance: on the simulator with --demo, else on Binance."""
    if args.demo:
        from papi_plugin.simulator import Simulator

        with Simulator() as sim:
            seed_demo(sim)
            stderr.line(
                f"{program}: DEMO: a local simulator seeded with Binance's documented margin example orders"
                " and a USD-M and a COIN-M order (each with a conditional one); no real account is touched."
            )
            exchange = sim.attach(papi_plugin.extend(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret})))
            exchange.options["fetchMarkets"] = market_options(args)["fetchMarkets"]
            yield with_limits_store(exchange, args)
        return
    key, secret = keys()
    if args.key_file:
        secret = read_key_file(args.key_file, stderr)
    if not key or not secret:
        raise ccxt.ArgumentsRequired(
            "set BINANCE_API_KEY and BINANCE_API_SECRET (or --key-file), or try --demo to see it on a simulator"
        )
    exchange = papi_plugin.extend(ccxt.binance({"apiKey": key, "secret": secret, "options": market_options(args)}))
    if args.base_url:
        point_at(exchange, args.base_url)
    yield with_limits_store(exchange, args)


def with_limits_store(exchange: Any, args: argparse.Namespace) -> Any:
    """``--limits-store``, checked before anything is sent."""
    if args.limits_store is not None:
        exchange.options[OPTIONS_KEY]["limitsStore"] = checked_url(args.limits_store, "--limits-store")
    return exchange


def seed_demo(sim: Any) -> None:
    """One order of each kind: Binance's documented margin example (an order and an OCO list), a USD-M
    order and algo order on BTC/USDT:USDT, a COIN-M order and conditional order on BTC/USD:BTC."""
    sim.seed_documented_example()
    sim.seed_futures_example()


def table(rows: list[dict[str, Any]]) -> str:
    def cell(order: dict[str, Any], column: str) -> str:
        value = {
            "id": order.get("id"),
            "client id": order.get("clientOrderId"),
            "type": order.get("type"),
            "side": order.get("side"),
            "price": order.get("price"),
            "trigger": order.get("triggerPrice"),
            "amount": order.get("amount"),
            "filled": order.get("filled"),
            "list id": (order.get("orderList") or {}).get("orderListId", (order.get("info") or {}).get("orderListId")),
        }[column]
        return "" if value is None or value == -1 else f"{value:g}" if isinstance(value, float) else str(value)

    cells = [[cell(order, c) for c in COLUMNS] for order in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def list_plugins(stdout: Output) -> int:
    """The installed plugins and whether each is in use (the built-in adapter always is)."""
    manager = papi_plugin.plugin_manager()
    installed = plugins.installed_plugins()
    for name, package, version in installed:
        if manager.get_plugin(name) is not None:
            state = "loaded"
        elif plugins.autoload_disabled():
            state = f"not loaded ({plugins.DISABLE_AUTOLOAD} is set)"
        else:
            state = "refused (see the log)"
        stdout.line(f"{name}  {package} {version}  {state}")
    if all(name != plugins.BUILT_IN for name, _, _ in installed):  # a source tree without installed metadata
        stdout.line(f"{plugins.BUILT_IN}  papi_plugin {papi_plugin.__version__}  built in, loaded")
    return DONE


def run(args: argparse.Namespace, stdout: Output, stderr: Output) -> int:
    if args.plugins:
        return list_plugins(stdout)
    if args.all == bool(args.symbols):
        raise ccxt.ArgumentsRequired("give one or more symbols, or --all (not both)")
    params = params_from(args)
    failures: dict[str, ccxt.BaseError] = {}
    with exchange_for(args, stderr) as exchange:
        call = exchange.open_portfolio_orders if args.dry_run else exchange.cancel_all_portfolio_orders
        try:
            results = call(args.symbols or None, params)
        except CancelManyFailed as partial:
            results, failures = partial.canceled, partial.errors
    show(results, args, stdout)
    for symbol, error in failures.items():
        stderr.line(f"papi-cancel-all: {symbol}: {type(error).__name__}: {error}")
    return exit_code(next(iter(failures.values()))) if failures else DONE


def show(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace, stdout: Output) -> None:
    if args.json:
        stdout.line(json.dumps(results, indent=2, default=str))
        return
    if not results:
        stdout.line("no open orders" + (" (simulation)" if args.demo else ""))
    verb = "would cancel (dry run, nothing canceled)" if args.dry_run else "canceled"
    for symbol, orders in results.items():
        stdout.line(f"{symbol}: {verb} {len(orders)} order(s){' (simulation)' if args.demo else ''}")
        if orders:
            stdout.line(table(orders))


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = Output(stdout or sys.stdout), Output(stderr or sys.stderr)
    args = parser().parse_args(argv)
    progress, so_far = Progress(err), SoFar()
    manager = papi_plugin.plugin_manager()
    manager.register(progress, name="papi-cancel-all-progress")
    manager.register(so_far, name="papi-cancel-all-so-far")
    secrets = secrets_known()

    def on_sigterm(number: int, frame: FrameType | None) -> None:
        raise Terminated

    previous = handle(signal.SIGTERM, on_sigterm)
    try:
        return run(args, out, err)
    except ccxt.BaseError as error:
        err.line(f"papi-cancel-all: {type(error).__name__}: {redact(str(error), secrets)}")
        return exit_code(error)
    except (KeyboardInterrupt, Terminated) as stopped:
        handle(signal.SIGTERM, signal.SIG_IGN)  # one stop: the report is printed whole
        so_far.show(out)
        how = "interrupted" if isinstance(stopped, KeyboardInterrupt) else "terminated"
        err.line(f"papi-cancel-all: {how}; some orders may have been canceled")
        return INTERRUPTED if isinstance(stopped, KeyboardInterrupt) else TERMINATED
    except Exception as error:  # a bug: still one line, still no secret
        err.line(f"papi-cancel-all: internal error: {type(error).__name__}: {redact(str(error), secrets)}")
        return INTERNAL
    finally:
        handle(signal.SIGTERM, previous)
        manager.unregister(progress)
        manager.unregister(so_far)


if __name__ == "__main__":
    raise SystemExit(main())
