"""The error table, read without I/O: each row of Binance's answers gives the documented action and ccxt class."""

from __future__ import annotations

import email.utils
import json

import ccxt
import pytest

from papi_plugin.protocol.answers import (
    RETRY_AFTER_CEILING,
    RETRY_AFTER_FLOOR,
    Action,
    Answer,
    classify,
    error_code,
    retry_after_seconds,
)

NOW = 1_800_000_000.0
CONTEXT = "binance cancel_all_margin_orders BTC/USDT"


def answer(
    status: int, code: int | None = None, headers: dict[str, str] | None = None, body: str | None = None
) -> Answer:
    if body is None and code is not None:
        body = json.dumps({"code": code, "msg": "a message"})
    return Answer(status, "", headers or {}, body)


# (status, code) -> (action, ccxt class); ccxt's own class is whatever it raised (here ExchangeError).
ROWS = [
    (400, -2011, Action.NOTHING_OPEN, ccxt.ExchangeError),
    (400, -1000, Action.RETRY, ccxt.ExchangeError),
    (503, -1001, Action.RETRY, ccxt.ExchangeNotAvailable),
    (502, -1006, Action.RETRY, ccxt.BadResponse),
    (408, -1007, Action.RETRY, ccxt.RequestTimeout),
    (400, -1008, Action.RETRY, ccxt.ExchangeNotAvailable),
    (429, -1003, Action.RATE_LIMITED, ccxt.RateLimitExceeded),
    (418, -1003, Action.BANNED, ccxt.DDoSProtection),
    (400, -1021, Action.RESYNC_CLOCK, ccxt.InvalidNonce),
    (400, -1022, Action.RAISE, ccxt.AuthenticationError),
    (401, -2014, Action.RAISE, ccxt.AuthenticationError),
    (401, -2015, Action.RAISE, ccxt.AuthenticationError),
    (400, -1102, Action.RAISE, ccxt.BadRequest),
    (400, -1121, Action.RAISE, ccxt.BadSymbol),
    (400, -1131, Action.RAISE, ccxt.BadRequest),
    (400, -9999, Action.RAISE, ccxt.ExchangeError),  # an unknown code: ccxt's class, raised at once
    (401, None, Action.RAISE, ccxt.AuthenticationError),
    (403, None, Action.RAISE, ccxt.DDoSProtection),
    (451, None, Action.RAISE, ccxt.PermissionDenied),
    (500, None, Action.RETRY, ccxt.ExchangeNotAvailable),
    (503, None, Action.RETRY, ccxt.ExchangeNotAvailable),
]


@pytest.mark.parametrize(("status", "code", "action", "error"), ROWS)
def test_each_row_of_the_table(status: int, code: int | None, action: Action, error: type[Exception]) -> None:
    body = None if code is not None else "<html>gateway</html>"
    verdict = classify(ccxt.ExchangeError("ccxt's own"), answer(status, code, body=body), CONTEXT, NOW)
    assert verdict.action is action
    assert type(verdict.error) is error
    assert str(verdict.error).startswith(CONTEXT)


def test_the_same_code_means_the_same_on_any_host() -> None:
    # ccxt raises BadRequest for -1021 on papi.binance.com and InvalidNonce elsewhere: the code decides.
    for raised in (ccxt.BadRequest("papi table"), ccxt.InvalidNonce("global table")):
        assert classify(raised, answer(400, -1021), CONTEXT, NOW).action is Action.RESYNC_CLOCK


def test_no_answer_at_all_is_a_transport_failure_to_retry() -> None:
    verdict = classify(ccxt.RequestTimeout("binance DELETE ..."), Answer(), CONTEXT, NOW)
    assert verdict.action is Action.RETRY and isinstance(verdict.error, ccxt.RequestTimeout)


def test_a_body_that_is_not_json_on_200_is_a_bad_response() -> None:
    verdict = classify(ccxt.ExchangeError("x"), answer(200, body='[{"orderId": 1'), CONTEXT, NOW)
    assert verdict.action is Action.RAISE and isinstance(verdict.error, ccxt.BadResponse)


@pytest.mark.parametrize(
    "body",
    ['{"code": "ERR_UPSTREAM", "msg": "bad gateway"}', "[" * 100_000, '{"code": true}', "null", '"text"', ""],
)
def test_odd_bodies_have_no_binance_code(body: str) -> None:
    assert error_code(body) == (None, None)


def test_a_5xx_with_a_gateway_code_is_retried() -> None:
    verdict = classify(ccxt.ExchangeError("x"), answer(503, body='{"code": "ERR_UPSTREAM"}'), CONTEXT, NOW)
    assert verdict.action is Action.RETRY


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        ("0", RETRY_AFTER_FLOOR),
        ("-5", RETRY_AFTER_FLOOR),
        ("nan", RETRY_AFTER_FLOOR),
        ("soon", RETRY_AFTER_FLOOR),
        ("inf", RETRY_AFTER_CEILING),
        ("1e12", RETRY_AFTER_CEILING),
        ("Thu, 01 Jan 1970 00:00:00 GMT", RETRY_AFTER_FLOOR),  # a date in the past
    ],
)
def test_retry_after_gets_a_floor_and_a_ceiling(value: str, seconds: float) -> None:
    assert retry_after_seconds(answer(429, -1003, {"Retry-After": value}), NOW) == seconds


def test_retry_after_as_an_http_date() -> None:
    date = "Fri, 15 Jan 2027 08:00:30 GMT"
    headers = {"retry-after": date}  # header names are case-insensitive
    now = email.utils.parsedate_to_datetime(date).timestamp() - 30
    assert retry_after_seconds(answer(429, -1003, headers), now) == 30


def test_a_418_without_retry_after_reads_the_bans_end_from_the_message() -> None:
    body = json.dumps(
        {"code": -1003, "msg": f"Way too much request weight used; IP banned until {int(NOW + 300) * 1000}."}
    )
    verdict = classify(ccxt.DDoSProtection("x"), answer(418, body=body), CONTEXT, NOW)
    assert verdict.action is Action.BANNED and verdict.retry_after == 300
    assert "not retried" in str(verdict.error)


def test_secrets_are_redacted_from_the_message() -> None:
    raised = ccxt.NetworkError(
        "binance DELETE https://papi.binance.com/...?symbol=BTCUSDT&signature=abcdef0123 key-1234"
    )
    verdict = classify(raised, Answer(), CONTEXT, NOW, secrets=("key-1234",))
    assert "abcdef0123" not in str(verdict.error) and "key-1234" not in str(verdict.error)
