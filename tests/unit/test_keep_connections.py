"""``transport.keep_connections``: a requests session made to keep enough connections for a sync call's threads."""

from __future__ import annotations

import requests
import requests.adapters

from papi_plugin.wire.transport import keep_connections


def test_requests_own_adapters_are_enlarged_with_their_retries_kept() -> None:
    session = requests.Session()
    session.mount("https://", requests.adapters.HTTPAdapter(max_retries=3, pool_block=False))
    keep_connections(session, 72)
    for prefix in ("https://", "http://"):
        adapter = session.get_adapter(prefix + "papi.binance.com")
        assert isinstance(adapter, requests.adapters.HTTPAdapter)
        assert adapter.poolmanager.connection_pool_kw["maxsize"] == 72
        assert adapter.max_retries.total == (3 if prefix == "https://" else 0)


def test_an_adapter_large_enough_or_of_the_users_own_class_is_left_alone() -> None:
    class Custom(requests.adapters.HTTPAdapter):
        pass

    session = requests.Session()
    custom, large = Custom(), requests.adapters.HTTPAdapter(pool_maxsize=100)
    session.mount("https://", custom)
    session.mount("http://", large)
    keep_connections(session, 72)
    assert session.get_adapter("https://x") is custom and session.get_adapter("http://x") is large
