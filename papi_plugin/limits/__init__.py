"""The per-IP limits every process on the IP shares: the ban gate and the weight budget.

``state.py`` holds the rules, ``stores.py`` chooses a store by its URL (``memory``, ``sqlite:``, the
default, or ``redis://``), one module per store, and ``shared.py`` falls back on the process's own copy
whenever the shared store fails.
"""

from papi_plugin.limits.shared import IpLimits, forget_all, limits_for, origin

__all__ = ["IpLimits", "forget_all", "limits_for", "origin"]
