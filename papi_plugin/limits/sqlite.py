"""The ``sqlite:`` store, the default: every process on this host, through one SQLite file (WAL mode).

``Database`` is the file (made 0600 in a 0700 folder, refused when another user could write it) and this
process's connection to it, shared with the switch's records (``switch/sqlite.py``); ``Store`` keeps the IPs'
gates and budgets in it. A change that is not the common case runs the full rules in one ``BEGIN
IMMEDIATE`` transaction: atomic across processes, and no lock outlives its holder (SQLite's locks are the
operating system's file locks, released when a process dies).
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from papi_plugin.limits import state
from papi_plugin.limits.base import IpLimitsStore
from papi_plugin.limits.state import BLIND_SHARE, HEADROOM_SHARE, MAX_GATE_SECONDS, MAX_WEIGHT, Admission, IpState
from papi_plugin.limits.stores import Unusable, distrusted

CHECK_FILE_SECONDS = 0.1  # how often the file is checked for having been removed or replaced
BUSY_SECONDS = 1.0  # how long a change waits for another process's transaction before the store counts as failed
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS gates_and_budgets (
    key TEXT PRIMARY KEY,
    gate_until REAL NOT NULL,
    banned INTEGER NOT NULL,
    window INTEGER NOT NULL,
    reserved INTEGER NOT NULL,
    in_flight INTEGER NOT NULL,
    carried INTEGER NOT NULL,
    used INTEGER NOT NULL,
    others INTEGER NOT NULL
);
"""
COLUMNS = "gate_until, banned, window, reserved, in_flight, carried, used, others"
GATE = "SELECT gate_until, banned FROM gates_and_budgets WHERE key = ?"
SELECT = f"SELECT {COLUMNS} FROM gates_and_budgets WHERE key = ?"
UPDATE = (
    "UPDATE gates_and_budgets SET gate_until = ?, banned = ?, window = ?, reserved = ?, in_flight = ?, carried = ?,"
    " used = ?, others = ? WHERE key = ?"
)
INSERT = "INSERT INTO gates_and_budgets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
# A row these rules could have written (state.sane): the fast statements touch no other.
SANE = (
    " AND typeof(gate_until) IN ('real', 'integer') AND gate_until <= :now + :max_gate"
    " AND typeof(reserved) = 'integer' AND typeof(in_flight) = 'integer' AND typeof(carried) = 'integer'"
    " AND typeof(used) = 'integer' AND typeof(others) = 'integer' AND reserved BETWEEN 0 AND :max_weight"
    " AND used BETWEEN 0 AND :max_weight AND others BETWEEN 0 AND max(used, 1)"
    " AND in_flight >= 0 AND carried >= 0 AND in_flight <= reserved"
)
# The common case of state.acquire and state.answered as one statement each (no roll, gate open, room left;
# an answer in its own window): the full rules run, in a transaction, only when a statement changes no row.
# The contract tests hold both ways to the rules.
FAST_ACQUIRE = (
    "UPDATE gates_and_budgets SET reserved = reserved + :weight, in_flight = in_flight + :weight"
    " WHERE key = :key AND window = :index AND gate_until <= :now"
    " AND (:weight = 0 OR :weight <= :limit - (CASE WHEN others > 0 THEN"
    " min(:limit / 2, max(:limit / :headroom, CAST(others * :left / :elapsed AS INTEGER) + 1)) ELSE 0 END)"
    " - (max(reserved, used + in_flight) + carried))"
    " AND (:weight = 0 OR in_flight + carried = 0 OR in_flight + carried + :weight <= max("
    "(:limit - max(reserved, used + in_flight) + in_flight) / :share,"
    " :limit - max(reserved, used + in_flight) + in_flight - :limit / :share))"
    + SANE
)
FAST_ANSWERED = (
    "UPDATE gates_and_budgets SET in_flight = max(0, in_flight - :weight),"
    " used = CASE WHEN :used IS NULL THEN used ELSE max(used, :used) END,"
    " others = CASE WHEN :used IS NULL THEN others ELSE max(others, :used - reserved) END"
    " WHERE key = :key AND window = :index AND :ticket = :index" + SANE
)
BOUNDS = {"max_gate": MAX_GATE_SECONDS, "max_weight": MAX_WEIGHT, "share": BLIND_SHARE, "headroom": HEADROOM_SHARE}


def default_path() -> str:
    """This user's state folder: ``$XDG_STATE_HOME/papi_plugin/limits.sqlite3``, else ``~/.local/state/...``
    (not a cache: a cache cleaner must not delete a dead bot's countdown)."""
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state_home, "papi_plugin", "limits.sqlite3")


def path_of(url: str) -> str:
    """``sqlite:`` is the default path; ``sqlite:////var/lib/x.sqlite3`` is ``/var/lib/x.sqlite3`` (as SQLAlchemy)."""
    rest = url[len("sqlite:") :]
    return rest[len("///") :] if rest.startswith("////") else default_path()


def refused(path: str, found: os.stat_result, what: str) -> str | None:
    """Why ``path`` (a file or its folder) must not hold the store: whoever may write it can switch the
    kill switch off for every process, so only this user may."""
    if stat.S_ISLNK(found.st_mode):
        return f"{what} {path} is a symbolic link; give the real path"
    trusted = (os.geteuid(), 0) if stat.S_ISDIR(found.st_mode) else (os.geteuid(),)  # root may own the folder
    if found.st_uid not in trusted:
        return f"{what} {path} is owned by another user (uid {found.st_uid})"
    sticky_folder = stat.S_ISDIR(found.st_mode) and found.st_mode & stat.S_ISVTX  # /tmp: nobody swaps our file
    if found.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not sticky_folder:
        return f"{what} {path} is writable by other users (mode {stat.S_IMODE(found.st_mode):o})"
    return None


def prepared(path: str) -> str:
    """Make the store's folder (0700) and file (0600) if missing, whatever the umask; raise ``Unusable`` for a
    path that another user could write or that points elsewhere (a symbolic link).

    An existing file is only looked at (``lstat``), never opened: closing any descriptor of a file drops every
    POSIX lock this process holds on it, and SQLite's connections hold theirs."""
    folder = os.path.dirname(path) or "."
    try:
        if not os.path.lexists(folder):
            os.makedirs(folder, mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        problem = refused(folder, os.stat(folder), "the store's folder")
        if problem is None and not os.path.lexists(path):
            with contextlib.suppress(FileExistsError):  # another process made it a moment ago
                os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
                os.chmod(path, 0o600)  # whatever the umask left of it
        if problem is None:
            problem = refused(path, os.lstat(path), "the store's file")
    except OSError as error:
        raise Unusable(f"cannot open {path}: {error.strerror}") from None
    if problem is not None:
        raise Unusable(f"{problem}; refused, as anyone who may write the store may disable the kill switch")
    return path


def check_path(url: str) -> None:
    """Raise ``Unusable`` (with why) when the SQLite store of ``url`` could not be used safely."""
    prepared(path_of(url))


class Database:
    """One SQLite file of this host, its connection and this process's turn at it: what the limits store and
    the switch's store (``switch/sqlite.py``) share. The file is re-opened when it was removed or replaced,
    so a fleet never splits over two files for long."""

    def __init__(self, url: str, schema: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.schema = schema
        self.clock = clock  # when to look at the file again
        self.path = path_of(url)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file the connection has open
        self._checked_at = -math.inf

    def run(self, statement: str, values: Any) -> int:
        """One statement, in its own transaction; the rows it changed."""
        return int(self.on_connection(lambda db: db.execute(statement, values).rowcount))

    def rows(self, statement: str, values: Any = ()) -> list[Any]:
        return self.on_connection(lambda db: db.execute(statement, values).fetchall())

    def on_connection(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` on the connection, this process's turn at it; whatever fails, the next starts afresh."""
        with self._locked():
            try:
                return work(self._connection())
            except BaseException:
                self._drop()
                raise

    def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` inside one ``BEGIN IMMEDIATE`` transaction: atomic across processes."""

        def transaction(db: sqlite3.Connection) -> T:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return result

        return self.on_connection(transaction)

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

    def _connection(self) -> sqlite3.Connection:
        if self._db is not None and (now := self.clock()) >= self._checked_at + CHECK_FILE_SECONDS:
            self._checked_at = now
            if self._identity != identity(self.path):
                self._drop()  # removed or replaced: open the file that is there now
        if self._db is None:
            prepared(self.path)
            try:
                db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
            except (OSError, sqlite3.Error) as error:
                raise Unusable(f"cannot open {self.path}: {error}") from None
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")  # a lost last change on power loss is harmless here
                db.executescript(self.schema)
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


class Store(IpLimitsStore):
    """The IPs' gates and budgets in the SQLite file of ``url``."""

    def __init__(self, url: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.database = Database(url, SCHEMA, clock)

    def acquire(self, key: str, weight: int, limit: int, window: float, now: float) -> Admission:
        index = state.window_of(now, window)
        values = {"key": key, "weight": weight, "limit": limit, "index": index, "now": now, **BOUNDS}
        start = index * window  # the window's time left and time gone: others' pace (state.headroom)
        values.update(left=max(start + window - now, 0.0), elapsed=max(now - start, window / 20))
        if self.database.run(FAST_ACQUIRE, values) == 1:
            return Admission(0.0, state.OPEN, index)
        refused = self._refused(key, weight, limit, window, now)
        if refused is not None:
            return refused
        return self._change(key, window, now, lambda found: state.acquire(found, weight, limit, window, now))

    def _refused(self, key: str, weight: int, limit: int, window: float, now: float) -> Admission | None:
        """The rules' refusal, read without a write lock, when nothing is to be written (no roll, nothing to
        drop): requests waiting together keep no writer from the file. None: the full rules decide."""
        rows = self.database.rows(SELECT, (key,))
        if not rows:
            return None
        found, problems = loaded(rows[0])
        if problems or state.sane(found, window, now) or found.window != state.window_of(now, window):
            return None
        admission = state.acquire(found, weight, limit, window, now)
        return None if admission.admitted else admission

    def answered(self, key: str, ticket: int, weight: int, used: int | None, window: float, now: float) -> None:
        index = state.window_of(now, window)
        values = {"key": key, "weight": weight, "used": used, "index": index, "ticket": ticket, "now": now, **BOUNDS}
        if self.database.run(FAST_ANSWERED, values) != 1:
            self._change(key, window, now, lambda found: state.answered(found, ticket, weight, used, window, now))

    def close_gate(self, key: str, until: float, banned: bool, now: float) -> None:
        self._change(key, None, now, lambda found: state.close_gate(found, until, banned, now))

    def gate(self, key: str) -> tuple[float, bool]:
        rows = self.database.rows(GATE, (key,))
        if not rows:
            return 0.0, False
        gate_until, banned = rows[0]
        return (float(gate_until), bool(banned)) if isinstance(gate_until, (int, float)) else (math.inf, False)

    def snapshot(self, key: str) -> IpState:
        rows = self.database.rows(SELECT, (key,))
        return loaded(rows[0] if rows else None)[0]

    def close(self) -> None:
        self.database.close()

    def _change(self, key: str, window: float | None, now: float, change: Callable[[IpState], T]) -> T:
        """The full rules: read the IP's row, check it, ``change`` it, write it back, in one transaction."""

        def work(db: sqlite3.Connection) -> T:
            row = db.execute(SELECT, (key,)).fetchone()
            found, problems = loaded(row)
            problems += state.sane(found, window, now) if row is not None else []
            result = change(found)
            if row is None:
                db.execute(INSERT, (key, *found.fields()))
            else:
                db.execute(UPDATE, (*found.fields(), key))
            distrusted(f"the limits store {self.database.path}, IP {key}", problems)
            return result

        return self.database.transaction(work)


def identity(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def loaded(row: tuple[Any, ...] | None) -> tuple[IpState, list[str]]:
    """A row as state, and what in it could not be read (dropped: the gate open, the counts afresh)."""
    if row is None:
        return IpState(), []
    gate_until, banned, window, *counts = row
    problems = []
    if not isinstance(gate_until, (int, float)):
        problems.append(f"a gate end {gate_until!r} that is not a number")
        gate_until, banned = 0.0, 0
    if not all(isinstance(value, int) for value in (window, *counts)):
        problems.append(f"budget counts {(window, *counts)!r} that are not integers")
        window, counts = -1, [0, 0, 0, 0, 0]
    return IpState(float(gate_until), bool(banned), int(window), *(int(value) for value in counts)), problems
