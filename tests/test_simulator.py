"""The simulator itself behaves like Binance where a client can get it wrong (plain ccxt, no plugin)."""

from __future__ import annotations

import contextlib

import ccxt
import pytest

from papi_plugin.simulator import Simulator


def plain_binance(sim: Simulator) -> ccxt.binance:
    exchange = sim.attach(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret, "enableRateLimit": False}))
    exchange.load_markets()
    return exchange


def test_every_answer_reports_the_used_weight() -> None:
    with Simulator() as sim:
        exchange = plain_binance(sim)
        with pytest.raises(ccxt.OrderNotFound):  # -2011: on a host other than papi.binance.com, ccxt says so
            exchange.papiDeleteMarginAllOpenOrders({"symbol": "BTCUSDT"})
        headers = {k.lower(): v for k, v in exchange.last_response_headers.items()}
        assert int(headers["x-mbx-used-weight-1m"]) == sim.weight_used == 20 + 1 + 5


def test_ignoring_429s_gets_the_ip_banned_with_418() -> None:
    # exchange info (20) + futures info (1) leave room for one cancel (5) in a 30-weight minute.
    with Simulator(weight_limit=30, ban_after=2, ban_seconds=60) as sim:
        exchange = plain_binance(sim)
        statuses = []
        for _ in range(5):
            with contextlib.suppress(ccxt.BaseError):
                exchange.papiDeleteMarginAllOpenOrders({"symbol": "BTCUSDT"})
            statuses.append(sim.requests[-1].status)
        assert statuses == [400, 429, 429, 418, 418]
        assert "Retry-After" in exchange.last_response_headers


@pytest.mark.parametrize(
    ("params", "code"),
    [({}, -1102), ({"symbol": "XYZUSDT"}, -1121), ({"symbol": "BTCUSDT", "recvWindow": 60001}, -1131)],
)
def test_bad_parameters_get_binance_codes(params: dict[str, object], code: int) -> None:
    with Simulator() as sim:
        exchange = plain_binance(sim)
        with pytest.raises(ccxt.BaseError) as raised:
            exchange.papiDeleteMarginAllOpenOrders(params)
        assert str(code) in str(raised.value)


def test_a_wrong_or_missing_key_is_refused() -> None:
    with Simulator() as sim:
        exchange = plain_binance(sim)
        exchange.apiKey = "someone-else"
        with pytest.raises(ccxt.AuthenticationError, match="-2015"):
            exchange.papiDeleteMarginAllOpenOrders({"symbol": "BTCUSDT"})


def test_a_cancel_only_touches_its_symbol() -> None:
    with Simulator() as sim:
        sim.seed_documented_example()
        other = sim.place("ETHUSDT", "BUY", "LIMIT", "1", "10")
        answer = sim.cancel_all("BTCUSDT")
        assert sorted(o["orderId"] for o in answer if "orderId" in o) == [11]
        assert [leg["orderId"] for leg in answer[1]["orderReports"]] == [20, 21]
        assert sim.open_orders() == [other]
