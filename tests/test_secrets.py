"""No key, secret or signature in a cassette, a log line or an exception."""

from __future__ import annotations

import logging
import pathlib
import re
import traceback
from typing import Any

import ccxt
import pytest

from papi_plugin.simulator import Fault, Simulator
from tests.constants import CANCEL_ALL, TEST_API_KEY, TEST_SECRET
from tests.helpers import CASSETTES, Runner

SIGNED_VALUE = re.compile(r"signature=(?!\*\*\*)[0-9A-Za-z%+/=]+")


def test_no_cassette_holds_a_key_secret_or_signature() -> None:
    cassettes = sorted(pathlib.Path(CASSETTES).rglob("*.yaml"))
    assert cassettes, "no cassettes found"
    for path in cassettes:
        text = path.read_text()
        assert TEST_API_KEY not in text, path
        assert TEST_SECRET not in text, path
        assert not SIGNED_VALUE.search(text), path
        assert "timestamp=" not in text, path
        for header in re.findall(r"X-MBX-APIKEY:\n\s+- (.*)", text):
            assert header == "REDACTED", path


def test_logs_and_errors_hold_no_key_secret_or_signature(
    sim: Simulator, sim_exchange: tuple[Any, Runner], caplog: pytest.LogCaptureFixture
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.drop(), Fault.server_error(500), Fault.error(-1022))
    caplog.set_level(logging.DEBUG)  # ccxt itself logs keys and signed URLs at DEBUG
    with pytest.raises(ccxt.AuthenticationError) as raised:
        run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    texts = [record.getMessage() for record in caplog.records] + [str(raised.value), repr(raised.value)]
    assert any("retrying" in text for text in texts)
    assert any("allOpenOrders" in text for text in texts)  # ccxt's own DEBUG lines were seen, redacted
    for text in texts:
        assert TEST_API_KEY not in text
        assert TEST_SECRET not in text
        assert not SIGNED_VALUE.search(text), text
    assert raised.value.__cause__ is None and raised.value.__context__ is None  # nothing of ccxt's raw error
    shown = "".join(traceback.format_exception(raised.value))
    assert TEST_API_KEY not in shown and TEST_SECRET not in shown and not SIGNED_VALUE.search(shown)
