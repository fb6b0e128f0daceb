"""The ``sqlite:`` store, the default: every process on this host, through one SQLite file (WAL mode).

Each change is one ``BEGIN IMMEDIATE`` transaction: atomic across processes, and no lock outlives its
holder (SQLite's locks are the operating system's file locks, released when a process dies). The file is
re-opened when it was removed or replaced, so a fleet never splits over two files for long.
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from papi_plugin.limits import state
from papi_plugin.limits.state import Admission, IpState
from papi_plugin.limits.stores import Unusable

CHECK_FILE_SECONDS = 0.1  # how often the file is checked for having been removed or replaced
BUSY_SECONDS = 1.0  # how long a change waits for another process's transaction before the store counts as failed
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS ip_limits (
    key TEXT PRIMARY KEY,
    gate_until REAL NOT NULL,
    banned INTEGER NOT NULL,
    window INTEGER NOT NULL,
    reserved INTEGER NOT NULL,
    in_flight INTEGER NOT NULL,
    carried INTEGER NOT NULL,
    floor INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS countdowns (
    account TEXT NOT NULL, name TEXT NOT NULL, deadline_ms INTEGER NOT NULL, armed_ms INTEGER NOT NULL,
    PRIMARY KEY (account, name)
);
CREATE TABLE IF NOT EXISTS guards (account TEXT NOT NULL, guard TEXT NOT NULL, seen_ms INTEGER NOT NULL,
    PRIMARY KEY (account, guard));
CREATE TABLE IF NOT EXISTS leases (account TEXT PRIMARY KEY, holder TEXT NOT NULL, until_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS firings (account TEXT NOT NULL, name TEXT NOT NULL, outcome TEXT NOT NULL,
    PRIMARY KEY (account, name));
"""
GATE = "SELECT gate_until, banned FROM ip_limits WHERE key = ?"
SELECT = "SELECT gate_until, banned, window, reserved, in_flight, carried, floor FROM ip_limits WHERE key = ?"
UPDATE = (
    "UPDATE ip_limits SET gate_until = ?, banned = ?, window = ?, reserved = ?, in_flight = ?, carried = ?, floor = ?"
    " WHERE key = ?"
)
INSERT = "INSERT INTO ip_limits VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
# The common case of state.acquire and state.answered as one statement each (no roll, gate open, room left;
# an answer in its own window): the full rules run, in a transaction, only when a statement changes no row.
# The contract tests hold both ways to the rules.
FAST_ACQUIRE = (
    "UPDATE ip_limits SET reserved = reserved + :weight, in_flight = in_flight + :weight"
    " WHERE key = :key AND window = :index AND gate_until <= :now"
    " AND (:weight = 0 OR :weight <= :limit - (reserved + max(0, floor)))"
)
FAST_ANSWERED = (
    "UPDATE ip_limits SET in_flight = max(0, in_flight - :weight),"
    " floor = CASE WHEN :used IS NULL THEN floor"
    " ELSE max(floor, :used - reserved) END"
    " WHERE key = :key AND window = :index AND :ticket = :index"
)


def default_path() -> str:
    """This user's cache: ``$XDG_CACHE_HOME/papi_plugin/limits.sqlite3``, else ``~/.cache/papi_plugin/...``."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "papi_plugin", "limits.sqlite3")


def path_of(url: str) -> str:
    """``sqlite:`` is the default path; ``sqlite:////var/lib/x.sqlite3`` is ``/var/lib/x.sqlite3`` (as SQLAlchemy)."""
    rest = url[len("sqlite:") :]
    return rest[len("///") :] if rest.startswith("////") else default_path()


class Store:
    def __init__(self, url: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.clock = clock  # when to look at the file again
        self.path = path_of(url)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file the connection has open
        self._checked_at = -math.inf

    def acquire(self, key: str, weight: int, limit: int, window: float, now: float) -> Admission:
        index = state.window_of(now, window)
        values = {"key": key, "weight": weight, "limit": limit, "index": index, "now": now}
        if self._run(FAST_ACQUIRE, values) == 1:
            return Admission(0.0, state.OPEN, index)
        return self._change(key, lambda found: state.acquire(found, weight, limit, window, now))

    def answered(self, key: str, ticket: int, weight: int, used: int | None, window: float, now: float) -> None:
        values = {"key": key, "weight": weight, "used": used, "index": state.window_of(now, window), "ticket": ticket}
        if self._run(FAST_ANSWERED, values) != 1:
            self._change(key, lambda found: state.answered(found, ticket, weight, used, window, now))

    def close_gate(self, key: str, until: float, banned: bool, now: float) -> None:
        self._change(key, lambda found: state.close_gate(found, until, banned, now))

    def gate(self, key: str) -> tuple[float, bool]:
        rows = self._rows(GATE, (key,))
        return (float(rows[0][0]), bool(rows[0][1])) if rows else (0.0, False)

    def snapshot(self, key: str) -> IpState:
        rows = self._rows(SELECT, (key,))
        return loaded(rows[0] if rows else None)

    # -- the dead-man's switch (times in ms on Binance's clock)

    def arm(self, account: str, name: str, deadline_ms: int, now_ms: int) -> None:
        self._run("INSERT OR REPLACE INTO countdowns VALUES (?, ?, ?, ?)", (account, name, deadline_ms, now_ms))

    def disarm(self, account: str, name: str, deadline_ms: int | None = None) -> None:
        """Drop the countdown ``name`` (only if its deadline is still ``deadline_ms``, when given)."""
        if deadline_ms is None:
            self._run("DELETE FROM countdowns WHERE account = ? AND name = ?", (account, name))
        else:
            statement = "DELETE FROM countdowns WHERE account = ? AND name = ? AND deadline_ms = ?"
            self._run(statement, (account, name, deadline_ms))

    def countdowns(self, account: str) -> list[tuple[str, int, int]]:
        statement = "SELECT name, deadline_ms, armed_ms FROM countdowns WHERE account = ? ORDER BY name"
        return [(str(n), int(d), int(a)) for n, d, a in self._rows(statement, (account,))]

    def beat(self, account: str, guard: str, now_ms: int) -> None:
        self._run("INSERT OR REPLACE INTO guards VALUES (?, ?, ?)", (account, guard, now_ms))

    def guards(self, account: str, now_ms: int, alive_ms: int) -> list[str]:
        statement = "SELECT guard FROM guards WHERE account = ? AND seen_ms > ? ORDER BY guard"
        return [str(row[0]) for row in self._rows(statement, (account, now_ms - alive_ms))]

    def take_lease(self, account: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        """The account's firing lease for ``holder``: taken if free or expired, renewed if its own."""
        statement = (
            "INSERT INTO leases VALUES (:account, :holder, :until) ON CONFLICT (account) DO UPDATE"
            " SET holder = :holder, until_ms = :until WHERE leases.holder = :holder OR leases.until_ms <= :now"
        )
        values = {"account": account, "holder": holder, "until": now_ms + ttl_ms, "now": now_ms}
        return self._run(statement, values) == 1

    def drop_lease(self, account: str, holder: str) -> None:
        self._run("DELETE FROM leases WHERE account = ? AND holder = ?", (account, holder))

    def record(self, account: str, name: str, outcome: str) -> None:
        self._run("INSERT OR REPLACE INTO firings VALUES (?, ?, ?)", (account, name, outcome))

    def firings(self, account: str) -> dict[str, str]:
        rows = self._rows("SELECT name, outcome FROM firings WHERE account = ?", (account,))
        return {str(name): str(outcome) for name, outcome in rows}

    def _run(self, statement: str, values: Any) -> int:
        """One statement, in its own transaction; the rows it changed."""
        return int(self._on_connection(lambda db: db.execute(statement, values).rowcount))

    def _rows(self, statement: str, values: Any) -> list[Any]:
        return self._on_connection(lambda db: db.execute(statement, values).fetchall())

    def _on_connection(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` on the connection, this process's turn at it; whatever fails, the next starts afresh."""
        with self._locked():
            try:
                return work(self._connection())
            except BaseException:
                self._drop()
                raise

    def close(self) -> None:
        with self._locked():
            self._drop()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """This process's turn at the connection; threads queued behind a locked file give up together."""
        if not self._lock.acquire(timeout=BUSY_SECONDS):
            raise sqlite3.OperationalError("database is locked (another thread of this process waits for it)")
        try:
            yield
        finally:
            self._lock.release()

    def _change(self, key: str, change: Callable[[IpState], T]) -> T:
        """The full rules: read the IP's row, ``change`` it, write it back, in one ``BEGIN IMMEDIATE``."""

        def transaction(db: sqlite3.Connection) -> T:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(SELECT, (key,)).fetchone()
                found = loaded(row)
                result = change(found)
                if row is None:
                    db.execute(INSERT, (key, *found.fields()))
                else:
                    db.execute(UPDATE, (*found.fields(), key))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return result

        return self._on_connection(transaction)

    def _connection(self) -> sqlite3.Connection:
        if self._db is not None and (now := self.clock()) >= self._checked_at + CHECK_FILE_SECONDS:
            self._checked_at = now
            if self._identity != identity(self.path):
                self._drop()  # removed or replaced: open the file that is there now
        if self._db is None:
            try:
                os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
                db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
            except (OSError, sqlite3.Error) as error:
                raise Unusable(f"cannot open {self.path}: {error}") from None
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")  # a lost last change on power loss is harmless here
                db.executescript(SCHEMA)
            except sqlite3.OperationalError:  # locked, read-only, full: may pass
                db.close()
                raise
            except sqlite3.DatabaseError as error:  # not a database: it will not pass by itself
                db.close()
                raise Unusable(f"{self.path}: {error}") from None
            self._db, self._identity, self._checked_at = db, identity(self.path), self.clock()
        return self._db

    def _drop(self) -> None:
        db, self._db, self._identity = self._db, None, None
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()


def identity(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def loaded(row: tuple[float, int, int, int, int, int, int] | None) -> IpState:
    if row is None:
        return IpState()
    gate_until, banned, *counts = row
    return IpState(float(gate_until), bool(banned), *(int(value) for value in counts))
