"""A local Binance Portfolio Margin simulator: a real HTTP server on loopback.

Binance has no Portfolio Margin testnet. This serves what a cancel-all and a bot need (server time,
exchange info, margin orders and OCO lists, open orders, ``DELETE /papi/v1/margin/allOpenOrders``)
and behaves like Binance where a client can get it wrong: API key and HMAC-SHA256 / RSA / Ed25519
signatures, ``timestamp`` against its own (skewable) clock and ``recvWindow``, bad parameters, the
per-minute request weight with 429 + ``Retry-After`` and 418 bans, ``X-MBX-USED-WEIGHT-1M`` on every
answer. Faults can be scripted per request.

    with Simulator() as sim:
        exchange = sim.attach(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret}))

or ``python -m papi_plugin.simulator --port 8765``.
"""

from papi_plugin.simulator.api_error import BINANCE_MESSAGES, ApiError
from papi_plugin.simulator.book import Order, OrderList
from papi_plugin.simulator.exchange import SeenRequest, SimulatedExchange
from papi_plugin.simulator.faults import Fault
from papi_plugin.simulator.limits import BAN_SECONDS, WEIGHT_LIMIT_1M
from papi_plugin.simulator.server import DEMO_API_KEY, DEMO_SECRET, Simulator, attach
from papi_plugin.wire.transport import point_at  # where requests go: the plugin's, kept here for the README

__all__ = [
    "BAN_SECONDS",
    "BINANCE_MESSAGES",
    "DEMO_API_KEY",
    "DEMO_SECRET",
    "WEIGHT_LIMIT_1M",
    "ApiError",
    "Fault",
    "Order",
    "OrderList",
    "SeenRequest",
    "SimulatedExchange",
    "Simulator",
    "attach",
    "point_at",
]
