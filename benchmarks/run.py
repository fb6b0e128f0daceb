"""Benchmarks: papi_plugin against ccxt, each comparison measured in one run and printed with its target.

    python benchmarks/run.py            # every row (a few minutes: the pacing rows wait for fresh minutes)
    python benchmarks/run.py --smoke    # every row briefly: checks the script, judges no figure

The simulator runs in a separate process (``python -m papi_plugin.simulator``) for the timing rows, so a
measured process holds only its own client. Memory and import rows run in fresh child processes, and the
ccxt child never imports papi_plugin. Figures are trimmed means or medians of interleaved runs.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import importlib.metadata
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import ccxt
import ccxt.async_support as accxt

import papi_plugin
from papi_plugin.cli import MARKET_OPTIONS
from papi_plugin.limits.stores import open_store
from papi_plugin.protocol.orders import unified_orders
from papi_plugin.simulator import DEMO_API_KEY, DEMO_SECRET, Simulator, point_at
from papi_plugin.simulator.fleet import Fleet, place_one_order_each
from papi_plugin.switch import records
from papi_plugin.switch.arming import account_of
from papi_plugin.switch.stores import switch_store

UNLIMITED = 10**9


class RateLimitCounter:
    """A papi_plugin plugin counting the 429s the plugin met (a plain ccxt call raises on one instead)."""

    count = 0

    @papi_plugin.hookimpl
    def before_retry(self, exchange: Any, symbol: str, attempt: int, error: Exception, delay: float) -> None:
        if isinstance(error, ccxt.RateLimitExceeded):
            self.count += 1


RATE_LIMITED = RateLimitCounter()


@dataclass
class Row:
    name: str
    measured: str
    target: str
    met: bool | None  # None: a reference figure, no target


def how_installed() -> str:
    """How papi_plugin is installed: an editable install's import hook inflates the start-up and memory rows."""
    with contextlib.suppress(Exception):
        direct = importlib.metadata.distribution("papi_plugin").read_text("direct_url.json")
        if direct and json.loads(direct).get("dir_info", {}).get("editable"):
            return "editable: rows 7, 7a and 8 pay its import hook; install it normally to judge them"
    return "installed"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"ccxt {ccxt.__version__}, {platform.system()} {platform.release()}"
    )


def trimmed_mean(values: list[float], share: float = 0.1) -> float:
    ordered = sorted(values)
    cut = int(len(ordered) * share)
    kept = ordered[cut : len(ordered) - cut] or ordered
    return sum(kept) / len(kept)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def simulator_process(*args: str) -> Iterator[str]:
    """A stand-alone simulator in its own process; its URL."""
    port = free_port()
    command = [sys.executable, "-m", "papi_plugin.simulator", "--port", str(port), *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        process.stdout.readline()  # "papi simulator on ...": it is listening
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def client(url: str, extended: bool, rate_limit: bool, cls: Any = ccxt.binance, store: str = "memory") -> Any:
    config = {
        "apiKey": DEMO_API_KEY,
        "secret": DEMO_SECRET,
        "enableRateLimit": rate_limit,
        "options": dict(MARKET_OPTIONS),
    }
    exchange = cls(config)
    if cls is accxt.binance:
        exchange.timeout_on_exit = 0
    if extended:
        papi_plugin.extend(exchange)
        exchange.options["cancelAllMarginOrders"]["limitsStore"] = store
    return point_at(exchange, url)


def paced_without_limit(exchange: Any) -> Any:
    """The plugin's pacing on (every request reserved in the limits store), with a limit never reached."""
    exchange.options["cancelAllMarginOrders"]["weightLimit"] = UNLIMITED
    return exchange


def default_kind_of_store() -> str:
    """A SQLite store like the default one, in a file of the benchmark's own (the user's cache is left alone)."""
    return f"sqlite:///{tempfile.mkdtemp(prefix='papi-bench-')}/limits.sqlite3"


def seed(seeder: Any, market_id: str, plain: int = 1, oco_lists: int = 1) -> None:
    """Open orders over HTTP, as another bot would (the seeder is a plain ccxt object, throttle off)."""
    for i in range(plain):
        seeder.papiPostMarginOrder(
            {
                "symbol": market_id,
                "side": "BUY",
                "type": "LIMIT",
                "quantity": "1",
                "price": f"{10 + i}",
                "timeInForce": "GTC",
            }
        )
    for _ in range(oco_lists):
        seeder.papiPostMarginOrderOco(
            {
                "symbol": market_id,
                "side": "SELL",
                "quantity": "1",
                "price": "120",
                "stopPrice": "90",
                "stopLimitPrice": "89",
                "stopLimitTimeInForce": "GTC",
            }
        )


# ---- 1. one call ------------------------------------------------------------------------------------


def one_call(iterations: int) -> list[Row]:
    with simulator_process("--weight-limit", str(UNLIMITED)) as url:
        seeder = client(url, extended=False, rate_limit=False)
        cancel = lambda e: e.cancel_all_margin_orders("BTC/USDT")  # noqa: E731
        calls: dict[str, tuple[Any, Callable[[Any], Any], int]] = {
            "plugin": (paced_without_limit(client(url, True, True)), cancel, 3),
            "default store": (paced_without_limit(client(url, True, True, store=default_kind_of_store())), cancel, 3),
            "ccxt": (
                client(url, False, False),
                lambda e: e.cancel_all_orders("BTC/USDT", {"portfolioMargin": True}),
                2,
            ),
            "raw": (client(url, False, False), lambda e: e.papiDeleteMarginAllOpenOrders({"symbol": "BTCUSDT"}), 2),
        }
        for exchange, _, _ in [*calls.values(), (seeder, None, 0)]:
            exchange.load_markets()
        times: dict[str, list[float]] = {name: [] for name in calls}
        names = list(calls)
        for i in range(iterations):
            for name in names[i % 4 :] + names[: i % 4]:  # rotate the order: no side always goes first
                exchange, call, expected = calls[name]
                seed(seeder, "BTCUSDT")
                started = time.perf_counter()
                answer = call(exchange)
                times[name].append(time.perf_counter() - started)
                assert len(answer) == expected, (name, answer)
    plugin, stored, parsed, raw = (trimmed_mean(times[k]) * 1e6 for k in ("plugin", "default store", "ccxt", "raw"))
    return [
        Row(
            "1. one call, 3 open orders (limits store: memory)",
            f"plugin {plugin:.0f} us (3 orders), ccxt cancel_all_orders(portfolioMargin) {parsed:.0f} us"
            f" (2 orders, legs lost): ratio {plugin / parsed:.3f}",
            "<= 1.05",
            plugin / parsed <= 1.05,
        ),
        Row(
            "1a. same, the default limits store (SQLite, shared by every process on the host)",
            f"plugin {stored:.0f} us / ccxt {parsed:.0f} us: ratio {stored / parsed:.3f}",
            "<= 1.10",
            stored / parsed <= 1.10,
        ),
        Row(
            "1b. same, ccxt raw papiDeleteMarginAllOpenOrders",
            f"{raw:.0f} us, parses nothing: plugin / raw {plugin / raw:.3f}",
            "reference",
            None,
        ),
    ]


# ---- 2. flatten 20 symbols, 20 ms away ------------------------------------------------------------------


FAST_ROUNDS = 3  # rounds of the sides that take milliseconds for each round of the ccxt loop (9 in all: 4,700
# weight with the seeding, within the minute's 6,000)


def flatten_20(rounds: int) -> list[Row]:
    symbols_n = 20
    with simulator_process("--latency", "0.02", "--extra-symbols", str(symbols_n)) as url:
        seeder = client(url, extended=False, rate_limit=False)
        seeder.load_markets()
        ids = [f"X{i:03d}USDT" for i in range(symbols_n)]
        symbols = [seeder.markets_by_id[i][0]["symbol"] for i in ids]

        def seed_all() -> None:
            for market_id in ids:
                seed(seeder, market_id, plain=1, oco_lists=0)

        async def async_side(extended: bool) -> float:
            exchange = client(url, extended, rate_limit=extended, cls=accxt.binance)
            try:
                await exchange.load_markets()
                seed_all()
                started = time.perf_counter()
                if extended:
                    result = await exchange.cancel_all_margin_orders_many(symbols)
                    assert sum(len(o) for o in result.values()) == symbols_n
                else:
                    answers = await asyncio.gather(
                        *(exchange.papiDeleteMarginAllOpenOrders({"symbol": i}) for i in ids)
                    )
                    assert sum(len(a) for a in answers) == symbols_n
                return time.perf_counter() - started
            finally:
                await exchange.close()

        def threaded_side(pool: concurrent.futures.ThreadPoolExecutor) -> float:
            """The same raw calls from one sync exchange, all at once on 20 threads: what requests allows."""
            seed_all()
            started = time.perf_counter()
            answers = list(pool.map(lambda i: raw_sync.papiDeleteMarginAllOpenOrders({"symbol": i}), ids))
            took = time.perf_counter() - started
            assert sum(len(a) for a in answers) == symbols_n
            return took

        plugin_sync = client(url, True, True)
        ccxt_loop = client(url, False, True)  # ccxt's default throttling
        raw_sync = client(url, False, False)
        for exchange in (plugin_sync, ccxt_loop, raw_sync):
            exchange.load_markets()
        times: dict[str, list[float]] = {"gather": [], "async": [], "sync": [], "ccxt": [], "threads": []}
        pool = concurrent.futures.ThreadPoolExecutor(symbols_n)
        for round_n in range(rounds * FAST_ROUNDS):  # the ccxt loop takes seconds: fewer rounds of it
            times["gather"].append(asyncio.run(async_side(False)))
            times["async"].append(asyncio.run(async_side(True)))
            times["threads"].append(threaded_side(pool))
            seed_all()
            started = time.perf_counter()
            assert sum(len(o) for o in plugin_sync.cancel_all_margin_orders_many(symbols).values()) == symbols_n
            times["sync"].append(time.perf_counter() - started)
            if round_n % FAST_ROUNDS:
                continue
            seed_all()
            started = time.perf_counter()
            assert sum(len(ccxt_loop.cancel_all_orders(s, {"portfolioMargin": True})) for s in symbols) == symbols_n
            times["ccxt"].append(time.perf_counter() - started)
        pool.shutdown()
    gather, async_s, sync_s, loop_s = (statistics.median(times[k]) for k in ("gather", "async", "sync", "ccxt"))
    threads = statistics.median(times["threads"])
    return [
        Row(
            "2a. flatten 20 symbols 20 ms away: plugin async / bare gather of 20 raw calls",
            f"{async_s * 1000:.0f} ms / {gather * 1000:.0f} ms: ratio {async_s / gather:.2f}",
            "<= 1.2",
            async_s / gather <= 1.2,
        ),
        Row(
            "2b. same: plugin sync / bare gather",
            f"{sync_s * 1000:.0f} ms / {gather * 1000:.0f} ms: ratio {sync_s / gather:.2f}",
            "<= 1.5",
            sync_s / gather <= 1.5,
        ),
        Row(
            "2c. same: ccxt cancel_all_orders loop (default throttle) / plugin",
            f"{loop_s:.2f} s: {loop_s / async_s:.0f}x async, {loop_s / sync_s:.0f}x sync; 429s: {RATE_LIMITED.count}",
            ">= 4x, zero 429s",
            min(loop_s / async_s, loop_s / sync_s) >= 4 and RATE_LIMITED.count == 0,
        ),
        Row(
            "2d. reference: plugin sync / the same raw sync calls on 20 threads at once (requests' own cost)",
            f"{sync_s * 1000:.0f} ms / {threads * 1000:.0f} ms: ratio {sync_s / threads:.2f}",
            "none (shows how much of 2b is the plugin's)",
            None,
        ),
    ]


# ---- 3. a busy IP -----------------------------------------------------------------------------------------


def busy_ip(rounds: int) -> Row:
    """Flatten 20 symbols on an IP already at 4,900 of 6,000 this minute, and on an idle one (fresh simulators)."""
    times: dict[str, list[float]] = {"idle": [], "busy": []}
    for _ in range(rounds):
        for side in ("idle", "busy"):
            with Simulator(extra_symbols=20) as sim:
                exchange = sim.attach(papi_plugin.extend(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret})))
                exchange.load_markets()
                ids = [f"X{i:03d}USDT" for i in range(20)]
                for market_id in ids:
                    sim.place(market_id, "BUY", "LIMIT", "1", "10")
                if side == "busy":
                    sim.charge(4900 - sim.weight_used)  # other programs on the IP
                started = time.perf_counter()
                result = exchange.cancel_all_margin_orders_many([exchange.markets_by_id[i][0]["symbol"] for i in ids])
                times[side].append(time.perf_counter() - started)
                assert sum(len(o) for o in result.values()) == 20 and sim.rate_limited_answers == 0
    idle, busy = statistics.median(times["idle"]), statistics.median(times["busy"])
    return Row(
        "3. flatten 20 symbols on an IP at 4,900 of 6,000 / on an idle IP",
        f"{busy * 1000:.0f} ms / {idle * 1000:.0f} ms: ratio {busy / idle:.2f}",
        "<= 1.2",
        busy / idle <= 1.2,
    )


# ---- 4. a minute's budget -----------------------------------------------------------------------------------


async def many_cancels(exchange: Any, count: int, plugin: bool) -> float:
    """``count`` cancels at once on an exchange with its markets loaded; the seconds they took."""
    started = time.perf_counter()
    if plugin:
        # Waiting for the next minute is the point here: a deadline past it.
        calls = (exchange.cancel_all_margin_orders("BTC/USDT", {"maxElapsed": 120}) for _ in range(count))
        await asyncio.gather(*calls)
    else:
        answers = await asyncio.gather(
            *(exchange.papiDeleteMarginAllOpenOrders({"symbol": "BTCUSDT"}) for _ in range(count)),
            return_exceptions=True,
        )
        assert not any(isinstance(a, ccxt.DDoSProtection) for a in answers)  # -2011 is the expected answer
    return time.perf_counter() - started


async def a_minutes_budget(urls: list[str], fit: int, over: int, smoke: bool) -> tuple[float, float, float, float]:
    raw = client(urls[0], extended=False, rate_limit=False, cls=accxt.binance)
    paced = client(urls[1], extended=True, rate_limit=True, cls=accxt.binance)
    beyond = client(urls[2], extended=True, rate_limit=True, cls=accxt.binance)
    try:
        for exchange in (raw, paced, beyond):
            await exchange.load_markets()  # in the minute before: the measured minute is the cancels' alone
        if not smoke:
            now = time.time()
            await asyncio.sleep((now // 60 + 1) * 60 + 0.3 - now)
        unthrottled = await many_cancels(raw, fit, plugin=False)
        within = await many_cancels(paced, fit, plugin=True)
        started = time.time()
        took = await many_cancels(beyond, over, plugin=True)
        return unthrottled, within, took, started
    finally:
        for exchange in (raw, paced, beyond):
            await exchange.close()


def minute_budget(smoke: bool) -> list[Row]:
    fit, over = (110, 130) if smoke else (1100, 1300)
    with simulator_process() as url_a, simulator_process() as url_b, simulator_process() as url_c:
        before = RATE_LIMITED.count
        unthrottled, paced, took, started = asyncio.run(a_minutes_budget([url_a, url_b, url_c], fit, over, smoke))
        limited = RATE_LIMITED.count - before
    # The least possible: the first 1,200 (6,000 weight) go at once, the rest once the next minute starts.
    fits = 6000 // 5
    rest = unthrottled * max(0, over - fits) / fit
    minimum = ((started // 60 + 1) * 60 - started + rest) if over > fits else unthrottled * over / fit
    return [
        Row(
            f"4a. {fit} cancels that fit one minute: plugin / unthrottled raw calls",
            f"{paced * 1000:.0f} ms / {unthrottled * 1000:.0f} ms: ratio {paced / unthrottled:.2f}",
            "<= 1.5",
            paced / unthrottled <= 1.5,
        ),
        Row(
            f"4b. {over} cancels (more than a minute's 6,000 weight) / the least possible",
            f"{took:.1f} s / {minimum:.1f} s: ratio {took / minimum:.3f}; 429s: {limited}",
            "<= 1.02, zero 429s",
            took / minimum <= 1.02 and limited == 0,
        ),
    ]


# ---- 5. normalising a large answer --------------------------------------------------------------------------


def normalise(repeats: int) -> Row:
    with Simulator() as sim:
        for i in range(900):
            sim.place("BTCUSDT", "BUY", "LIMIT", "1", f"{10 + i}")
        for _ in range(50):
            sim.place_oco(
                "BTCUSDT",
                [
                    {"side": "SELL", "type": "STOP_LOSS_LIMIT", "quantity": "1", "price": "90", "stop_price": "91"},
                    {"side": "SELL", "type": "LIMIT_MAKER", "quantity": "1", "price": "200"},
                ],
            )
        answer = sim.cancel_all("BTCUSDT")
        exchange = sim.attach(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret}))
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
    mine, ccxts = trimmed_mean(ours) * 1000, trimmed_mean(theirs) * 1000
    return Row(
        "5. normalise 900 orders + 50 OCO lists / ccxt parse_orders",
        f"{mine:.1f} ms -> {len(orders)} orders, {ccxts:.1f} ms -> {len(parsed)} (legs lost): ratio {mine / ccxts:.3f}",
        "<= 1.10, with the legs",
        mine / ccxts <= 1.10 and len(orders) == 1000,
    )


# ---- 6. requests per call -------------------------------------------------------------------------------------


def requests_per_call(calls: int) -> Row:
    counts = []
    with Simulator() as sim:
        exchange = sim.attach(papi_plugin.extend(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret})))
        exchange.load_markets()
        for _ in range(calls):
            sim.seed_documented_example()
            before = len(sim.requests)
            exchange.cancel_all_margin_orders("BTC/USDT")
            counts.append(len(sim.requests) - before)

        async def async_count() -> int:
            aexchange = sim.attach(papi_plugin.extend(accxt.binance({"apiKey": sim.api_key, "secret": sim.secret})))
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
        "6. requests per call on the happy path",
        f"{sorted(set(counts))} over {len(counts)} calls, sync and async",
        "exactly 1",
        set(counts) == {1},
    )


# ---- 7. import and first extend ---------------------------------------------------------------------------------

PLUGIN_START = (  # the whole start, then the plugin's own share: measured after ccxt's, in the same process
    "import time; t = time.perf_counter(); import ccxt; b = ccxt.binance(); s = time.perf_counter();"
    " import papi_plugin; papi_plugin.extend(b); e = time.perf_counter(); print(e - s, e - t)"
)
CCXT_START = "import time; t = time.perf_counter(); import ccxt; ccxt.binance(); print(time.perf_counter() - t)"
IMPORT_ONLY = "import ccxt, time; t = time.perf_counter(); import papi_plugin; print(time.perf_counter() - t)"


def start_up(runs: int) -> list[Row]:
    took: dict[str, list[float]] = {"plugin": [], "ccxt": [], "import": [], "share": []}
    for _ in range(runs):
        for name, code in (("ccxt", CCXT_START), ("plugin", PLUGIN_START), ("import", IMPORT_ONLY)):
            # From a neutral folder: the installed package (compiled), not the source tree, is imported.
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()
            )
            took[name].append(float(out.stdout.split()[-1]) * 1000)
            if name == "plugin":
                took["share"].append(float(out.stdout.split()[0]) * 1000)
    plugin, bare, alone = min(took["plugin"]), min(took["ccxt"]), statistics.median(took["import"])
    share = statistics.median(took["share"])
    return [
        Row(
            "7. import papi_plugin + first extend(binance()) on top of import ccxt + first binance()",
            f"+{share:.1f} ms (median of {runs} fresh processes, timed in each after ccxt's own start); whole"
            f" starts, best of {runs}: {plugin:.0f} ms vs ccxt alone {bare:.0f} ms ({plugin - bare:+.1f} ms, mostly"
            " ccxt's own import varying)",
            "<= +20 ms",
            share <= 20,
        ),
        Row(
            "7a. import papi_plugin once ccxt is imported (the capabilities load with the first extend)",
            f"{alone:.1f} ms (median of {runs} fresh processes)",
            "<= 10 ms",
            alone <= 10,
        ),
    ]


# ---- 8. memory -----------------------------------------------------------------------------------------------------

MEMORY_CHILD = """
import json, os, sys
import ccxt
url, key, secret, count, side = sys.argv[1:6]
exchange = ccxt.binance({"apiKey": key, "secret": secret, "enableRateLimit": False,
    "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}})
if side == "plugin":
    import papi_plugin
    papi_plugin.extend(exchange)
for name, api in list(exchange.urls["api"].items()):
    if isinstance(api, str):
        exchange.urls["api"][name] = url + "/" + api.split("/", 3)[3]
exchange.load_markets()
names = [exchange.markets_by_id["X%03dUSDT" % i][0]["symbol"] for i in range(int(count))]
base = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))
if side == "plugin":
    kept = exchange.cancel_all_margin_orders_many(names)
    orders = sum(len(o) for o in kept.values())
else:
    kept = [exchange.cancel_all_orders(s, {"portfolioMargin": True}) for s in names]
    orders = sum(len(o) for o in kept)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"peak_kib": peak, "base_kib": base, "orders": orders, "plugin_loaded": "papi_plugin" in sys.modules}))
"""


def memory(symbols: int, orders_each: int = 50) -> Row:
    peaks, counts, each = {}, {}, {}
    with Simulator(extra_symbols=symbols, weight_limit=UNLIMITED) as sim:
        for side in ("ccxt", "plugin"):
            for i in range(symbols):
                market_id = f"X{i:03d}USDT"
                for j in range(orders_each - 10):
                    sim.place(market_id, "BUY", "LIMIT", "1", f"{10 + j}")
                for _ in range(5):
                    sim.place_oco(
                        market_id,
                        [
                            {
                                "side": "SELL",
                                "type": "STOP_LOSS_LIMIT",
                                "quantity": "1",
                                "price": "90",
                                "stop_price": "91",
                            },
                            {"side": "SELL", "type": "LIMIT_MAKER", "quantity": "1", "price": "200"},
                        ],
                    )
            out = subprocess.run(
                [sys.executable, "-c", MEMORY_CHILD, sim.url, sim.api_key, sim.secret, str(symbols), side],
                capture_output=True,
                text=True,
                check=True,
                cwd=tempfile.gettempdir(),
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            assert result["plugin_loaded"] == (side == "plugin")
            peaks[side], counts[side] = result["peak_kib"] / 1024, result["orders"]
            each[side] = (result["peak_kib"] - result["base_kib"]) / result["orders"]
    ratio = peaks["plugin"] / peaks["ccxt"]
    return Row(
        f"8. peak RSS (the child's own VmHWM), flatten {symbols} symbols x {orders_each} orders",
        f"plugin {peaks['plugin']:.1f} MiB ({counts['plugin']} orders), ccxt {peaks['ccxt']:.1f} MiB"
        f" ({counts['ccxt']} orders, legs lost): ratio {ratio:.3f}; above the loaded markets,"
        f" {each['plugin']:.2f} KiB an order / {each['ccxt']:.2f}: {each['plugin'] / each['ccxt']:.3f} at equal work",
        "<= 1.05",
        ratio <= 1.05,
    )


# ---- 9. flatten a whole account: 10 margin, 10 USD-M and 5 COIN-M symbols, 20 ms away --------------------

ALL_KINDS = {**MARKET_OPTIONS, "fetchMarkets": {"types": ["spot", "linear", "inverse"]}}


def seed_futures(seeder: Any, um_ids: list[str], cm_ids: list[str]) -> None:
    """A plain and a conditional order on each futures symbol, over HTTP as another bot would."""
    for market_id in um_ids:
        order = {"symbol": market_id, "side": "BUY", "quantity": "1", "price": "10", "timeInForce": "GTC"}
        seeder.papiPostUmOrder({**order, "type": "LIMIT"})
        seeder.papiPostUmAlgoOrder({**order, "algoType": "CONDITIONAL", "type": "STOP", "triggerPrice": "11"})
    for market_id in cm_ids:
        order = {"symbol": market_id, "side": "BUY", "quantity": "1", "price": "10", "timeInForce": "GTC"}
        seeder.papiPostCmOrder({**order, "type": "LIMIT"})
        seeder.papiPostCmConditionalOrder({**order, "strategyType": "STOP", "stopPrice": "11"})


MARGIN_IDS = [f"X{i:03d}USDT" for i in range(10)]
UM_IDS, CM_IDS = [f"X{i:03d}USDT" for i in range(10)], [f"X{i:03d}USD_PERP" for i in range(5)]


def account_seeder(url: str) -> tuple[Any, Callable[[], None]]:
    """A plain ccxt client on the simulator at ``url`` (markets of every kind loaded), and what opens the
    account of rows 9 and 11: one order on each margin symbol, a plain and a conditional one on each futures one."""
    seeder = client(url, extended=False, rate_limit=False)
    seeder.options["fetchMarkets"] = ALL_KINDS["fetchMarkets"]
    seeder.load_markets()

    def seed_all() -> None:
        for market_id in MARGIN_IDS:
            seed(seeder, market_id, plain=1, oco_lists=0)
        seed_futures(seeder, UM_IDS, CM_IDS)

    return seeder, seed_all


async def timed_on_account(
    url: str, extended: bool, seed_all: Callable[[], None], flatten: Callable[[Any], Awaitable[None]]
) -> float:
    """Seconds ``flatten`` takes on a fresh async exchange (the plugin's, paced, or plain ccxt's unthrottled)
    with every kind's markets loaded, once the account of rows 9 and 11 is open."""
    exchange = client(url, extended, rate_limit=extended, cls=accxt.binance)
    exchange.options["fetchMarkets"] = ALL_KINDS["fetchMarkets"]
    try:
        await exchange.load_markets()
        seed_all()
        started = time.perf_counter()
        await flatten(exchange)
        return time.perf_counter() - started
    finally:
        await exchange.close()


def whole_account(rounds: int) -> Row:
    with simulator_process("--latency", "0.02", "--extra-symbols", "10") as url:
        seeder, seed_all = account_seeder(url)
        margin = [m["symbol"] for i in MARGIN_IDS for m in seeder.markets_by_id[i] if m["spot"]]
        futures = [m["symbol"] for i in UM_IDS + CM_IDS for m in seeder.markets_by_id[i] if m["contract"]]
        orders_n = len(margin) + 2 * len(futures)

        def ccxt_loop(exchange: Any) -> int:
            canceled = 0
            for symbol in margin:
                canceled += len(exchange.cancel_all_orders(symbol, {"portfolioMargin": True}))
            for symbol in futures:  # a futures symbol's plain orders, then its conditional ones
                exchange.cancel_all_orders(symbol, {"portfolioMargin": True})
                exchange.cancel_all_orders(symbol, {"portfolioMargin": True, "trigger": True})
            return canceled

        async def async_side() -> float:
            async def flatten(exchange: Any) -> None:
                result = await exchange.cancel_all_portfolio_orders()
                assert sum(len(o) for o in result.values()) == orders_n

            return await timed_on_account(url, True, seed_all, flatten)

        plugin_sync, loop = client(url, True, True), client(url, False, True)  # ccxt's default throttling
        for exchange in (plugin_sync, loop):
            exchange.options["fetchMarkets"] = ALL_KINDS["fetchMarkets"]
            exchange.load_markets()
        before = RATE_LIMITED.count
        times: dict[str, list[float]] = {"async": [], "sync": [], "ccxt": []}
        for _ in range(rounds):
            times["async"].append(asyncio.run(async_side()))
            seed_all()
            started = time.perf_counter()
            assert sum(len(o) for o in plugin_sync.cancel_all_portfolio_orders().values()) == orders_n
            times["sync"].append(time.perf_counter() - started)
            seed_all()
            started = time.perf_counter()
            assert ccxt_loop(loop) == len(margin)  # ccxt reports the margin orders only
            times["ccxt"].append(time.perf_counter() - started)
    async_s, sync_s, loop_s = (statistics.median(times[k]) for k in ("async", "sync", "ccxt"))
    limited = RATE_LIMITED.count - before
    worst = min(loop_s / async_s, loop_s / sync_s)
    return Row(
        "9. flatten a whole account (10 margin, 10 USD-M, 5 COIN-M symbols, conditional orders included) 20 ms"
        " away: ccxt cancel_all_orders loop (default throttle) / plugin cancel_all_portfolio_orders()",
        f"{loop_s:.2f} s / {async_s * 1000:.0f} ms async, {sync_s * 1000:.0f} ms sync:"
        f" {loop_s / async_s:.1f}x async, {loop_s / sync_s:.1f}x sync; 429s: {limited}",
        ">= 4x, zero 429s",
        worst >= 4 and limited == 0,
    )


def whole_account_bare(rounds: int) -> Row:
    """Row 9's account, on a simulator whose weight limit is never reached (speed only: row 9 counts the 429s):
    the plugin's sync whole-account flatten against its requests with nothing around them."""
    with simulator_process("--latency", "0.02", "--extra-symbols", "10", "--weight-limit", str(UNLIMITED)) as url:
        _, seed_all = account_seeder(url)
        orders_n = len(MARGIN_IDS) + 2 * (
            len(UM_IDS) + len(CM_IDS)
        )  # one plain a symbol, one conditional a futures one

        async def futures_symbol(exchange: Any, market_id: str, um: bool) -> None:
            asked = {"symbol": market_id}
            if um:
                await exchange.papiDeleteUmAlgoAllOpenOrders(asked)
                await exchange.papiDeleteUmAllOpenOrders(asked)
                await exchange.papiGetUmAlgoAllAlgoOrders({**asked, "limit": 1000})
                await exchange.papiGetUmAllOrders({**asked, "limit": 1000})
            else:
                await exchange.papiDeleteCmConditionalAllOpenOrders(asked)
                await exchange.papiDeleteCmAllOpenOrders(asked)
                await exchange.papiGetCmConditionalAllOrders({**asked, "limit": 1000})
                await exchange.papiGetCmAllOrders({**asked, "limit": 100})

        async def kind(exchange: Any, reads: list[str], symbols: list[Any]) -> None:
            for read in reads:  # the conditional orders first: one that triggers meanwhile is seen as plain
                await getattr(exchange, read)()
            await asyncio.gather(*symbols)

        async def bare_gather(exchange: Any) -> None:
            """The plugin's requests in its order, nothing around them: each kind's two discovery reads one after
            the other, then that kind's symbols (a futures one: cancel conditional, cancel plain, read both
            histories); the kinds and their symbols at once."""
            margin = [exchange.papiDeleteMarginAllOpenOrders({"symbol": i}) for i in MARGIN_IDS]
            um = [futures_symbol(exchange, i, True) for i in UM_IDS]
            cm = [futures_symbol(exchange, i, False) for i in CM_IDS]
            await asyncio.gather(
                kind(exchange, ["papiGetMarginOpenOrders", "papiGetMarginOpenOrderList"], margin),
                kind(exchange, ["papiGetUmAlgoOpenAlgoOrders", "papiGetUmOpenOrders"], um),
                kind(exchange, ["papiGetCmConditionalOpenOrders", "papiGetCmOpenOrders"], cm),
            )

        plugin_sync = paced_without_limit(client(url, True, True))
        plugin_sync.options["fetchMarkets"] = ALL_KINDS["fetchMarkets"]
        plugin_sync.load_markets()
        times: dict[str, list[float]] = {"sync": [], "gather": []}
        for _ in range(rounds):
            times["gather"].append(asyncio.run(timed_on_account(url, False, seed_all, bare_gather)))
            seed_all()
            started = time.perf_counter()
            assert sum(len(o) for o in plugin_sync.cancel_all_portfolio_orders().values()) == orders_n
            times["sync"].append(time.perf_counter() - started)
    sync_s, gather = statistics.median(times["sync"]), statistics.median(times["gather"])
    return Row(
        "9b. the same whole account: plugin sync / a bare gather of the same raw requests in the plugin's order"
        " (each kind's discovery, then its symbols; the kinds and their symbols at once)",
        f"{sync_s * 1000:.0f} ms / {gather * 1000:.0f} ms: ratio {sync_s / gather:.2f}",
        "<= 1.5",
        sync_s / gather <= 1.5,
    )


# ---- 10. a fleet on one IP, and what the limits store costs --------------------------------------------------


@contextlib.contextmanager
def redis_server() -> Iterator[str | None]:
    """A redis-server on a free port (None when it is not installed; in CI that fails the run instead: a
    skipped Redis row would hide a missing install step)."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server); .ci/run does")
        yield None
        return
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.01)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(10)


def flatten_fleet(
    store: str, limit: int, window: float, processes: int, each: int
) -> tuple[float, float, int, list[str]]:
    """A fleet flattening ``processes`` x ``each`` symbols at once, a moment after a window starts:
    (seconds from the word to the last bot done, the window's start offset, 429s and 418s, the bots' warnings)."""
    with Simulator(extra_symbols=processes * each, window_seconds=window, weight_limit=limit) as sim:
        shares = [[f"X{p * each + i:03d}USDT" for i in range(each)] for p in range(processes)]
        place_one_order_each(sim, [market_id for share in shares for market_id in share])
        with Fleet(sim, store, limit, window) as fleet:
            fleet.start([("async" if p % 2 else "sync", share) for p, share in enumerate(shares)])
            now = time.time()
            time.sleep((now // window + 1) * window + 0.05 - now)  # 50 ms into a fresh window
            started = time.time()
            fleet.go()
            results = [fleet.result(p) for p in range(processes)]
        assert sim.open_orders() == [] and all(not r["errors"] for r in results), results
        warnings = [w for r in results for w in r["warnings"]]
        return max(r["finished"] for r in results) - started, started % window, sim.rate_limited_answers, warnings


def fleet_row(smoke: bool) -> list[Row]:
    processes, each, window = 8, 20, (1.0 if smoke else 5.0)
    total = processes * each * 5  # weight 5 a cancel
    limit = total // 2  # two windows at least
    rows = []
    with redis_server() as redis_url:
        stores = {"default store (SQLite)": default_kind_of_store(), "Redis": redis_url}
        for name, store in stores.items():
            if store is None:
                rows.append(Row(f"10. fleet, {name}", "skipped: redis-server is not installed", "<= 1.2", None))
                continue
            burst, _, _, _ = flatten_fleet(store, UNLIMITED, window, processes, each)  # no limit: the work itself
            took, offset, limited, warnings = flatten_fleet(store, limit, window, processes, each)
            # The least possible: half the work at once, the other half once the next window starts.
            minimum = window - offset + burst / 2
            met = took / minimum <= 1.2 and limited == 0
            said = "" if met or not warnings else f"; the bots warned: {' | '.join(sorted(set(warnings)))[:600]}"
            rows.append(
                Row(
                    f"10. fleet: {processes} processes x {each} symbols at once, {limit} weight a {window:g} s window"
                    f" (two windows' work), {name}: until all flat / least possible",
                    f"{took:.2f} s / {minimum:.2f} s: ratio {took / minimum:.2f}; 429s and 418s: {limited}{said}",
                    "<= 1.2, zero 429s and 418s",
                    met,
                )
            )
        rows.append(store_cost(stores, 300 if smoke else 20000))
    return rows


def store_cost(stores: dict[str, str | None], requests: int) -> Row:
    """What the limits store adds to one request: its reservation and its answer, microseconds."""
    costs = []
    for name, url in {"memory": "memory", **stores}.items():
        if url is None:
            continue
        store = open_store(url)  # the store itself: a reservation and an answer, each written at once
        started = time.perf_counter()
        for _ in range(requests):
            now = time.time()
            admission = store.acquire(f"benchmark-{name}", 5, UNLIMITED, 60.0, now)
            store.answered(f"benchmark-{name}", admission.ticket, 5, 100, 60.0, now)
        costs.append(f"{name} {(time.perf_counter() - started) / requests * 1e6:.0f} us")
        store.close()
    return Row(
        "10b. the limits store's cost per request (reserve + answer, back to back; a sync request waits for the"
        " reservation only)",
        ", ".join(costs),
        "reference",
        None,
    )


# ---- 11. the dead-man's switch: from a deadline to a flat account ---------------------------------------------


def dead_mans_switch(rounds: int) -> Row:
    """A guard process on the simulator 20 ms away; the whole account (10 margin, 10 USD-M, 5 COIN-M symbols)
    flattened once a countdown passes. Against: the flatten alone (cancel with confirm, then a fresh read)."""
    store = default_kind_of_store()
    with simulator_process("--latency", "0.02", "--extra-symbols", "10") as url:
        _, seed_all = account_seeder(url)

        bot = client(url, True, rate_limit=True, store=store)
        bot.options["fetchMarkets"] = ALL_KINDS["fetchMarkets"]
        bot.load_markets()
        alone: list[float] = []
        for _ in range(rounds):
            seed_all()
            started = time.perf_counter()
            bot.cancel_all_portfolio_orders(None, {"confirm": True})
            assert not any(bot.open_portfolio_orders().values())
            alone.append(time.perf_counter() - started)
        environment = {**os.environ, "BINANCE_API_KEY": DEMO_API_KEY, "BINANCE_API_SECRET": DEMO_SECRET}
        command = [sys.executable, "-m", "papi_plugin.guard", "--base-url", url, "--limits-store", store]
        guard = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment, cwd=tempfile.gettempdir())
        late: list[float] = []
        try:
            assert guard.stderr is not None
            while "watching" not in guard.stderr.readline():
                pass
            store_client, _ = switch_store(store)
            account = account_of(DEMO_API_KEY)
            for _ in range(rounds):
                seed_all()
                deadline = bot.cancel_all_portfolio_orders_after(1000)["deadline"]
                while True:
                    kept = records.firings(store_client.firings(account))[0].get("default")
                    outcome = kept[0] if kept else {}
                    if outcome.get("outcome") == "flat" and outcome["deadlines"]["default"] == deadline:
                        break
                    time.sleep(0.02)
                late.append((outcome["finished"] - deadline) / 1000)
            store_client.close()
        finally:
            guard.terminate()
            guard.communicate(timeout=30)
    flatten, took = statistics.median(alone), statistics.median(late)
    return Row(
        "11. dead-man's switch: a deadline to a flat account (papi-guard, 10 margin, 10 USD-M, 5 COIN-M symbols,"
        " 20 ms away) / 1 s + the flatten alone",
        f"{took * 1000:.0f} ms after the deadline; the flatten alone {flatten * 1000:.0f} ms:"
        f" ratio {took / (1 + flatten):.2f}",
        "<= 1 (within 1 s + the flatten's own time)",
        took <= 1 + flatten,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="every row briefly; figures mean nothing")
    smoke = parser.parse_args().smoke
    papi_plugin.plugin_manager().register(RATE_LIMITED, name="benchmark-rate-limit-counter")
    started = time.perf_counter()
    print(f"machine: {machine()}")
    print(f"papi_plugin {importlib.metadata.version('papi_plugin')}: {how_installed()}")
    print("mode: smoke (figures are not meaningful)" if smoke else "mode: full")
    measures: list[Callable[[], Row | list[Row]]] = [
        lambda: one_call(10 if smoke else 2000),
        lambda: flatten_20(1 if smoke else 3),
        lambda: busy_ip(1 if smoke else 5),
        lambda: minute_budget(smoke),
        lambda: normalise(2 if smoke else 80),
        lambda: requests_per_call(3 if smoke else 50),
        lambda: start_up(2 if smoke else 15),
        lambda: memory(10 if smoke else 200),
        lambda: whole_account(1 if smoke else 5),
        lambda: whole_account_bare(2 if smoke else 15),
        lambda: fleet_row(smoke),
        lambda: dead_mans_switch(1 if smoke else 5),
    ]
    rows: list[Row] = []
    for measure in measures:
        measured = measure()
        for row in measured if isinstance(measured, list) else [measured]:
            rows.append(row)
            status = "-" if smoke or row.met is None else ("met" if row.met else "NOT MET")
            print(f"{row.name}\n    {row.measured}\n    target {row.target}: {status}", flush=True)
    print(f"total time: {time.perf_counter() - started:.0f} s")
    return 0 if smoke or all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
