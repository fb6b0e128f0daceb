"""What ``papi-guard --status`` shows and what ``--check`` judges: the switch of one account, read from its
store, checked as every read is (``records.py``). Needs only the account's fingerprint, never its secret."""

from __future__ import annotations

from typing import Any

from papi_plugin.switch import records
from papi_plugin.switch.base import SwitchStore

OVERDUE_MS = 2000  # a countdown past its deadline by more than this, with no firing under way: nobody fires it


def status(store: SwitchStore, account: str) -> dict[str, Any]:
    """The account's countdowns, guards alive, lease and firings (newest first), on the store's clock."""
    now_ms, rows = store.countdowns(account)
    countdowns, problems = records.countdowns(rows, now_ms)
    beat_ms, beats = store.beats(account)
    guards, more = records.alive(beats, beat_ms)
    lease_ms, lease_row = store.lease(account)
    lease = records.lease(lease_row)
    firings, even_more = records.firings(store.firings(account))
    return {
        "account": account,
        "store": store.where,
        "now": now_ms,
        "countdowns": [
            {
                "name": c.name,
                "timeout": c.timeout_ms,
                "armed": c.armed_ms,
                "deadline": c.deadline_ms,
                "in_ms": c.deadline_ms - now_ms,
            }
            for c in countdowns
        ],
        "guards": guards,
        "lease": None if lease is None else {"holder": lease.holder, "until": lease.until_ms, "now": lease_ms},
        "firings": firings,
        "distrusted": problems + more + even_more,
    }


def problems(found: dict[str, Any]) -> list[str]:
    """Why the switch of ``found`` (a ``status``) would not work now, one line each; none: it would."""
    said = []
    if not found["guards"]:
        said.append(f"no papi-guard of account {found['account']} is alive in {found['store']}")
    firing = found["lease"] is not None
    for countdown in found["countdowns"]:
        if -countdown["in_ms"] > OVERDUE_MS and not firing:
            said.append(f"countdown {countdown['name']} is {-countdown['in_ms'] / 1000:.1f} s past its deadline")
    for name, firings in sorted(found["firings"].items()):
        if firings and firings[0]["outcome"] != "flat":
            last = firings[0]
            said.append(f"the last firing of {name} is not flat: {last['outcome']} ({last.get('error')})")
    said += [f"the store holds {problem}, which the switch cannot have written" for problem in found["distrusted"]]
    return said
