"""papi-cancel-all: output, exit codes, no secret on screen; in-process through ``main(argv)``, plus two real runs."""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from papi_plugin.cli import main
from papi_plugin.simulator import Fault, Simulator
from tests.constants import CANCEL_ALL, DOCUMENTED, TEST_API_KEY, TEST_SECRET
from tests.fake_time import FakeTime
from tests.helpers import simulator


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


Cli = Callable[..., Result]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run ``papi-cancel-all`` in this process with keys in the environment (or none)."""

    def run(*args: str, key: str | None = TEST_API_KEY, secret: str | None = TEST_SECRET) -> Result:
        for name, value in (("BINANCE_API_KEY", key), ("BINANCE_API_SECRET", secret)):
            if value:
                monkeypatch.setenv(name, value)
            else:
                monkeypatch.delenv(name, raising=False)
        stdout, stderr = io.StringIO(), io.StringIO()
        code = main(list(args), stdout, stderr)
        return Result(code, stdout.getvalue(), stderr.getvalue())

    return run


def run_installed(*args: str) -> Result:
    """Run the installed command in a fresh process, without keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
    done = subprocess.run(
        [sys.executable, "-m", "papi_plugin.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )
    return Result(done.returncode, done.stdout, done.stderr)


def assert_clean(result: Result) -> None:
    for stream in (result.stdout, result.stderr):
        assert TEST_SECRET not in stream and TEST_API_KEY not in stream
        assert "signature=" not in stream.replace("signature=***", "")
        assert "Traceback" not in stream


@pytest.fixture
def seeded_sim(fake_time: FakeTime | None) -> Iterator[Simulator]:
    with simulator(fake_time, api_key=TEST_API_KEY, secret=TEST_SECRET) as sim:
        sim.seed_documented_example()
        yield sim


def test_console_script_is_installed() -> None:
    scripts = importlib.metadata.entry_points(group="console_scripts")
    assert [ep.value for ep in scripts if ep.name == "papi-cancel-all"] == ["papi_plugin.cli:main"]


def test_demo_cancels_the_three_documented_orders_and_says_it_is_a_simulation() -> None:
    result = run_installed("BTC/USDT", "--demo")
    assert result.returncode == 0, result.stderr
    assert "DEMO" in result.stderr and "simulat" in result.stdout
    for order_id, client_id in DOCUMENTED.items():
        assert any(line.split()[:2] == [order_id, client_id] for line in result.stdout.splitlines())
    assert_clean(result)


def test_json_prints_the_unified_orders(cli: Cli) -> None:
    result = cli("BTC/USDT", "--demo", "--json", key=None, secret=None)
    assert result.returncode == 0, result.stderr
    orders = json.loads(result.stdout)["BTC/USDT"]
    assert {o["id"]: o["clientOrderId"] for o in orders} == DOCUMENTED
    assert [o["orderList"]["orderListId"] for o in orders if o["orderList"]] == [1929, 1929]


def test_dry_run_lists_and_cancels_nothing(cli: Cli, seeded_sim: Simulator) -> None:
    result = cli("BTC/USDT", "--dry-run", "--base-url", seeded_sim.url)
    assert result.returncode == 0, result.stderr
    assert "dry run" in result.stdout
    assert all(order_id in result.stdout for order_id in DOCUMENTED)
    assert seeded_sim.seen("DELETE", "/papi/v1/margin/allOpenOrders") == 0
    assert len(seeded_sim.open_orders()) == 3
    assert_clean(result)


def test_cancel_with_keys_from_the_environment(cli: Cli, seeded_sim: Simulator) -> None:
    result = cli("BTCUSDT", "--recv-window", "5000", "--confirm", "--base-url", seeded_sim.url)
    assert result.returncode == 0, result.stderr
    assert "canceled 3 order(s)" in result.stdout
    assert seeded_sim.open_orders() == []
    assert_clean(result)


def test_without_keys_it_stops_with_a_clear_message() -> None:
    result = run_installed("BTC/USDT")
    assert result.returncode == 2
    assert "BINANCE_API_KEY" in result.stderr and "--demo" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert_clean(result)


@pytest.mark.parametrize("args", [["XYZ/USDT"], ["DOGE/BTC"], ["ETH/USD:BTC"], ["BTC/USDT", "--recv-window", "70000"]])
def test_bad_input_exits_2(cli: Cli, args: list[str]) -> None:
    result = cli(*args, "--demo", key=None, secret=None)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("papi-cancel-all: Bad")
    assert_clean(result)


def test_wrong_secret_exits_3(cli: Cli, seeded_sim: Simulator) -> None:
    result = cli("BTC/USDT", "--base-url", seeded_sim.url, secret="wrong-secret-value")
    assert result.returncode == 3
    assert "AuthenticationError" in result.stderr
    assert_clean(result)


def test_ban_exits_4(cli: Cli, seeded_sim: Simulator) -> None:
    seeded_sim.inject(CANCEL_ALL, Fault.banned(120))
    result = cli("BTC/USDT", "--base-url", seeded_sim.url)
    assert result.returncode == 4
    assert "banned until" in result.stderr
    assert_clean(result)


def test_exchange_unavailable_after_retries_exits_5_and_shows_progress(cli: Cli, seeded_sim: Simulator) -> None:
    seeded_sim.inject(CANCEL_ALL, *[Fault.server_error(503)] * 5)
    result = cli("BTC/USDT", "--base-url", seeded_sim.url)
    assert result.returncode == 5
    progress = [line for line in result.stderr.splitlines() if "retrying in" in line]
    assert len(progress) == 4 and "attempt 1 failed" in progress[0] and "HTTP 503" in progress[0]
    assert "ExchangeNotAvailable" in result.stderr.splitlines()[-1]
    assert_clean(result)


def test_not_flat_after_confirm_exits_6(cli: Cli, seeded_sim: Simulator) -> None:
    stop = threading.Event()

    def place_after_every_cancel() -> None:  # a runaway bot on the same symbol
        answered = 0
        while not stop.wait(0.001):
            seen = seeded_sim.seen("DELETE", "/papi/v1/margin/allOpenOrders")
            if seen > answered:
                answered = seen
                seeded_sim.place("BTCUSDT", "BUY", "LIMIT", "1", "10")

    # Each confirmation read waits long enough for the runaway bot to place its next order.
    seeded_sim.inject("GET /papi/v1/margin/openOrders", *[Fault.delay(0.1)] * 10)
    runaway = threading.Thread(target=place_after_every_cancel, daemon=True)
    runaway.start()
    try:
        result = cli("BTC/USDT", "--confirm", "--base-url", seeded_sim.url)
    finally:
        stop.set()
        runaway.join()
    assert result.returncode == 6, result.stderr
    assert "not flat" in result.stderr
    assert_clean(result)


def test_several_symbols_and_all(cli: Cli, seeded_sim: Simulator) -> None:
    seeded_sim.place("ETHUSDT", "SELL", "LIMIT", "1", "5000")
    result = cli("BTC/USDT", "ETHUSDT", "--json", "--base-url", seeded_sim.url)
    assert result.returncode == 0, result.stderr
    assert {symbol: len(orders) for symbol, orders in json.loads(result.stdout).items()} == {
        "BTC/USDT": 3,
        "ETH/USDT": 1,
    }
    seeded_sim.seed_documented_example()
    result = cli("--all", "--base-url", seeded_sim.url)
    assert result.returncode == 0, result.stderr
    assert "BTC/USDT: canceled 3 order(s)" in result.stdout and "ETH/USDT" not in result.stdout
    assert seeded_sim.open_orders() == []


def test_symbols_and_all_together_exit_2(cli: Cli) -> None:
    result = cli("BTC/USDT", "--all", "--demo", key=None, secret=None)
    assert result.returncode == 2 and "--all" in result.stderr


def test_one_failed_symbol_reports_the_others_and_exits_with_its_code(cli: Cli, seeded_sim: Simulator) -> None:
    seeded_sim.place("ETHUSDT", "SELL", "LIMIT", "1", "5000")
    seeded_sim.inject(CANCEL_ALL, Fault.banned(120))  # the first symbol's cancel: the IP is banned
    result = cli("BTC/USDT", "ETH/USDT", "--base-url", seeded_sim.url)
    assert result.returncode == 4
    assert "papi-cancel-all: BTC/USDT: DDoSProtection" in result.stderr
    assert "papi-cancel-all: ETH/USDT: DDoSProtection" in result.stderr  # not sent while banned
    assert_clean(result)


def test_key_file_signs_with_an_ed25519_key_and_never_prints_it(cli: Cli, seeded_sim: Simulator, tmp_path: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key_file = tmp_path / "ed25519.pem"
    key_file.write_text(pem)
    seeded_sim.add_public_key("ed25519-cli-key", private.public_key())
    result = cli(
        "BTC/USDT", "--key-file", str(key_file), "--base-url", seeded_sim.url, key="ed25519-cli-key", secret=None
    )
    assert result.returncode == 0, result.stderr
    assert "canceled 3 order(s)" in result.stdout
    body = pem.split("-----")[2].strip().splitlines()[0]
    assert body not in result.stdout and body not in result.stderr


def test_unreadable_key_file_exits_2(cli: Cli, tmp_path: Any) -> None:
    result = cli("BTC/USDT", "--key-file", str(tmp_path / "missing.pem"), key="some-key", secret=None)
    assert result.returncode == 2 and "--key-file" in result.stderr
    assert_clean(result)


def test_an_unusable_pem_key_exits_2(cli: Cli, seeded_sim: Simulator, tmp_path: Any) -> None:
    key_file = tmp_path / "broken.pem"
    key_file.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    key_file.chmod(0o600)
    result = cli("BTC/USDT", "--key-file", str(key_file), "--base-url", seeded_sim.url, key="some-key", secret=None)
    assert result.returncode == 2 and "not a usable" in result.stderr
    assert seeded_sim.requests == []
    assert_clean(result)


def test_a_key_file_others_can_read_is_warned_about(cli: Cli, seeded_sim: Simulator, tmp_path: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    key_file = tmp_path / "ed25519.pem"
    key_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o644)
    seeded_sim.add_public_key("ed25519-cli-key", private.public_key())
    result = cli(
        "BTC/USDT", "--key-file", str(key_file), "--base-url", seeded_sim.url, key="ed25519-cli-key", secret=None
    )
    assert result.returncode == 0
    assert "readable by other users" in result.stderr


def test_dry_run_on_a_malformed_open_order_exits_with_a_ccxt_error(cli: Cli, seeded_sim: Simulator) -> None:
    seeded_sim.inject("GET /papi/v1/margin/openOrders", Fault.answer('[{"symbol": "BTCUSDT"}]'))
    result = cli("BTC/USDT", "--dry-run", "--base-url", seeded_sim.url)
    assert result.returncode == 5 and "BadResponse" in result.stderr
    assert_clean(result)


def test_a_closed_pipe_never_stops_the_cancel(seeded_sim: Simulator) -> None:
    """``papi-cancel-all ... 2>&1 | head -1``: every symbol is canceled, the exit code is the documented one."""
    seeded_sim.place("ETHUSDT", "SELL", "LIMIT", "1", "5000")
    seeded_sim.place("BNBUSDT", "SELL", "LIMIT", "1", "500")
    seeded_sim.inject(CANCEL_ALL, Fault.server_error(503))  # a retry message to write into the closed pipe
    env = {**os.environ, "BINANCE_API_KEY": TEST_API_KEY, "BINANCE_API_SECRET": TEST_SECRET}
    command = [
        sys.executable,
        "-m",
        "papi_plugin.cli",
        "BTC/USDT",
        "ETH/USDT",
        "BNB/USDT",
        "--base-url",
        seeded_sim.url,
    ]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert child.stdout is not None
    child.stdout.close()  # the reader is gone before the first line
    assert child.wait(timeout=60) == 0
    assert seeded_sim.open_orders() == []


def test_demo_all_cancels_one_order_of_each_kind(cli: Cli) -> None:
    result = cli("--all", "--demo", "--json", key=None, secret=None)
    assert result.returncode == 0, result.stderr
    canceled = json.loads(result.stdout)
    assert {symbol: sorted(o["id"] for o in orders) for symbol, orders in canceled.items()} == {
        "BTC/USDT": sorted(DOCUMENTED),
        "BTC/USDT:USDT": ["3100", "8100"],
        "BTC/USD:BTC": ["4100", "9100"],
    }
    assert [o["conditional"] for o in canceled["BTC/USD:BTC"]] == [True, False]


def test_futures_symbols_dry_run_and_no_conditional(cli: Cli, seeded_sim: Simulator) -> None:
    seeded_sim.seed_futures_example()
    result = cli("BTC/USDT:USDT", "BTC/USD:BTC", "--dry-run", "--no-conditional", "--base-url", seeded_sim.url)
    assert result.returncode == 0, result.stderr
    assert "BTC/USDT:USDT: would cancel (dry run, nothing canceled) 1 order(s)" in result.stdout
    assert "8100" in result.stdout and "9100" in result.stdout and "3100" not in result.stdout
    result = cli("BTC/USD:BTC", "--base-url", seeded_sim.url)
    assert result.returncode == 0 and "BTC/USD:BTC: canceled 2 order(s)" in result.stdout
    assert seeded_sim.open_futures("um") and not seeded_sim.open_futures("cm", conditional=True)
    assert_clean(result)


def test_a_limits_store_that_is_no_store_exits_2(cli: Cli) -> None:
    result = cli("BTC/USDT", "--demo", "--limits-store", "postgres://db/limits", key=None, secret=None)
    assert result.returncode == 2 and "--limits-store must be a limits store URL" in result.stderr


@pytest.mark.realtime
def test_a_ban_met_by_one_run_stops_the_next_run_before_it_sends(seeded_sim: Simulator, tmp_path: Any) -> None:
    store = f"sqlite:///{tmp_path / 'fleet.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
    env.update(BINANCE_API_KEY=TEST_API_KEY, BINANCE_API_SECRET=TEST_SECRET)
    command = [sys.executable, "-m", "papi_plugin.cli", "BTC/USDT", "--base-url", seeded_sim.url]
    seeded_sim.inject(CANCEL_ALL, Fault.banned(120))
    first = subprocess.run([*command, "--limits-store", store], capture_output=True, text=True, env=env, timeout=120)
    sent = len(seeded_sim.requests)
    second = subprocess.run([*command, "--limits-store", store], capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == second.returncode == 4
    assert "IP banned until" in first.stderr and "not sent, the IP is banned" in second.stderr
    assert len(seeded_sim.requests) == sent  # the second run sent nothing, not even a market read
    assert_clean(Result(second.returncode, second.stdout, second.stderr))


def test_an_exhausted_429_exits_4(cli: Cli, seeded_sim: Simulator) -> None:
    seeded_sim.inject(CANCEL_ALL, *[Fault.rate_limited(1)] * 5)
    result = cli("BTC/USDT", "--base-url", seeded_sim.url)
    assert result.returncode == 4
    assert "RateLimitExceeded" in result.stderr.splitlines()[-1]
    assert_clean(result)


def test_the_help_the_docstring_and_the_docs_state_the_exit_codes_of_the_one_table() -> None:
    import pathlib

    from papi_plugin import cli as module
    from papi_plugin import commands, guard

    docs = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    for text in (module.parser().format_help(), guard.parser().format_help(), commands.__doc__ or "", docs):
        assert commands.EXIT_CODES_TEXT in " ".join(text.split())


@pytest.mark.realtime
def test_ctrl_c_in_the_middle_of_a_cancel_exits_130(seeded_sim: Simulator) -> None:
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
    env.update(BINANCE_API_KEY=TEST_API_KEY, BINANCE_API_SECRET=TEST_SECRET)
    seeded_sim.inject(CANCEL_ALL, Fault.delay(30))  # the cancel hangs
    command = [sys.executable, "-m", "papi_plugin.cli", "BTC/USDT", "--base-url", seeded_sim.url]
    # A shell's background job (CI, nohup) starts with SIGINT ignored, which Python then keeps: Ctrl-C's default
    # is restored here for the child, as an interactive terminal has it.
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not seeded_sim.seen("DELETE", "/papi/v1/margin/allOpenOrders") and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130 and "interrupted; some orders may have been canceled" in stderr


@pytest.mark.realtime
def test_sigterm_in_the_middle_of_a_cancel_prints_what_was_canceled_so_far_and_exits_143(seeded_sim: Simulator) -> None:
    import signal
    import time

    seeded_sim.seed_futures_example()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
    env.update(BINANCE_API_KEY=TEST_API_KEY, BINANCE_API_SECRET=TEST_SECRET)
    seeded_sim.inject("DELETE /papi/v1/um/allOpenOrders", Fault.delay(30))  # the USD-M cancel hangs
    command = [sys.executable, "-m", "papi_plugin.cli", "BTC/USDT", "BTC/USDT:USDT", "--base-url", seeded_sim.url]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        seeded_sim.seen("DELETE", "/papi/v1/um/allOpenOrders") and not seeded_sim.open_orders()
    ):
        time.sleep(0.02)
    time.sleep(0.2)  # the margin answer reaches the command
    child.send_signal(signal.SIGTERM)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 143 and "terminated; some orders may have been canceled" in stderr
    assert "BTC/USDT: canceled 3 order(s) before the command was stopped" in stdout
    assert TEST_SECRET not in stdout + stderr
