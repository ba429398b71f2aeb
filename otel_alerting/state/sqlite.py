"""The state in an SQLite file (the standard library's ``sqlite3``): WAL mode and a busy
timeout, so that the processes of one host can share it, and one transaction per write.

A file that is not SQLite (corrupt) or another program's database (foreign: no
``otel_alerting_meta`` table naming this schema) is refused with a ``StateError``; it is
never changed. An empty or new file gets the schema.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TypeVar

from ..notify.dedup import Claim, LogRecord
from . import sqlite_rows, sqlite_shared
from .model import Changes, NotificationLogKey, Record, SavedState
from .store import StateError

__all__ = ["SCHEMA", "SCHEMA_VERSION", "SqliteStore"]

#: the name in the meta table that marks a file as ours, and the layout's version
SCHEMA = "otel-alerting-state"
SCHEMA_VERSION = 1

_TABLES = (
    "CREATE TABLE otel_alerting_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE nflog (fingerprint TEXT NOT NULL, receiver TEXT NOT NULL, record TEXT NOT NULL,"
    " PRIMARY KEY (fingerprint, receiver))",
)


_T = TypeVar("_T")


class SqliteStore:
    def __init__(self, path: str, busy_timeout: float = 2.0) -> None:
        """Open (or create) the file at ``path``; StateError if it cannot be used."""
        self.description = path
        self._path = path
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._connect()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        try:
            # autocommit: each write opens its own transaction (BEGIN IMMEDIATE)
            connection = sqlite3.connect(
                self._path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StateError(f"cannot open {self._path}: {exc}") from None
        try:
            # the schema is checked first: another program's file is not switched to WAL
            _check_schema(connection, self._path)
        except sqlite3.Error as exc:
            connection.close()
            raise StateError(f"{self._path} is not a usable SQLite file: {exc}") from None
        except StateError:
            connection.close()
            raise
        self._connection = connection
        return connection

    def load(self) -> SavedState:
        with self._lock:
            try:
                connection = self._connect()
                alerts = sqlite_rows.load_alerts(connection)
                silences, seq = sqlite_rows.silences_since(connection, -1)
                nflog = {
                    (fp, receiver): sqlite_rows.parse_record(text)
                    for fp, receiver, text in connection.execute("SELECT fingerprint, receiver, record FROM nflog")
                }
            except (sqlite3.Error, ValueError) as exc:
                raise StateError(f"cannot read {self._path}: {exc}") from None
        return SavedState(alerts, silences, nflog, seq)

    def silences_since(self, seq: int) -> tuple[dict[str, Record], int]:
        with self._lock:
            try:
                return sqlite_rows.silences_since(self._connect(), seq)
            except (sqlite3.Error, ValueError) as exc:
                raise StateError(f"cannot read {self._path}: {exc}") from None

    def save(self, changes: Changes) -> None:
        if not changes:
            return
        with self._lock:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    _write(connection, changes)
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            except (sqlite3.Error, TypeError, ValueError) as exc:
                raise StateError(f"cannot write {self._path}: {exc}") from None

    # --- the shared notification log (see otel_alerting.notify.dedup) --------------

    def hold(self, holder: str, expires: float, held: Mapping[str, int], released: Collection[str]) -> None:
        self._transaction(lambda c: sqlite_shared.hold(c, holder, expires, held, released))

    def claim(self, holder: str, now: float, claims: Sequence[Claim]) -> list[float | bool | None]:
        return self._transaction(lambda c: sqlite_shared.claim(c, holder, now, claims))

    def orphans(self, now: float, retention: float, limit: int, since: float = 0.0) -> list[tuple[str, str, LogRecord]]:
        return self._transaction(lambda c: sqlite_shared.orphans(c, now, retention, limit, since))

    def stop(self, holder: str, at: float) -> None:
        self._transaction(lambda c: sqlite_shared.stop(c, holder, at))

    def _transaction(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """``work`` in one write transaction (BEGIN IMMEDIATE: the processes of the host
        take turns); StateError if it failed, and then nothing of it is kept."""
        with self._lock:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    result = work(connection)
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            except (sqlite3.Error, TypeError, ValueError) as exc:
                raise StateError(f"cannot write {self._path}: {exc}") from None
        return result

    def after_fork(self) -> None:
        # a connection must not be used across fork(): the child opens its own (the
        # parent's is left to the parent, not closed here)
        self._lock = threading.Lock()
        self._connection = None

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _check_schema(connection: sqlite3.Connection, path: str) -> None:
    tables = _tables(connection)
    if tables:
        _check_meta(connection, tables, path)
    # WAL: readers and one writer at a time, across the processes of the host
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    if tables:
        # a file written before the shared log existed gets its tables (same schema version)
        connection.executescript("".join(f"{statement};" for statement in (*sqlite_shared.TABLES, *sqlite_rows.TABLES)))
    if not tables:
        connection.execute("BEGIN IMMEDIATE")
        try:
            tables = _tables(connection)  # another process may have created them meanwhile
            if not tables:
                for statement in (*_TABLES, *sqlite_shared.TABLES, *sqlite_rows.TABLES):
                    connection.execute(statement)
                connection.executemany(
                    "INSERT INTO otel_alerting_meta (key, value) VALUES (?, ?)",
                    [("schema", SCHEMA), ("version", str(SCHEMA_VERSION))],
                )
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        if tables:
            _check_meta(connection, tables, path)


def _check_meta(connection: sqlite3.Connection, tables: set[str], path: str) -> None:
    meta: dict[str, str] = {}
    if "otel_alerting_meta" in tables:
        meta = dict(connection.execute("SELECT key, value FROM otel_alerting_meta"))
    if meta.get("schema") != SCHEMA:
        raise StateError(f"{path} is an SQLite database of another program (no otel-alerting state): left as it is")
    if meta.get("version") != str(SCHEMA_VERSION):
        raise StateError(
            f"{path} holds otel-alerting state of version {meta.get('version')!r}; this version reads {SCHEMA_VERSION}"
        )


def _tables(connection: sqlite3.Connection) -> set[str]:
    return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _write(connection: sqlite3.Connection, changes: Changes) -> None:
    # serialised row by row inside the transaction: a value that cannot be written
    # undoes the rows before it too
    sqlite_rows.write_alerts(connection, changes)
    sqlite_rows.write_silences(connection, changes)
    if changes.nflog:
        connection.executemany(
            "INSERT OR REPLACE INTO nflog (fingerprint, receiver, record) VALUES (?, ?, ?)",
            ((fp, receiver, sqlite_rows.record_text(record)) for (fp, receiver), record in changes.nflog.items()),
        )
    if changes.removed_nflog:
        connection.executemany("DELETE FROM nflog WHERE fingerprint = ? AND receiver = ?", _keys(changes.removed_nflog))


def _keys(keys: frozenset[NotificationLogKey]) -> list[tuple[str, str]]:
    return list(keys)
