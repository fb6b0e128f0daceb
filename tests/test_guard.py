"""The dead-man's switch with real processes: a bot that arms and dies, papi-guard processes that watch,
one simulator holding orders of every kind, and the limits store (SQLite by default, or Redis) between them.

Real time is the point: a countdown runs on the clock.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from papi_plugin.simulator import Fault, Simulator
from papi_plugin.switch.arming import account_of
from papi_plugin.switch.stores import switch_store
from tests.helpers import open_anywhere
from tests.warm import NETWORK, Bot, Warm

pytestmark = NETWORK

SECONDS = 20.0  # the longest any process here is waited for, on a loaded machine


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """The default kind of store (SQLite, a file of the test's own), or Redis when the test asks for it."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    return str(request.getfixturevalue("redis_url"))


class Processes:
    """The test's bot and guard processes, forked warm (tests/warm.py); every one is killed at the end."""

    def __init__(self, sim: Simulator, store: str, folder: pathlib.Path) -> None:
        self.sim, self.store, self.folder = sim, store, folder
        self.running: list[Warm] = []

    def _output(self, name: str) -> pathlib.Path:
        return self.folder / f"{len(self.running)}-{name}.txt"

    def guard(self) -> Warm:
        """A ``papi-guard`` watching the account, once it says so."""
        keys = {"BINANCE_API_KEY": self.sim.api_key, "BINANCE_API_SECRET": self.sim.secret}
        argv = ["--base-url", self.sim.url, "--limits-store", self.store]
        process = Warm.guard(self._output("guard"), keys, argv)
        self.running.append(process)
        process.read_until("watching", SECONDS)
        return process

    def bot(self, mode: str, timeout_ms: int, refresh: float = 0, refresh_for: float = 0) -> tuple[Warm, int]:
        """A bot that arms ``timeout_ms``; with ``refresh``, pushes it that often for ``refresh_for`` s, then
        disarms and exits. Returns the process and the deadline it armed."""
        sim = self.sim
        plan = Bot(sim.url, sim.api_key, sim.secret, self.store, mode, timeout_ms, refresh, refresh_for)
        process = Warm.bot(self._output("bot"), plan)
        self.running.append(process)
        return process, int(process.read_until("armed", SECONDS).split()[1])

    def firings(self) -> dict[str, dict[str, Any]]:
        """The last firing of each countdown, as the guard recorded it."""
        store, _ = switch_store(self.store)
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for name, firing, text in store.firings(account_of(self.sim.api_key)):
            if name not in found or firing > found[name][0]:
                found[name] = (firing, json.loads(text))
        return {name: outcome for name, (_, outcome) in found.items()}

    def wait_for_firing(self, outcome: str = "flat") -> dict[str, Any]:
        deadline = time.monotonic() + SECONDS
        while time.monotonic() < deadline:
            fired = self.firings().get("default")
            if fired is not None and fired["outcome"] == outcome:
                return fired
            time.sleep(0.05)
        raise AssertionError(f"no {outcome} firing: {self.firings()}")

    def stop(self) -> None:
        for process in self.running:
            process.stop(SECONDS)


@pytest.fixture
def processes(account_sim: Simulator, store: str, tmp_path: pathlib.Path) -> Iterator[Processes]:
    started = Processes(account_sim, store, tmp_path)
    yield started
    started.stop()


@pytest.mark.realtime
@pytest.mark.parametrize(("store", "mode"), [("sqlite", "sync"), ("redis", "async")], indirect=["store"])
def test_a_bot_killed_after_arming_is_flattened_within_a_second_of_its_deadline(
    mode: str, processes: Processes, account_sim: Simulator
) -> None:
    processes.guard()
    bot, deadline = processes.bot(mode, 1000)
    bot.send_signal(signal.SIGKILL)
    fired = processes.wait_for_firing()
    assert open_anywhere(account_sim) == 0  # margin, USD-M and COIN-M, conditional orders included
    assert fired["deadlines"] == {"default": deadline} and fired["orders"] == 7
    assert 0 <= fired["fired"] - deadline <= 1000  # the guard fires within a second of the deadline
    assert fired["finished"] - deadline <= 3000  # and the account is confirmed flat (loaded-machine slack)


@pytest.mark.realtime
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_bot_that_keeps_refreshing_then_disarms_is_never_flattened(
    mode: str, processes: Processes, account_sim: Simulator
) -> None:
    processes.guard()
    bot, _ = processes.bot(mode, 800, refresh=0.2, refresh_for=1.6)  # 1.6 s: twice its timeout
    bot.read_until("disarmed", SECONDS)
    assert bot.wait(SECONDS) == 0
    time.sleep(1.0)  # past every deadline it ever armed
    assert processes.firings() == {} and open_anywhere(account_sim) == 7


@pytest.mark.realtime
def test_a_guard_killed_and_restarted_mid_countdown_fires_on_time(processes: Processes, account_sim: Simulator) -> None:
    first = processes.guard()
    bot, deadline = processes.bot("sync", 2000)  # time to start another guard, on a loaded machine
    bot.send_signal(signal.SIGKILL)
    first.send_signal(signal.SIGKILL)
    processes.guard()  # a new guard: the countdown is in the store, not in the dead one
    fired = processes.wait_for_firing()
    assert open_anywhere(account_sim) == 0
    assert 0 <= fired["fired"] - deadline <= 1000


@pytest.mark.realtime
def test_two_guards_fire_once(processes: Processes, account_sim: Simulator) -> None:
    processes.guard()
    processes.guard()
    bot, _ = processes.bot("async", 1000)
    bot.send_signal(signal.SIGKILL)
    fired = processes.wait_for_firing()
    time.sleep(0.5)  # time for a second firing, if there were one
    assert open_anywhere(account_sim) == 0 and processes.firings()["default"] == fired
    # One firing: one cancel pass and one fresh read, each discovering the margin orders once.
    margin_reads = [r for r in account_sim.requests if r.path == "/papi/v1/margin/openOrders"]
    discoveries = [r for r in margin_reads if "symbol" not in r.params]
    assert len(discoveries) == 2


@pytest.mark.realtime
def test_a_guard_whose_flatten_meets_a_418_waits_the_ban_out_then_flattens(
    processes: Processes, account_sim: Simulator
) -> None:
    ban = 2.0
    account_sim.inject("GET /papi/v1/margin/openOrders", Fault.banned(ban))
    processes.guard()
    bot, _ = processes.bot("sync", 500)
    bot.send_signal(signal.SIGKILL)
    fired = processes.wait_for_firing()
    assert open_anywhere(account_sim) == 0 and fired["attempts"] >= 2
    banned_at = min(r.at for r in account_sim.requests if r.status == 418)
    # Whatever was on its way when the 418 came may meet it too; nothing is sent after, until the ban ends.
    during = [r for r in account_sim.requests if banned_at + 0.3 < r.at < banned_at + ban - 0.1]
    assert during == []
    assert all(r.status == 200 for r in account_sim.requests if r.at > banned_at + 0.3)


@pytest.mark.realtime
@pytest.mark.parametrize(("signal_number", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_the_guard_command_stops_on_a_signal_with_the_clis_exit_codes(
    signal_number: int, code: int, account_sim: Simulator, store: str
) -> None:
    # The command itself, started cold as a service manager starts it (the other tests fork it warm).
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")},
        "BINANCE_API_KEY": account_sim.api_key,
        "BINANCE_API_SECRET": account_sim.secret,
    }
    command = [sys.executable, "-m", "papi_plugin.guard", "--base-url", account_sim.url, "--limits-store", store]
    watching = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background job starts with it ignored
    )
    try:
        assert watching.stderr is not None
        said = [watching.stderr.readline()]
        while "watching" not in said[-1] and said[-1]:
            said.append(watching.stderr.readline())
        assert "watching" in said[-1], "".join(said)
        watching.send_signal(signal_number)
        rest = watching.communicate(timeout=SECONDS)[1]
        assert "stopped" in rest
        assert watching.returncode == code
    finally:
        if watching.poll() is None:
            watching.kill()
            watching.communicate(timeout=SECONDS)
