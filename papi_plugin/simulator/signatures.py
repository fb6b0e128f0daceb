"""Signed requests, checked as Binance checks them: API key, timestamp and recvWindow, then the signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from papi_plugin.simulator.api_error import ApiError, message, missing

MAX_RECV_WINDOW = 60000
DEFAULT_RECV_WINDOW = 5000
AHEAD_MS = 1000  # a timestamp more than this ahead of the server's clock is refused


@dataclass
class Keys:
    """The keys the simulator accepts: one HMAC pair, and any number of RSA or Ed25519 public keys."""

    api_key: str
    secret: str
    public_keys: dict[str, Any] = field(default_factory=dict)  # api key -> Ed25519 or RSA public key

    def authenticate(self, api_key: str | None, raw_params: str, params: dict[str, str], server_time: int) -> None:
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
        head, sep, signature = raw_params.rpartition("&signature=")
        if not sep or not signature:
            raise ApiError(400, -1102, missing("signature"))
        if not self.signature_valid(api_key, head, urllib.parse.unquote(signature)):
            raise ApiError(400, -1022)
        timestamp = int(params["timestamp"])
        if timestamp > server_time + AHEAD_MS or server_time - timestamp > int(recv_window):
            raise ApiError(400, -1021, message(-1021))

    def signature_valid(self, api_key: str, payload: str, signature: str) -> bool:
        """HMAC-SHA256 with the secret, or RSA (PKCS#1 v1.5, SHA-256) / Ed25519 with the key's public half."""
        public_key = self.public_keys.get(api_key)
        if public_key is None:
            expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, signature)
        try:
            raw = base64.b64decode(signature)
            if isinstance(public_key, rsa.RSAPublicKey):
                public_key.verify(raw, payload.encode(), padding.PKCS1v15(), hashes.SHA256())
            else:
                public_key.verify(raw, payload.encode())
            return True
        except (InvalidSignature, ValueError):
            return False
