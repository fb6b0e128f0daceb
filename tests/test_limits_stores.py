"""Every limits store keeps the same rules (``limits/state.py``): memory, SQLite and a real Redis, sync and async.

The rules are written once in Python (memory, SQLite) and once in Lua (Redis): a random sequence of
reservations, answers and gate closings must give the same admissions and the same state in each.
"""

from __future__ import annotations

import asyncio
import itertools
import pathlib
import sqlite3
from collections.abc import Iterator
from typing import Any

import ccxt
import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from papi_plugin.limits import state, stores
from papi_plugin.limits.state import IpState
from tests.fake_time import FakeTime
from tests.redis_server import RedisServer

START = 6000.0
WINDOW = 10.0
_keys = itertools.count()

Op = tuple[str, float, int, int, bool]  # (what, seconds later, a number, another, a flag)
operations = st.lists(
    st.tuples(
        st.sampled_from(["acquire", "answered", "close_gate"]),
        st.floats(0, 25, allow_nan=False),
        st.integers(0, 40),
        st.integers(-1, 150),
        st.booleans(),
    ),
    max_size=25,
)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[Any]:
    if request.param == "memory":
        url = "memory"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    else:
        url = request.getfixturevalue("redis_url")
    opened = stores.open_store(url)
    yield opened
    opened.close()


def play(ops: list[Op], apply: Any) -> list[Any]:
    """Run ``ops`` through ``apply(name, *args)``; the admissions it gave, in order."""
    now, tickets, seen = START, [], []
    for what, later, number, other, flag in ops:
        now += later
        if what == "acquire":
            admission = apply("acquire", number, 60 if flag else 100, WINDOW, now)
            seen.append(admission)
            if admission.admitted:
                tickets.append((admission.ticket, number))
        elif what == "answered" and tickets:
            ticket, weight = tickets.pop(number % len(tickets))
            apply("answered", ticket, weight, None if other < 0 else other, WINDOW, now)
        elif what == "close_gate":
            apply("close_gate", now + number, flag, now)
    return seen


def by_the_rules(ops: list[Op]) -> tuple[list[Any], IpState]:
    ip = IpState()
    rules: dict[str, Any] = {"acquire": state.acquire, "answered": state.answered, "close_gate": state.close_gate}
    return play(ops, lambda name, *args: rules[name](ip, *args)), ip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_a_store_applies_the_rules_exactly(store: Any, ops: list[Op]) -> None:
    key = f"test-{next(_keys)}"
    expected, ip = by_the_rules(ops)
    assert play(ops, lambda name, *args: getattr(store, name)(key, *args)) == expected
    assert store.snapshot(key).fields() == ip.fields()
    assert store.gate(key) == (ip.gate_until, ip.banned)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_the_async_redis_store_applies_the_rules_exactly(redis_url: str, ops: list[Op]) -> None:
    key = f"test-{next(_keys)}"
    expected, ip = by_the_rules(ops)
    store = stores.open_store(redis_url, "AsyncStore")

    async def played() -> tuple[list[Any], tuple[float, bool]]:
        seen = []
        now, tickets = START, []
        for what, later, number, other, flag in ops:  # the same walk as play(), awaiting each step
            now += later
            if what == "acquire":
                admission = await store.acquire(key, number, 60 if flag else 100, WINDOW, now)
                seen.append(admission)
                if admission.admitted:
                    tickets.append((admission.ticket, number))
            elif what == "answered" and tickets:
                ticket, weight = tickets.pop(number % len(tickets))
                await store.answered(key, ticket, weight, None if other < 0 else other, WINDOW, now)
            elif what == "close_gate":
                await store.close_gate(key, now + number, flag, now)
        return seen, await store.gate(key)

    seen, gate = asyncio.run(played())
    assert seen == expected
    assert gate == (ip.gate_until, ip.banned)


def test_the_redis_hash_expires_once_nothing_in_it_matters(redis_url: str) -> None:
    import redis

    store = stores.open_store(redis_url)
    store.acquire("ip", 5, 100, WINDOW, START + 1)
    client = redis.Redis.from_url(redis_url)
    ttl = client.pttl("papi_plugin:limits:ip") / 1000
    assert WINDOW < ttl <= 2 * WINDOW + 1  # the window after this one may still count what is in flight
    store.close_gate("ip", START + 1 + 300, True, START + 1)
    assert 300 < client.pttl("papi_plugin:limits:ip") / 1000 <= 301
    client.close()
    store.close()


def test_the_sqlite_store_reopens_a_file_that_was_removed(tmp_path: pathlib.Path, fake_time: FakeTime) -> None:
    from papi_plugin.limits import sqlite

    path = tmp_path / "limits.sqlite3"
    store = sqlite.Store(f"sqlite:///{path}", clock=fake_time.clock)
    store.close_gate("ip", START + 300, True, START)
    path.unlink()
    assert store.gate("ip") == (START + 300, True)  # the file is looked at again a moment later
    fake_time.sleep(sqlite.CHECK_FILE_SECONDS)
    assert store.gate("ip") == (0.0, False)  # a new, empty file: what the other processes now share
    store.close_gate("ip", START + 100, True, START)
    assert path.exists() and stores.open_store(f"sqlite:///{path}").gate("ip") == (START + 100, True)
    store.close()


@pytest.mark.parametrize(
    ("url", "module"),
    [
        ("memory", "papi_plugin.limits.memory"),
        ("sqlite:", "papi_plugin.limits.sqlite"),
        ("sqlite:////var/lib/bots/limits.sqlite3", "papi_plugin.limits.sqlite"),
        ("redis://127.0.0.1:6379/0", "papi_plugin.limits.redis"),
        ("rediss://cache.example:6380/1", "papi_plugin.limits.redis"),
        ("unix:///run/redis.sock", "papi_plugin.limits.redis"),
    ],
)
def test_a_store_is_found_by_its_url_scheme_in_one_table(url: str, module: str) -> None:
    assert stores.STORES[stores.scheme(stores.checked_url(url, "test"))] == module


def test_the_default_store_is_a_sqlite_file_in_the_users_state_folder_not_a_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    from papi_plugin.limits import sqlite

    monkeypatch.delenv(stores.ENVIRONMENT)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert stores.configured(None) == "sqlite:"
    assert sqlite.path_of("sqlite:") == str(tmp_path / "papi_plugin" / "limits.sqlite3")
    monkeypatch.delenv("XDG_STATE_HOME")
    expected = pathlib.Path.home() / ".local" / "state" / "papi_plugin" / "limits.sqlite3"
    assert sqlite.path_of("sqlite:") == str(expected)


def test_the_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(stores.ENVIRONMENT, "redis://10.1.1.1:6379/0")
    assert stores.configured("memory") == "memory"
    assert stores.configured(None) == "redis://10.1.1.1:6379/0"
    monkeypatch.setenv(stores.ENVIRONMENT, "mongodb://x")
    with pytest.raises(ccxt.BadRequest, match="PAPI_PLUGIN_LIMITS_STORE"):
        stores.configured(None)


def test_a_password_in_a_store_url_is_never_shown() -> None:
    assert stores.shown("redis://bot:s3cretPass@10.0.0.5:6379/0") == "redis://***@10.0.0.5:6379/0"


def test_a_redis_server_can_be_stopped_and_started_again(own_redis: RedisServer) -> None:
    store = stores.open_store(own_redis.url)
    store.close_gate("ip", START + 300, True, START)
    own_redis.stop()
    with pytest.raises(Exception, match="onnect"):
        store.gate("ip")
    own_redis.start()
    assert store.gate("ip") == (0.0, False)  # nothing saved to disk: a restarted Redis is empty
    store.close()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_nothing_secret_goes_into_the_store(
    kind: str, mode: str, sim: Any, tmp_path: pathlib.Path, request: pytest.FixtureRequest
) -> None:
    import papi_plugin
    from tests.helpers import Runner, binance

    url = f"sqlite:///{tmp_path / 'limits.sqlite3'}" if kind == "sqlite" else request.getfixturevalue("redis_url")
    run = Runner()
    exchange = sim.attach(papi_plugin.extend(binance(mode, {"apiKey": sim.api_key, "secret": sim.secret})))
    exchange.options["cancelAllMarginOrders"]["limitsStore"] = url
    sim.seed_documented_example()
    assert len(run.call(exchange.cancel_all_margin_orders, "BTC/USDT")) == 3
    run.close([exchange])
    key = f"{sim.url} {sim.instance}"  # the simulator's origin and instance: what names the IP, nothing more
    if kind == "sqlite":
        db = sqlite3.connect(tmp_path / "limits.sqlite3")
        assert [row[0] for row in db.execute("SELECT key FROM gates_and_budgets")] == [key]
        dumped = "\n".join(db.iterdump())
        db.close()
    else:
        import redis

        client = redis.Redis.from_url(url, decode_responses=True)
        assert client.keys("*") == [f"papi_plugin:limits:{key}"]
        dumped = "\n".join(f"{name!s} {client.hgetall(name)}" for name in client.keys("*"))
        client.close()
    for secret in (sim.api_key, sim.secret, "signature", "timestamp="):
        assert secret not in dumped
