"""Benchmarks: papi_plugin against ccxt on the local simulator, each comparison measured in one run.

    python benchmarks/run.py            # every row, with its target and whether it is met
    python benchmarks/run.py --smoke    # a few iterations of each row: checks the script, not the figures

Figures are ratios of medians (or of minimums for import time), so a noisy shared machine moves both
sides of a comparison alike. Nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ccxt
import ccxt.async_support as accxt

import papi_plugin
from papi_plugin.orders import unified_orders
from papi_plugin.simulator import Simulator

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Row:
    name: str
    measured: str
    target: str
    met: bool | None  # None: a reference figure, no target


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"ccxt {ccxt.__version__}, {platform.system()} {platform.release()}"
    )


def binance(sim: Simulator, extended: bool, rate_limit: bool, cls: Any = ccxt.binance) -> Any:
    exchange = cls({"apiKey": sim.api_key, "secret": sim.secret, "enableRateLimit": rate_limit})
    if extended:
        papi_plugin.extend(exchange)
    return sim.attach(exchange)


def seed_symbol(sim: Simulator, market_id: str, plain: int, oco_lists: int) -> None:
    for i in range(plain):
        sim.place(market_id, "BUY", "LIMIT", "1", f"{10 + i}")
    for _ in range(oco_lists):
        sim.place_oco(
            market_id,
            [
                {"side": "SELL", "type": "STOP_LOSS_LIMIT", "quantity": "1", "price": "90", "stop_price": "91"},
                {"side": "SELL", "type": "LIMIT_MAKER", "quantity": "1", "price": "200"},
            ],
        )


# ---- 1. one call: the plugin against ccxt's raw implicit method -----------------------------------


def single_call(iterations: int) -> list[Row]:
    # A limit no loop here can reach: this row compares requests, not pacing.
    with Simulator(weight_limit=10**9) as sim:
        plugin = binance(sim, extended=True, rate_limit=False)
        raw = binance(sim, extended=False, rate_limit=False)
        plugin.load_markets()
        raw.load_markets()
        calls: dict[str, tuple[Callable[[], Any], int]] = {
            "plugin": (lambda: plugin.cancel_all_margin_orders("BTC/USDT"), 3),
            "raw": (lambda: raw.papiDeleteMarginAllOpenOrders({"symbol": "BTCUSDT"}), 2),
            "parsed": (lambda: raw.cancel_all_orders("BTC/USDT", {"portfolioMargin": True}), 2),
        }
        timings: dict[str, list[float]] = {name: [] for name in calls}
        names = list(calls)
        for i in range(iterations):
            for name in names[i % 3 :] + names[: i % 3]:  # rotate the order: no side always goes first
                call, expected = calls[name]
                sim.seed_documented_example()
                started = time.perf_counter()
                answer = call()
                timings[name].append(time.perf_counter() - started)
                assert len(answer) == expected, (name, answer)
    plugin_ms, raw_ms, parsed_ms = (statistics.median(timings[k]) * 1000 for k in ("plugin", "raw", "parsed"))
    return [
        Row(
            "1. one call, 3 open orders (throttle off)",
            f"plugin {plugin_ms:.2f} ms, ccxt raw papiDeleteMarginAllOpenOrders {raw_ms:.2f} ms:"
            f" ratio {plugin_ms / raw_ms:.3f}",
            "ratio <= 1.05",
            plugin_ms / raw_ms <= 1.05,
        ),
        Row(
            "1b. same, against ccxt's own parsing",
            f"ccxt cancel_all_orders(portfolioMargin) {parsed_ms:.2f} ms (2 orders, legs lost):"
            f" ratio {plugin_ms / parsed_ms:.3f}",
            "none: a reference (the raw call above parses nothing)",
            None,
        ),
    ]


# ---- 2. flatten 20 symbols -------------------------------------------------------------------------


SYMBOLS_20 = 20


def seed_20(sim: Simulator) -> list[str]:
    ids = list(sim.margin_symbols)[:SYMBOLS_20]
    for market_id in ids:
        seed_symbol(sim, market_id, plain=1, oco_lists=1)
    return ids


def flatten_20(rounds: int) -> Row:
    with Simulator(extra_symbols=SYMBOLS_20) as sim:
        ids = list(sim.margin_symbols)[:SYMBOLS_20]
        plugin = binance(sim, extended=True, rate_limit=True)
        plain = binance(sim, extended=False, rate_limit=True)
        plugin.load_markets()
        plain.load_markets()
        symbols = [plain.markets_by_id[i][0]["symbol"] for i in ids]

        def ccxt_loop() -> int:
            return sum(len(plain.cancel_all_orders(s, {"portfolioMargin": True})) for s in symbols)

        def plugin_sync() -> int:
            return sum(len(o) for o in plugin.cancel_all_margin_orders_many(symbols).values())

        async def plugin_async() -> tuple[int, float]:
            exchange = binance(sim, extended=True, rate_limit=True, cls=accxt.binance)
            try:
                await exchange.load_markets()
                seed_20(sim)
                started = time.perf_counter()
                result = await exchange.cancel_all_margin_orders_many(symbols)
                return sum(len(o) for o in result.values()), time.perf_counter() - started
            finally:
                await exchange.close()

        times: dict[str, list[float]] = {"ccxt": [], "sync": [], "async": []}
        for _ in range(rounds):
            for name, run in (("ccxt", ccxt_loop), ("sync", plugin_sync)):
                seed_20(sim)
                started = time.perf_counter()
                count = run()
                times[name].append(time.perf_counter() - started)
                # ccxt turns each OCO list into one empty order: 2 per symbol; the plugin returns 3.
                assert count == SYMBOLS_20 * (2 if name == "ccxt" else 3), (name, count)
            count, elapsed = asyncio.run(plugin_async())
            assert count == SYMBOLS_20 * 3
            times["async"].append(elapsed)
        rate_limited = sim.rate_limited_answers
    ccxt_s, sync_s, async_s = (statistics.median(times[k]) for k in ("ccxt", "sync", "async"))
    worst = max(sync_s, async_s)
    return Row(
        "2. flatten 20 symbols (default throttling)",
        f"ccxt loop {ccxt_s:.2f} s, plugin sync {sync_s * 1000:.0f} ms ({ccxt_s / sync_s:.0f}x), "
        f"async {async_s * 1000:.0f} ms ({ccxt_s / async_s:.0f}x); 429s: {rate_limited}",
        ">= 4x faster, zero 429s",
        ccxt_s / worst >= 4 and rate_limited == 0,
    )


# ---- 3. normalising a 1,000-order answer ------------------------------------------------------------


def large_answer() -> list[dict[str, Any]]:
    with Simulator() as sim:
        seed_symbol(sim, "BTCUSDT", plain=900, oco_lists=50)
        return sim.cancel_all("BTCUSDT")


def normalise(repeats: int) -> Row:
    answer = large_answer()
    with Simulator() as sim:
        exchange = binance(sim, extended=False, rate_limit=False)
        exchange.load_markets()
    market = exchange.market("BTC/USDT")
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(repeats):
        for name in ("ours", "theirs") if i % 2 == 0 else ("theirs", "ours"):
            started = time.perf_counter()
            if name == "ours":
                orders = unified_orders(exchange, answer, market)
                ours.append(time.perf_counter() - started)
            else:
                parsed = exchange.parse_orders(answer, market)
                theirs.append(time.perf_counter() - started)
    ours_ms, theirs_ms = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    ratio = ours_ms / theirs_ms
    return Row(
        "3. normalise 900 orders + 50 OCO lists",
        f"plugin {ours_ms:.1f} ms -> {len(orders)} orders, ccxt parse_orders {theirs_ms:.1f} ms -> "
        f"{len(parsed)} (legs lost): ratio {ratio:.3f}",
        "ratio <= 1.10, with the OCO legs",
        ratio <= 1.10 and len(orders) == 1000,
    )


# ---- 4. requests per call ---------------------------------------------------------------------------


def requests_per_call(calls: int) -> Row:
    with Simulator() as sim:
        exchange = binance(sim, extended=True, rate_limit=True)
        exchange.load_markets()
        counts = []
        for _ in range(calls):
            sim.seed_documented_example()
            before = len(sim.requests)
            exchange.cancel_all_margin_orders("BTC/USDT")
            counts.append(len(sim.requests) - before)

        async def async_count() -> int:
            aexchange = binance(sim, extended=True, rate_limit=True, cls=accxt.binance)
            try:
                await aexchange.load_markets()
                sim.seed_documented_example()
                before = len(sim.requests)
                await aexchange.cancel_all_margin_orders("BTC/USDT")
                return len(sim.requests) - before
            finally:
                await aexchange.close()

        counts.append(asyncio.run(async_count()))
    return Row(
        "4. requests per call, markets loaded",
        f"{sorted(set(counts))} over {len(counts)} calls (sync and async)",
        "exactly 1",
        set(counts) == {1},
    )


# ---- 5. import time ---------------------------------------------------------------------------------

IMPORT_PROBE = (
    "import time; t0 = time.perf_counter(); import ccxt; t1 = time.perf_counter(); "
    "import papi_plugin; t2 = time.perf_counter(); print(t1 - t0, t2 - t1)"
)


def import_time(runs: int) -> Row:
    extra = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=True)
        extra.append(float(out.stdout.split()[1]) * 1000)
    best, median = min(extra), statistics.median(extra)
    return Row(
        "5. import papi_plugin after ccxt",
        f"+{median:.1f} ms median, +{best:.1f} ms best of {runs}",
        "<= 20 ms more",
        median <= 20,
    )


# ---- 6. memory --------------------------------------------------------------------------------------

MEMORY_SYMBOLS, MEMORY_ORDERS = 200, 50


def memory_child(side: str, url: str, symbols: int) -> None:
    """Run in a fresh process against the parent's simulator: flatten, then print the peak RSS in KiB."""
    from papi_plugin.simulator import point_at

    exchange = ccxt.binance(
        {"apiKey": os.environ["PAPI_BENCH_KEY"], "secret": os.environ["PAPI_BENCH_SECRET"], "enableRateLimit": False}
    )
    if side == "plugin":
        papi_plugin.extend(exchange)
    point_at(exchange, url)
    exchange.options.update({"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False})
    exchange.load_markets()
    names = [exchange.markets_by_id[f"X{i:03d}USDT"][0]["symbol"] for i in range(symbols)]
    if side == "plugin":
        kept: Any = exchange.cancel_all_margin_orders_many(names)
        count = sum(len(o) for o in kept.values())
    else:
        kept = [exchange.cancel_all_orders(s, {"portfolioMargin": True}) for s in names]
        count = sum(len(o) for o in kept)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_kib": peak, "orders": count}))


def memory(symbols: int) -> Row:
    """Each side runs in its own process; the simulator (and its orders) stays in this one."""
    peaks, counts = {}, {}
    with Simulator(extra_symbols=symbols, weight_limit=10**9) as sim:
        for side in ("ccxt", "plugin"):
            for i in range(symbols):
                seed_symbol(sim, f"X{i:03d}USDT", plain=MEMORY_ORDERS - 10, oco_lists=5)
            out = subprocess.run(
                [
                    sys.executable,
                    os.path.abspath(__file__),
                    "--memory-child",
                    side,
                    "--url",
                    sim.url,
                    "--symbols",
                    str(symbols),
                ],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PAPI_BENCH_KEY": sim.api_key, "PAPI_BENCH_SECRET": sim.secret},
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            peaks[side], counts[side] = result["peak_kib"] / 1024, result["orders"]
    ratio = peaks["plugin"] / peaks["ccxt"]
    return Row(
        f"6. peak RSS, flatten {symbols} symbols x {MEMORY_ORDERS} orders",
        f"plugin {peaks['plugin']:.0f} MiB ({counts['plugin']} orders), ccxt {peaks['ccxt']:.0f} MiB "
        f"({counts['ccxt']} orders, legs lost): ratio {ratio:.3f}",
        "ratio <= 1.2",
        ratio <= 1.2,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few iterations per row; figures mean nothing")
    parser.add_argument("--memory-child", choices=["plugin", "ccxt"], help=argparse.SUPPRESS)
    parser.add_argument("--symbols", type=int, default=MEMORY_SYMBOLS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.url, args.symbols)
        return 0
    smoke = args.smoke
    started = time.perf_counter()
    print(f"machine: {machine()}")
    print("mode: smoke (figures are not meaningful)" if smoke else "mode: full")
    rows = [
        *single_call(6 if smoke else 300),
        flatten_20(1 if smoke else 3),
        normalise(2 if smoke else 30),
        requests_per_call(3 if smoke else 50),
        import_time(2 if smoke else 15),
        memory(10 if smoke else MEMORY_SYMBOLS),
    ]
    width = max(len(r.name) for r in rows)
    for row in rows:
        status = "-" if smoke or row.met is None else ("met" if row.met else "NOT MET")
        print(f"{row.name:<{width}}  {row.measured}\n{'':<{width}}  target {row.target}: {status}")
    print(f"total time: {time.perf_counter() - started:.0f} s")
    return 0 if smoke or all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
