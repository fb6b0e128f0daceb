"""The USD-M and COIN-M cancels' error rows, replayed from cassettes over ccxt's real HTTP path.

Each test runs sync (requests) and async (aiohttp), for each futures kind, each with its own cassette.
The account holds, per kind, one plain order and one conditional order (``seed_futures_example``).
"""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from papi_plugin.simulator import Fault
from tests.constants import ALL_MARKET_OPTIONS
from tests.helpers import Runner, scenario

# kind -> (call, symbol, plain cancel-all path, conditional cancel-all path, plain id, conditional id, client ids)
KINDS = {
    "um": ("cancel_all_um_orders", "BTC/USDT:USDT", "um/allOpenOrders", "um/algo/allOpenOrders", "8100", "3100"),
    "cm": ("cancel_all_cm_orders", "BTC/USD:BTC", "cm/allOpenOrders", "cm/conditional/allOpenOrders", "9100", "4100"),
}
CLIENT_IDS = {"8100": "umLimitBuy", "3100": "umStopSell", "9100": "cmLimitBuy", "4100": "cmStopSell"}


@pytest.fixture(params=["um", "cm"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def futures_exchange(mode: str, recorded_binance: Any) -> Any:
    runner = Runner()
    exchange = recorded_binance(mode, ALL_MARKET_OPTIONS)
    yield exchange, runner
    runner.close([exchange])


def cancel(futures_exchange: Any, kind: str, params: dict[str, Any] | None = None) -> Any:
    exchange, run = futures_exchange
    call, symbol = KINDS[kind][:2]
    return run.call(getattr(exchange, call), symbol, params or {})


def deletes(vcr: Any, path: str) -> int:
    if vcr.play_count:
        assert vcr.all_played
    return sum(1 for r in vcr.requests if r.method == "DELETE" and r.path.endswith("/papi/v1/" + path))


def plain_fault(*faults: Fault | None) -> Any:
    """Faults on the plain cancel-all of the kind under test (the conditional one is sent first)."""
    return [
        pytest.param(
            kind,
            marks=scenario(seed=False, futures=True, faults=list(faults), endpoint=f"DELETE /papi/v1/{KINDS[kind][2]}"),
            id=kind,
        )
        for kind in KINDS
    ]


@pytest.mark.vcr
@scenario(seed=False, futures=True)
def test_every_canceled_order_is_returned_with_its_own_client_id(futures_exchange: Any, kind: str, vcr: Any) -> None:
    orders = cancel(futures_exchange, kind)
    _, symbol, plain_path, conditional_path, plain_id, conditional_id = KINDS[kind]
    assert [o["id"] for o in orders] == [conditional_id, plain_id]  # the conditional cancel goes first
    assert [o["conditional"] for o in orders] == [True, False]
    assert all(o["symbol"] == symbol and o["status"] == "canceled" for o in orders)
    assert [o["clientOrderId"] for o in orders] == [CLIENT_IDS[conditional_id], CLIENT_IDS[plain_id]]
    assert deletes(vcr, plain_path) == 1 and deletes(vcr, conditional_path) == 1
    sent = [r for r in vcr.requests if "/papi/" in r.path]
    assert all("conditional=" not in r.uri for r in sent)  # the call-only switch is never sent


@pytest.mark.vcr
@scenario(seed=False, futures=True)
def test_conditional_false_leaves_the_conditional_orders_alone(futures_exchange: Any, kind: str, vcr: Any) -> None:
    orders = cancel(futures_exchange, kind, {"conditional": False})
    assert [o["id"] for o in orders] == [KINDS[kind][4]]
    assert deletes(vcr, KINDS[kind][3]) == 0
    assert not any("/algo/" in r.path or "/conditional/" in r.path for r in vcr.requests)


@pytest.mark.vcr
@pytest.mark.parametrize("kind", plain_fault(Fault.server_error(503)))
def test_server_error_is_retried_then_returns_the_orders(futures_exchange: Any, kind: str, vcr: Any) -> None:
    assert len(cancel(futures_exchange, kind)) == 2
    assert deletes(vcr, KINDS[kind][2]) == 2


@pytest.mark.vcr
@pytest.mark.parametrize("kind", plain_fault(Fault.rate_limited(retry_after=1)))
def test_429_waits_retry_after_then_retries(futures_exchange: Any, kind: str, vcr: Any, waits: list[float]) -> None:
    assert len(cancel(futures_exchange, kind)) == 2
    assert waits == [1.0]
    assert deletes(vcr, KINDS[kind][2]) == 2


@pytest.mark.vcr
@pytest.mark.parametrize("kind", plain_fault(Fault.banned(retry_after=300)))
def test_418_raises_at_once_carrying_what_was_canceled(futures_exchange: Any, kind: str, vcr: Any) -> None:
    with pytest.raises(ccxt.DDoSProtection, match="IP banned until") as raised:
        cancel(futures_exchange, kind)
    assert [o["id"] for o in raised.value.canceled] == [KINDS[kind][5]]  # the conditional cancel went through
    assert deletes(vcr, KINDS[kind][2]) == 1
    with pytest.raises(ccxt.DDoSProtection, match="not sent"):
        cancel(futures_exchange, kind)
    assert deletes(vcr, KINDS[kind][2]) == 1


@pytest.mark.vcr
@pytest.mark.parametrize("kind", plain_fault(Fault.error(-2015, 401)))
def test_authentication_error_raises_at_once(futures_exchange: Any, kind: str, vcr: Any) -> None:
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        cancel(futures_exchange, kind)
    assert deletes(vcr, KINDS[kind][2]) == 1


@pytest.mark.vcr
@pytest.mark.parametrize(
    "kind", plain_fault(Fault.answer('{"code": 200, "msg": "The operation of cancel all open order is done.", "x": ['))
)
def test_an_unreadable_answer_raises_bad_response(futures_exchange: Any, kind: str, vcr: Any) -> None:
    with pytest.raises(ccxt.BadResponse):
        cancel(futures_exchange, kind)
    assert deletes(vcr, KINDS[kind][2]) == 1


@pytest.mark.vcr
@pytest.mark.parametrize("kind", plain_fault(Fault.answer('[{"orderId": 1}]')))
def test_an_answer_that_is_not_the_documented_one_raises_bad_response(
    futures_exchange: Any, kind: str, vcr: Any
) -> None:
    with pytest.raises(ccxt.BadResponse, match="neither code 200"):
        cancel(futures_exchange, kind)
    assert deletes(vcr, KINDS[kind][2]) == 1


@pytest.mark.vcr
@pytest.mark.parametrize(
    "kind",
    [pytest.param(k, marks=scenario(seed=False, futures=True, skew_ms=10_000, endpoint="none"), id=k) for k in KINDS],
)
def test_clock_outside_recv_window_resyncs_and_retries_once(futures_exchange: Any, kind: str, vcr: Any) -> None:
    assert len(cancel(futures_exchange, kind)) == 2
    assert len([r for r in vcr.requests if r.path.endswith("/time")]) == 1


# Async only: vcrpy records requests sent from several threads at once unreliably (kevin1024/vcrpy#849),
# and the sync call runs its symbols on threads; test_portfolio.py runs it against the simulator.
@pytest.mark.vcr
@pytest.mark.parametrize("mode", ["async"])
@scenario(futures=True)
def test_the_whole_account_is_flattened_from_one_discovery(futures_exchange: Any, vcr: Any) -> None:
    exchange, run = futures_exchange
    result = run.call(exchange.cancel_all_portfolio_orders)
    assert {symbol: sorted(o["id"] for o in orders) for symbol, orders in result.items()} == {
        "BTC/USDT": ["11", "20", "21"],
        "BTC/USDT:USDT": ["3100", "8100"],
        "BTC/USD:BTC": ["4100", "9100"],
    }
    if vcr.play_count:
        assert vcr.all_played
    deletes = sorted(r.path.split("/papi/v1/")[1] for r in vcr.requests if r.method == "DELETE")
    margin, um, cm = ["margin/allOpenOrders"], ["um/allOpenOrders", "um/algo/allOpenOrders"], ["cm/allOpenOrders"]
    assert deletes == sorted([*margin, *um, *cm, "cm/conditional/allOpenOrders"])
