"""The public exceptions of papi_plugin; every one is a ccxt error, so ``except ccxt.BaseError`` catches it."""

from __future__ import annotations

from typing import Any

import ccxt

__all__ = ["CancelManyFailed", "NotFlat"]

Order = dict[str, Any]  # a ccxt unified order (the one definition; the other modules import it from here)


class NotFlat(ccxt.OperationFailed):  # type: ignore[misc]
    """A verified cancel (``confirm``) that left orders open: names them, and carries what was canceled."""

    def __init__(
        self, symbol: str, rounds: int, open_orders: list[Any], open_lists: list[Any], canceled: list[Order]
    ) -> None:
        order_ids = [order_id(o) for o in open_orders if isinstance(o, dict)]
        list_ids = [str(x.get("orderListId")) for x in open_lists if isinstance(x, dict)]
        lists = f", open order lists [{', '.join(list_ids)}]" if list_ids else ""  # margin OCOs; futures have none
        super().__init__(
            f"{symbol} is not flat after {rounds} extra cancel round(s): open orders [{', '.join(order_ids)}]{lists};"
            f" {len(canceled)} order(s) were canceled"
        )
        self.symbol = symbol
        self.remaining_orders = open_orders
        self.remaining_lists = open_lists
        self.canceled = canceled


def order_id(record: dict[str, Any]) -> str:
    """An open order's id: ``orderId``, a UM algo order's ``algoId``, a CM conditional order's ``strategyId``."""
    for key in ("orderId", "algoId", "strategyId"):
        if record.get(key) is not None:
            return str(record[key])
    return "None"


class CancelManyFailed(ccxt.OperationFailed):  # type: ignore[misc]
    """Some symbols of a many-symbol cancel failed (``.errors``); every order canceled is carried (``.canceled``)."""

    def __init__(self, errors: dict[str, ccxt.BaseError], canceled: dict[str, list[Order]]) -> None:
        failed = "; ".join(f"{symbol}: {type(error).__name__}: {error}" for symbol, error in errors.items())
        count = sum(len(orders) for orders in canceled.values())
        symbols = len(set(errors) | set(canceled))
        super().__init__(
            f"{len(errors)} of {symbols} symbol(s) failed: {failed}."
            f" Canceled {count} order(s) on {len(canceled)} symbol(s)"
        )
        self.errors = errors
        self.canceled = canceled


def carrying_canceled(error: ccxt.BaseError, canceled: list[Order]) -> ccxt.BaseError:
    """``error``, carrying (as ``.canceled``) the orders its call canceled before it was raised."""
    if getattr(error, "canceled", None) is None:
        error.canceled = canceled
    return error


def canceled_before(error: BaseException) -> list[Order]:
    """The orders a failed single-symbol call canceled before it raised (``[]`` if none)."""
    canceled = getattr(error, "canceled", None)
    return canceled if isinstance(canceled, list) else []
