"""Arming the dead-man's switch from the bot, and papi-guard's one-shot and status reads, in this process."""

from __future__ import annotations

import io
import json
import pathlib
import time
from typing import Any

import ccxt
import pytest

from papi_plugin import guard
from papi_plugin.limits import stores
from papi_plugin.simulator import Simulator
from papi_plugin.switch.arming import account_of
from papi_plugin.switch.stores import switch_store
from tests.fake_time import FakeTime
from tests.helpers import Runner


def test_arming_returns_the_deadline_and_warns_when_no_guard_is_alive(
    mode: str, sim_exchange: tuple[Any, Runner], fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    exchange, run = sim_exchange
    armed = run.call(exchange.cancel_all_portfolio_orders_after, 5000)
    assert armed == {
        "name": "default",
        "timeout": 5000,
        "armed": armed["armed"],
        "deadline": armed["armed"] + 5000,  # on the store's clock
        "guards": [],
        "lastFiring": None,
    }
    assert abs(armed["armed"] - time.time() * 1000) < 5000  # SQLite's clock: this host's
    assert "no papi-guard of this account is alive" in caplog.text
    assert exchange.has["cancelAllPortfolioOrdersAfter"]
    disarmed = run.call(exchange.cancelAllPortfolioOrdersAfter, 0)
    assert disarmed["deadline"] == 0


def test_each_call_pushes_the_deadline_and_names_keep_countdowns_apart(sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    first = run.call(exchange.cancel_all_portfolio_orders_after, 5000)
    time.sleep(0.01)  # the store's clock is real: SQLite's
    pushed = run.call(exchange.cancel_all_portfolio_orders_after, 5000)
    other = run.call(exchange.cancel_all_portfolio_orders_after, 60_000, {"name": "grid-bot"})
    assert pushed["deadline"] > first["deadline"]
    store, _ = switch_store(stores.configured(None))
    _, rows = store.countdowns(account_of(exchange.apiKey))
    assert sorted(rows) == [("default", 5000, pushed["armed"]), ("grid-bot", 60_000, other["armed"])]


@pytest.mark.parametrize(
    ("timeout", "params", "said"),
    [
        (-1, None, "timeout must be an integer"),
        (1.5, None, "timeout must be an integer"),
        (True, None, "timeout must be an integer"),
        (None, None, "timeout must be an integer"),
        (1000, {"name": ""}, "name must be"),
        (1000, {"symbol": "BTC/USDT"}, "does not take the parameter 'symbol'"),
        (1000, ["name"], "params must be a dict"),
    ],
)
def test_bad_arguments_raise_bad_request_and_store_nothing(
    timeout: Any, params: Any, said: str, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    with pytest.raises(ccxt.BadRequest, match=said):
        run.call(exchange.cancel_all_portfolio_orders_after, timeout, params)


def test_the_key_is_never_stored_only_its_fingerprint(sim_exchange: tuple[Any, Runner], tmp_path: pathlib.Path) -> None:
    exchange, run = sim_exchange
    exchange.options["cancelAllMarginOrders"]["limitsStore"] = f"sqlite:///{tmp_path / 'switch.sqlite3'}"
    run.call(exchange.cancel_all_portfolio_orders_after, 5000)
    dumped = (tmp_path / "switch.sqlite3").read_bytes() + (tmp_path / "switch.sqlite3-wal").read_bytes()
    assert exchange.apiKey.encode() not in dumped and exchange.secret.encode() not in dumped
    assert account_of(exchange.apiKey).encode() in dumped


def test_a_store_that_fails_means_the_countdown_is_not_armed(mode: str, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    exchange.options["cancelAllMarginOrders"]["limitsStore"] = "redis://127.0.0.1:1/0"  # nothing listens there
    with pytest.raises(ccxt.ExchangeNotAvailable, match="the countdown is not armed"):
        run.call(exchange.cancel_all_portfolio_orders_after, 5000)


@pytest.mark.realtime
def test_guard_once_fires_a_due_countdown_and_status_shows_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    import ccxt as sync_ccxt

    import papi_plugin

    store = f"sqlite:///{tmp_path / 'switch.sqlite3'}"
    with Simulator() as sim:
        sim.seed_documented_example()
        sim.seed_futures_example()
        monkeypatch.setenv("BINANCE_API_KEY", sim.api_key)
        monkeypatch.setenv("BINANCE_API_SECRET", sim.secret)
        bot = sim.attach(papi_plugin.extend(sync_ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret})))
        bot.options["cancelAllMarginOrders"]["limitsStore"] = store
        bot.cancel_all_portfolio_orders_after(1)  # due at once
        args = ["--base-url", sim.url, "--limits-store", store]
        nothing = guard.main([*args, "--once"], io.StringIO(), io.StringIO())
        assert nothing == 0 and not sim.open_orders() and not sim.open_futures("um")
        out = io.StringIO()
        assert guard.main([*args, "--status", "--json"], out, io.StringIO()) == 0
        status = json.loads(out.getvalue())
        [firing] = status["firings"]["default"]
        assert status["countdowns"] == [] and firing["outcome"] == "flat" and firing["orders"] == 7
        assert {order["symbol"] for order in firing["canceled"]} == {"BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"}
        text = io.StringIO()
        guard.main([*args, "--status"], text, io.StringIO())
        assert "no countdown armed" in text.getvalue() and "last firing of default: flat" in text.getvalue()
        assert sim.api_key not in text.getvalue() + out.getvalue()


def test_guard_without_keys_exits_2() -> None:
    err = io.StringIO()
    assert guard.main(["--once"], io.StringIO(), err) == 2
    assert "BINANCE_API_KEY" in err.getvalue()


@pytest.mark.realtime
def test_guard_demo_fires_for_the_bot_that_stopped(caplog: pytest.LogCaptureFixture) -> None:
    err = io.StringIO()
    assert guard.main(["--demo"], io.StringIO(), err) == 0
    said = err.getvalue()
    assert "DEMO" in said and "passed its deadline" in said and "flat: 7 order(s) canceled on 3 symbol(s)" in said


def test_a_guard_whose_store_fails_keeps_watching(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    import ccxt as sync_ccxt

    import papi_plugin
    from papi_plugin.switch.guard import Guard

    exchange = sim.attach(papi_plugin.extend(sync_ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret})))
    exchange.options["cancelAllMarginOrders"]["limitsStore"] = "redis://127.0.0.1:1/0"  # nothing listens there
    store, _ = switch_store("redis://127.0.0.1:1/0")
    watcher = Guard(exchange, store)
    assert watcher.check() == 0  # nothing to fire, nothing raised
    watcher.beat()
    failures = [r for r in caplog.records if "the switch's store redis://127.0.0.1:1/0 failed" in r.getMessage()]
    assert len(failures) == 1  # said once, not once a step
    assert watcher.faults.failing() == ["the switch's store redis://127.0.0.1:1/0"]
