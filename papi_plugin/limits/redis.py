"""The ``redis://`` store (also ``rediss://`` and ``unix://``): every process on every host using that Redis.

Needs the ``redis`` extra (redis-py 6.2 or later, which checks the host name under ``rediss://``). Each change
is one Lua script, atomic in Redis, registered once (redis-py's ``register_script`` sends it again after a
Redis restart). The scripts apply the rules of ``state.py``, field for field, sanity checks included, to a
hash per IP that expires once nothing in it matters any more; no key, secret or signature goes into it.
``Store`` and ``AsyncStore`` are twins over redis-py's sync and asyncio clients; a failure comes out at once
(no retry inside redis-py: the caller falls back, ``shared.py``). ``?keyPrefix=`` in the URL puts every key
under another prefix (one Redis, several namespaces); the switch's records use the same clients
(``switch/redis.py``).
"""

from __future__ import annotations

import asyncio
import urllib.parse
import weakref
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.retry
from redis.backoff import NoBackoff

from papi_plugin.limits.base import AsyncIpLimitsStore, IpLimitsStore
from papi_plugin.limits.state import (
    BLIND_SHARE,
    CLOCK_SLACK_SECONDS,
    FIGURE_WAIT_SECONDS,
    HEADROOM_SHARE,
    MAX_GATE_SECONDS,
    MAX_WEIGHT,
    ROLLOVER_GUARD,
    Admission,
    IpState,
)
from papi_plugin.limits.stores import distrusted, shown

TIMEOUT_SECONDS = 1.0  # a store slower than this counts as failed for the request at hand
CONNECTIONS = 4  # per process: each script takes microseconds; a fleet must not storm Redis with connections
DEFAULT_PREFIX = "papi_plugin:"
FIELDS = ("gate_until", "banned", "window", "reserved", "in_flight", "carried", "used", "others")

# Shared by every script: read the hash, drop what the rules could not have written (state.sane, said back in
# `problem`), roll to the window of `now`, and write back (state.py's roll).
_LOAD_AND_ROLL = """
local f = redis.call('HMGET', KEYS[1], 'gate_until', 'banned', 'window', 'reserved', 'in_flight', 'carried', 'used',
                     'others')
local function int(v) local n = tonumber(v) if n and n == math.floor(n) then return n end return nil end
local s = {gate_until = tonumber(f[1]) or 0, banned = f[2] == '1', window = int(f[3]) or -1,
           reserved = int(f[4]) or 0, in_flight = int(f[5]) or 0, carried = int(f[6]) or 0, used = int(f[7]) or 0,
           others = int(f[8]) or 0}
local problem = ''
local function sane(window_seconds, now, max_gate, max_weight, slack)
  if f[1] and (tonumber(f[1]) == nil or s.gate_until ~= s.gate_until or s.gate_until > now + max_gate) then
    problem = 'a gate closed until ' .. tostring(f[1]) .. ', more than 3 days from now'
    s.gate_until, s.banned = 0, false
  end
  if window_seconds == nil then return end
  local index = math.floor(now / window_seconds)
  local latest = math.floor((now + slack) / window_seconds)
  local bad = false
  for i = 3, 8 do if f[i] and int(f[i]) == nil then bad = true end end
  if s.window > latest then
    problem = problem .. ' a budget window (' .. tostring(f[3]) .. ') later than the current one'
    bad = true
  elseif s.reserved < 0 or s.reserved > max_weight or s.used < 0 or s.used > max_weight or s.in_flight < 0
      or s.carried < 0 or s.in_flight > s.reserved or s.others < 0 or s.others > math.max(s.used, 1) then
    problem = problem .. ' budget counts the rules cannot produce: ' .. tostring(f[4]) .. ' reserved, '
      .. tostring(f[5]) .. ' in flight, ' .. tostring(f[6]) .. ' carried, ' .. tostring(f[7]) .. ' used'
    bad = true
  elseif bad then
    problem = problem .. ' budget counts that are not integers'
  end
  if bad then s.window, s.reserved, s.in_flight, s.carried, s.used, s.others = index, 0, 0, 0, 0, 0 end
end
local function roll(window_seconds, now)
  local index = math.floor(now / window_seconds)
  if index > s.window then
    local seen = 0
    if index == s.window + 1 then
      s.carried = s.in_flight
      if s.others > 0 then seen = 1 end
    else
      s.carried = 0
    end
    s.reserved, s.in_flight, s.used, s.others, s.window = 0, 0, 0, seen, index
  end
  return index
end
local function save(window_seconds, now)
  redis.call('HSET', KEYS[1], 'gate_until', string.format('%.17g', s.gate_until), 'banned', s.banned and '1' or '0',
             'window', string.format('%d', s.window), 'reserved', string.format('%d', s.reserved),
             'in_flight', string.format('%d', s.in_flight), 'carried', string.format('%d', s.carried),
             'used', string.format('%d', s.used), 'others', string.format('%d', s.others))
  local keep = math.max(s.gate_until, (s.window + 2) * window_seconds) - now
  redis.call('PEXPIRE', KEYS[1], math.max(1000, math.ceil(keep * 1000) + 1000))
end
"""

# ARGV: weight, limit, window seconds, now, rollover guard, max gate, max weight, blind share, figure wait, slack,
#   headroom share
#   -> {wait, reason, ticket, problem}
ACQUIRE = (
    _LOAD_AND_ROLL
    + """
local weight, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local window_seconds, now, guard = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
sane(window_seconds, now, tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[10]))
if s.gate_until > now then
  return {string.format('%.17g', s.gate_until - now), s.banned and 'banned' or 'rate limited',
          string.format('%d', s.window), problem}
end
roll(window_seconds, now)
local outstanding = s.in_flight + s.carried
local view = math.max(s.reserved, s.used + s.in_flight) + s.carried
local taken = view  -- with what other programs will likely spend before the window ends (state.headroom)
if s.others > 0 then
  local start = s.window * window_seconds
  local pace = s.others / math.max(now - start, window_seconds / 20)
  local expected = math.ceil(pace * math.max(start + window_seconds - now, 0))
  taken = view + math.min(math.floor(limit / 2), math.max(math.floor(limit / tonumber(ARGV[11])), expected))
end
if weight > 0 and weight > limit - taken and s.others == 0 and weight <= limit - s.reserved then
  save(window_seconds, now)
  return {ARGV[9], 'budget', string.format('%d', s.window), problem}
end
if weight > 0 and weight > limit - taken then
  save(window_seconds, now)
  local wait = (s.window + 1) * window_seconds - now + guard
  return {string.format('%.17g', wait), 'budget', string.format('%d', s.window), problem}
end
local left, share = limit - view + outstanding, tonumber(ARGV[8])
if weight > 0 and outstanding > 0
    and outstanding + weight > math.max(math.floor(left / share), left - math.floor(limit / share)) then
  save(window_seconds, now)
  return {ARGV[9], 'budget', string.format('%d', s.window), problem}
end
s.reserved = s.reserved + weight
s.in_flight = s.in_flight + weight
save(window_seconds, now)
return {'0', '', string.format('%d', s.window), problem}
"""
)

# ARGV: ticket, weight, used (-1: none), window seconds, now, max gate, max weight, clock slack -> problem
ANSWERED = (
    _LOAD_AND_ROLL
    + """
local ticket, weight, used = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window_seconds, now = tonumber(ARGV[4]), tonumber(ARGV[5])
sane(window_seconds, now, tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]))
roll(window_seconds, now)
if ticket == s.window then
  s.in_flight = math.max(0, s.in_flight - weight)
  if used >= 0 then
    s.used = math.max(s.used, used)
    s.others = math.max(s.others, used - s.reserved)
  end
elseif ticket == s.window - 1 then
  local answered_now = math.min(weight, s.carried)
  s.carried = s.carried - answered_now
  s.reserved = s.reserved + answered_now
end
save(window_seconds, now)
return problem
"""
)

# ARGV: until, banned (1/0), now, max gate -> problem
CLOSE_GATE = (
    _LOAD_AND_ROLL
    + """
local closed_till, banned, now = tonumber(ARGV[1]), ARGV[2] == '1', tonumber(ARGV[3])
sane(nil, now, tonumber(ARGV[4]), 0, 0)
local still_banned = s.banned and s.gate_until > now
s.gate_until = math.max(s.gate_until, closed_till)
redis.call('HSET', KEYS[1], 'gate_until', string.format('%.17g', s.gate_until),
           'banned', (still_banned or banned) and '1' or '0')
local keep = math.max(redis.call('PTTL', KEYS[1]), math.ceil((s.gate_until - now) * 1000) + 1000)
redis.call('PEXPIRE', KEYS[1], math.max(1000, keep))
return problem
"""
)


BOUNDS: list[str | int | float] = [
    MAX_GATE_SECONDS,
    MAX_WEIGHT,
    BLIND_SHARE,
    repr(FIGURE_WAIT_SECONDS),
    CLOCK_SLACK_SECONDS,
    HEADROOM_SHARE,
]


def split_url(url: str) -> tuple[str, str]:
    """(the URL redis-py is given, the key prefix): ``?keyPrefix=`` is ours, not redis-py's."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    prefixes = [value for name, value in query if name == "keyPrefix"]
    rest = urllib.parse.urlencode([(name, value) for name, value in query if name != "keyPrefix"])
    return urllib.parse.urlunsplit(parts._replace(query=rest)), (prefixes[-1] if prefixes else DEFAULT_PREFIX)


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


def sync_client(url: str) -> redis.Redis:
    pool = redis.BlockingConnectionPool.from_url(url, retry=redis.retry.Retry(NoBackoff(), 0), **client_options())
    return redis.Redis(connection_pool=pool)


def async_client(url: str) -> redis.asyncio.Redis:
    retry = redis.asyncio.retry.Retry(NoBackoff(), 0)
    pool = redis.asyncio.BlockingConnectionPool.from_url(url, retry=retry, **client_options())
    return redis.asyncio.Redis(connection_pool=pool)


class Scripts:
    """A client and the scripts registered on it, by name."""

    def __init__(self, client: Any, scripts: dict[str, str]) -> None:
        self.client = client
        self.run = {name: client.register_script(text) for name, text in scripts.items()}


class PerLoop:
    """One asyncio client and its scripts per event loop, made on first use in it: redis-py's asyncio
    connections belong to one loop."""

    def __init__(self, address: str, scripts: dict[str, str]) -> None:
        self.address, self.scripts = address, scripts
        self._made: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Scripts] = weakref.WeakKeyDictionary()

    def get(self) -> Scripts:
        loop = asyncio.get_running_loop()
        made = self._made.get(loop)
        if made is None:
            made = self._made[loop] = Scripts(async_client(self.address), self.scripts)
        return made


LIMITS_SCRIPTS = {"acquire": ACQUIRE, "answered": ANSWERED, "close_gate": CLOSE_GATE}


# The scripts' arguments, and what their answers mean: the sync and async stores differ only in the I/O.


def acquire_args(weight: int, limit: int, window: float, now: float) -> list[str | int | float]:
    return [weight, limit, repr(window), repr(now), ROLLOVER_GUARD, *BOUNDS]


def answered_args(ticket: int, weight: int, used: int | None, window: float, now: float) -> list[str | int | float]:
    return [ticket, weight, -1 if used is None else used, repr(window), repr(now), MAX_GATE_SECONDS, MAX_WEIGHT,
            CLOCK_SLACK_SECONDS]  # fmt: skip


def close_gate_args(until: float, banned: bool, now: float) -> list[str | int | float]:
    return [repr(until), 1 if banned else 0, repr(now), MAX_GATE_SECONDS]


def admission(answer: list[str], where: str) -> Admission:
    wait, reason, ticket, problem = answer
    said(where, problem)
    return Admission(float(wait), reason, int(ticket))


def said(where: str, problem: Any) -> None:
    """What a script dropped as forged, logged once (``stores.distrusted``)."""
    distrusted(where, [str(problem).strip()] if problem else [])


def loaded(values: list[Any]) -> IpState:
    gate_until, banned, window, *counts = values
    return IpState(float(gate_until or 0), banned == "1", int(window or -1), *(int(value or 0) for value in counts))


class Store(IpLimitsStore):
    def __init__(self, url: str) -> None:
        self.url = url
        address, self.prefix = split_url(url)
        self.where = f"the limits store {shown(address)}"
        self._redis = Scripts(sync_client(address), LIMITS_SCRIPTS)

    def _key(self, key: str) -> str:
        return f"{self.prefix}limits:{key}"

    def acquire(self, key: str, weight: int, limit: int, window: float, now: float) -> Admission:
        answer = self._redis.run["acquire"]([self._key(key)], acquire_args(weight, limit, window, now))
        return admission(answer, f"{self.where}, IP {key}")

    def answered(self, key: str, ticket: int, weight: int, used: int | None, window: float, now: float) -> None:
        problem = self._redis.run["answered"]([self._key(key)], answered_args(ticket, weight, used, window, now))
        said(f"{self.where}, IP {key}", problem)

    def close_gate(self, key: str, until: float, banned: bool, now: float) -> None:
        problem = self._redis.run["close_gate"]([self._key(key)], close_gate_args(until, banned, now))
        said(f"{self.where}, IP {key}", problem)

    def gate(self, key: str) -> tuple[float, bool]:
        until, banned = self._redis.client.hmget(self._key(key), ["gate_until", "banned"])
        return gate_of(until, banned)

    def snapshot(self, key: str) -> IpState:
        return loaded(self._redis.client.hmget(self._key(key), FIELDS))

    def close(self) -> None:
        self._redis.client.close()


def gate_of(until: Any, banned: Any) -> tuple[float, bool]:
    """A stored gate as (until, banned); one that is not a number is an endless one, for the caller to drop."""
    try:
        return float(until or 0), banned == "1"
    except ValueError:
        return float("inf"), False


class AsyncStore(AsyncIpLimitsStore):
    """The asyncio twin of ``Store``."""

    def __init__(self, url: str) -> None:
        self.url = url
        address, self.prefix = split_url(url)
        self.where = f"the limits store {shown(address)}"
        self._redis = PerLoop(address, LIMITS_SCRIPTS)

    def _key(self, key: str) -> str:
        return f"{self.prefix}limits:{key}"

    async def acquire(self, key: str, weight: int, limit: int, window: float, now: float) -> Admission:
        answer = await self._redis.get().run["acquire"]([self._key(key)], acquire_args(weight, limit, window, now))
        return admission(answer, f"{self.where}, IP {key}")

    async def answered(self, key: str, ticket: int, weight: int, used: int | None, window: float, now: float) -> None:
        values = answered_args(ticket, weight, used, window, now)
        said(f"{self.where}, IP {key}", await self._redis.get().run["answered"]([self._key(key)], values))

    async def close_gate(self, key: str, until: float, banned: bool, now: float) -> None:
        values = close_gate_args(until, banned, now)
        said(f"{self.where}, IP {key}", await self._redis.get().run["close_gate"]([self._key(key)], values))

    async def gate(self, key: str) -> tuple[float, bool]:
        until, banned = await self._redis.get().client.hmget(self._key(key), ["gate_until", "banned"])
        return gate_of(until, banned)
