"""The error table and the documented answer, replayed from cassettes over ccxt's real HTTP path.

Each test runs twice: sync (requests) and async (aiohttp), each with its own cassette. A connection
that fails without any answer cannot be recorded in a cassette; those rows (refused, reset, cut
mid-answer, timed out) run against the simulator in test_simulator_faults.py.
"""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from papi_plugin.simulator import Fault
from tests.constants import DOCUMENTED, DOCUMENTED_IDS
from tests.helpers import Runner, scenario

DOCUMENTED_CLIENT_IDS = list(DOCUMENTED.values())

Exchange = tuple[Any, Runner]


def cancel(cassette_exchange: Exchange, symbol: str = "BTC/USDT", params: dict[str, Any] | None = None) -> Any:
    exchange, run = cassette_exchange
    return run.call(exchange.cancel_all_margin_orders, symbol, params or {})


def deletes(vcr: Any) -> int:
    """DELETEs the cassette holds; on replay, every one of them must have been sent."""
    if vcr.play_count:
        assert vcr.all_played
    return sum(1 for r in vcr.requests if r.method == "DELETE")


@pytest.mark.vcr
@scenario()
def test_documented_answer_gives_one_order_per_order_and_per_leg(cassette_exchange: Exchange) -> None:
    orders = cancel(cassette_exchange)
    assert [o["id"] for o in orders] == DOCUMENTED_IDS
    assert [o["clientOrderId"] for o in orders] == DOCUMENTED_CLIENT_IDS
    assert all(o["symbol"] == "BTC/USDT" and o["status"] == "canceled" for o in orders)


@pytest.mark.vcr
@scenario()
def test_legs_keep_their_list_context_and_raw_report(cassette_exchange: Exchange) -> None:
    plain, stop_leg, maker_leg = cancel(cassette_exchange)
    assert plain["orderList"] is None and plain["info"]["orderListId"] == -1
    for leg in (stop_leg, maker_leg):
        assert leg["orderList"]["orderListId"] == 1929
        assert leg["orderList"]["contingencyType"] == "OCO"
        assert leg["orderList"]["listClientOrderId"] == "2inzWQdDvZLHbbAmAozX2N"
        assert leg["orderList"]["listStatusType"] == "ALL_DONE"
        assert leg["orderList"]["listOrderStatus"] == "ALL_DONE"
        assert isinstance(leg["orderList"]["transactionTime"], int)
        assert leg["info"]["orderListId"] == 1929
    assert stop_leg["type"] == "limit" and stop_leg["triggerPrice"] == pytest.approx(0.378131)
    assert maker_leg["postOnly"] is True
    assert stop_leg["info"]["icebergQty"] == "0.017083"


@pytest.mark.vcr
@scenario()
def test_client_id_is_the_orders_own_not_the_cancel_requests(cassette_exchange: Exchange) -> None:
    orders = cancel(cassette_exchange)
    for order in orders:
        assert order["clientOrderId"] == order["info"]["origClientOrderId"]
        assert order["clientOrderId"] != order["info"]["clientOrderId"]


@pytest.mark.vcr
@scenario()
def test_market_id_and_recv_window_are_accepted(cassette_exchange: Exchange, vcr: Any) -> None:
    exchange, run = cassette_exchange
    orders = run.call(exchange.cancelAllMarginOrders, "BTCUSDT", {"recvWindow": 5000})
    assert len(orders) == 3
    sent = next(r for r in vcr.requests if r.method == "DELETE")
    assert "recvWindow=5000" in sent.uri and "symbol=BTCUSDT" in sent.uri


@pytest.mark.vcr
@scenario(seed=False)
def test_nothing_open_returns_an_empty_list(cassette_exchange: Exchange, vcr: Any) -> None:
    assert cancel(cassette_exchange) == []
    assert deletes(vcr) == 1


@pytest.mark.vcr
@scenario(seed=False, faults=[Fault.answer("[]")])
def test_an_empty_list_returns_an_empty_list(cassette_exchange: Exchange, vcr: Any) -> None:
    assert cancel(cassette_exchange) == []
    assert deletes(vcr) == 1


@pytest.mark.vcr
@scenario(faults=[Fault.answer('{"symbol": "BTCUSDT", "orderId": 11}')])
def test_an_answer_that_is_not_a_list_raises_bad_response(cassette_exchange: Exchange, vcr: Any) -> None:
    with pytest.raises(ccxt.BadResponse, match="not a list"):
        cancel(cassette_exchange)
    assert deletes(vcr) == 1


@pytest.mark.vcr
@scenario(faults=[Fault.server_error(503)])
def test_server_error_is_retried_then_returns_the_orders(cassette_exchange: Exchange, vcr: Any) -> None:
    assert [o["id"] for o in cancel(cassette_exchange)] == DOCUMENTED_IDS
    assert deletes(vcr) == 2


@pytest.mark.vcr
@scenario(faults=[Fault.html(502)])
def test_html_error_page_is_retried(cassette_exchange: Exchange, vcr: Any) -> None:
    assert len(cancel(cassette_exchange)) == 3
    assert deletes(vcr) == 2


def fails_with(code: int, status: int) -> Any:
    return pytest.param(code, marks=scenario(faults=[Fault.error(code, status)]), id=str(code))


@pytest.mark.vcr
@pytest.mark.parametrize(
    "code",
    [
        fails_with(-1000, 400),
        fails_with(-1001, 503),
        fails_with(-1006, 502),
        fails_with(-1007, 408),
        fails_with(-1008, 400),
    ],
)
def test_transient_binance_codes_are_retried(cassette_exchange: Exchange, vcr: Any, code: int) -> None:
    assert len(cancel(cassette_exchange)) == 3
    assert deletes(vcr) == 2


@pytest.mark.vcr
@scenario(faults=[Fault.server_error(503)] * 3)
def test_budget_exhausted_raises_the_last_error(cassette_exchange: Exchange, vcr: Any, waits: list[float]) -> None:
    with pytest.raises(ccxt.ExchangeNotAvailable, match="gave up after 3 attempts"):
        cancel(cassette_exchange, params={"maxAttempts": 3})
    assert deletes(vcr) == 3
    assert len(waits) == 2 and 0.25 <= waits[0] < waits[1]  # exponential backoff with jitter


@pytest.mark.vcr
@scenario(faults=[Fault.rate_limited(retry_after=1)])
def test_429_waits_retry_after_then_retries(cassette_exchange: Exchange, vcr: Any, waits: list[float]) -> None:
    assert len(cancel(cassette_exchange)) == 3
    assert waits == [1.0]
    assert deletes(vcr) == 2


@pytest.mark.vcr
@scenario(faults=[Fault.rate_limited(retry_after=30)])
def test_429_longer_than_max_retry_after_raises_how_long_to_wait(cassette_exchange: Exchange, vcr: Any) -> None:
    with pytest.raises(ccxt.RateLimitExceeded, match="retry after 30 s"):
        cancel(cassette_exchange)
    assert deletes(vcr) == 1


@pytest.mark.vcr
@scenario(faults=[Fault.banned(retry_after=300)])
def test_418_raises_at_once_with_the_bans_end(cassette_exchange: Exchange, vcr: Any) -> None:
    with pytest.raises(ccxt.DDoSProtection, match="IP banned until"):
        cancel(cassette_exchange)
    assert deletes(vcr) == 1


@pytest.mark.vcr
@scenario(faults=[Fault.banned(retry_after=300)])
def test_after_a_418_nothing_more_is_sent_until_the_ban_ends(cassette_exchange: Exchange, vcr: Any) -> None:
    with pytest.raises(ccxt.DDoSProtection):
        cancel(cassette_exchange)
    with pytest.raises(ccxt.DDoSProtection, match="not sent"):
        cancel(cassette_exchange)
    assert deletes(vcr) == 1


@pytest.mark.vcr
@scenario(skew_ms=10_000)
def test_clock_outside_recv_window_resyncs_and_retries_once(cassette_exchange: Exchange, vcr: Any) -> None:
    exchange, _ = cassette_exchange
    assert len(cancel(cassette_exchange)) == 3
    assert deletes(vcr) == 2
    times = [r for r in vcr.requests if r.path.endswith("/time")]
    assert len(times) == 1
    assert exchange.options["timeDifference"] != 0


@pytest.mark.vcr
@pytest.mark.parametrize("code", [fails_with(-1022, 400), fails_with(-2014, 401), fails_with(-2015, 401)])
def test_authentication_errors_raise_at_once(cassette_exchange: Exchange, vcr: Any, code: int) -> None:
    with pytest.raises(ccxt.AuthenticationError, match=str(code)):
        cancel(cassette_exchange)
    assert deletes(vcr) == 1


@pytest.mark.vcr
@scenario(faults=[Fault.error(-2015, 401)])
def test_http_401_raises_authentication_error(cassette_exchange: Exchange, vcr: Any) -> None:
    with pytest.raises(ccxt.AuthenticationError):
        cancel(cassette_exchange)
    assert deletes(vcr) == 1


@pytest.mark.vcr
@scenario(faults=[Fault.html(403)])
def test_firewall_403_raises_ddos_protection_without_retry(cassette_exchange: Exchange, vcr: Any) -> None:
    with pytest.raises(ccxt.DDoSProtection, match="HTTP 403"):
        cancel(cassette_exchange)
    assert deletes(vcr) == 1


@pytest.mark.vcr
@scenario(faults=[Fault.error(0, 451, "Service unavailable from a restricted location.")])
def test_region_451_raises_permission_denied_without_retry(cassette_exchange: Exchange, vcr: Any) -> None:
    with pytest.raises(ccxt.PermissionDenied, match="HTTP 451"):
        cancel(cassette_exchange)
    assert deletes(vcr) == 1


@pytest.mark.vcr
@scenario(faults=[Fault.error(-1121)])
def test_bad_symbol_from_binance_raises_at_once(cassette_exchange: Exchange, vcr: Any) -> None:
    with pytest.raises(ccxt.BadSymbol, match="-1121"):
        cancel(cassette_exchange)
    assert deletes(vcr) == 1


@pytest.mark.vcr
@scenario(faults=[Fault.truncate()])
def test_body_that_is_not_json_raises_bad_response(cassette_exchange: Exchange, vcr: Any) -> None:
    with pytest.raises(ccxt.BadResponse):
        cancel(cassette_exchange)
    assert deletes(vcr) == 1
