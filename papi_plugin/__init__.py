"""Cancel every open order of a Binance Portfolio Margin account: cross margin, USD-M and COIN-M futures.

``papi_plugin.extend(exchange)`` adds ``cancel_all_margin_orders(symbol, params)``,
``cancel_all_um_orders``, ``cancel_all_cm_orders``, ``cancel_all_portfolio_orders`` and more (with their
camelCase aliases) to a ccxt ``binance`` object, sync or async. Capabilities come from pluggy plugins registered
on ``papi_plugin.plugin_manager()``; the Binance Portfolio Margin adapter is the built-in one.
"""

import logging

from papi_plugin.hookspecs import hookimpl, hookspec
from papi_plugin.plugins import extend, plugin_manager

# A library logs, the application decides where it goes (retries are logged at WARNING).
logging.getLogger("papi_plugin").addHandler(logging.NullHandler())

__all__ = ["extend", "hookimpl", "hookspec", "plugin_manager"]
__version__ = "0.2.0"
