"""The switch in the SQLite store's file (``limits/sqlite.py``'s ``Database``): every process on this host.

Its clock is SQLite's own (the host's, read by SQLite in C), so a process whose own idea of the time is off
still arms and reads on the same clock as every other process of the host.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from papi_plugin.limits.sqlite import Database
from papi_plugin.switch.base import SwitchStore
from papi_plugin.switch.records import KEPT_FIRINGS

SCHEMA = """
CREATE TABLE IF NOT EXISTS switch_countdowns (account TEXT NOT NULL, name TEXT NOT NULL,
    timeout_ms INTEGER NOT NULL, armed_ms INTEGER NOT NULL, PRIMARY KEY (account, name));
CREATE TABLE IF NOT EXISTS switch_guards (account TEXT NOT NULL, guard TEXT NOT NULL, seen_ms INTEGER NOT NULL,
    PRIMARY KEY (account, guard));
CREATE TABLE IF NOT EXISTS switch_leases (account TEXT PRIMARY KEY, holder TEXT NOT NULL, until_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS switch_firings (account TEXT NOT NULL, name TEXT NOT NULL, firing TEXT NOT NULL,
    outcome TEXT NOT NULL, PRIMARY KEY (account, name, firing));
"""
NOW_MS = "CAST(round((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)"
ALIVE_FOR_MS = 3_600_000  # a guard silent for an hour is forgotten


def now_ms(db: sqlite3.Connection) -> int:
    return int(db.execute(f"SELECT {NOW_MS}").fetchone()[0])


class Store(SwitchStore):
    def __init__(self, url: str) -> None:
        self.url = url
        self.database = Database(url, SCHEMA)
        self.where = self.database.path

    def arm(self, account: str, name: str, timeout_ms: int) -> int:
        def work(db: sqlite3.Connection) -> int:
            now = now_ms(db)
            db.execute("INSERT OR REPLACE INTO switch_countdowns VALUES (?, ?, ?, ?)", (account, name, timeout_ms, now))
            return now

        return self.database.transaction(work)

    def disarm(self, account: str, name: str, armed_ms: int | None = None) -> None:
        statement = "DELETE FROM switch_countdowns WHERE account = ? AND name = ?"
        if armed_ms is None:
            self.database.run(statement, (account, name))
        else:
            self.database.run(statement + " AND armed_ms = ?", (account, name, armed_ms))

    def countdowns(self, account: str) -> tuple[int, list[tuple[Any, Any, Any]]]:
        def work(db: sqlite3.Connection) -> tuple[int, list[tuple[Any, Any, Any]]]:
            statement = "SELECT name, timeout_ms, armed_ms FROM switch_countdowns WHERE account = ?"
            return now_ms(db), db.execute(statement, (account,)).fetchall()

        return self.database.on_connection(work)

    def beat(self, account: str, guard: str) -> None:
        def work(db: sqlite3.Connection) -> None:
            now = now_ms(db)
            db.execute("INSERT OR REPLACE INTO switch_guards VALUES (?, ?, ?)", (account, guard, now))
            db.execute("DELETE FROM switch_guards WHERE account = ? AND seen_ms < ?", (account, now - ALIVE_FOR_MS))

        self.database.transaction(work)

    def beats(self, account: str) -> tuple[int, list[tuple[Any, Any]]]:
        def work(db: sqlite3.Connection) -> tuple[int, list[tuple[Any, Any]]]:
            statement = "SELECT guard, seen_ms FROM switch_guards WHERE account = ?"
            return now_ms(db), db.execute(statement, (account,)).fetchall()

        return self.database.on_connection(work)

    def lease(self, account: str) -> tuple[int, tuple[Any, Any] | None]:
        def work(db: sqlite3.Connection) -> tuple[int, tuple[Any, Any] | None]:
            now = now_ms(db)
            row = db.execute("SELECT holder, until_ms FROM switch_leases WHERE account = ?", (account,)).fetchone()
            lapsed = row is not None and isinstance(row[1], int) and row[1] <= now
            return now, None if row is None or lapsed else (row[0], row[1])

        return self.database.on_connection(work)

    def take_lease(self, account: str, holder: str, ttl_ms: int, replacing: str = "") -> bool:
        def work(db: sqlite3.Connection) -> bool:
            now = now_ms(db)
            if replacing:
                statement = "DELETE FROM switch_leases WHERE account = ? AND CAST(holder AS TEXT) = ?"
                db.execute(statement, (account, replacing))
            statement = (
                "INSERT INTO switch_leases VALUES (:account, :holder, :until) ON CONFLICT (account) DO UPDATE"
                " SET holder = :holder, until_ms = :until WHERE switch_leases.holder = :holder"
                " OR (typeof(switch_leases.until_ms) = 'integer' AND switch_leases.until_ms <= :now)"
            )
            values = {"account": account, "holder": holder, "until": now + ttl_ms, "now": now}
            return db.execute(statement, values).rowcount == 1

        return self.database.transaction(work)

    def drop_lease(self, account: str, holder: str) -> None:
        self.database.run("DELETE FROM switch_leases WHERE account = ? AND holder = ?", (account, holder))

    def record(self, account: str, name: str, firing: str, outcome: str) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO switch_firings VALUES (?, ?, ?, ?)", (account, name, firing, outcome))
            db.execute(
                "DELETE FROM switch_firings WHERE account = :account AND name = :name AND firing NOT IN"
                " (SELECT firing FROM switch_firings WHERE account = :account AND name = :name"
                " ORDER BY firing DESC LIMIT :kept)",
                {"account": account, "name": name, "kept": KEPT_FIRINGS},
            )

        self.database.transaction(work)

    def firings(self, account: str) -> list[tuple[Any, Any, Any]]:
        statement = "SELECT name, firing, outcome FROM switch_firings WHERE account = ?"
        return [tuple(row) for row in self.database.rows(statement, (account,))]

    def close(self) -> None:
        self.database.close()
