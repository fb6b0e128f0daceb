"""Every Python block of the README runs as written, against the simulator, with keys from the environment."""

from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

import papi_plugin
from papi_plugin.simulator import DEMO_API_KEY, DEMO_SECRET, Simulator
from tests.fake_time import FakeTime
from tests.helpers import simulator

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
# Every Python block but the freqtrade strategy, which needs freqtrade itself.
BLOCKS = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL) if "freqtrade" not in b]
STANDALONE_URL = "http://127.0.0.1:8765"  # the README's stand-alone simulator: the test's one stands in
REDIS_URL = "redis://127.0.0.1:6379/0"  # the README's Redis: the test's own redis-server stands in


class PointAtSimulator:
    """A papi_plugin plugin that sends every extended exchange to the test's simulator (as a proxy would)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    @papi_plugin.hookimpl(wrapper=True)
    def register_capabilities(self, exchange: Any) -> Any:
        offers = yield
        self.sim.attach(exchange)
        return offers


@pytest.fixture
def bot_environment(monkeypatch: pytest.MonkeyPatch, fake_time: FakeTime | None) -> Iterator[Simulator]:
    """A seeded simulator every extended exchange talks to, its keys in the environment; plugins a block
    registers are removed afterwards."""
    manager = papi_plugin.plugin_manager()
    before = set(manager.get_plugins())
    with simulator(fake_time, api_key=DEMO_API_KEY, secret=DEMO_SECRET) as sim:  # the pair the README shows
        sim.seed_documented_example()
        sim.place("ETHUSDT", "SELL", "LIMIT", "1", "5000")
        sim.seed_futures_example()
        monkeypatch.setenv("BINANCE_API_KEY", sim.api_key)
        monkeypatch.setenv("BINANCE_API_SECRET", sim.secret)
        redirect = PointAtSimulator(sim)
        manager.register(redirect, name="point-at-simulator")
        try:
            yield sim
        finally:
            for plugin in set(manager.get_plugins()) - before:
                manager.unregister(plugin)


def test_the_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block-{i}" for i in range(len(BLOCKS))])
def test_a_readme_block_runs_as_written(
    block: str, bot_environment: Simulator, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    block = block.replace(STANDALONE_URL, bot_environment.url)
    redis_url = request.getfixturevalue("redis_url") if REDIS_URL in block else None
    if redis_url is not None:
        block = block.replace(REDIS_URL, redis_url)
    exec(compile(block, str(README), "exec"), {"__name__": "__readme__"})
    if redis_url is not None:  # the IP's limits went to that Redis, under the name the block gave
        import redis

        client = redis.Redis.from_url(redis_url)
        assert client.exists("papi_plugin:limits:egress-eu-1")
        client.close()
    said = capsys.readouterr()
    if "cancel_all_portfolio_orders_after" in block:  # the dead-man's switch: armed three times, then disarmed
        assert said.out.count("deadline 1") == 3 and "guards alive: []" in said.out
    elif "Simulator()" not in block:  # a block that runs its own simulator talks to that one
        assert bot_environment.seen("DELETE", "/papi/v1/margin/allOpenOrders"), "the block canceled nothing"
    assert "Traceback" not in said.err


def test_the_readmes_systemd_unit_runs_the_installed_guard() -> None:
    import configparser

    [unit] = re.findall(r"```ini\n(.*?)```", README.read_text(), re.DOTALL)
    parsed = configparser.ConfigParser(strict=False)
    parsed.read_string(unit)
    program = parsed["Service"]["ExecStart"].split()[0].rsplit("/", 1)[-1]
    pyproject = (README.parent / "pyproject.toml").read_text()  # tomllib is 3.11+; the project runs on 3.10
    assert program == "papi-guard" and f'{program} = "papi_plugin.guard:main"' in pyproject
    assert parsed["Service"]["Restart"] == "always"
