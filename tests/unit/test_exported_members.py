"""The public surface, pinned: what a bot imports and calls (as httpx's test_exported_members)."""

from __future__ import annotations

import ccxt

import papi_plugin
import papi_plugin.errors
import papi_plugin.simulator
from papi_plugin.protocol.calls import CAPABILITIES


def test_the_package_exports() -> None:
    assert sorted(papi_plugin.__all__) == ["extend", "hookimpl", "hookspec", "plugin_manager"]
    assert all(callable(getattr(papi_plugin, name)) for name in papi_plugin.__all__)


def test_the_errors_are_ccxt_errors() -> None:
    assert sorted(papi_plugin.errors.__all__) == ["CancelManyFailed", "NotFlat"]
    for name in papi_plugin.errors.__all__:
        assert issubclass(getattr(papi_plugin.errors, name), ccxt.OperationFailed)


def test_the_capabilities_an_extended_binance_gets() -> None:
    assert CAPABILITIES == (
        "cancel_all_margin_orders",
        "cancel_all_margin_orders_many",
        "open_margin_orders",
        "symbols_with_open_orders",
        "cancel_all_um_orders",
        "cancel_all_cm_orders",
        "cancel_all_portfolio_orders",
        "open_portfolio_orders",
        "cancel_all_portfolio_orders_after",
    )
    exchange = papi_plugin.extend(ccxt.binance())
    for name in CAPABILITIES:
        camel = name.split("_")[0] + "".join(word.capitalize() for word in name.split("_")[1:])
        assert callable(getattr(exchange, name)) and getattr(exchange, camel) == getattr(exchange, name)
        assert exchange.has[camel] is True


def test_the_simulator_exports() -> None:
    assert set(papi_plugin.simulator.__all__) == {
        "BAN_SECONDS",
        "BINANCE_MESSAGES",
        "DEMO_API_KEY",
        "DEMO_SECRET",
        "WEIGHT_LIMIT_1M",
        "ApiError",
        "Fault",
        "Order",
        "OrderList",
        "SeenRequest",
        "SimulatedExchange",
        "Simulator",
        "attach",
        "point_at",
    }
