"""The README and docs/, held to the code: every code block runs as written, every table and link holds.

Python blocks run against a seeded simulator with keys from the environment (the freqtrade recipe runs
in ``test_freqtrade.py``, under a real freqtrade). Shell blocks run command by command: the product's
commands as real processes; ``python3 -m venv``, ``pip install`` and the test command are what ``.ci/run``
itself runs on a fresh machine, so here they are held to it. Usage synopses name exactly the options the
commands take; the module map is the package's modules; the exit codes are the CLI's one table.
"""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest

import papi_plugin
from papi_plugin import cli, commands, errors, guard
from papi_plugin.simulator import DEMO_API_KEY, DEMO_SECRET, Simulator
from tests.fake_time import FakeTime
from tests.helpers import simulator

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)


def blocks(language: str) -> list[tuple[str, str]]:
    """(page: block index, block) of every block in ``language`` ("" for a plain one) over README and docs/."""
    found = []
    for page in PAGES:
        for index, (lang, body) in enumerate(b for b in BLOCK.findall(page.read_text())):
            if lang == language:
                found.append((f"{page.relative_to(ROOT)}:{index}", body))
    return found


PYTHON = [(where, body) for where, body in blocks("python") if "freqtrade" not in body]
SHELL = blocks("bash")
STANDALONE_URL = "http://127.0.0.1:8765"  # the docs' stand-alone simulator: the test's one stands in
REDIS_URL = "redis://127.0.0.1:6379/0"  # the docs' Redis: the test's own redis-server stands in


def test_every_page_has_its_blocks() -> None:
    assert len(PYTHON) >= 9 and len(SHELL) >= 3
    assert [where for where, _ in blocks("python") if "freqtrade" in _] == ["docs/frameworks.md:0"]


# -- Python


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
    with simulator(fake_time, api_key=DEMO_API_KEY, secret=DEMO_SECRET) as sim:  # the pair the docs show
        sim.seed_documented_example()
        sim.place("ETHUSDT", "SELL", "LIMIT", "1", "5000")
        sim.seed_futures_example()
        monkeypatch.setenv("BINANCE_API_KEY", sim.api_key)
        monkeypatch.setenv("BINANCE_API_SECRET", sim.secret)
        manager.register(PointAtSimulator(sim), name="point-at-simulator")
        try:
            yield sim
        finally:
            for plugin in set(manager.get_plugins()) - before:
                manager.unregister(plugin)


@pytest.mark.parametrize("block", [body for _, body in PYTHON], ids=[where for where, _ in PYTHON])
def test_a_python_block_runs_as_written(
    block: str, bot_environment: Simulator, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    block = block.replace(STANDALONE_URL, bot_environment.url)
    redis_url = request.getfixturevalue("redis_url") if REDIS_URL in block else None
    if redis_url is not None:
        block = block.replace(REDIS_URL, redis_url)
    exec(compile(block, "docs", "exec"), {"__name__": "__docs__"})
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


# -- shell


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def installed(program: str) -> str:
    """The console script of this environment (the one pip installed beside this interpreter)."""
    found = shutil.which(program, path=os.path.dirname(sys.executable)) or shutil.which(program)
    assert found, f"{program} is not installed"
    return found


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}


def run_command(words: list[str]) -> None:
    """One command of a shell block, run or held to what .ci/run runs."""
    ci = (ROOT / ".ci" / "run").read_text()
    program = words[0]
    if words[:3] == ["python3", "-m", "venv"] or words[:1] == ["."]:
        assert '"$PYTHON" -m venv "$VENV"' in ci and 'source "$VENV/bin/activate"' in ci
    elif program == "pip" and words[1] == "install":
        extras = re.fullmatch(r"\.(?:\[([a-z,]+)\])?", words[2])
        assert extras, f"pip installs something else than this package: {words[2]}"
        wanted = set((extras.group(1) or "").split(",")) - {""}
        ci_extras = set(re.search(r'pip install --quiet "\.\[([a-z,]+)\]"', ci).group(1).split(","))  # type: ignore[union-attr]
        assert wanted <= ci_extras and wanted <= set(
            importlib.metadata.metadata("papi_plugin").get_all("Provides-Extra") or []
        )
    elif words == ["python", "-m", "pytest"]:
        assert "\npython -m pytest\n" in ci  # the README's test command is the CI's, word for word
    elif program in ("papi-cancel-all", "papi-guard"):
        assert "--demo" in words, "a command of the docs that would need real keys"
        done = subprocess.run(
            [installed(program), *words[1:]], capture_output=True, text=True, env=clean_env(), timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and done.stdout.strip()
    elif words[:3] == ["python", "-m", "papi_plugin.simulator"]:
        port = free_port()
        args = [str(port) if word == "8765" else word for word in words[3:]]
        server = subprocess.Popen(
            [sys.executable, "-m", "papi_plugin.simulator", *args], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None
            assert f"127.0.0.1:{port}" in server.stdout.readline()
            keys = {"apiKey": DEMO_API_KEY, "secret": DEMO_SECRET}
            exchange = papi_plugin.extend(ccxt.binance(keys))
            from papi_plugin.simulator import attach

            attach(exchange, f"http://127.0.0.1:{port}")
            assert exchange.cancel_all_margin_orders("BTC/USDT")  # --seed: the documented orders
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(10)
    else:
        raise AssertionError(f"no test knows how to run {shlex.join(words)!r}: teach run_command")


@pytest.mark.parametrize("block", [body for _, body in SHELL], ids=[where for where, _ in SHELL])
def test_a_shell_block_runs_as_written(block: str) -> None:
    for line in block.strip().splitlines():
        for command in line.split("&&"):
            run_command(shlex.split(command))


def test_the_systemd_unit_runs_the_installed_guard() -> None:
    import configparser

    [(_, unit)] = blocks("ini")
    parsed = configparser.ConfigParser(strict=False)
    parsed.read_string(unit)
    program = parsed["Service"]["ExecStart"].split()[0].rsplit("/", 1)[-1]
    pyproject = (ROOT / "pyproject.toml").read_text()  # tomllib is 3.11+; the project runs on 3.10
    assert program == "papi-guard" and f'{program} = "papi_plugin.guard:main"' in pyproject
    assert parsed["Service"]["Restart"] == "always"


# -- tables, synopses and links


def test_each_synopsis_names_exactly_the_options_of_its_command() -> None:
    [usage] = [body for where, body in blocks("") if where.startswith("docs/cli.md") and "papi-cancel-all" in body]
    [guard_usage] = [body for where, body in blocks("") if where.startswith("docs/cli.md") and "papi-guard" in body]
    for text, parser in ((usage, cli.parser()), (guard_usage, guard.parser())):
        options = {o for action in parser._actions for o in action.option_strings if o.startswith("--")} - {"--help"}
        assert set(re.findall(r"--[a-z-]+", text)) == options


def test_the_module_map_is_the_package() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    mapped = set()
    for cell in re.findall(r"^\| ([^|]+) \|", text, re.MULTILINE):
        mapped |= set(re.findall(r"`([a-z_/]+(?:\.py|/))`", cell))
    package = ROOT / "papi_plugin"
    modules = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "__init__.py" and "simulator" not in path.parts
    }
    assert mapped - {"simulator/"} == modules
    simulator_row = next(line for line in text.splitlines() if line.startswith("| `simulator/`"))
    simulated = {path.stem for path in (package / "simulator").glob("*.py") if not path.name.startswith("__")}
    assert {name for name in simulated if f"`{name}`" in simulator_row} == simulated


def test_the_exit_codes_page_is_the_clis_table() -> None:
    text = (ROOT / "docs" / "errors.md").read_text()
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \|([^|]*)\|$", text, re.MULTILINE)
    assert {int(code): meaning.strip() for code, meaning, _ in rows} == commands.EXIT_MEANINGS
    for code, _, raised in rows:
        for name in re.findall(r"`ccxt\.(\w+)`", raised):
            assert commands.exit_code(getattr(ccxt, name)("x")) == int(code), name
        for name in re.findall(r"`papi_plugin\.errors\.(\w+)`", raised):
            assert dict(commands.EXIT_CODES)[getattr(errors, name)] == int(code), name


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_link_between_the_pages_lands(page: pathlib.Path) -> None:
    text = BLOCK.sub("", page.read_text())
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.is_file(), f"{page.name}: {target}"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", BLOCK.sub("", linked.read_text()), re.MULTILINE)
            assert anchor in {slug(h) for h in headings}, f"{page.name}: {target}"
