"""What a call of many symbols returns: every symbol's orders, or one error naming each failed symbol."""

from __future__ import annotations

import ccxt

from papi_plugin.errors import CancelManyFailed, Order, canceled_before

Outcome = tuple[str, "list[Order] | ccxt.BaseError"]  # (unified symbol, its orders or its error)


def many_outcome(outcomes: list[Outcome]) -> dict[str, list[Order]]:
    """``{symbol: orders}``, or ``CancelManyFailed`` naming every failed symbol once all were tried.

    A failed symbol whose error carries orders canceled before it failed has them in ``.canceled`` too.
    """
    canceled = {symbol: result for symbol, result in outcomes if not isinstance(result, ccxt.BaseError)}
    errors = {symbol: result for symbol, result in outcomes if isinstance(result, ccxt.BaseError)}
    if errors:
        canceled.update({symbol: canceled_before(error) for symbol, error in errors.items() if canceled_before(error)})
        raise CancelManyFailed(errors, canceled)
    return canceled
