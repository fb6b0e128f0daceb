"""The capabilities' names, each written once: the plugin's list, the option checks and every message use these."""

from __future__ import annotations

CANCEL_MARGIN = "cancel_all_margin_orders"
CANCEL_MARGIN_MANY = "cancel_all_margin_orders_many"
OPEN_MARGIN = "open_margin_orders"
DISCOVER_MARGIN = "symbols_with_open_orders"
CANCEL_UM = "cancel_all_um_orders"
CANCEL_CM = "cancel_all_cm_orders"
CANCEL_PORTFOLIO = "cancel_all_portfolio_orders"
OPEN_PORTFOLIO = "open_portfolio_orders"
CANCEL_PORTFOLIO_AFTER = "cancel_all_portfolio_orders_after"

# What papi_plugin.extend adds to a binance object, in this order (each with its camelCase alias).
CAPABILITIES = (
    CANCEL_MARGIN,
    CANCEL_MARGIN_MANY,
    OPEN_MARGIN,
    DISCOVER_MARGIN,
    CANCEL_UM,
    CANCEL_CM,
    CANCEL_PORTFOLIO,
    OPEN_PORTFOLIO,
    CANCEL_PORTFOLIO_AFTER,
)
# The calls on one symbol: the first request's own gate check refuses them whole.
ONE_SYMBOL = frozenset({CANCEL_MARGIN, CANCEL_UM, CANCEL_CM, OPEN_MARGIN})
# The calls that cancel or read futures orders, and so take {"conditional": False} (plain orders only).
CONDITIONAL = (CANCEL_UM, CANCEL_CM, CANCEL_PORTFOLIO, OPEN_PORTFOLIO)
