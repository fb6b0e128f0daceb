"""Binance's error answers: ``{"code": ..., "msg": ...}`` with an HTTP status, and their documented texts."""

from __future__ import annotations

BINANCE_MESSAGES = {
    -1000: "An unknown error occurred while processing the request.",
    -1001: "Internal error; unable to process your request. Please try again.",
    -1003: "Too much request weight used; current limit is {limit} request weight per 1 MINUTE.",
    -1006: "An unexpected response was received from the message bus. Execution status unknown.",
    -1007: "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
    -1008: "Request throttled by system-level protection. Please try again.",
    -1021: "Timestamp for this request is outside of the recvWindow.",
    -1022: "Signature for this request is not valid.",
    -1102: "Mandatory parameter was not sent, was empty/null, or malformed.",
    -1121: "Invalid symbol.",
    -1131: "recvWindow must be less than 60000",
    -1104: "Not all sent parameters were read.",
    -2011: "Unknown order sent.",
    -2013: "Order does not exist.",
    -2014: "API-key format invalid.",
    -2015: "Invalid API-key, IP, or permissions for action.",
}


def message(code: int, **values: object) -> str:
    text = BINANCE_MESSAGES.get(code, "Error.")
    return text.format(**values) if values else text.replace("{limit}", "6000")


def missing(name: str) -> str:
    return f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."


class ApiError(Exception):
    """An error answer: raised by a route or a check, sent by the server."""

    def __init__(self, status: int, code: int, msg: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(msg)
        self.status, self.code, self.headers = status, code, headers or {}
        self.msg = message(code) if msg is None else msg
