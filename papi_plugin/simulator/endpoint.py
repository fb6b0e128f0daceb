"""One endpoint the simulator serves, as Binance documents it: what it answers, what it weighs, what it reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from papi_plugin.simulator.api_error import ApiError
from papi_plugin.simulator.exchange import SimulatedExchange

Route = Callable[[SimulatedExchange, dict[str, str]], Any]
Weigh = Callable[[SimulatedExchange, dict[str, str]], int]
SIGNED = ("timestamp", "recvWindow")  # read by every signed endpoint


class Served(NamedTuple):
    answer: Route
    weight: int | Weigh  # Binance's request weight, or how it depends on the parameters
    reads: tuple[str, ...] | None = None  # a signed endpoint's parameters: any other one is -1104
    places: int = 0  # the orders a request places, counted in X-MBX-ORDER-COUNT-1M

    def weigh(self, sim: SimulatedExchange, params: dict[str, str]) -> int:
        return self.weight if isinstance(self.weight, int) else self.weight(sim, params)

    def check_reads(self, params: dict[str, str]) -> None:
        """-1104 for parameters the endpoint does not read."""
        if self.reads is None:
            return
        unread = [name for name in params if name not in self.reads and name not in SIGNED]
        if unread:
            read = len(params) - len(unread)
            raise ApiError(
                400,
                -1104,
                f"Not all sent parameters were read; read '{read}' parameter(s) but was sent '{len(params)}'.",
            )
