"""Scripted faults: each kind is built and answered here, in one place (``sim.inject(endpoint, *faults)``).

A fault replaces the answer to one request (``play`` returns the status it sent, 0 for none), or only
alters it and lets the simulator answer as usual (``play`` returns None).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar, Protocol

from papi_plugin.simulator.api_error import ApiError, message
from papi_plugin.simulator.limits import BAN_SECONDS

JSON = "application/json;charset=UTF-8"


class Reply(Protocol):
    """What a fault may do to the request it answers (the server's request handler)."""

    def send_body(
        self,
        status: int,
        body: bytes,
        content_type: str = JSON,
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None: ...

    def send_error_answer(self, error: ApiError) -> None: ...

    def cut_connection(self) -> None: ...

    def send_raw(self, data: bytes) -> None: ...

    def perform(self) -> object:
        """Do what the request asks, as the exchange would, without answering yet (raises ``ApiError``)."""
        ...

    def pause(self, seconds: float) -> bool:
        """Wait ``seconds`` (cut short when the simulator stops); False if it stopped meanwhile."""
        ...

    def ban(self, seconds: float) -> ApiError: ...


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour for one request. Build with the class methods."""

    early: ClassVar[bool] = False  # played before the request's weight is charged

    def play(self, reply: Reply) -> int | None:
        raise NotImplementedError

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Answer normally, ``seconds`` late."""
        return Delay(seconds)

    @classmethod
    def server_error(cls, status: int = 503) -> Fault:
        """An HTTP 5xx with a JSON-less plain body."""
        return PlainStatus(status, "Service Unavailable")

    @classmethod
    def html(cls, status: int = 502) -> Fault:
        """An HTML error page, as a CDN or load balancer sends."""
        return HtmlPage(status)

    @classmethod
    def error(cls, code: int, status: int = 400, msg: str = "", headers: dict[str, str] | None = None) -> Fault:
        """A Binance JSON error, e.g. ``Fault.error(-1001, 503)`` or ``Fault.error(-1007, 408)``."""
        return BinanceError(code, status, msg or message(code), tuple((headers or {}).items()))

    @classmethod
    def rate_limited(cls, retry_after: float = 1) -> Fault:
        """HTTP 429 with ``Retry-After``."""
        return RateLimited(retry_after)

    @classmethod
    def banned(cls, retry_after: float = BAN_SECONDS) -> Fault:
        """HTTP 418: the IP is banned for ``retry_after`` seconds (the ban is real: later requests get 418 too)."""
        return Banned(retry_after)

    @classmethod
    def clock(cls) -> Fault:
        """-1021: the timestamp is outside recvWindow."""
        return BinanceError(-1021, 400, message(-1021))

    @classmethod
    def drop(cls) -> Fault:
        """Send the status line, headers and half the body, then cut the connection."""
        return Drop()

    @classmethod
    def answer_lost(cls) -> Fault:
        """Do what the request asks (cancel the orders), then cut the connection before the answer."""
        return AnswerLost()

    @classmethod
    def truncate(cls) -> Fault:
        """A complete HTTP 200 whose JSON body is cut short."""
        return Truncate()

    @classmethod
    def answer(cls, body: str, status: int = 200) -> Fault:
        """Answer with exactly this JSON ``body`` (e.g. ``"[]"``, or a dict where a list belongs)."""
        return Answer(body, status)

    @classmethod
    def drip(cls, every: float = 0.2) -> Fault:
        """A 200 whose body comes one byte every ``every`` seconds (each read is quick; the whole is not)."""
        return Drip(every)

    @classmethod
    def garbage(cls) -> Fault:
        """A status line that is not HTTP, as a broken proxy sends."""
        return Garbage()

    @classmethod
    def disconnect(cls) -> Fault:
        """Read the request, then close the connection without answering."""
        return Disconnect()


@dataclass(frozen=True)
class Delay(Fault):
    seconds: float
    early: ClassVar[bool] = True

    def play(self, reply: Reply) -> int | None:
        reply.pause(self.seconds)
        return None


@dataclass(frozen=True)
class Disconnect(Fault):
    early: ClassVar[bool] = True

    def play(self, reply: Reply) -> int | None:
        reply.cut_connection()
        return 0


@dataclass(frozen=True)
class PlainStatus(Fault):
    status: int
    text: str

    def play(self, reply: Reply) -> int | None:
        reply.send_body(self.status, self.text.encode(), "text/plain")
        return self.status


@dataclass(frozen=True)
class HtmlPage(Fault):
    status: int

    def play(self, reply: Reply) -> int | None:
        title = f"{self.status} Bad Gateway" if self.status == 502 else f"{self.status} Error"
        page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
        reply.send_body(self.status, page.encode(), "text/html")
        return self.status


@dataclass(frozen=True)
class BinanceError(Fault):
    code: int
    status: int
    msg: str
    headers: tuple[tuple[str, str], ...] = ()

    def play(self, reply: Reply) -> int | None:
        reply.send_error_answer(ApiError(self.status, self.code, self.msg, dict(self.headers)))
        return self.status


@dataclass(frozen=True)
class RateLimited(Fault):
    retry_after: float

    def play(self, reply: Reply) -> int | None:
        reply.send_error_answer(ApiError(429, -1003, message(-1003), {"Retry-After": f"{self.retry_after:g}"}))
        return 429


@dataclass(frozen=True)
class Banned(Fault):
    retry_after: float

    def play(self, reply: Reply) -> int | None:
        reply.send_error_answer(reply.ban(self.retry_after))
        return 418


@dataclass(frozen=True)
class Drip(Fault):
    every: float

    def play(self, reply: Reply) -> int | None:
        body = b"[]" + b" " * 200
        reply.send_body(200, b"", length=len(body))
        for byte in body:
            if not reply.pause(self.every):
                break
            reply.send_raw(bytes([byte]))
        return 200


@dataclass(frozen=True)
class Garbage(Fault):
    def play(self, reply: Reply) -> int | None:
        reply.send_raw(b"HTTP/1.1 2OO NOT-A-STATUS\r\nGarbage\r\n\r\n[]")
        reply.cut_connection()
        return 0


@dataclass(frozen=True)
class Drop(Fault):
    def play(self, reply: Reply) -> int | None:
        body = json.dumps([{"symbol": "BTCUSDT", "orderId": 1, "status": "CANCELED"}] * 4).encode()
        reply.send_body(200, body[: len(body) // 2], length=len(body))  # announces bytes that never come
        reply.cut_connection()
        return 200


@dataclass(frozen=True)
class AnswerLost(Fault):
    def play(self, reply: Reply) -> int | None:
        reply.perform()
        reply.cut_connection()
        return 0


@dataclass(frozen=True)
class Truncate(Fault):
    def play(self, reply: Reply) -> int | None:
        reply.send_body(200, b'[{"symbol": "BTCUSDT", "orderId": 11, "orderLi')
        return 200


@dataclass(frozen=True)
class Answer(Fault):
    body: str
    status: int = 200

    def play(self, reply: Reply) -> int | None:
        reply.send_body(self.status, self.body.encode())
        return self.status


__all__ = ["Fault", "Reply"]
