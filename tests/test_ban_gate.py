"""The ban gate, without I/O: a 418 closes it for the ban, a 429 for its Retry-After, and it always reopens."""

from __future__ import annotations

import ccxt
import pytest

from papi_plugin.ban_gate import DEFAULT_BAN_SECONDS, BanGate
from papi_plugin.error_table import Action, Verdict

NOW = 1_000.0
CONTEXT = "binance cancel_all_margin_orders BTC/USDT"


def verdict(action: Action, retry_after: float | None) -> Verdict:
    return Verdict(action, ccxt.ExchangeError("x"), -1003, 418, retry_after)


def test_open_gate_asks_no_wait() -> None:
    assert BanGate().wait_before_sending(NOW, 10, CONTEXT) == 0.0


def test_a_ban_is_never_waited_out() -> None:
    gate = BanGate()
    gate.close_after(verdict(Action.BANNED, 300), NOW)
    with pytest.raises(ccxt.DDoSProtection, match="not sent, the IP is banned"):
        gate.wait_before_sending(NOW + 299, 1_000, CONTEXT)
    assert gate.wait_before_sending(NOW + 300, 1_000, CONTEXT) == 0.0


def test_a_ban_without_retry_after_lasts_binances_shortest_ban() -> None:
    gate = BanGate()
    gate.close_after(verdict(Action.BANNED, None), NOW)
    assert gate.until == NOW + DEFAULT_BAN_SECONDS


def test_a_429_pause_is_waited_when_it_fits() -> None:
    gate = BanGate()
    gate.close_after(verdict(Action.RATE_LIMITED, 2), NOW)
    assert gate.wait_before_sending(NOW + 0.5, 10, CONTEXT) == 1.5
    with pytest.raises(ccxt.RateLimitExceeded, match="not sent, rate limited"):
        gate.wait_before_sending(NOW + 0.5, 1, CONTEXT)


def test_a_429_during_a_ban_keeps_it_a_ban() -> None:
    gate = BanGate()
    gate.close_after(verdict(Action.BANNED, 300), NOW)
    gate.close_after(verdict(Action.RATE_LIMITED, 1), NOW + 1)
    with pytest.raises(ccxt.DDoSProtection):
        gate.wait_before_sending(NOW + 2, 1_000, CONTEXT)


def test_a_429_after_a_ban_ended_is_only_a_pause() -> None:
    gate = BanGate()
    gate.close_after(verdict(Action.BANNED, 10), NOW)
    gate.close_after(verdict(Action.RATE_LIMITED, 1), NOW + 20)
    assert gate.wait_before_sending(NOW + 20, 5, CONTEXT) == 1.0


@pytest.mark.parametrize("action", [Action.RETRY, Action.RAISE, Action.RESYNC_CLOCK, Action.NOTHING_OPEN])
def test_other_failures_leave_it_open(action: Action) -> None:
    gate = BanGate()
    gate.close_after(verdict(action, 30), NOW)
    assert gate.wait_before_sending(NOW, 0, CONTEXT) == 0.0
