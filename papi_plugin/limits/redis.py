"""The ``redis://`` store (also ``rediss://`` and ``unix://``): every process on every host using that Redis.

Needs the ``redis`` extra (redis-py). Each change is one Lua script, atomic in Redis, registered once
(redis-py's ``register_script`` sends it again after a Redis restart). The scripts apply the rules of
``state.py``, field for field, to a hash per IP that expires once nothing in it matters any more; no key,
secret or signature goes into it. ``Store`` and ``AsyncStore`` are twins over redis-py's sync and asyncio
clients; a failure comes out at once (no retry inside redis-py: the caller falls back, ``shared.py``).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, NamedTuple

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.retry
from redis.backoff import NoBackoff

from papi_plugin.limits.state import ROLLOVER_GUARD, Admission, IpState

TIMEOUT_SECONDS = 1.0  # a store slower than this counts as failed for the request at hand
CONNECTIONS = 4  # per process: each script takes microseconds; a fleet must not storm Redis with connections
PREFIX = "papi_plugin:limits:"
FIELDS = ("gate_until", "banned", "window", "reserved", "in_flight", "carried", "floor")

# Shared by every script: read the hash, roll to the window of `now`, and write back (state.py's roll).
_LOAD_AND_ROLL = """
local f = redis.call('HMGET', KEYS[1], 'gate_until', 'banned', 'window', 'reserved', 'in_flight', 'carried', 'floor')
local s = {gate_until = tonumber(f[1]) or 0, banned = f[2] == '1', window = tonumber(f[3]) or -1,
           reserved = tonumber(f[4]) or 0, in_flight = tonumber(f[5]) or 0, carried = tonumber(f[6]) or 0,
           floor = tonumber(f[7]) or 0}
local function roll(window_seconds, now)
  local index = math.floor(now / window_seconds)
  if index > s.window then
    if index == s.window + 1 then s.carried = s.in_flight else s.carried = 0 end
    s.reserved, s.in_flight, s.floor, s.window = s.carried, 0, 0, index
  end
  return index
end
local function save(window_seconds, now)
  redis.call('HSET', KEYS[1], 'gate_until', string.format('%.17g', s.gate_until), 'banned', s.banned and '1' or '0',
             'window', string.format('%d', s.window), 'reserved', string.format('%d', s.reserved),
             'in_flight', string.format('%d', s.in_flight), 'carried', string.format('%d', s.carried),
             'floor', string.format('%d', s.floor))
  local keep = math.max(s.gate_until, (s.window + 2) * window_seconds) - now
  redis.call('PEXPIRE', KEYS[1], math.max(1000, math.ceil(keep * 1000) + 1000))
end
"""

# ARGV: weight, limit, window seconds, now, rollover guard -> {wait, reason, ticket}
ACQUIRE = (
    _LOAD_AND_ROLL
    + """
local weight, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local window_seconds, now, guard = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if s.gate_until > now then
  return {string.format('%.17g', s.gate_until - now), s.banned and 'banned' or 'rate limited',
          string.format('%d', s.window)}
end
roll(window_seconds, now)
if weight > 0 and weight > limit - (s.reserved + math.max(0, s.floor)) then
  save(window_seconds, now)
  local wait = (s.window + 1) * window_seconds - now + guard
  return {string.format('%.17g', wait), 'budget', string.format('%d', s.window)}
end
s.reserved = s.reserved + weight
s.in_flight = s.in_flight + weight
save(window_seconds, now)
return {'0', '', string.format('%d', s.window)}
"""
)

# ARGV: ticket, weight, used (-1: none), window seconds, now
ANSWERED = (
    _LOAD_AND_ROLL
    + """
local ticket, weight, used = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window_seconds, now = tonumber(ARGV[4]), tonumber(ARGV[5])
local index = roll(window_seconds, now)
if ticket == s.window then
  s.in_flight = math.max(0, s.in_flight - weight)
elseif ticket == s.window - 1 then
  s.carried = math.max(0, s.carried - weight)
end
if used >= 0 and index == s.window then
  s.floor = math.max(s.floor, used - s.reserved)
end
save(window_seconds, now)
return 1
"""
)

# ARGV: until, banned (1/0), now
CLOSE_GATE = """
local f = redis.call('HMGET', KEYS[1], 'gate_until', 'banned')
local gate_until, was_banned = tonumber(f[1]) or 0, f[2] == '1'
local closed_till, banned, now = tonumber(ARGV[1]), ARGV[2] == '1', tonumber(ARGV[3])
local still_banned = was_banned and gate_until > now
gate_until = math.max(gate_until, closed_till)
redis.call('HSET', KEYS[1], 'gate_until', string.format('%.17g', gate_until),
           'banned', (still_banned or banned) and '1' or '0')
local keep = math.max(redis.call('PTTL', KEYS[1]), math.ceil((gate_until - now) * 1000) + 1000)
redis.call('PEXPIRE', KEYS[1], math.max(1000, keep))
return 1
"""


# The dead-man's switch. KEYS[1]: the account's lease; ARGV: holder, ttl ms -> 1 when the holder has it.
TAKE_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
DROP_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
# KEYS[1]: the account's countdowns; ARGV: name, deadline ms ('' for any)
DISARM = """
local armed = redis.call('HGET', KEYS[1], ARGV[1])
if armed and (ARGV[2] == '' or string.match(armed, '^%d+') == ARGV[2]) then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
"""
KEEP_SECONDS = 7 * 24 * 3600  # an account's countdowns, guards and firings outlive a week of silence, no more


def switch_key(what: str, account: str) -> str:
    return f"papi_plugin:{what}:{account}"


def client_options() -> dict[str, Any]:
    """For a connection pool: a few connections, waited for and answering within the timeout, never retried
    inside redis-py (the caller falls back on its own limits at once)."""
    return {
        "max_connections": CONNECTIONS,
        "timeout": TIMEOUT_SECONDS,
        "socket_timeout": TIMEOUT_SECONDS,
        "socket_connect_timeout": TIMEOUT_SECONDS,
        "retry_on_error": [],
        "decode_responses": True,
        "health_check_interval": 0,
    }


def admission(answer: list[str]) -> Admission:
    wait, reason, ticket = answer
    return Admission(float(wait), reason, int(ticket))


def loaded(values: list[Any]) -> IpState:
    gate_until, banned, window, *counts = values
    return IpState(float(gate_until or 0), banned == "1", int(window or -1), *(int(value or 0) for value in counts))


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        pool = redis.BlockingConnectionPool.from_url(url, retry=redis.retry.Retry(NoBackoff(), 0), **client_options())
        self._client = redis.Redis(connection_pool=pool)
        self._acquire = self._client.register_script(ACQUIRE)
        self._answered = self._client.register_script(ANSWERED)
        self._close_gate = self._client.register_script(CLOSE_GATE)
        self._take_lease = self._client.register_script(TAKE_LEASE)
        self._drop_lease = self._client.register_script(DROP_LEASE)
        self._disarm = self._client.register_script(DISARM)

    def acquire(self, key: str, weight: int, limit: int, window: float, now: float) -> Admission:
        return admission(self._acquire([PREFIX + key], [weight, limit, repr(window), repr(now), ROLLOVER_GUARD]))

    def answered(self, key: str, ticket: int, weight: int, used: int | None, window: float, now: float) -> None:
        self._answered([PREFIX + key], [ticket, weight, -1 if used is None else used, repr(window), repr(now)])

    def close_gate(self, key: str, until: float, banned: bool, now: float) -> None:
        self._close_gate([PREFIX + key], [repr(until), 1 if banned else 0, repr(now)])

    def gate(self, key: str) -> tuple[float, bool]:
        found = self.snapshot(key)
        return found.gate_until, found.banned

    def snapshot(self, key: str) -> IpState:
        return loaded(self._client.hmget(PREFIX + key, FIELDS))

    # -- the dead-man's switch (times in ms on Binance's clock)

    def arm(self, account: str, name: str, deadline_ms: int, now_ms: int) -> None:
        key = switch_key("countdowns", account)
        self._client.hset(key, name, f"{deadline_ms} {now_ms}")
        self._client.expire(key, KEEP_SECONDS)

    def disarm(self, account: str, name: str, deadline_ms: int | None = None) -> None:
        self._disarm([switch_key("countdowns", account)], [name, "" if deadline_ms is None else deadline_ms])

    def countdowns(self, account: str) -> list[tuple[str, int, int]]:
        found = self._client.hgetall(switch_key("countdowns", account))
        return sorted((name, *map(int, str(times).split())) for name, times in found.items())  # type: ignore[misc]

    def beat(self, account: str, guard: str, now_ms: int) -> None:
        key = switch_key("guards", account)
        self._client.zadd(key, {guard: now_ms})
        self._client.zremrangebyscore(key, "-inf", now_ms - 3_600_000)  # guards silent for an hour
        self._client.expire(key, KEEP_SECONDS)

    def guards(self, account: str, now_ms: int, alive_ms: int) -> list[str]:
        alive = self._client.zrangebyscore(switch_key("guards", account), now_ms - alive_ms + 1, "+inf")
        return sorted(str(guard) for guard in alive)

    def take_lease(self, account: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        return bool(self._take_lease([switch_key("lease", account)], [holder, ttl_ms]))

    def drop_lease(self, account: str, holder: str) -> None:
        self._drop_lease([switch_key("lease", account)], [holder])

    def record(self, account: str, name: str, outcome: str) -> None:
        key = switch_key("firings", account)
        self._client.hset(key, name, outcome)
        self._client.expire(key, KEEP_SECONDS)

    def firings(self, account: str) -> dict[str, str]:
        found = self._client.hgetall(switch_key("firings", account))
        return {str(name): str(outcome) for name, outcome in found.items()}

    def close(self) -> None:
        self._client.close()


class Connected(NamedTuple):
    """An asyncio client and its scripts."""

    client: Any
    acquire: Any
    answered: Any
    close_gate: Any
    disarm: Any


class AsyncStore:
    """The asyncio twin of ``Store``: one client per event loop (redis-py's asyncio connections belong to one)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Connected] = weakref.WeakKeyDictionary()

    def _for_loop(self) -> Connected:
        """This event loop's client and scripts (made on first use in it)."""
        loop = asyncio.get_running_loop()
        connected = self._clients.get(loop)
        if connected is None:
            retry = redis.asyncio.retry.Retry(NoBackoff(), 0)
            pool = redis.asyncio.BlockingConnectionPool.from_url(self.url, retry=retry, **client_options())
            client = redis.asyncio.Redis(connection_pool=pool)
            connected = self._clients[loop] = Connected(
                client,
                client.register_script(ACQUIRE),
                client.register_script(ANSWERED),
                client.register_script(CLOSE_GATE),
                client.register_script(DISARM),
            )
        return connected

    async def acquire(self, key: str, weight: int, limit: int, window: float, now: float) -> Admission:
        acquire = self._for_loop().acquire
        return admission(await acquire([PREFIX + key], [weight, limit, repr(window), repr(now), ROLLOVER_GUARD]))

    async def answered(self, key: str, ticket: int, weight: int, used: int | None, window: float, now: float) -> None:
        used_or_none = -1 if used is None else used
        await self._for_loop().answered([PREFIX + key], [ticket, weight, used_or_none, repr(window), repr(now)])

    async def close_gate(self, key: str, until: float, banned: bool, now: float) -> None:
        await self._for_loop().close_gate([PREFIX + key], [repr(until), 1 if banned else 0, repr(now)])

    async def gate(self, key: str) -> tuple[float, bool]:
        found = loaded(await self._for_loop().client.hmget(PREFIX + key, FIELDS))
        return found.gate_until, found.banned

    # -- the dead-man's switch: what the bot's arming call needs

    async def arm(self, account: str, name: str, deadline_ms: int, now_ms: int) -> None:
        client, key = self._for_loop().client, switch_key("countdowns", account)
        await client.hset(key, name, f"{deadline_ms} {now_ms}")
        await client.expire(key, KEEP_SECONDS)

    async def disarm(self, account: str, name: str, deadline_ms: int | None = None) -> None:
        disarm = self._for_loop().disarm
        await disarm([switch_key("countdowns", account)], [name, "" if deadline_ms is None else deadline_ms])

    async def guards(self, account: str, now_ms: int, alive_ms: int) -> list[str]:
        client = self._for_loop().client
        return sorted(await client.zrangebyscore(switch_key("guards", account), now_ms - alive_ms + 1, "+inf"))

    async def firings(self, account: str) -> dict[str, str]:
        found = await self._for_loop().client.hgetall(switch_key("firings", account))
        return {str(name): str(outcome) for name, outcome in found.items()}
