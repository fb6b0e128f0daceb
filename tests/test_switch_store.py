"""The switch's store, trusted for nothing: real SQLite files and a real Redis, forged values of every kind,
an arming call that stores its countdown or raises, the file's modes, and passwords kept out of every output."""

from __future__ import annotations

import io
import json
import logging
import os
import pathlib
import sqlite3
import stat
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest

import papi_plugin
from papi_plugin import guard as guard_command
from papi_plugin.limits import sqlite as limits_sqlite
from papi_plugin.simulator import Simulator
from papi_plugin.switch import records
from papi_plugin.switch.arming import account_of
from papi_plugin.switch.guard import Guard
from papi_plugin.switch.stores import Unusable, switch_store
from tests.fake_time import FakeTime
from tests.helpers import Runner, binance
from tests.redis_server import RedisServer


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'switch.sqlite3'}"
    return str(request.getfixturevalue("redis_url"))


def bot(sim: Simulator, url: str, mode: str = "sync") -> Any:
    exchange = sim.attach(papi_plugin.extend(binance(mode, {"apiKey": sim.api_key, "secret": sim.secret})))
    exchange.options["cancelAllMarginOrders"]["limitsStore"] = url
    return exchange


class Forger:
    """Writes into the store what no rule of the plugin writes, as anyone who may write the store could."""

    def __init__(self, url: str, account: str) -> None:
        self.url, self.account = url, account
        self.sqlite = url.startswith("sqlite")

    def _redis(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url, decode_responses=True)

    def _db(self) -> sqlite3.Connection:
        switch_store(self.url)[0].countdowns(self.account)  # the tables exist
        return sqlite3.connect(limits_sqlite.path_of(self.url), isolation_level=None)

    def countdown(self, name: str, timeout: Any, armed: Any) -> None:
        if self.sqlite:
            with self._db() as db:
                db.execute(
                    "INSERT OR REPLACE INTO switch_countdowns VALUES (?, ?, ?, ?)", (self.account, name, timeout, armed)
                )
        else:
            self._redis().hset(f"papi_plugin:switch:countdowns:{self.account}", name, f"{timeout} {armed}")

    def lease(self, holder: str, until: Any) -> None:
        if self.sqlite:
            with self._db() as db:
                db.execute("INSERT OR REPLACE INTO switch_leases VALUES (?, ?, ?)", (self.account, holder, until))
        elif isinstance(until, int):  # a lease whose time left is beyond any guard's
            self._redis().set(f"papi_plugin:switch:lease:{self.account}", holder, px=10**12)
        else:
            self._redis().set(f"papi_plugin:switch:lease:{self.account}", holder)  # no expiry: endless

    def firing(self, name: str, text: str) -> None:
        if self.sqlite:
            with self._db() as db:
                db.execute(
                    "INSERT OR REPLACE INTO switch_firings VALUES (?, ?, ?, ?)", (self.account, name, "zzz", text)
                )
        else:
            self._redis().hset(f"papi_plugin:switch:firings:{self.account}", f"{name}\nzzz", text)

    def ip(self, key: str, **fields: Any) -> None:
        """The IP's limits row, with ``fields`` forged."""
        values = {"gate_until": 0.0, "banned": 0, "window": 0, "reserved": 0, "in_flight": 0, "carried": 0, "used": 0}
        values["others"] = 0
        values.update(fields)
        if self.sqlite:
            store = limits_sqlite.Store(self.url)
            store.snapshot(key)  # the table exists
            store.close()
            with sqlite3.connect(limits_sqlite.path_of(self.url), isolation_level=None) as db:
                statement = "INSERT OR REPLACE INTO gates_and_budgets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                db.execute(statement, (key, *values.values()))
        else:
            self._redis().hset(f"papi_plugin:limits:{key}", mapping={k: str(v) for k, v in values.items()})


def due_now(guard: Guard, fake_time: FakeTime) -> None:
    """Let the guard see the countdowns, then let their timeouts run on its clock."""
    guard.read()
    fake_time.sleep(1)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# -- fail closed: the countdown is in the named store, or the call raises


def test_an_arm_right_after_a_store_failure_is_tried_at_once_and_stored(
    mode: str, sim: Simulator, own_redis: RedisServer
) -> None:
    run = Runner()
    exchange = bot(sim, own_redis.url, mode)
    own_redis.stop()
    with pytest.raises(ccxt.ExchangeNotAvailable, match="the countdown is not armed"):
        run.call(exchange.cancel_all_portfolio_orders_after, 60_000)
    own_redis.start()  # back a moment later: the next call is not skipped over to anything else
    armed = run.call(exchange.cancel_all_portfolio_orders_after, 60_000)
    _, rows = switch_store(own_redis.url)[0].countdowns(account_of(sim.api_key))
    assert rows == [("default", "60000", str(armed["armed"]))]
    run.close([exchange])


def test_an_arm_into_a_locked_sqlite_file_raises_and_the_next_is_stored(
    mode: str, sim: Simulator, tmp_path: pathlib.Path
) -> None:
    run = Runner()
    url = f"sqlite:///{tmp_path / 'switch.sqlite3'}"
    exchange = bot(sim, url, mode)
    run.call(exchange.cancel_all_portfolio_orders_after, 60_000)
    holder = sqlite3.connect(tmp_path / "switch.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ccxt.ExchangeNotAvailable, match="locked"):
            run.call(exchange.cancel_all_portfolio_orders_after, 30_000)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert run.call(exchange.cancel_all_portfolio_orders_after, 30_000)["timeout"] == 30_000
    run.close([exchange])


def test_without_the_redis_extra_an_arm_says_what_to_install(monkeypatch: pytest.MonkeyPatch, sim: Simulator) -> None:
    import sys

    for name in [
        name
        for name in sys.modules
        if name == "redis" or name.startswith(("redis.", "papi_plugin.switch.redis", "papi_plugin.limits.redis"))
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "redis", None)  # as if redis-py were not installed
    exchange = bot(sim, "redis://127.0.0.1:6379/0")
    with pytest.raises(ccxt.ExchangeNotAvailable, match=r"pip install 'papi_plugin\[redis\]'.*not armed"):
        exchange.cancel_all_portfolio_orders_after(60_000)


# -- nothing read back is trusted


def test_a_forged_countdown_row_is_ignored_said_once_and_hides_no_other(
    store_url: str, sim: Simulator, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    sim.seed_documented_example()
    exchange = bot(sim, store_url)
    account = account_of(sim.api_key)
    forger = Forger(store_url, account)
    forger.countdown("aaa-forged", "soon", "whenever")
    exchange.cancel_all_portfolio_orders_after(100)
    guard = Guard(exchange, switch_store(store_url)[0], clock=fake_time.clock)
    due_now(guard, fake_time)
    assert guard.check() == 0 and sim.open_orders() == []  # the real countdown fired
    guard.check()
    forged = [w for w in warnings_of(caplog) if "aaa-forged" in w]
    assert len(forged) == 1 and "'soon'" in forged[0] and "ignored" in forged[0]


@pytest.mark.parametrize("until", ["forever", 10**15])
def test_a_lease_no_guard_could_hold_is_taken_over_and_said(
    until: Any, store_url: str, sim: Simulator, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sim.seed_documented_example()
    exchange = bot(sim, store_url)
    exchange.cancel_all_portfolio_orders_after(100)
    Forger(store_url, account_of(sim.api_key)).lease("ghost:1:dead", until)
    guard = Guard(exchange, switch_store(store_url)[0], clock=fake_time.clock)
    due_now(guard, fake_time)
    assert guard.check() == 0 and sim.open_orders() == []
    said = [r.getMessage() for r in caplog.records if "taken over" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("countdown default due, lease held by ghost:1:dead")


def test_a_firing_record_that_does_not_parse_hides_no_other(store_url: str, sim: Simulator) -> None:
    exchange = bot(sim, store_url)
    account = account_of(sim.api_key)
    store, _ = switch_store(store_url)
    outcome = {"guard": "g", "outcome": "flat", "fired": 1, "attempts": 1, "finished": 2, "orders": 0}
    store.record(account, "default", records.firing_id(1, "g"), json.dumps(outcome))
    Forger(store_url, account).firing("default", "{not json")
    armed = exchange.cancel_all_portfolio_orders_after(60_000)
    assert armed["lastFiring"] == outcome


def test_a_ban_end_years_away_is_ignored_and_the_cancel_goes_out(
    store_url: str, mode: str, sim: Simulator, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    run = Runner()
    sim.seed_documented_example()
    exchange = bot(sim, store_url, mode)
    run.call(exchange.load_markets)
    key = f"{sim.url} {sim.instance}"
    Forger(store_url, "").ip(key, gate_until=fake_time.clock() + 31 * 365 * 86400, banned=1)
    assert len(run.call(exchange.cancel_all_margin_orders, "BTC/USDT")) == 3
    assert any("more than 3 days" in w or "a gate closed until" in w for w in warnings_of(caplog))
    run.close([exchange])


@pytest.mark.parametrize(
    "forged",
    [{"window": 10**9, "reserved": 10**6 - 1}, {"reserved": -(10**6)}, {"used": 10**13}],
    ids=["window-from-the-future", "negative-reservation", "figure-beyond-any"],
)
def test_forged_budget_counts_neither_stop_the_calls_nor_switch_pacing_off(
    forged: dict[str, int],
    store_url: str,
    mode: str,
    sim: Simulator,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = Runner()
    sim.seed_documented_example()
    exchange = bot(sim, store_url, mode)
    exchange.options["cancelAllMarginOrders"].update({"weightLimit": 10, "maxElapsed": 600})
    run.call(exchange.load_markets)
    fake_time.advance_to_window(60)
    window = int(fake_time.clock() // 60)
    Forger(store_url, "").ip(f"{sim.url} {sim.instance}", **{"window": window, **forged})
    assert len(run.call(exchange.cancel_all_margin_orders, "BTC/USDT")) == 3  # not refused for a forged count
    assert len([w for w in warnings_of(caplog) if "budget" in w and "ignored" in w]) == 1
    fake_time.waits.clear()
    run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    run.call(exchange.cancel_all_margin_orders, "BTC/USDT")  # 15 of a limit of 10: pacing is still on
    assert fake_time.waits and fake_time.waits[0] > 1
    run.close([exchange])


# -- the file and the password


def test_the_default_file_is_made_0600_in_a_0700_folder_of_the_state_home_whatever_the_umask(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    previous = os.umask(0o022)
    try:
        store, _ = switch_store("sqlite:")
        store.beat("account", "guard")
    finally:
        os.umask(previous)
    folder = tmp_path / "state" / "papi_plugin"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "limits.sqlite3").stat().st_mode) == 0o600
    assert store.where == str(folder / "limits.sqlite3")


def test_a_symlinked_or_shared_store_file_is_refused(tmp_path: pathlib.Path, sim: Simulator) -> None:
    real = tmp_path / "real.sqlite3"
    real.touch(0o600)
    (tmp_path / "link.sqlite3").symlink_to(real)
    with pytest.raises(Unusable, match="symbolic link"):
        switch_store(f"sqlite:///{tmp_path / 'link.sqlite3'}")
    shared = tmp_path / "shared.sqlite3"
    shared.touch()
    shared.chmod(0o666)
    with pytest.raises(Unusable, match="writable by other users"):
        switch_store(f"sqlite:///{shared}")
    exchange = bot(sim, f"sqlite:///{tmp_path / 'link.sqlite3'}")
    with pytest.raises(ccxt.ExchangeNotAvailable, match="symbolic link"):
        exchange.cancel_all_portfolio_orders_after(60_000)


def test_the_guard_refuses_a_symlinked_store_with_exit_2(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real.sqlite3"
    real.touch(0o600)
    (tmp_path / "link.sqlite3").symlink_to(real)
    monkeypatch.setenv("BINANCE_API_KEY", "k")
    monkeypatch.setenv("BINANCE_API_SECRET", "s")
    err = io.StringIO()
    for mode in ([], ["--status"], ["--check"]):
        assert (
            guard_command.main([*mode, "--limits-store", f"sqlite:///{tmp_path / 'link.sqlite3'}"], io.StringIO(), err)
            == 2
        )
    assert err.getvalue().count("symbolic link") == 3


@pytest.fixture
def password_redis(own_redis: RedisServer) -> Iterator[str]:
    import redis

    client = redis.Redis(port=own_redis.port)
    client.config_set("requirepass", "s3cret-pw")
    client.close()
    yield f"redis://:s3cret-pw@127.0.0.1:{own_redis.port}/0"


def test_a_redis_password_reaches_no_log_error_status_or_check(
    password_redis: str,
    sim: Simulator,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO)
    exchange = bot(sim, password_redis)
    exchange.cancel_all_portfolio_orders_after(60_000)  # no guard alive: a WARNING naming the store
    wrong = bot(sim, password_redis.replace("s3cret-pw", "wrong-pw"))
    with pytest.raises(ccxt.ExchangeNotAvailable) as raised:
        wrong.cancel_all_portfolio_orders_after(60_000)
    guard = Guard(exchange, switch_store(password_redis)[0], clock=fake_time.clock)
    guard.beat()
    monkeypatch.setenv("BINANCE_API_KEY", sim.api_key)
    outputs = [str(raised.value), caplog.text, guard.where]
    for mode in ("--status", "--check"):
        out, err = io.StringIO(), io.StringIO()
        guard_command.main([mode, "--limits-store", password_redis], out, err)
        outputs += [out.getvalue(), err.getvalue()]
    assert all("s3cret-pw" not in text and "wrong-pw" not in text for text in outputs)
    assert f"127.0.0.1:{password_redis.rsplit(':', 1)[1].split('/')[0]}" in outputs[-2]  # the host is shown


def test_a_key_prefix_keeps_namespaces_apart_and_a_countdown_outlives_its_deadline_by_a_day(
    redis_url: str, sim: Simulator
) -> None:
    import redis

    first, second = bot(sim, redis_url + "?keyPrefix=desk-a:"), bot(sim, redis_url + "?keyPrefix=desk-b:")
    first.cancel_all_portfolio_orders_after(60_000)
    second.cancel_all_portfolio_orders_after(0)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    account = account_of(sim.api_key)
    assert client.hkeys(f"desk-a:switch:countdowns:{account}") == ["default"]
    assert not client.exists(f"desk-b:switch:countdowns:{account}")
    left = client.pttl(f"desk-a:switch:countdowns:{account}")
    assert 60_000 + 86_400_000 - 5000 < left <= 60_000 + 86_400_000
    client.close()
