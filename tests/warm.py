"""Real processes started warm: a fork server (the standard library's ``forkserver``) imports ccxt and the
plugin once, then forks each process a test asks for, so a bot or a guard is up in milliseconds instead of
the second or more a fresh interpreter takes to import ccxt on a loaded machine.

Each process is a real one (its own pid, killed with a real signal, its own connections and threads) running
the product's own entry point (``papi_plugin.guard.main``) or a bot's code; what it prints goes to a file of
the test's own, read with :meth:`Warm.read_until`. The commands themselves (``python -m papi_plugin.guard``,
``papi-cancel-all``) are started cold by the tests of their exit codes and signals.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import pathlib
import re
import signal
import sys
import tempfile
import time
from typing import Any

import pytest

PRELOAD = ["ccxt", "ccxt.async_support", "papi_plugin", "papi_plugin.guard", "papi_plugin.capabilities.account"]
CONTEXT = multiprocessing.get_context("forkserver")
CONTEXT.set_forkserver_preload([*PRELOAD, "tests.warm"])

# Network stays blocked but for loopback and the fork server's own socket (AF_UNIX, under a pymp- folder).
NETWORK = pytest.mark.block_network(
    allowed_hosts=["127.0.0.1", "localhost", "::1", re.escape(tempfile.gettempdir()) + "/pymp-"]
)


def _output_to(path: str) -> None:
    """In the child: stdout and stderr (file descriptors 1 and 2, and Python's streams) go to ``path``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (the process's own streams)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115


def _guard(output: str, environment: dict[str, str], argv: list[str]) -> None:
    _output_to(output)
    os.environ.update(environment)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as a fresh interpreter has it
    from papi_plugin import guard

    sys.exit(guard.main(argv))


@dataclasses.dataclass(frozen=True)
class Bot:
    """A bot that arms a countdown of ``timeout_ms`` and prints ``armed <deadline>``; with ``refresh``, pushes it
    that often for ``refresh_for`` seconds, then disarms, prints ``disarmed`` and exits; else stays silent until
    killed."""

    url: str
    key: str
    secret: str
    store: str
    mode: str
    timeout_ms: int
    refresh: float = 0
    refresh_for: float = 0


def _bot(output: str, plan: Bot) -> None:
    _output_to(output)
    import ccxt
    import ccxt.async_support

    import papi_plugin
    from papi_plugin.simulator import attach

    cls = ccxt.async_support.binance if plan.mode == "async" else ccxt.binance
    exchange = attach(papi_plugin.extend(cls({"apiKey": plan.key, "secret": plan.secret})), plan.url)
    exchange.options["cancelAllMarginOrders"]["limitsStore"] = plan.store

    async def call(*args: Any) -> Any:
        result = exchange.cancel_all_portfolio_orders_after(*args)
        return (await result) if plan.mode == "async" else result

    async def main() -> None:
        armed = await call(plan.timeout_ms)
        print("armed", armed["deadline"], flush=True)
        if plan.refresh == 0:
            time.sleep(3600)  # alive but silent, until killed
        until = time.time() + plan.refresh_for
        while time.time() < until:  # the bot's main loop pushes the deadline
            time.sleep(plan.refresh)
            await call(plan.timeout_ms)
        await call(0)
        print("disarmed", flush=True)
        if plan.mode == "async":
            await exchange.close()

    asyncio.run(main())


class Warm:
    """One process forked by the warm server; what it prints is in ``output``."""

    def __init__(self, output: pathlib.Path, target: Any, *args: Any) -> None:
        self.output = output
        self.process = CONTEXT.Process(target=target, args=(str(output), *args), daemon=True)
        self.process.start()
        self._read = 0

    @classmethod
    def guard(cls, output: pathlib.Path, environment: dict[str, str], argv: list[str]) -> Warm:
        """``papi-guard ARGV`` with ``environment`` added to its own."""
        return cls(output, _guard, environment, argv)

    @classmethod
    def bot(cls, output: pathlib.Path, plan: Bot) -> Warm:
        return cls(output, _bot, plan)

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def text(self) -> str:
        return self.output.read_text() if self.output.exists() else ""

    def read_until(self, word: str, seconds: float) -> str:
        """The first line from the current position holding ``word``; fails if the process exits first or
        ``seconds`` pass. Lines before it are passed over."""
        deadline = time.monotonic() + seconds
        while True:
            exited = not self.process.is_alive()
            text = self.text()
            lines = text[self._read :].splitlines(keepends=True)
            for line in lines:
                if not line.endswith("\n"):
                    break
                self._read += len(line)
                if word in line:
                    return line
            if exited or time.monotonic() > deadline:
                raise AssertionError(f"no {word!r} from the process: {text[-2000:]}")
            time.sleep(0.02)

    def send_signal(self, number: int) -> None:
        os.kill(self.pid, number)

    def wait(self, seconds: float) -> int | None:
        self.process.join(seconds)
        return self.process.exitcode

    def stop(self, seconds: float) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(seconds)
