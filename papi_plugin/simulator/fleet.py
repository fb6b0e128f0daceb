"""A fleet of bots on one IP, as real processes, against a simulator: ``python -m papi_plugin.simulator.fleet``.

It shows (and the tests and the benchmark measure) bots of one IP sharing its limits through a store. One
launcher imports ccxt and papi_plugin once, then forks one process per bot (``--bot MODE:SYM,SYM``)
before it starts any thread: each bot is its own process, with its own exchange object, connections and
limits, and the fleet starts in a second rather than in one Python start-up per bot. Each bot points a
papi_plugin-extended binance (sync or async) at the simulator, loads markets, and waits. The launcher says
``ready`` once all are; ``go`` on its standard input starts every bot, ``go 0 2`` the bots 0 and 2. Each bot's
outcome comes back as one line ``result N {json}``: what each symbol reported canceled, or its error. Keys
come from the environment (``SIM_API_KEY``, ``SIM_SECRET``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import selectors
import subprocess
import sys
import time
from typing import Any

import ccxt
import ccxt.async_support

import papi_plugin
from papi_plugin.errors import CancelManyFailed
from papi_plugin.limits.shared import flush_all
from papi_plugin.simulator.server import Simulator, attach

READY_SECONDS = 120.0  # a loaded 2-core machine


def outcome(result: dict[str, list[dict[str, Any]]], errors: dict[str, Exception]) -> dict[str, Any]:
    return {
        "canceled": {symbol: [order["id"] for order in orders] for symbol, orders in result.items()},
        "errors": {symbol: f"{type(error).__name__}: {error}" for symbol, error in errors.items()},
    }


def exchange_for(args: argparse.Namespace, mode: str) -> Any:
    config = {"apiKey": os.environ["SIM_API_KEY"], "secret": os.environ["SIM_SECRET"]}
    cls = ccxt.async_support.binance if mode == "async" else ccxt.binance
    exchange = attach(papi_plugin.extend(cls(config)), args.url)
    options = {"weightLimit": args.weight_limit, "weightWindow": args.window, "maxElapsed": 60}
    if args.store:
        options["limitsStore"] = args.store
    exchange.options["cancelAllMarginOrders"].update(options)
    return exchange


def flatten_sync(exchange: Any, symbols: list[str], wait: Any) -> dict[str, Any]:
    exchange.load_markets()
    wait()
    try:
        return outcome(exchange.cancel_all_margin_orders_many(symbols), {})
    except CancelManyFailed as partial:
        return outcome(partial.canceled, partial.errors)
    except ccxt.BaseError as error:
        return outcome({}, {"*": error})


async def flatten_async(exchange: Any, symbols: list[str], wait: Any) -> dict[str, Any]:
    try:
        await exchange.load_markets()
        wait()
        try:
            return outcome(await exchange.cancel_all_margin_orders_many(symbols), {})
        except CancelManyFailed as partial:
            return outcome(partial.canceled, partial.errors)
        except ccxt.BaseError as error:
            return outcome({}, {"*": error})
    finally:
        await exchange.close()


def bot(args: argparse.Namespace, spec: str, go: int, report: int) -> None:
    """One bot, in its own process: ready, then wait for the word, then flatten."""
    mode, symbols = spec.split(":", 1)
    started: list[float] = []
    warnings: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage()[:300])  # type: ignore[method-assign]
    logging.getLogger("papi_plugin").addHandler(handler)

    def wait() -> None:
        os.write(report, b"ready\n")
        os.read(go, 1)
        started.append(time.time())

    exchange = exchange_for(args, mode)
    if mode == "async":
        result = asyncio.run(flatten_async(exchange, symbols.split(","), wait))
    else:
        result = flatten_sync(exchange, symbols.split(","), wait)
    result.update(started=started[0] if started else None, finished=time.time(), pid=os.getpid(), warnings=warnings)
    os.write(report, (json.dumps(result) + "\n").encode())


class Fleet:
    """Bots (``(mode, market ids)``), one process each, ready to go once ``start()`` returns."""

    def __init__(self, sim: Simulator, store: str, weight_limit: int = 6000, window: float = 60.0) -> None:
        self.sim = sim
        self.store = store
        self.weight_limit = weight_limit
        self.window = window
        self.launcher: subprocess.Popen[str] | None = None
        self.results: dict[int, dict[str, Any]] = {}

    def start(self, bots: list[tuple[str, list[str]]]) -> Fleet:
        environment = {**os.environ, "SIM_API_KEY": self.sim.api_key, "SIM_SECRET": self.sim.secret}
        command = [sys.executable, "-m", "papi_plugin.simulator.fleet", "--url", self.sim.url, "--store", self.store]
        command += ["--weight-limit", str(self.weight_limit), "--window", str(self.window)]
        for mode, symbols in bots:
            command += ["--bot", f"{mode}:{','.join(symbols)}"]
        self.launcher = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
        )
        assert self.launcher.stdout is not None
        line = self.launcher.stdout.readline()
        if line.strip() != "ready":
            self.stop()
            raise AssertionError(f"the fleet did not start: {line!r}")
        return self

    def go(self, *bots: int) -> None:
        """Start these bots (all of them when none is named)."""
        assert self.launcher is not None and self.launcher.stdin is not None
        self.launcher.stdin.write(" ".join(["go", *map(str, bots)]) + "\n")
        self.launcher.stdin.flush()

    def result(self, bot: int) -> dict[str, Any]:
        """The outcome of ``bot``, once it has finished."""
        assert self.launcher is not None and self.launcher.stdout is not None
        while bot not in self.results:
            line = self.launcher.stdout.readline()
            if not line:
                said = self.launcher.stderr.read()[-2000:] if self.launcher.stderr else ""
                raise AssertionError(f"the fleet ended early: {said}")
            _, index, outcome = line.split(" ", 2)
            self.results[int(index)] = json.loads(outcome)
        return self.results[bot]

    def stop(self) -> None:
        if self.launcher is not None:
            if self.launcher.poll() is None:
                self.launcher.kill()
            self.launcher.wait(10)
            for stream in (self.launcher.stdin, self.launcher.stdout, self.launcher.stderr):
                if stream is not None:
                    stream.close()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def place_one_order_each(sim: Simulator, market_ids: list[str]) -> dict[str, str]:
    """One open order per symbol; the order id by symbol."""
    return {market_id: str(sim.place(market_id, "BUY", "LIMIT", "1", "10").order_id) for market_id in market_ids}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--bot", action="append", required=True, help="MODE:SYMBOL,SYMBOL,... (repeat)")
    parser.add_argument("--store", default=None)
    parser.add_argument("--weight-limit", type=int, default=6000)
    parser.add_argument("--window", type=float, default=60.0)
    args = parser.parse_args()
    gos, reports = [], []
    for spec in args.bot:
        go_read, go_write = os.pipe()
        report_read, report_write = os.pipe()
        if os.fork() == 0:  # the bot: no thread exists yet in the launcher, so forking is safe
            os.close(go_write)
            os.close(report_read)
            try:
                bot(args, spec, go_read, report_write)
            finally:
                flush_all()  # what a normal exit does at exit: os._exit skips it, and the fleet would count
                os._exit(0)  # this bot's last answers as in flight into the next window
        os.close(go_read)
        os.close(report_write)
        gos.append(go_write)
        reports.append(os.fdopen(report_read))
    for report in reports:
        if report.readline().strip() != "ready":
            print("failed", flush=True)
            return 1
    print("ready", flush=True)
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin, selectors.EVENT_READ, None)
    for index, report in enumerate(reports):
        selector.register(report, selectors.EVENT_READ, index)
    left = len(reports)
    while left:
        for key, _ in selector.select():
            if key.data is None:
                words = sys.stdin.readline().split()
                if not words:
                    selector.unregister(sys.stdin)
                    continue
                for index in [int(word) for word in words[1:]] or range(len(gos)):
                    os.write(gos[index], b"g")
            else:
                line = key.fileobj.readline()  # type: ignore[union-attr]
                selector.unregister(key.fileobj)
                left -= 1
                print(f"result {key.data} {line.strip() or '{}'}", flush=True)
    for _ in reports:
        os.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
