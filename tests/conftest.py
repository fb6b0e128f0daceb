"""Shared fixtures: exchanges on cassettes (vcrpy, record mode ``none``) and on the simulator, on fake time.

Cassettes live in ``cassettes/<test module>/``. By default they are replayed: the exchange keeps
Binance's real URLs and nothing leaves the machine (``--block-network``, loopback allowed). To record:

* ``pytest --record-mode=once`` with ``BINANCE_API_KEY``/``BINANCE_API_SECRET`` set records against
  Binance itself (only the rows Binance can be made to answer: a real account is needed);
* ``pytest --record-mode=once`` without them records against the bundled simulator, which plays
  the scenario each test declares with ``@scenario(...)`` (there is no Portfolio Margin testnet).

Either way the same filters drop ``X-MBX-APIKEY``, ``signature`` and ``timestamp`` before writing.

Time is fake unless a test is marked ``realtime``: every extended exchange and every simulator of a test
share one ``FakeTime``, so a retry's wait is recorded in ``fake_time.waits`` instead of slept.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import ccxt
import pytest

import papi_plugin
from papi_plugin import limits
from papi_plugin.limits.stores import ENVIRONMENT as LIMITS_STORE_VARIABLE
from papi_plugin.protocol import reported
from papi_plugin.simulator import Simulator
from papi_plugin.switch import stores as switch_stores
from tests.constants import CANCEL_ALL, MARKET_OPTIONS, TEST_API_KEY, TEST_SECRET
from tests.fake_time import FakeTime, UseFakeTime
from tests.helpers import CASSETTES, Runner, binance, simulator, vcr_settings
from tests.redis_server import RedisServer


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    return vcr_settings()


@pytest.fixture
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    return os.path.join(CASSETTES, request.module.__name__.split(".")[-1])


def recording(request: pytest.FixtureRequest) -> bool:
    return request.config.getoption("--record-mode", "none") not in ("none", None)


def credentials() -> tuple[str, str, bool]:
    """(key, secret, live): Binance's real keys from the environment, else the test ones."""
    key, secret = os.environ.get("BINANCE_API_KEY"), os.environ.get("BINANCE_API_SECRET")
    if key and secret:
        return key, secret, True
    return TEST_API_KEY, TEST_SECRET, False


@pytest.fixture
def fake_time(request: pytest.FixtureRequest) -> Iterator[FakeTime | None]:
    """The test's time, given to every exchange extended during the test; None for ``realtime`` tests."""
    if request.node.get_closest_marker("realtime"):
        yield None
        return
    fake = FakeTime()
    manager = papi_plugin.plugin_manager()
    plugin = UseFakeTime(fake)
    manager.register(plugin, name="fake-time")
    try:
        yield fake
    finally:
        manager.unregister(plugin)


@pytest.fixture(autouse=True)
def _isolated(fake_time: FakeTime | None, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test runs on fake time unless marked ``realtime``, with a limits store of its own (the default
    kind, SQLite, in a fresh file), and leaves no IP's gate or budget behind (cassette tests all talk to
    papi.binance.com: one test's 418 must not close the next one's gate)."""
    monkeypatch.setenv(LIMITS_STORE_VARIABLE, f"sqlite:///{tmp_path / 'limits.sqlite3'}")
    yield
    limits.forget_all()
    switch_stores.forget_all()
    reported.forget_all()


@pytest.fixture
def waits(fake_time: FakeTime | None) -> list[float]:
    """The waits the plugin asked for during the test, in seconds."""
    assert fake_time is not None, "a realtime test sleeps for real"
    return fake_time.waits


@pytest.fixture
def recorded_binance(request: pytest.FixtureRequest, fake_time: FakeTime | None) -> Iterator[Callable[[str], Any]]:
    """Build a papi_plugin-extended binance ("sync" or "async") for a cassette test.

    On replay it keeps Binance's URLs; when recording without real keys it is attached to a
    simulator that plays the test's ``@scenario``.
    """
    key, secret, live = credentials()
    sims: list[Simulator] = []

    def build(mode: str, options: dict[str, Any] = MARKET_OPTIONS) -> Any:
        # ccxt's throttle paces market loading (50 ms a request) at 1 ms here, as for sim_exchange.
        config = {"apiKey": key, "secret": secret, "options": dict(options), "rateLimit": 1}
        exchange = papi_plugin.extend(binance(mode, config))
        if recording(request) and not live:
            marker = request.node.get_closest_marker("scenario")
            spec: dict[str, Any] = dict(marker.kwargs) if marker else {"seed": True, "faults": [], "skew_ms": 0}
            sim = simulator(fake_time, api_key=key, secret=secret).start()
            sims.append(sim)
            if spec["seed"]:
                sim.seed_documented_example()
            if spec.get("futures"):
                sim.seed_futures_example()
            sim.clock_skew_ms = spec["skew_ms"]
            sim.inject(spec.get("endpoint", CANCEL_ALL), *spec["faults"])
            sim.attach(exchange)
            exchange.options["fetchMarkets"] = options["fetchMarkets"]  # what the replay will load
        return exchange

    yield build
    for sim in sims:
        sim.stop()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def cassette_exchange(mode: str, recorded_binance: Callable[[str], Any]) -> Iterator[tuple[Any, Runner]]:
    runner = Runner()
    exchange = recorded_binance(mode)
    yield exchange, runner
    runner.close([exchange])


@pytest.fixture
def sim(fake_time: FakeTime | None) -> Iterator[Simulator]:
    with simulator(fake_time, api_key=TEST_API_KEY, secret=TEST_SECRET) as started:
        yield started


@pytest.fixture
def sim_exchange(mode: str, sim: Simulator) -> Iterator[tuple[Any, Runner]]:
    """A papi_plugin-extended binance on the simulator, sync or async, throttle on as by default.

    ccxt's own throttle (which paces market loading, 50 ms a request) runs at 1 ms a request here: every
    test loads markets, and test_many.py checks the throttle itself.
    """
    runner = Runner()
    config = {"apiKey": sim.api_key, "secret": sim.secret, "rateLimit": 1}
    exchange = sim.attach(papi_plugin.extend(binance(mode, config)))
    yield exchange, runner
    runner.close([exchange])


@pytest.fixture
def account_sim() -> Iterator[Simulator]:
    """A simulator holding orders of every kind: margin (an order and an OCO list), USD-M, COIN-M."""
    with Simulator() as sim:
        sim.seed_documented_example()
        sim.seed_futures_example()
        yield sim


@pytest.fixture(scope="module")
def markets_binance() -> Iterator[Any]:
    """A plain ccxt binance with the simulator's markets loaded once; for code that parses, never sends."""
    with Simulator() as sim:
        exchange = sim.attach(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret}))
        exchange.load_markets()
    yield exchange


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session's tests; each test that takes ``redis_url`` starts it empty."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, which the test may stop and start again."""
    with RedisServer() as server:
        yield server
