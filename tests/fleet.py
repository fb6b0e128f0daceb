"""A fleet of bot processes (``fleet_bot.py``) on one simulator: started, told to go, read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from papi_plugin.simulator import Simulator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READY_SECONDS = 120.0  # a loaded 2-core machine


class Fleet:
    """Bots (``(mode, market ids)``), one process each, ready to go once ``start()`` returns."""

    def __init__(self, sim: Simulator, store: str, weight_limit: int = 6000, window: float = 60.0) -> None:
        self.sim = sim
        self.store = store
        self.weight_limit = weight_limit
        self.window = window
        self.launcher: subprocess.Popen[str] | None = None
        self.results: dict[int, dict[str, Any]] = {}

    def start(self, bots: list[tuple[str, list[str]]]) -> Fleet:
        environment = {**os.environ, "SIM_API_KEY": self.sim.api_key, "SIM_SECRET": self.sim.secret}
        environment["PYTHONPATH"] = ROOT + os.pathsep + environment.get("PYTHONPATH", "")
        command = [sys.executable, "-m", "tests.fleet_bot", "--url", self.sim.url, "--store", self.store]
        command += ["--weight-limit", str(self.weight_limit), "--window", str(self.window)]
        for mode, symbols in bots:
            command += ["--bot", f"{mode}:{','.join(symbols)}"]
        self.launcher = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
        )
        assert self.launcher.stdout is not None
        line = self.launcher.stdout.readline()
        if line.strip() != "ready":
            self.stop()
            raise AssertionError(f"the fleet did not start: {line!r}")
        return self

    def go(self, *bots: int) -> None:
        """Start these bots (all of them when none is named)."""
        assert self.launcher is not None and self.launcher.stdin is not None
        self.launcher.stdin.write(" ".join(["go", *map(str, bots)]) + "\n")
        self.launcher.stdin.flush()

    def result(self, bot: int) -> dict[str, Any]:
        """The outcome of ``bot``, once it has finished."""
        assert self.launcher is not None and self.launcher.stdout is not None
        while bot not in self.results:
            line = self.launcher.stdout.readline()
            if not line:
                said = self.launcher.stderr.read()[-2000:] if self.launcher.stderr else ""
                raise AssertionError(f"the fleet ended early: {said}")
            _, index, outcome = line.split(" ", 2)
            self.results[int(index)] = json.loads(outcome)
        return self.results[bot]

    def stop(self) -> None:
        if self.launcher is not None:
            if self.launcher.poll() is None:
                self.launcher.kill()
            self.launcher.wait(10)
            for stream in (self.launcher.stdin, self.launcher.stdout, self.launcher.stderr):
                if stream is not None:
                    stream.close()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def place_one_order_each(sim: Simulator, market_ids: list[str]) -> dict[str, str]:
    """One open order per symbol; the order id by symbol."""
    return {market_id: str(sim.place(market_id, "BUY", "LIMIT", "1", "10").order_id) for market_id in market_ids}
