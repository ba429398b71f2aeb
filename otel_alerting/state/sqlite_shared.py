"""The shared notification log's statements for an SQLite file: heartbeats and leases
beside the ``nflog`` table; a holder's alert records (``sqlite_rows``) go with it. Each
function runs inside the caller's write transaction.

``holders.stopped`` is 0 for a process that has not stopped, else the time of its last
heartbeat before it stopped cleanly (files written before that held 1 there: stopped
before any process started, so their leases make orphans once expired)."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping, Sequence

from ..notify.dedup import Claim, Lease, LogRecord, decide, episode_start, granted
from .sqlite_rows import parse_record, record_text

__all__ = ["TABLES", "claim", "hold", "orphans", "stop"]

TABLES = (
    "CREATE TABLE IF NOT EXISTS holders (holder TEXT PRIMARY KEY, expires REAL NOT NULL, stopped INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS leases (fingerprint TEXT NOT NULL, holder TEXT NOT NULL, severity INTEGER NOT NULL,"
    " PRIMARY KEY (fingerprint, holder))",
    "CREATE INDEX IF NOT EXISTS leases_by_holder ON leases (holder)",
)

_LIVE_LEASES = (
    "SELECT l.severity, h.stopped FROM leases l JOIN holders h ON h.holder = l.holder"
    " WHERE l.fingerprint = ? AND l.holder != ? AND h.expires > ?"
)


def hold(
    connection: sqlite3.Connection, holder: str, expires: float, held: Mapping[str, int], released: Collection[str]
) -> None:
    connection.execute("INSERT OR REPLACE INTO holders (holder, expires, stopped) VALUES (?, ?, 0)", (holder, expires))
    if held:
        connection.executemany(
            "INSERT OR REPLACE INTO leases (fingerprint, holder, severity) VALUES (?, ?, ?)",
            ((fp, holder, severity) for fp, severity in held.items()),
        )
        # a live process speaks for these alerts now: the leases that stopped processes
        # left on them would keep them from the search for orphans if this one crashed
        connection.executemany(
            "DELETE FROM leases WHERE fingerprint = ? AND holder IN (SELECT holder FROM holders WHERE stopped != 0)",
            ((fp,) for fp in held),
        )
    if released:
        connection.executemany(
            "DELETE FROM leases WHERE fingerprint = ? AND holder = ?", ((fp, holder) for fp in released)
        )


def claim(
    connection: sqlite3.Connection, holder: str, now: float, claims: Sequence[Claim]
) -> list[float | bool | None]:
    answers: list[float | bool | None] = []
    for c in claims:
        row = connection.execute(
            "SELECT record FROM nflog WHERE fingerprint = ? AND receiver = ?", (c.fingerprint, c.receiver)
        ).fetchone()
        entry = None if row is None else parse_record(row[0])
        others = [
            Lease(severity, bool(stopped))
            for severity, stopped in connection.execute(_LIVE_LEASES, (c.fingerprint, holder, now))
        ]
        if not decide(c, entry, others, now):
            answers.append(False)
            continue
        connection.execute(
            "INSERT OR REPLACE INTO nflog (fingerprint, receiver, record) VALUES (?, ?, ?)",
            (c.fingerprint, c.receiver, record_text(granted(c, entry))),
        )
        answers.append(episode_start(entry))
    return answers


def orphans(
    connection: sqlite3.Connection, now: float, retention: float, limit: int, since: float
) -> list[tuple[str, str, LogRecord]]:
    # a lease is left while its heartbeat lives, or, stopped cleanly after ``since``,
    # until its holder leaves the log (see SharedLog.orphans)
    rows = connection.execute(
        "SELECT n.fingerprint, n.receiver, n.record FROM nflog n"
        " WHERE json_extract(n.record, '$.status') = 'FIRING' AND NOT EXISTS ("
        " SELECT 1 FROM leases l JOIN holders h ON h.holder = l.holder"
        " WHERE l.fingerprint = n.fingerprint AND (h.expires > ? OR h.stopped > ?))",
        (now, since),
    ).fetchall()
    found: list[tuple[str, str, LogRecord]] = []
    for fp, receiver, text in rows:
        entry = parse_record(text)
        found.append((fp, receiver, entry))
        resolved = {"status": "RESOLVED", "severity": entry.get("severity"), "at": now}
        connection.execute(
            "UPDATE nflog SET record = ? WHERE fingerprint = ? AND receiver = ?", (record_text(resolved), fp, receiver)
        )
        # resolved for the processes that held it: their records of it are stale now
        connection.execute(
            "DELETE FROM alert_rows WHERE fingerprint = ? AND holder NOT IN"
            " (SELECT holder FROM holders WHERE expires > ? AND stopped = 0)",
            (fp, now),
        )
    # bounds: what is no longer firing goes after the retention, then the oldest past the limit
    connection.execute(
        "DELETE FROM nflog WHERE json_extract(record, '$.status') != 'FIRING' AND json_extract(record, '$.at') < ?",
        (now - retention,),
    )
    (count,) = connection.execute("SELECT count(*) FROM nflog").fetchone()
    if count > limit:
        connection.execute(
            "DELETE FROM nflog WHERE rowid IN (SELECT rowid FROM nflog ORDER BY json_extract(record, '$.at') LIMIT ?)",
            (count - limit,),
        )
    # holders dead for a whole retention, and their leases and alert records
    if connection.execute("DELETE FROM holders WHERE expires < ?", (now - retention,)).rowcount:
        connection.execute("DELETE FROM leases WHERE holder NOT IN (SELECT holder FROM holders)")
        connection.execute("DELETE FROM alert_rows WHERE holder NOT IN (SELECT holder FROM holders)")
    return found


def stop(connection: sqlite3.Connection, holder: str, at: float) -> None:
    # never 0 (not stopped), whatever the clock
    connection.execute("UPDATE holders SET stopped = ? WHERE holder = ?", (max(at, 1e-6), holder))
