"""Keep API keys, secrets and signatures out of messages and log lines."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_SIGNATURE = re.compile(r"(signature=)[^&\s'\"]+", re.IGNORECASE)
_API_KEY_HEADER = re.compile(r"(X-MBX-APIKEY['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+", re.IGNORECASE)
MASK = "***"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every signature, ``X-MBX-APIKEY`` value and given secret replaced by ``***``."""
    text = _SIGNATURE.sub(r"\1" + MASK, text)
    text = _API_KEY_HEADER.sub(r"\1" + MASK, text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Redacts records of a logger, e.g. ccxt's, which logs the API key and signed URLs at DEBUG."""

    def __init__(self) -> None:
        super().__init__("papi_plugin.redaction")
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_filter = RedactingFilter()


def protect_logger(logger: logging.Logger, secrets: Iterable[str]) -> None:
    """Install (once) the redacting filter on ``logger`` and teach it these secrets."""
    _filter.secrets.update(secret for secret in secrets if secret and len(secret) >= 4)
    if _filter not in logger.filters:
        logger.addFilter(_filter)
