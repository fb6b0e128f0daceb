"""Input and option checks, without I/O: what is accepted, what is sent, and the clear error for the rest."""

from __future__ import annotations

import math
from typing import Any

import ccxt
import pytest

from papi_plugin.protocol.params import DEFAULT_BUDGET, call_options, limits_options, symbol_argument, symbols_argument

CALL = "cancel_all_margin_orders"


def test_defaults_then_exchange_options_then_params() -> None:
    options = call_options({"maxAttempts": 2, "maxElapsed": 9}, {"maxElapsed": 4}, CALL)
    assert (options.budget.max_attempts, options.budget.max_elapsed) == (2, 4.0)
    assert options.budget.max_retry_after == DEFAULT_BUDGET["maxRetryAfter"]
    assert options.confirm_rounds is None and options.sent == {}


def test_only_recv_window_is_sent() -> None:
    params = {"recvWindow": 5000, "maxAttempts": 3, "confirm": True, "maxConfirmRounds": 2}
    options = call_options(None, params, CALL)
    assert options.sent == {"recvWindow": 5000}
    assert options.confirm_rounds == 2


@pytest.mark.parametrize("params", [{"portfolioMargin": True}, {"marginMode": "cross"}])
def test_ccxt_conventions_for_cross_margin_are_understood_not_sent(params: dict[str, Any]) -> None:
    assert call_options(None, params, CALL).sent == {}


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"marginMode": "isolated"}, "marginMode"),
        ({"portfolioMargin": False}, "portfolioMargin"),
        ({"type": "margin"}, "recvWindow"),  # names what it takes
        ({"timestamp": 1}, "timestamp"),
        ({"signature": "x"}, "signature"),
        ({"recvWindow": 0}, "recvWindow"),
        ({"recvWindow": 60001}, "recvWindow"),
        ({"recvWindow": "5000"}, "recvWindow"),
        ({"recvWindow": True}, "recvWindow"),
        ({"maxAttempts": 0}, "maxAttempts"),
        ({"maxAttempts": 2.5}, "maxAttempts"),
        ({"maxElapsed": -1}, "maxElapsed"),
        ({"maxElapsed": math.nan}, "maxElapsed"),
        ({"maxElapsed": math.inf}, "maxElapsed"),
        ({"maxRetryAfter": "10"}, "maxRetryAfter"),
        ({"confirm": "false"}, "confirm"),
        ({"confirm": 1}, "confirm"),
        ({"confirm": True, "maxConfirmRounds": -1}, "maxConfirmRounds"),
    ],
)
def test_bad_params_raise_bad_request_naming_the_parameter(params: dict[str, Any], says: str) -> None:
    with pytest.raises(ccxt.BadRequest, match=says):
        call_options(None, params, CALL)


@pytest.mark.parametrize("options", ["fast", 5, ["maxAttempts"]])
def test_exchange_options_that_are_not_a_dict_raise_bad_request(options: Any) -> None:
    with pytest.raises(ccxt.BadRequest, match="cancelAllMarginOrders"):
        call_options(options, {}, CALL)


def test_params_that_are_not_a_dict_raise_bad_request() -> None:
    with pytest.raises(ccxt.BadRequest, match="params must be a dict"):
        call_options(None, ["BTC/USDT"], CALL)


REDIS, SQLITE = "redis://10.0.0.5:6379/0", "sqlite:////var/lib/bots/limits.sqlite3"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, (6000, 60.0, None, None)),
        ({"weightLimit": 300, "weightWindow": 2}, (300, 2.0, None, None)),
        ({"limitsStore": REDIS, "limitsKey": "egress-a"}, (6000, 60.0, REDIS, "egress-a")),
        ({"limitsStore": SQLITE}, (6000, 60.0, SQLITE, None)),
        ({"limitsStore": "memory"}, (6000, 60.0, "memory", None)),
    ],
)
def test_limits_options(options: dict[str, Any], expected: tuple[Any, ...]) -> None:
    assert limits_options(options) == expected


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"weightLimit": 0}, "weightLimit"),
        ({"weightWindow": 0}, "weightWindow"),
        ({"weightWindow": math.nan}, "weightWindow"),
        ({"limitsStore": "postgres://db/limits"}, "limitsStore"),
        ({"limitsStore": "sqlite:///relative.sqlite3"}, "absolute path"),
        ({"limitsStore": "memory://x"}, "takes no path"),
        ({"limitsStore": 42}, "limitsStore"),
        ({"limitsKey": ""}, "limitsKey"),
        ({"limitsKey": 7}, "limitsKey"),
    ],
)
def test_bad_limits_options_raise_bad_request(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ccxt.BadRequest, match=named):
        limits_options(options)


def test_a_store_url_with_a_password_is_never_shown_with_it() -> None:
    with pytest.raises(ccxt.BadRequest) as raised:
        limits_options({"limitsStore": "postgres://bot:hunter2secret@db/limits"})
    assert "hunter2secret" not in str(raised.value)


@pytest.mark.parametrize(
    ("symbol", "error"), [(None, ccxt.ArgumentsRequired), ("  ", ccxt.ArgumentsRequired), (42, ccxt.BadSymbol)]
)
def test_bad_symbol_arguments(symbol: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        symbol_argument(symbol, CALL)


def test_a_long_bad_value_is_cut_in_the_message() -> None:
    with pytest.raises(ccxt.BadSymbol) as raised:
        symbols_argument([b"x" * 10_000], "cancel_all_margin_orders_many")
    with pytest.raises(ccxt.BadRequest) as bad_key:
        call_options(None, {"k" * 10_000: 1}, CALL)
    assert len(str(bad_key.value)) < 300 and len(str(raised.value)) < 300


def test_symbols_is_a_list_or_none_never_a_bare_string() -> None:
    assert symbols_argument(None, "many") is None
    assert symbols_argument(("BTC/USDT",), "many") == ["BTC/USDT"]
    with pytest.raises(ccxt.BadRequest):
        symbols_argument("BTC/USDT", "many")


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"maxElapsed": 3 * 86400 + 1}, "maxElapsed must be a finite number of seconds >= 0 and <= 259200"),
        ({"maxRetryAfter": 10**9}, "maxRetryAfter must be a finite number of seconds >= 0 and <= 259200"),
        ({"maxAttempts": 1001}, "maxAttempts must be an integer in 1..1000"),
        ({"confirm": True, "maxConfirmRounds": 1001}, "maxConfirmRounds must be an integer in 0..1000"),
    ],
)
def test_budgets_beyond_their_bounds_raise_bad_request(params: dict[str, Any], says: str) -> None:
    with pytest.raises(ccxt.BadRequest, match=says.replace(".", r"\.")):
        call_options(None, params, "cancel_all_margin_orders")


def test_budgets_at_their_bounds_are_taken() -> None:
    params = {"maxElapsed": 3 * 86400, "maxRetryAfter": 3 * 86400, "maxAttempts": 1000}
    options = call_options(None, {**params, "confirm": True, "maxConfirmRounds": 1000}, "cancel_all_margin_orders")
    assert options.budget == (1000, 259200.0, 259200.0) and options.confirm_rounds == 1000
