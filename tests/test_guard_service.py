"""papi-guard as a service: real processes, real files, a real Redis. It waits for what is not there yet (its
store, Binance), loses no firing to a locked store, fires on the deadline the bot meant whatever the hosts'
clocks say, tells systemd and a person whether the switch would work."""

from __future__ import annotations

import io
import json
import os
import pathlib
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from papi_plugin import guard as guard_command
from papi_plugin.commands import UNPROTECTED
from papi_plugin.simulator import Fault, Simulator
from papi_plugin.switch import records
from papi_plugin.switch.arming import account_of
from papi_plugin.switch.stores import switch_store
from tests.helpers import open_anywhere
from tests.redis_server import RedisServer, free_port
from tests.warm import NETWORK, Bot, Warm

pytestmark = NETWORK

SECONDS = 20.0  # the longest any process here is waited for, on a loaded machine
SKEWED_CLOCK = pathlib.Path(__file__).resolve().parent / "skewed_clock"
ROOT = pathlib.Path(__file__).resolve().parent.parent


def last_firing(url: str, key: str) -> dict[str, Any] | None:
    firings, _ = records.firings(switch_store(url)[0].firings(account_of(key)))
    found = firings.get("default")
    return found[0] if found else None


def wait_for_flat(url: str, key: str, seconds: float = SECONDS) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    seen: Any = None
    while time.monotonic() < deadline:
        try:
            seen = last_firing(url, key)
        except Exception as error:  # the store is still coming up, or locked
            seen = error
        if isinstance(seen, dict) and seen["outcome"] == "flat":
            return seen
        time.sleep(0.05)
    raise AssertionError(f"no flat firing in {url}: {seen!r}")


def environment(**extra: str) -> dict[str, str]:
    found = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "PAPI_TEST_"))}
    found.update(extra)
    return found


class Cold:
    """A command started cold (a fresh interpreter), as a shell or systemd starts it; killed at the end."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[str]] = []

    def start(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT
        )
        self.running.append(child)
        return child

    def stop(self) -> None:
        for child in self.running:
            if child.poll() is None:
                child.kill()
            child.communicate(timeout=SECONDS)


@pytest.fixture
def cold() -> Iterator[Cold]:
    started = Cold()
    yield started
    started.stop()


def read_until(child: subprocess.Popen[str], word: str) -> list[str]:
    assert child.stdout is not None
    said: list[str] = []
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            raise AssertionError(f"exited before {word!r}: {''.join(said)}")
        said.append(line)
        if word in line:
            return said
    raise AssertionError(f"no {word!r}: {''.join(said)}")


# -- fail closed at the start


def test_a_guard_without_the_redis_extra_exits_2_saying_what_to_install(cold: Cold, tmp_path: pathlib.Path) -> None:
    blocked = tmp_path / "no_redis"
    blocked.mkdir()
    (blocked / "sitecustomize.py").write_text("import sys\nsys.modules['redis'] = None  # not installed\n")
    env = environment(BINANCE_API_KEY="k", BINANCE_API_SECRET="s", PYTHONPATH=f"{blocked}{os.pathsep}{ROOT}")
    child = cold.start(["-m", "papi_plugin.guard", "--limits-store", "redis://127.0.0.1:1/0"], env)
    output, _ = child.communicate(timeout=SECONDS)
    assert child.returncode == 2
    said = "papi-guard: the store redis://127.0.0.1:1/0 needs redis, which is not installed:"
    assert output.strip().splitlines() == [f"{said} pip install 'papi_plugin[redis]'"]


@pytest.mark.realtime
def test_a_guard_started_before_its_redis_and_binance_waits_for_both_then_fires(tmp_path: pathlib.Path) -> None:
    redis_server, sim_port = RedisServer(), free_port()
    sim = Simulator(port=sim_port)
    keys = {"BINANCE_API_KEY": sim.keys.api_key, "BINANCE_API_SECRET": sim.keys.secret}
    argv = ["--base-url", f"http://127.0.0.1:{sim_port}", "--limits-store", redis_server.url]
    watching = Warm.guard(tmp_path / "guard.txt", keys, argv)
    try:
        watching.read_until("watching", SECONDS)  # announced at once, though neither is there yet
        time.sleep(1.5)  # it keeps trying both
        assert watching.process.is_alive()
        with redis_server, sim:
            sim.seed_documented_example()
            sim.seed_futures_example()
            plan = Bot(sim.url, sim.api_key, sim.secret, redis_server.url, "sync", 500)
            bot = Warm.bot(tmp_path / "bot.txt", plan)
            bot.read_until("armed", SECONDS)
            bot.send_signal(signal.SIGKILL)
            wait_for_flat(redis_server.url, sim.api_key)
            assert open_anywhere(sim) == 0
            bot.stop(SECONDS)
        said = watching.text()
        assert said.count("the switch's store redis://127.0.0.1") == 2  # failed once (a minute at most), works again
        assert "Binance failed" in said and "works again" in said
    finally:
        watching.stop(SECONDS)


@pytest.mark.realtime
def test_a_store_locked_as_a_firing_ends_loses_neither_its_record_nor_its_disarm(
    account_sim: Simulator, tmp_path: pathlib.Path
) -> None:
    url = f"sqlite:///{tmp_path / 'switch.sqlite3'}"
    account_sim.inject("GET /papi/v1/margin/openOrders", Fault.delay(1.0), Fault.delay(1.0))  # a slow flatten
    keys = {"BINANCE_API_KEY": account_sim.api_key, "BINANCE_API_SECRET": account_sim.secret}
    watching = Warm.guard(tmp_path / "guard.txt", keys, ["--base-url", account_sim.url, "--limits-store", url])
    bot = None
    try:
        watching.read_until("watching", SECONDS)
        plan = Bot(account_sim.url, account_sim.api_key, account_sim.secret, url, "sync", 300)
        bot = Warm.bot(tmp_path / "bot.txt", plan)
        bot.read_until("armed", SECONDS)
        bot.send_signal(signal.SIGKILL)
        watching.read_until("flattening the account", SECONDS)
        holder = sqlite3.connect(tmp_path / "switch.sqlite3", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # locked through the end of the firing, for 4 s
        time.sleep(4)
        watching.read_until("failed", SECONDS)  # the guard met the lock
        holder.execute("ROLLBACK")
        holder.close()
        firing = wait_for_flat(url, account_sim.api_key)
        assert firing["orders"] == 7 and open_anywhere(account_sim) == 0
        _, rows = switch_store(url)[0].countdowns(account_of(account_sim.api_key))
        assert rows == []  # disarmed once the store let it
        code, said = guard_main(url, account_sim.api_key, "--status")
        assert code == 0 and "last firing of default: flat" in said
    finally:
        watching.stop(SECONDS)
        if bot is not None:
            bot.stop(SECONDS)


def guard_main(url: str, key: str, *argv: str) -> tuple[int, str]:
    """``papi-guard ARGV --limits-store URL`` in this process with only ``BINANCE_API_KEY`` set: (code, stdout)."""
    saved = {name: os.environ.pop(name) for name in ("BINANCE_API_KEY", "BINANCE_API_SECRET") if name in os.environ}
    os.environ["BINANCE_API_KEY"] = key
    out = io.StringIO()
    try:
        return guard_command.main([*argv, "--limits-store", url], out, io.StringIO()), out.getvalue()
    finally:
        del os.environ["BINANCE_API_KEY"]
        os.environ.update(saved)


# -- one clock


BOT = """
import sys, time
import ccxt
import papi_plugin
from papi_plugin.simulator import attach
url, key, secret, store, push_for = sys.argv[1:6]
exchange = attach(papi_plugin.extend(ccxt.binance({"apiKey": key, "secret": secret})), url)
exchange.options["cancelAllMarginOrders"]["limitsStore"] = store
end = time.monotonic() + float(push_for)
while True:
    armed = exchange.cancel_all_portfolio_orders_after(1000)
    print("armed", armed["armed"], len(armed["guards"]), flush=True)
    if time.monotonic() > end:
        break
    time.sleep(0.2)
print("silent", flush=True)
time.sleep(3600)
"""


@pytest.mark.realtime
@pytest.mark.parametrize(
    ("bot_offset", "guard_offset", "kind"),
    [(3.5, 0, "sqlite"), (-3.5, 0, "sqlite"), (0, 3600, "sqlite"), (0, -3600, "sqlite"), (3.5, -3600, "redis")],
    ids=["bot-3.5s-ahead", "bot-3.5s-behind", "guard-1h-ahead", "guard-1h-behind", "redis-both-off"],
)
def test_a_countdown_fires_on_the_deadline_the_bot_meant_whatever_the_hosts_clocks_say(
    bot_offset: float,
    guard_offset: float,
    kind: str,
    account_sim: Simulator,
    cold: Cold,
    tmp_path: pathlib.Path,
    request: pytest.FixtureRequest,
) -> None:
    url = f"sqlite:///{tmp_path / 'switch.sqlite3'}" if kind == "sqlite" else str(request.getfixturevalue("redis_url"))
    keys = {"BINANCE_API_KEY": account_sim.api_key, "BINANCE_API_SECRET": account_sim.secret}
    path = f"{SKEWED_CLOCK}{os.pathsep}{ROOT}"
    guard_env = environment(**keys, PYTHONPATH=path, PAPI_TEST_CLOCK_OFFSET=str(guard_offset))
    watching = cold.start(["-m", "papi_plugin.guard", "--base-url", account_sim.url, "--limits-store", url], guard_env)
    read_until(watching, "ready to fire")  # Binance's clock read: the guard knows its own is off
    bot_env = environment(PYTHONPATH=path, PAPI_TEST_CLOCK_OFFSET=str(bot_offset))
    pushing = cold.start(["-c", BOT, account_sim.url, account_sim.api_key, account_sim.secret, url, "2.0"], bot_env)
    said = read_until(pushing, "silent")
    pushes = [line.split() for line in said if line.startswith("armed")]
    assert last_firing(url, account_sim.api_key) is None and open_anywhere(account_sim) == 7  # never while it pushes
    assert all(int(guards) >= 1 for _, _, guards in pushes)  # and it was told a guard is alive
    pushing.kill()
    firing = wait_for_flat(url, account_sim.api_key)
    meant = int(pushes[-1][1]) + 1000  # the last push + its timeout, on the store's clock
    assert 0 <= firing["fired"] - meant <= 1000 and open_anywhere(account_sim) == 0


# -- telling systemd and a person


def test_check_says_in_each_state_whether_the_switch_would_work(tmp_path: pathlib.Path) -> None:
    url, key = f"sqlite:///{tmp_path / 'switch.sqlite3'}", "check-key"
    store, _ = switch_store(url)
    account = account_of(key)

    def check() -> tuple[int, str]:
        return guard_main(url, key, "--check")

    code, said = check()
    assert code == UNPROTECTED and "no papi-guard of account" in said
    store.beat(account, "guard-1")
    code, said = check()
    assert code == 0 and "ok: guard-1 watching" in said
    store.arm(account, "late", 1)
    db = sqlite3.connect(tmp_path / "switch.sqlite3", isolation_level=None)
    db.execute("UPDATE switch_countdowns SET armed_ms = armed_ms - 10000")  # past its deadline by 10 s
    code, said = check()
    assert code == UNPROTECTED and "countdown late is 10.0 s past its deadline" in said
    store.disarm(account, "late")
    outcome = {"guard": "guard-1", "outcome": "trying", "fired": 1, "attempts": 3, "error": "DDoSProtection: banned"}
    store.record(account, "default", records.firing_id(1, "guard-1"), json.dumps(outcome))
    code, said = check()
    assert code == UNPROTECTED and "the last firing of default is not flat: trying (DDoSProtection: banned)" in said
    db.close()


def test_check_and_status_need_only_the_key_and_an_unreachable_store_is_a_problem(own_redis: RedisServer) -> None:
    code, said = guard_main(own_redis.url, "only-the-key", "--status")
    assert code == 0 and f"account {account_of('only-the-key')} in redis://127.0.0.1:{own_redis.port}/0" in said
    own_redis.stop()
    code, said = guard_main(own_redis.url, "only-the-key", "--check")
    assert code == UNPROTECTED and "cannot be read" in said


@pytest.mark.realtime
def test_the_guard_tells_systemd_ready_and_beats_and_reads_its_keys_from_systemd_credentials(
    account_sim: Simulator, tmp_path: pathlib.Path
) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "binance_api_key").write_text(account_sim.api_key + "\n")
    (credentials / "binance_api_secret").write_text(account_sim.secret + "\n")
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listening.bind(str(tmp_path / "notify"))
    listening.settimeout(SECONDS)
    url = f"sqlite:///{tmp_path / 'switch.sqlite3'}"
    env = {"CREDENTIALS_DIRECTORY": str(credentials), "NOTIFY_SOCKET": str(tmp_path / "notify")}
    watching = Warm.guard(tmp_path / "guard.txt", env, ["--base-url", account_sim.url, "--limits-store", url])
    try:
        said = [listening.recv(4096).decode() for _ in range(3)]
        assert said[0].startswith("READY=1\nSTATUS=watching account " + account_of(account_sim.api_key))
        assert all(line.startswith("WATCHDOG=1\nSTATUS=") for line in said[1:])
        assert account_sim.secret not in watching.text()
    finally:
        watching.stop(SECONDS)
        listening.close()


def test_the_documented_unit_runs_the_guard_as_a_service() -> None:
    unit = (ROOT / "docs" / "papi-guard.service").read_text()
    settings: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            name, value = line.split("=", 1)
            settings.setdefault(name, []).append(value)
    assert settings["Type"] == ["notify"] and settings["WatchdogSec"]
    assert settings["StartLimitIntervalSec"] == ["0"] and settings["Restart"] == ["always"]
    assert float(settings["RestartSec"][0]) >= 5  # not once a second into the start limit
    assert settings["NoNewPrivileges"] == ["yes"] and settings["ProtectSystem"] == ["strict"]
    assert settings["User"] and settings["StateDirectory"] == ["papi-guard"]
    assert sorted(settings["LoadCredential"]) == [
        "binance_api_key:/etc/papi-guard/binance_api_key",
        "binance_api_secret:/etc/papi-guard/binance_api_secret",
    ]
    [store] = [v for v in settings["Environment"] if v.startswith("PAPI_PLUGIN_LIMITS_STORE=")]
    assert store == "PAPI_PLUGIN_LIMITS_STORE=sqlite:////var/lib/papi-guard/limits.sqlite3"
    assert settings["ExecStart"][0].endswith("papi-guard") and "EnvironmentFile" not in settings
    guide = (ROOT / "docs" / "guide.md").read_text()
    assert unit.strip() in guide  # the guide shows the unit that is tested
