"""Signed requests, checked as Binance checks them: API key, timestamp and recvWindow, then the signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from papi_plugin.simulator.api_error import ApiError, message, missing

MAX_RECV_WINDOW = 60000
DEFAULT_RECV_WINDOW = 5000
AHEAD_MS = 1000  # a timestamp more than this ahead of the server's clock is refused
AHEAD_TEXT = "Timestamp for this request was {ms}ms ahead of the server's time."


class SignedParams(NamedTuple):
    """What a request's signature covers, as Binance reads it, and the signature it carries."""

    payload: str  # the query string followed by the body, without the signature, with no "&" between
    signature: str | None


def read_params(method: str, query: str, body: str) -> tuple[dict[str, str], SignedParams]:
    """A request's parameters as Binance reads them: a GET's from its query only; otherwise from the query
    and the body, the query's value winning where both have one. The signature is the ``signature``
    parameter; what it signs is the query string followed by the body."""
    parts = [query] if method == "GET" else [query, body]
    signature = None
    unsigned: list[str] = []
    for part in parts:
        kept = []
        for pair in part.split("&") if part else []:
            name, _, value = pair.partition("=")
            if urllib.parse.unquote_plus(name) == "signature":
                signature = urllib.parse.unquote_plus(value)
            else:
                kept.append(pair)
        unsigned.append("&".join(kept))
    params: dict[str, str] = {}
    for part in reversed(unsigned):  # the body first, then the query over it
        params.update(urllib.parse.parse_qsl(part, keep_blank_values=True))
    return params, SignedParams("".join(unsigned), signature)


@dataclass
class Keys:
    """The keys the simulator accepts: one HMAC pair, and any number of RSA or Ed25519 public keys."""

    api_key: str
    secret: str
    public_keys: dict[str, Any] = field(default_factory=dict)  # api key -> Ed25519 or RSA public key

    def authenticate(self, api_key: str | None, signed: SignedParams, params: dict[str, str], server_time: int) -> None:
        """Raise the ``ApiError`` Binance answers with, or return when the request is signed and in time."""
        if not api_key:
            raise ApiError(401, -2014)
        if api_key != self.api_key and api_key not in self.public_keys:
            raise ApiError(401, -2015)
        if "timestamp" not in params or not params["timestamp"].lstrip("-").isdigit():
            raise ApiError(400, -1102, missing("timestamp"))
        recv_window = params.get("recvWindow", str(DEFAULT_RECV_WINDOW))
        if not recv_window.isdigit() or int(recv_window) > MAX_RECV_WINDOW:
            raise ApiError(400, -1131)
        if not signed.signature:
            raise ApiError(400, -1102, missing("signature"))
        if not self.signature_valid(api_key, signed.payload, signed.signature):
            raise ApiError(400, -1022)
        timestamp = int(params["timestamp"])
        if timestamp > server_time + AHEAD_MS:
            raise ApiError(400, -1021, AHEAD_TEXT.format(ms=AHEAD_MS))
        if server_time - timestamp > int(recv_window):
            raise ApiError(400, -1021, message(-1021))

    def signature_valid(self, api_key: str, payload: str, signature: str) -> bool:
        """HMAC-SHA256 with the secret, or RSA (PKCS#1 v1.5, SHA-256) / Ed25519 with the key's public half."""
        public_key = self.public_keys.get(api_key)
        if public_key is None:
            expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, signature.lower())  # Binance's is not case sensitive
        try:
            raw = base64.b64decode(signature)
            if isinstance(public_key, rsa.RSAPublicKey):
                public_key.verify(raw, payload.encode(), padding.PKCS1v15(), hashes.SHA256())
            else:
                public_key.verify(raw, payload.encode())
            return True
        except (InvalidSignature, ValueError):
            return False
