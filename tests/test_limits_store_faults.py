"""A limits store fault never stops the kill switch: Redis stopped, restarted or stalled, the SQLite file
removed, corrupted, locked or impossible to create, in the middle of a flatten. Everything is canceled and
reported, only ccxt errors come out, and each store's trouble is one WARNING."""

from __future__ import annotations

import logging
import pathlib
import socket
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import papi_plugin
from papi_plugin.limits import shared
from papi_plugin.limits.stores import ENVIRONMENT
from papi_plugin.simulator import Simulator
from tests.fake_time import FakeTime
from tests.helpers import Runner, binance, simulator
from tests.redis_server import RedisServer

SYMBOLS = 20


class OnFirstCancel:
    """An observer that breaks the store once, when the flatten's first symbol is reported canceled."""

    def __init__(self, fault: Callable[[], None]) -> None:
        self.fault = fault
        self.fired = False

    @papi_plugin.hookimpl
    def margin_orders_canceled(self, exchange: Any, symbol: str, orders: list[dict[str, Any]]) -> None:
        if not self.fired:
            self.fired = True
            self.fault()


@pytest.fixture
def twenty(fake_time: FakeTime) -> Iterator[Simulator]:
    with simulator(fake_time, extra_symbols=SYMBOLS) as sim:
        for i in range(SYMBOLS):
            sim.place(f"X{i:03d}USDT", "BUY", "LIMIT", "1", "10")
        yield sim


def flatten_through_a_fault(
    mode: str, sim: Simulator, store_url: str, fault: Callable[[], None], caplog: pytest.LogCaptureFixture
) -> list[str]:
    """Flatten twenty symbols while ``fault`` strikes the store; the store warnings logged."""
    run = Runner()
    exchange = sim.attach(papi_plugin.extend(binance(mode, {"apiKey": sim.api_key, "secret": sim.secret})))
    exchange.options["cancelAllMarginOrders"]["limitsStore"] = store_url
    symbols = [f"X{i:03d}/USDT" for i in range(SYMBOLS)]
    run.call(exchange.load_markets)
    manager = papi_plugin.plugin_manager()
    observer = OnFirstCancel(fault)
    manager.register(observer, name="store-fault")
    caplog.set_level(logging.WARNING, logger="papi_plugin")
    try:
        result = run.call(exchange.cancel_all_margin_orders_many, symbols)
    finally:
        manager.unregister(observer)
        run.close([exchange])
    shared.flush_all(5.0)  # what the writer thread still had to tell the store: its failure is logged too
    assert observer.fired
    assert sorted(result) == symbols and all(len(orders) == 1 for orders in result.values())
    assert sim.open_orders() == []
    assert sim.rate_limited_answers == 0
    return [r.getMessage() for r in caplog.records if "limits store" in r.getMessage()]


def test_redis_stopped_in_the_middle_of_a_flatten(
    mode: str, twenty: Simulator, own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    warnings = flatten_through_a_fault(mode, twenty, own_redis.url, own_redis.stop, caplog)
    assert len(warnings) == 1 and "redis://127.0.0.1" in warnings[0] and "own IP limits" in warnings[0]


def test_redis_restarted_in_the_middle_of_a_flatten(
    mode: str, twenty: Simulator, own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    def restart() -> None:
        own_redis.stop()
        own_redis.start()

    warnings = flatten_through_a_fault(mode, twenty, own_redis.url, restart, caplog)
    assert len(warnings) <= 1


def test_redis_stalled_in_the_middle_of_a_flatten(
    mode: str, twenty: Simulator, redis_url: str, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    def stall() -> None:  # every write waits 3 s: far slower than the store may be
        with socket.create_connection(("127.0.0.1", redis_server.port), timeout=2) as connection:
            connection.sendall(b"CLIENT PAUSE 3000 WRITE\r\n")
            assert connection.recv(16).startswith(b"+OK")

    try:
        warnings = flatten_through_a_fault(mode, twenty, redis_url, stall, caplog)
    finally:
        with socket.create_connection(("127.0.0.1", redis_server.port), timeout=2) as connection:
            connection.sendall(b"CLIENT UNPAUSE\r\n")
            connection.recv(16)
    assert len(warnings) == 1 and "failed (" in warnings[0]  # a timeout, or no connection free in time


def test_the_sqlite_file_removed_in_the_middle_of_a_flatten(
    mode: str, twenty: Simulator, tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "fleet.sqlite3"

    def remove() -> None:
        for name in (path, pathlib.Path(f"{path}-wal"), pathlib.Path(f"{path}-shm")):
            name.unlink(missing_ok=True)

    # Nothing failed: the connection keeps the removed file until it looks again and makes a new one
    # (test_limits_stores.py), which every process then shares.
    assert flatten_through_a_fault(mode, twenty, f"sqlite:///{path}", remove, caplog) == []


def test_a_corrupt_sqlite_file_means_memory_and_one_warning(
    mode: str, twenty: Simulator, tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A process whose connection is open keeps its cached view of a file corrupted under it; the next one
    # to open it finds it unreadable.
    path = tmp_path / "fleet.sqlite3"
    path.write_bytes(b"this is not a database" * 400)
    warnings = flatten_through_a_fault(mode, twenty, f"sqlite:///{path}", lambda: None, caplog)
    assert len(warnings) == 1 and "not a database" in warnings[0]


def test_the_sqlite_file_locked_by_another_process_in_the_middle_of_a_flatten(
    mode: str, twenty: Simulator, tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "fleet.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def lock() -> None:
        holder.execute("BEGIN EXCLUSIVE")  # and never let go during the flatten

    try:
        warnings = flatten_through_a_fault(mode, twenty, f"sqlite:///{path}", lock, caplog)
    finally:
        holder.close()
    assert len(warnings) == 1 and "locked" in warnings[0]


def test_a_default_store_that_cannot_be_created_means_memory_and_one_warning(
    mode: str,
    twenty: Simulator,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker / "state"))  # no directory can be made under a file
    monkeypatch.delenv(ENVIRONMENT)
    warnings = flatten_through_a_fault(mode, twenty, "sqlite:", lambda: None, caplog)
    assert len(warnings) == 1 and "cannot be used" in warnings[0] and "keeps its IP limits to itself" in warnings[0]
