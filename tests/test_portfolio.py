"""The whole account at once: margin, USD-M and COIN-M, against the simulator, sync and async."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from papi_plugin.errors import CancelManyFailed
from papi_plugin.simulator import Fault, Simulator
from tests.helpers import Runner

EVERY_KIND = {
    "BTC/USDT": ["11", "20", "21"],
    "BTC/USDT:USDT": ["3100", "8100"],
    "ETH/USDT:USDT": [],  # filled in by seed()
    "BTC/USD:BTC": ["4100", "9100"],
}


def seed(sim: Simulator) -> dict[str, list[str]]:
    sim.seed_documented_example()
    sim.seed_futures_example()
    eth = sim.place_futures("um", "ETHUSDT", "BUY", "0.100", "2000.0")
    return {**EVERY_KIND, "ETH/USDT:USDT": [str(eth.order_id)]}


def ids(result: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    return {symbol: sorted(o["id"] for o in orders) for symbol, orders in result.items()}


def test_the_whole_account_is_found_and_canceled(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    opened = seed(sim)
    assert ids(run.call(exchange.cancel_all_portfolio_orders)) == opened
    assert not sim.open_orders() and not sim.open_futures("um") and not sim.open_futures("cm", conditional=True)
    # One read per kind and section without a symbol; the futures symbols are not read again one by one.
    for path in ("um/openOrders", "um/algo/openAlgoOrders", "cm/openOrders", "cm/conditional/openOrders"):
        assert sim.seen("GET", "/papi/v1/" + path) == 1
    assert sim.seen("GET", "/papi/v1/margin/openOrders") == 1


def test_discovery_costs_what_binance_documents(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    run.call(exchange.load_markets)
    before = sim.weight_used
    assert run.call(exchange.cancel_all_portfolio_orders) == {}
    spot_symbols = sum(1 for m in exchange.markets.values() if m["spot"])
    assert sim.weight_used - before == spot_symbols + 5 + 4 * 40  # margin orders + lists, four futures reads


def test_given_symbols_of_every_kind(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    opened = seed(sim)
    result = run.call(exchange.cancel_all_portfolio_orders, ["BTC/USDT", "BTC/USD:BTC", "BTC/USDT:USDT", "BTC/USDT"])
    assert ids(result) == {s: opened[s] for s in ("BTC/USDT", "BTC/USD:BTC", "BTC/USDT:USDT")}
    assert sim.open_futures("um", symbol="ETHUSDT")


def test_conditional_false_spans_the_whole_account(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    seed(sim)
    result = run.call(exchange.cancel_all_portfolio_orders, None, {"conditional": False})
    assert ids(result)["BTC/USDT:USDT"] == ["8100"] and ids(result)["BTC/USD:BTC"] == ["9100"]
    assert sim.open_futures("um", conditional=True) and sim.open_futures("cm", conditional=True)


def test_one_symbol_failing_does_not_stop_the_others(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    opened = seed(sim)
    sim.inject("DELETE /papi/v1/cm/allOpenOrders", Fault.error(-2015, 401))
    with pytest.raises(CancelManyFailed) as raised:
        run.call(exchange.cancel_all_portfolio_orders)
    failed = raised.value
    assert list(failed.errors) == ["BTC/USD:BTC"] and isinstance(failed.errors["BTC/USD:BTC"], ccxt.AuthenticationError)
    assert ids(failed.canceled) == {**opened, "BTC/USD:BTC": ["4100"]}  # its conditional order was canceled first


def test_one_kind_that_cannot_be_read_does_not_stop_the_others(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    opened = seed(sim)
    sim.inject("GET /papi/v1/cm/openOrders", Fault.server_error(503))
    with pytest.raises(CancelManyFailed, match="all COIN-M futures symbols") as raised:
        run.call(exchange.cancel_all_portfolio_orders, None, {"maxAttempts": 1})
    assert ids(raised.value.canceled) == {s: v for s, v in opened.items() if s != "BTC/USD:BTC"}
    assert sim.open_futures("cm")


def test_an_id_naming_two_kinds_is_refused_before_anything_is_sent(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    seed(sim)
    with pytest.raises(ccxt.BadSymbol, match="use BTC/USDT or BTC/USDT:USDT"):
        run.call(exchange.cancel_all_portfolio_orders, ["BTC/USD:BTC", "BTCUSDT"])
    with pytest.raises(ccxt.BadSymbol, match="DOGE/BTC is none of them"):
        run.call(exchange.cancel_all_portfolio_orders, ["DOGE/BTC"])
    assert not [r for r in sim.requests if r.path.startswith("/papi/")]


def test_the_dry_run_lists_what_would_be_canceled_and_cancels_nothing(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    opened = seed(sim)
    listed = run.call(exchange.open_portfolio_orders)
    assert ids(listed) == opened
    assert all(o["status"] == "open" for orders in listed.values() for o in orders)
    assert [o["conditional"] for o in listed["BTC/USD:BTC"]] == [True, False]
    assert not [r for r in sim.requests if r.method == "DELETE"]
    given = run.call(exchange.open_portfolio_orders, ["BTC/USDT:USDT"], {"conditional": False})
    assert ids(given) == {"BTC/USDT:USDT": ["8100"]}


def test_a_margin_symbol_listed_after_the_markets_loaded_is_still_canceled(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    opened = seed(sim)
    run.call(exchange.load_markets)
    sim.margin_symbols["NEWUSDT"] = ("NEW", "USDT")  # listed since
    new = sim.place("NEWUSDT", "BUY", "LIMIT", "1", "10")
    result = ids(run.call(exchange.cancel_all_portfolio_orders))
    assert result == {**opened, "NEWUSDT": [str(new.order_id)]}  # reported under Binance's id
    assert not sim.open_orders()


@pytest.mark.realtime
def test_a_kind_whose_discovery_hangs_holds_up_no_other_kind(mode: str) -> None:
    import time

    import papi_plugin
    from tests.helpers import binance

    with Simulator() as sim:
        run = Runner()
        exchange = sim.attach(papi_plugin.extend(binance(mode, {"apiKey": sim.api_key, "secret": sim.secret})))
        opened = seed(sim)
        run.call(exchange.load_markets)
        sim.inject("GET /papi/v1/cm/conditional/openOrders", Fault.delay(30))  # the COIN-M discovery hangs
        started = time.monotonic()
        with pytest.raises(CancelManyFailed) as raised:
            run.call(exchange.cancel_all_portfolio_orders, None, {"maxElapsed": 1})
        elapsed = time.monotonic() - started
        run.close([exchange])
    assert list(raised.value.errors) == ["all COIN-M futures symbols"]
    assert isinstance(raised.value.errors["all COIN-M futures symbols"], ccxt.RequestTimeout)
    # Margin and USD-M went on at once: canceled, and reported, while COIN-M hung.
    assert ids(raised.value.canceled) == {s: o for s, o in opened.items() if not s.endswith(":BTC")}
    assert elapsed < 1 + 1.0  # the deadline, and a loaded machine's scheduling
