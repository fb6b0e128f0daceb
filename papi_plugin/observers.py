"""Telling the observer hooks, so that no observer can abort a cancel or lose its result.

pluggy stops at the first plugin that raises; a kill switch must not. Each implementation is called on
its own, in pluggy's order; one that raises is logged at WARNING with the plugin's name, and the others,
and the call, go on.
"""

from __future__ import annotations

import logging
from typing import Any

import pluggy

log = logging.getLogger("papi_plugin")


def tell(hook_caller: pluggy.HookCaller, **kwargs: Any) -> None:
    for impl in reversed(hook_caller.get_hookimpls()):  # pluggy calls the last registered first
        if impl.hookwrapper or impl.wrapper:
            continue  # an observer hook has nothing to wrap
        try:
            impl.function(*(kwargs[name] for name in impl.argnames))
        except Exception as error:
            log.warning(
                "papi_plugin: plugin %r failed in %s (ignored): %s: %s",
                impl.plugin_name,
                hook_caller.name,
                type(error).__name__,
                str(error)[:200],
            )
