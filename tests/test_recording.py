"""The recording path: a cassette recorded with a real key and secret holds neither, and replays."""

from __future__ import annotations

import asyncio
import pathlib
import re
import secrets

import ccxt
import vcr

import papi_plugin
from papi_plugin.simulator import Fault, Simulator
from tests.constants import ALL_MARKET_OPTIONS, CANCEL_ALL, TEST_API_KEY, TEST_SECRET
from tests.helpers import binance, vcr_settings

SIGNED_VALUE = re.compile(r"signature=[0-9A-Za-z%+/=]+")


def assert_scrubbed(text: str, key: str, secret: str) -> None:
    assert key not in text and secret not in text
    assert not SIGNED_VALUE.search(text)
    assert "timestamp=" not in text
    assert "X-MBX-APIKEY:\n      - REDACTED" in text


def test_sync_recording_scrubs_the_key_secret_and_signature_and_replays(tmp_path: pathlib.Path) -> None:
    key, secret = "live" + secrets.token_hex(30), secrets.token_hex(32)
    cassette = tmp_path / "sync.yaml"
    with Simulator(api_key=key, secret=secret) as sim:
        sim.seed_documented_example()
        sim.inject(CANCEL_ALL, Fault.server_error(503))
        exchange = sim.attach(papi_plugin.extend(ccxt.binance({"apiKey": key, "secret": secret})))
        with vcr.VCR(record_mode="all", **vcr_settings()).use_cassette(str(cassette)):
            assert len(exchange.cancel_all_margin_orders("BTC/USDT")) == 3
    text = cassette.read_text()
    assert text.count("method: DELETE") == 2 and "orderReports" in text
    assert_scrubbed(text, key, secret)

    replayed = papi_plugin.extend(
        ccxt.binance({"apiKey": TEST_API_KEY, "secret": TEST_SECRET, "options": dict(ALL_MARKET_OPTIONS)})
    )
    with vcr.VCR(record_mode="none", **vcr_settings()).use_cassette(str(cassette)) as played:
        assert [o["id"] for o in replayed.cancel_all_margin_orders("BTC/USDT")] == ["11", "20", "21"]
        assert played.all_played


def test_async_recording_scrubs_the_key_secret_and_signature(tmp_path: pathlib.Path) -> None:
    key, secret = "live" + secrets.token_hex(30), secrets.token_hex(32)
    cassette = tmp_path / "async.yaml"

    async def record(sim: Simulator) -> int:
        exchange = sim.attach(papi_plugin.extend(binance("async", {"apiKey": key, "secret": secret})))
        try:
            with vcr.VCR(record_mode="all", **vcr_settings()).use_cassette(str(cassette)):
                return len(await exchange.cancel_all_margin_orders("BTC/USDT"))
        finally:
            await exchange.close()

    with Simulator(api_key=key, secret=secret) as sim:
        sim.seed_documented_example()
        assert asyncio.run(record(sim)) == 3
    text = cassette.read_text()
    assert "method: DELETE" in text and "orderReports" in text
    assert_scrubbed(text, key, secret)
