"""Every attempt is signed by ccxt afresh: HMAC-SHA256 for secrets, Ed25519 for Ed25519 keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from typing import Any

import ccxt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import papi_plugin
from papi_plugin.simulator import Fault, Simulator
from tests.constants import CANCEL_ALL, TEST_SECRET
from tests.helpers import Runner, binance


def sent_cancels(sim: Simulator) -> list[tuple[str, str]]:
    """(signed payload, signature) of each cancel the simulator received."""
    pairs = []
    for seen in sim.requests:
        if seen.method == "DELETE":
            payload, _, signature = seen.raw.rpartition("&signature=")
            pairs.append((payload, urllib.parse.unquote(signature)))
    return pairs


def test_signature_is_hmac_sha256_of_the_query_with_the_secret(
    sim: Simulator, sim_exchange: tuple[Any, Runner]
) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    [(payload, signature)] = sent_cancels(sim)
    assert signature == hmac.new(TEST_SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
    assert "symbol=BTCUSDT" in payload and "timestamp=" in payload


def test_each_attempt_is_signed_afresh_with_a_new_timestamp(sim: Simulator, sim_exchange: tuple[Any, Runner]) -> None:
    exchange, run = sim_exchange
    sim.seed_documented_example()
    sim.inject(CANCEL_ALL, Fault.server_error(503))
    run.call(exchange.cancel_all_margin_orders, "BTC/USDT")
    (first, first_signature), (second, second_signature) = sent_cancels(sim)
    assert first != second and first_signature != second_signature
    stamps = [int(dict(urllib.parse.parse_qsl(p))["timestamp"]) for p in (first, second)]
    assert stamps[1] > stamps[0]


def ed25519_pair() -> tuple[str, Any]:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, private.public_key()


def test_ed25519_key_signs_with_ed25519(sim: Simulator) -> None:
    pem, public_key = ed25519_pair()
    sim.add_public_key("ed25519-test-key", public_key)
    sim.seed_documented_example()
    exchange = sim.attach(papi_plugin.extend(ccxt.binance({"apiKey": "ed25519-test-key", "secret": pem})))
    assert len(exchange.cancel_all_margin_orders("BTC/USDT")) == 3
    [(payload, signature)] = sent_cancels(sim)
    public_key.verify(base64.b64decode(signature), payload.encode())  # raises if not valid


async def test_ed25519_key_signs_async_too(sim: Simulator) -> None:
    pem, public_key = ed25519_pair()
    sim.add_public_key("ed25519-test-key", public_key)
    sim.seed_documented_example()
    exchange = sim.attach(papi_plugin.extend(binance("async", {"apiKey": "ed25519-test-key", "secret": pem})))
    try:
        assert len(await exchange.cancel_all_margin_orders("BTC/USDT")) == 3
    finally:
        await exchange.close()
    [(payload, signature)] = sent_cancels(sim)
    public_key.verify(base64.b64decode(signature), payload.encode())


def test_a_wrong_secret_is_refused_as_an_authentication_error(sim: Simulator) -> None:
    sim.seed_documented_example()
    exchange = sim.attach(papi_plugin.extend(ccxt.binance({"apiKey": sim.api_key, "secret": "not-the-secret"})))
    try:
        exchange.cancel_all_margin_orders("BTC/USDT")
    except ccxt.AuthenticationError as error:
        assert "-1022" in str(error)
    else:
        raise AssertionError("a wrong secret was accepted")
    assert len(sim.open_orders("BTCUSDT")) == 3


def test_rsa_key_signs_with_rsa_sha256(sim: Simulator) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    sim.add_public_key("rsa-test-key", private.public_key())
    sim.seed_documented_example()
    exchange = sim.attach(papi_plugin.extend(ccxt.binance({"apiKey": "rsa-test-key", "secret": pem})))
    assert len(exchange.cancel_all_margin_orders("BTC/USDT")) == 3
    [(payload, signature)] = sent_cancels(sim)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    private.public_key().verify(base64.b64decode(signature), payload.encode(), padding.PKCS1v15(), hashes.SHA256())
