"""The simulator's HTTP side: one handler per request, answering as Binance does, over ``http.server``."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from papi_plugin.simulator.api_error import ApiError
from papi_plugin.simulator.exchange import SeenRequest, SimulatedExchange
from papi_plugin.simulator.faults import JSON
from papi_plugin.simulator.limits import api_of
from papi_plugin.simulator.routes import ENDPOINTS
from papi_plugin.simulator.signatures import SignedParams, read_params

SIGNED_PREFIXES = ("/papi/", "/sapi/")
ORDER_COUNT_HEADER = "X-MBX-ORDER-COUNT-1M"  # on every order answer: orders placed this minute


class Server(ThreadingHTTPServer):
    """Keeps its clients' connections open between requests, as Binance does, and cuts them all on ``close``."""

    request_queue_size = 512  # many concurrent async clients; the default 5 refuses connections
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: type[RequestHandler]) -> None:
        super().__init__(address, handler)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closing = False

    def opened(self, connection: socket.socket) -> bool:
        """Note a client's connection; False once the server is closing (the handler then ends at once)."""
        with self._lock:
            if not self._closing:
                self._open.add(connection)
            return not self._closing

    def closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)

    def cut_every_connection(self) -> None:
        """End every handler waiting on a kept-alive connection, so that ``server_close`` joins them at once."""
        with self._lock:
            self._closing = True
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class RequestHandler(BaseHTTPRequestHandler):
    """One request: record it, play its fault if one is scripted, charge its weight, check it, answer it."""

    sim: SimulatedExchange
    server: Server
    server_version = "papi-simulator"
    protocol_version = "HTTP/1.1"  # connections kept alive between requests, as Binance's are
    disable_nagle_algorithm = True  # an answer's headers and body leave at once (no delayed-ACK stall)
    seen: SeenRequest | None = None
    used_weight = 0
    request_line: tuple[str, SignedParams, dict[str, str]] = ("", SignedParams("", None), {})

    def log_message(self, format: str, *args: Any) -> None:  # quiet: a test suite runs thousands
        return

    def handle(self) -> None:
        if self.server.opened(self.connection):
            try:
                super().handle()
            except (BrokenPipeError, ConnectionResetError):  # a client gone between requests (killed, say)
                pass
            finally:
                self.server.closed(self.connection)

    def send_response(self, code: int, message: str | None = None) -> None:
        if self.seen is not None:
            self.seen.status = code  # before the client can read the answer
        super().send_response(code, message)

    def do_GET(self) -> None:
        self.handle_request()

    def do_POST(self) -> None:
        self.handle_request()

    def do_DELETE(self) -> None:
        self.handle_request()

    def handle_request(self) -> None:
        sim = self.sim
        split = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length).decode() if length else ""
        raw_params = "&".join(part for part in (split.query, raw_body) if part)
        params, signed = read_params(self.command, split.query, raw_body)
        endpoint = f"{self.command} {split.path}"
        fault = sim.next_fault(endpoint)
        self.request_line = (split.path, signed, params)
        kept = dict(params)
        # Counted before answering: a client that got its answer sees its request counted.
        api_key = self.headers.get("X-MBX-APIKEY")
        self.seen = seen = SeenRequest(self.command, split.path, kept, 0, raw_params, api_key, time.time())
        sim.requests.append(seen)
        try:
            if sim.latency:
                self.pause(sim.latency)
            if fault is not None and fault.early and (status := fault.play(self)) is not None:
                seen.status = status
                return
            served = ENDPOINTS.get((self.command, split.path))
            charged = served.weigh(sim, params) if served is not None else 1
            self.used_weight, limited = sim.limits.charge(charged, api_of(split.path))
            if limited is not None:
                raise limited
            if fault is not None and not fault.early and (status := fault.play(self)) is not None:
                seen.status = status
                return
            answer = self.perform()
            placed = served.places if served is not None else 0
            counted = {ORDER_COUNT_HEADER: str(sim.limits.count_orders(placed))} if placed else None
            self.send_json(200, answer, counted)
        except ApiError as error:
            self.send_error_answer(error)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up on this answer
            self.close_connection = True

    def perform(self) -> Any:
        """Check the request and do what it asks; the answer to send (raises ``ApiError``)."""
        path, signed, params = self.request_line
        served = ENDPOINTS.get((self.command, path))
        if served is None:
            raise ApiError(404, -1000, f"Unknown endpoint {self.command} {path}")
        if path.startswith(SIGNED_PREFIXES):
            self.sim.keys.authenticate(self.headers.get("X-MBX-APIKEY"), signed, params, self.sim.server_time())
            served.check_reads(params)
        return served.answer(self.sim, params)

    # -- what a route or a fault answers with (the ``Reply`` a fault plays on)

    def send_body(
        self,
        status: int,
        body: bytes,
        content_type: str = JSON,
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        """One answer; ``length`` larger than the body announces bytes that never come (a cut connection)."""
        if length is not None and length != len(body):
            self.close_connection = True  # whatever follows, this connection's framing is gone
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        if content_type == JSON:
            self.send_header("X-MBX-USED-WEIGHT-1M", str(self.used_weight))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_body(status, json.dumps(payload).encode(), headers=headers)

    def send_error_answer(self, error: ApiError) -> None:
        if error.status in (418, 429):
            self.sim.limits.count_rate_limited()
        self.send_json(error.status, {"code": error.code, "msg": error.msg}, error.headers)

    def send_raw(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def pause(self, seconds: float) -> bool:
        return not self.sim.stopping.wait(seconds)

    def cut_connection(self) -> None:
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def ban(self, seconds: float) -> ApiError:
        return self.sim.limits.ban(seconds)
