"""The capabilities' boundary: only ccxt errors leave it, without anything secret chained to them."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import ccxt

from papi_plugin.redaction import redact

T = TypeVar("T")


def as_ccxt_error(context: str, error: Exception) -> ccxt.BaseError:
    """Any error as a ccxt error: itself if it is one, else ``ccxt.ExchangeError`` naming what it was."""
    if isinstance(error, ccxt.BaseError):
        return error
    return ccxt.ExchangeError(f"{context}: unexpected {type(error).__name__}: {redact(str(error))[:200]}")


def only_ccxt_errors(capability: Callable[..., T]) -> Callable[..., T]:
    """A capability raises ccxt errors only: anything else (a bug, ours or ccxt's) becomes ``ccxt.ExchangeError``.

    The replacement is raised outside the handler, so nothing it came from is chained to it.
    """
    name = capability.__name__
    if inspect.iscoroutinefunction(capability):

        @functools.wraps(capability)
        async def async_capability(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return await capability(self, *args, **kwargs)
            except ccxt.BaseError:
                raise
            except Exception as error:
                problem = as_ccxt_error(f"{self.exchange.id} {name}", error)
            raise problem

        return async_capability  # type: ignore[return-value]

    @functools.wraps(capability)
    def sync_capability(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return capability(self, *args, **kwargs)
        except ccxt.BaseError:
            raise
        except Exception as error:
            problem = as_ccxt_error(f"{self.exchange.id} {name}", error)
        raise problem

    return sync_capability
