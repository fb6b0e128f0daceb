"""The switch in Redis (``redis://``, ``rediss://``, ``unix://``): every process on every host using it.

Its clock is Redis's (``TIME``, read inside each script), the one clock every host shares. A countdown's
hash outlives its deadline by a day; the guards and firings a week of silence. Keys are under the URL's
``?keyPrefix=`` (``papi_plugin:`` by default) and name the account by its key's fingerprint only.
"""

from __future__ import annotations

from typing import Any

from papi_plugin.limits.redis import PerLoop, Scripts, split_url, sync_client
from papi_plugin.limits.stores import shown
from papi_plugin.switch.base import AsyncSwitchStore, SwitchStore
from papi_plugin.switch.records import KEPT_FIRINGS

KEEP_MS = 7 * 24 * 3600 * 1000  # an account's guards and firings outlive a week of silence, no more
AFTER_DEADLINE_MS = 24 * 3600 * 1000  # a countdown's keys outlive its deadline by a day
SEPARATOR = "\n"  # between a countdown's name and a firing's id in the firings hash (no name holds it)

NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
# KEYS[1]: countdowns; ARGV: name, timeout ms, keep after the deadline ms -> now
ARM = (
    NOW
    + """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. now)
local keep = tonumber(ARGV[2]) + tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
return now
"""
)
# KEYS[1]: countdowns; ARGV: name, armed ms ('' for any)
DISARM = """
local armed = redis.call('HGET', KEYS[1], ARGV[1])
if armed and (ARGV[2] == '' or string.match(armed, '%d+$') == ARGV[2]) then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
"""
# KEYS[1]: countdowns -> {now, name, value, name, value, ...}
COUNTDOWNS = NOW + "local found = redis.call('HGETALL', KEYS[1]) table.insert(found, 1, now) return found\n"
# KEYS[1]: guards; ARGV: guard, keep ms
BEAT = (
    NOW
    + """
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 3600000)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return now
"""
)
# KEYS[1]: guards -> {now, guard, seen, ...}
BEATS = (
    NOW + "local found = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES') table.insert(found, 1, now) return found\n"
)
# KEYS[1]: the lease -> {now, holder or false, ms left (-1: endless)}
LEASE = NOW + "return {now, redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}\n"
# KEYS[1]: the lease; ARGV: holder, ttl ms, replacing ('' for none) -> 1 when the holder has it
TAKE_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] and (ARGV[3] == '' or holder ~= ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
DROP_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
# KEYS[1]: firings; ARGV: name, firing, outcome, kept, keep ms, separator
RECORD = """
redis.call('HSET', KEYS[1], ARGV[1] .. ARGV[6] .. ARGV[2], ARGV[3])
local mine = {}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, #ARGV[1] + #ARGV[6]) == ARGV[1] .. ARGV[6] then table.insert(mine, field) end
end
table.sort(mine)
for i = 1, #mine - tonumber(ARGV[4]) do redis.call('HDEL', KEYS[1], mine[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""


def pairs_of(flat: list[Any]) -> list[tuple[Any, Any]]:
    return list(zip(flat[0::2], flat[1::2], strict=False))


def countdown_rows(flat: list[Any]) -> list[tuple[Any, Any, Any]]:
    """(name, timeout, armed) from a hash of name -> "timeout armed" (what does not split is left to records)."""
    rows = []
    for name, value in pairs_of(flat):
        timeout, _, armed = str(value).partition(" ")
        rows.append((name, timeout, armed))
    return rows


def firing_rows(found: dict[Any, Any]) -> list[tuple[Any, Any, Any]]:
    rows = []
    for field, outcome in found.items():
        name, _, firing = str(field).partition(SEPARATOR)
        rows.append((name, firing, outcome))
    return rows


def lease_of(answer: list[Any]) -> tuple[int, tuple[Any, Any] | None]:
    now, holder, left = int(answer[0]), answer[1], int(answer[2])
    if not holder:
        return now, None
    return now, (holder, now + left if left >= 0 else None)


class Keys:
    """The switch's keys of one account under a prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, what: str, account: str) -> str:
        return f"{self.prefix}switch:{what}:{account}"


class Store(SwitchStore):
    def __init__(self, url: str) -> None:
        self.url = url
        address, prefix = split_url(url)
        self.where = shown(address)
        self.key = Keys(prefix)
        self._redis = Scripts(sync_client(address), SCRIPTS)

    def arm(self, account: str, name: str, timeout_ms: int) -> int:
        return int(self._redis.run["arm"]([self.key("countdowns", account)], [name, timeout_ms, AFTER_DEADLINE_MS]))

    def disarm(self, account: str, name: str, armed_ms: int | None = None) -> None:
        self._redis.run["disarm"]([self.key("countdowns", account)], [name, "" if armed_ms is None else armed_ms])

    def countdowns(self, account: str) -> tuple[int, list[tuple[Any, Any, Any]]]:
        flat = self._redis.run["countdowns"]([self.key("countdowns", account)])
        return int(flat[0]), countdown_rows(flat[1:])

    def beat(self, account: str, guard: str) -> None:
        self._redis.run["beat"]([self.key("guards", account)], [guard, KEEP_MS])

    def beats(self, account: str) -> tuple[int, list[tuple[Any, Any]]]:
        flat = self._redis.run["beats"]([self.key("guards", account)])
        return int(flat[0]), pairs_of(flat[1:])

    def lease(self, account: str) -> tuple[int, tuple[Any, Any] | None]:
        return lease_of(self._redis.run["lease"]([self.key("lease", account)]))

    def take_lease(self, account: str, holder: str, ttl_ms: int, replacing: str = "") -> bool:
        return bool(self._redis.run["take_lease"]([self.key("lease", account)], [holder, ttl_ms, replacing]))

    def drop_lease(self, account: str, holder: str) -> None:
        self._redis.run["drop_lease"]([self.key("lease", account)], [holder])

    def record(self, account: str, name: str, firing: str, outcome: str) -> None:
        values: list[str | int] = [name, firing, outcome, KEPT_FIRINGS, KEEP_MS, SEPARATOR]
        self._redis.run["record"]([self.key("firings", account)], values)

    def firings(self, account: str) -> list[tuple[Any, Any, Any]]:
        return firing_rows(self._redis.client.hgetall(self.key("firings", account)))

    def close(self) -> None:
        self._redis.client.close()


SCRIPTS = {
    "arm": ARM,
    "disarm": DISARM,
    "countdowns": COUNTDOWNS,
    "beat": BEAT,
    "beats": BEATS,
    "lease": LEASE,
    "take_lease": TAKE_LEASE,
    "drop_lease": DROP_LEASE,
    "record": RECORD,
}


class AsyncStore(AsyncSwitchStore):
    """The asyncio twin of what the arming call needs."""

    def __init__(self, url: str) -> None:
        self.url = url
        address, prefix = split_url(url)
        self.where = shown(address)
        self.key = Keys(prefix)
        self._redis = PerLoop(address, {"arm": ARM, "disarm": DISARM, "beats": BEATS})

    async def arm(self, account: str, name: str, timeout_ms: int) -> int:
        arm = self._redis.get().run["arm"]
        return int(await arm([self.key("countdowns", account)], [name, timeout_ms, AFTER_DEADLINE_MS]))

    async def disarm(self, account: str, name: str, armed_ms: int | None = None) -> None:
        disarm = self._redis.get().run["disarm"]
        await disarm([self.key("countdowns", account)], [name, "" if armed_ms is None else armed_ms])

    async def beats(self, account: str) -> tuple[int, list[tuple[Any, Any]]]:
        flat = await self._redis.get().run["beats"]([self.key("guards", account)])
        return int(flat[0]), pairs_of(flat[1:])

    async def firings(self, account: str) -> list[tuple[Any, Any, Any]]:
        return firing_rows(await self._redis.get().client.hgetall(self.key("firings", account)))
