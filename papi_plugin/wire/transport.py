"""The thin I/O shell: send the one signed papi request through ccxt and keep what came back.

ccxt raises on an error answer with a class that depends on the host and hides the status, the
``Retry-After`` header and the body's numeric code. ``keep_answers`` wraps the exchange's
``on_rest_response`` (ccxt's per-response hook) so that each attempt sees its own answer, in a
context variable: correct across threads and across concurrent asyncio tasks on one exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import urllib.parse
from collections.abc import Iterator
from typing import Any

import ccxt
import requests.adapters

from papi_plugin.protocol.answers import Answer, header
from papi_plugin.protocol.endpoints import Endpoint
from papi_plugin.wire.watchdog import WATCHDOG, watch_session

API = ["papi"]
USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"  # on every answer: the IP's papi weight used this minute


_answers: contextvars.ContextVar[list[Answer] | None] = contextvars.ContextVar("papi_plugin_answers", default=None)


def keep_answers(exchange: Any) -> None:
    """Wrap ``exchange.on_rest_response`` once so attempts can read their own HTTP answer."""
    original = exchange.on_rest_response
    if getattr(original, "keeps_answers", False):
        return

    def on_rest_response(code: int, reason: str, url: str, method: str, headers: Any, body: str, *rest: Any) -> Any:
        kept = _answers.get()
        if kept is not None:
            if 200 <= code < 300:  # a success needs only its used weight: no copy of headers and body
                used = header(headers, USED_WEIGHT_HEADER)
                kept.append(Answer(code, reason or "", {USED_WEIGHT_HEADER: used} if used else None))
            else:
                kept.append(Answer(code, reason or "", dict(headers or {}), body))
        return original(code, reason, url, method, headers, body, *rest)

    on_rest_response.keeps_answers = True  # type: ignore[attr-defined]
    exchange.on_rest_response = on_rest_response


@contextlib.contextmanager
def answers() -> Iterator[list[Answer]]:
    """Collect the HTTP answers received inside the block (in this thread or task only)."""
    kept: list[Answer] = []
    token = _answers.set(kept)
    try:
        yield kept
    finally:
        _answers.reset(token)


def signed_request(exchange: Any, endpoint: Endpoint, params: dict[str, Any]) -> dict[str, Any]:
    """ccxt's own signing, afresh on every attempt: a new timestamp from ``nonce()`` and ``timeDifference``."""
    problem = None
    try:
        return exchange.sign(endpoint.path, API, endpoint.method, dict(params))  # type: ignore[no-any-return]
    except ccxt.BaseError:
        raise
    except Exception as error:  # e.g. a PEM secret that is not a usable key
        problem = type(error).__name__
    # Raised outside the handler: the original (which may quote the key) is not chained.
    raise ccxt.AuthenticationError(f"{exchange.id} cannot sign {endpoint.method} {endpoint.path} ({problem})")


# fetch2 is skipped on purpose: its own retry (options "maxRetriesOnFailure") would retry inside ours,
# including 418 bans (DDoSProtection is an OperationFailed), and its throttle paces papi calls by the
# spot budget; the caller paces them by the papi budget (limits/). Signing and fetching are ccxt's.


def unreadable(exchange: Any, endpoint: Endpoint, problem: str | None) -> ccxt.BaseError:
    """ccxt's own error handling failed on an odd answer (a gateway's ``{"code": "ERR_UPSTREAM"}`` makes its
    binance ``handle_errors`` raise ValueError): a ccxt error instead, without the signed URL it came with."""
    return ccxt.ExchangeError(
        f"{exchange.id} {endpoint.method} {endpoint.path}: ccxt could not read the answer ({problem})"
    )


def keep_connections(session: Any, at_least: int) -> None:
    """Let a requests session keep ``at_least`` connections to a host, for requests sent at once from as
    many threads. requests keeps 10 a host: urllib3 closes every connection beyond that when its answer is
    in, with a WARNING each, and the next call opens them again (a TLS handshake each on Binance). Only
    requests' own ``HTTPAdapter`` is replaced (keeping its retries and pool settings); an adapter of the
    user's own class is the user's choice and left alone."""
    adapters = getattr(session, "adapters", None)
    if not isinstance(adapters, dict):
        return
    for prefix, adapter in list(adapters.items()):
        if type(adapter) is not requests.adapters.HTTPAdapter or adapter._pool_maxsize >= at_least:
            continue
        bigger = requests.adapters.HTTPAdapter(
            pool_connections=adapter._pool_connections,
            pool_maxsize=at_least,
            max_retries=adapter.max_retries,
            pool_block=adapter._pool_block,
        )
        session.mount(prefix, bigger)
        adapter.close()  # its idle connections; one still answering is closed once its answer is read


def send(exchange: Any, endpoint: Endpoint, params: dict[str, Any], within: float) -> Any:
    """Sign and send through ccxt; give up on the whole answer after ``within`` seconds (``watchdog.py``)."""
    exchange.set_last_rest_request_timestamp()
    request = signed_request(exchange, endpoint, params)
    watch_session(exchange.session)
    watch, token = WATCHDOG.watch(max(within, 0.0))
    problem = None
    try:
        return exchange.fetch(request["url"], request["method"], request["headers"], request["body"])
    except ccxt.BaseError:
        if not watch.cut:
            raise
        problem = "TimeoutError"
    except Exception as error:
        problem = "TimeoutError" if watch.cut else type(error).__name__
    finally:
        WATCHDOG.release(watch, token)
    raise late(exchange, endpoint, within) if problem == "TimeoutError" else unreadable(exchange, endpoint, problem)


async def send_async(exchange: Any, endpoint: Endpoint, params: dict[str, Any], within: float) -> Any:
    """The async twin of ``send``: ``asyncio.wait_for`` gives up at the deadline."""
    no_silent_resend(exchange)
    exchange.set_last_rest_request_timestamp()
    request = signed_request(exchange, endpoint, params)
    answer = exchange.fetch(request["url"], request["method"], request["headers"], request["body"])
    problem = None
    try:
        return await asyncio.wait_for(answer, timeout=max(within, 0.0))
    except ccxt.BaseError:
        raise
    except asyncio.TimeoutError:
        problem = "TimeoutError"
    except Exception as error:
        problem = type(error).__name__
    raise late(exchange, endpoint, within) if problem == "TimeoutError" else unreadable(exchange, endpoint, problem)


def no_silent_resend(exchange: Any) -> None:
    """aiohttp re-sends an idempotent request (DELETE included) once when the server disconnects, without a
    word (``ClientSession._retry_connection``): a cancel whose answer was lost would then look like one that
    found nothing open, and what it canceled would go unreported. The plugin's own retry knows better."""
    exchange.open(True)  # ccxt makes its aiohttp session here, as fetch() would next (lazy: a closed one stays so)
    session = getattr(exchange, "session", None)
    if getattr(session, "_retry_connection", False):
        session._retry_connection = False  # type: ignore[union-attr]


def late(exchange: Any, endpoint: Endpoint, within: float) -> ccxt.BaseError:
    return ccxt.RequestTimeout(
        f"{exchange.id} {endpoint.method} {endpoint.path}: no whole answer within {within:.1f} s, the call's time left"
    )


def point_at(exchange: Any, base_url: str) -> Any:
    """Send every API of a ccxt ``binance`` to ``base_url`` (same paths), e.g. a simulator or a proxy."""
    for name, url in list(exchange.urls["api"].items()):
        if isinstance(url, str):
            exchange.urls["api"][name] = base_url.rstrip("/") + urllib.parse.urlsplit(url).path
    return exchange
