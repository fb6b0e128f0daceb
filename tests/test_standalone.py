"""The simulator stand-alone, and a bot in another process pointed at it the way the README shows."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from papi_plugin.simulator import DEMO_API_KEY, DEMO_SECRET

BOT = """
import ccxt
import papi_plugin
from papi_plugin.simulator import attach

keys = {"apiKey": "papi-simulator-demo-key", "secret": "papi-simulator-demo-secret"}
exchange = papi_plugin.extend(ccxt.binance(keys))
attach(exchange, "%s")
print(sorted(order["id"] for order in exchange.cancel_all_margin_orders("BTC/USDT")))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def standalone() -> Iterator[tuple[str, list[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "papi_plugin.simulator", "--port", str(port), "--seed"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    banner = [process.stdout.readline() for _ in range(3)]
    yield f"http://127.0.0.1:{port}", banner
    process.terminate()
    process.wait(10)


def test_it_prints_the_demo_key_pair_it_accepts(standalone: tuple[str, list[str]]) -> None:
    url, banner = standalone
    assert url in banner[0]
    assert DEMO_API_KEY in banner[1] and DEMO_SECRET in banner[2]


def test_a_bot_in_another_process_cancels_through_it(standalone: tuple[str, list[str]]) -> None:
    url, _ = standalone
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
    done = subprocess.run([sys.executable, "-c", BOT % url], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['11', '20', '21']"


def test_a_secret_of_your_own_is_never_printed() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "papi_plugin.simulator", "--port", str(port), "--secret", "my-own-secret-value"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    banner = [process.stdout.readline() for _ in range(2)]
    process.terminate()
    process.wait(10)
    assert "my-own-secret-value" not in "".join(banner) and "not shown" in banner[1]
