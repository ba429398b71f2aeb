"""The alert records and the silences in an SQLite file, as rows other processes share.

``alert_rows``: one row per alert and process (the holder of the shared log). A process
writes and deletes only its own rows, and deletes another's row of the same alert only
once that process no longer holds a live lease (stopped or expired: its record is stale,
superseded by the writer's). ``silence_log``: one row per silence, merged by id (the
later ``updated_at`` wins); each change takes the next number of the meta key
``silence_seq``, so a process reads only the silences changed since its last read. Each
function runs inside the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from .model import Changes, Record, furthest, silence_stamp

__all__ = ["TABLES", "load_alerts", "parse_record", "record_text", "silences_since", "write_alerts", "write_silences"]

TABLES = (
    "CREATE TABLE IF NOT EXISTS alert_rows (fingerprint TEXT NOT NULL, holder TEXT NOT NULL, record TEXT NOT NULL,"
    " PRIMARY KEY (fingerprint, holder))",
    "CREATE INDEX IF NOT EXISTS alert_rows_by_holder ON alert_rows (holder)",
    "CREATE TABLE IF NOT EXISTS silence_log (id TEXT PRIMARY KEY, record TEXT NOT NULL, updated REAL NOT NULL,"
    " seq INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS silence_log_by_seq ON silence_log (seq)",
)

#: the number of the last silence change
_COUNT = "SELECT CAST(value AS INTEGER) FROM otel_alerting_meta WHERE key = 'silence_seq'"

#: the rows of one alert whose process no longer speaks for it (no live lease)
_SUPERSEDED = (
    "DELETE FROM alert_rows WHERE fingerprint = ? AND holder != ? AND holder NOT IN"
    " (SELECT holder FROM holders WHERE expires > ? AND stopped = 0)"
)


def write_alerts(connection: sqlite3.Connection, changes: Changes) -> None:
    if changes.alerts:
        connection.executemany(
            "INSERT OR REPLACE INTO alert_rows (fingerprint, holder, record) VALUES (?, ?, ?)",
            ((fp, changes.holder, record_text(record)) for fp, record in changes.alerts.items()),
        )
    if changes.removed_alerts:
        connection.executemany(
            "DELETE FROM alert_rows WHERE fingerprint = ? AND holder = ?",
            ((fp, changes.holder) for fp in changes.removed_alerts),
        )
    touched = [*changes.alerts, *changes.removed_alerts]
    if touched:
        connection.executemany(_SUPERSEDED, ((fp, changes.holder, changes.at) for fp in touched))


def load_alerts(connection: sqlite3.Connection) -> dict[str, Record]:
    rows: dict[str, list[Record]] = {}
    for fp, text in connection.execute("SELECT fingerprint, record FROM alert_rows"):
        rows.setdefault(fp, []).append(parse_record(text))
    return {fp: furthest(records) for fp, records in rows.items()}


def write_silences(connection: sqlite3.Connection, changes: Changes) -> None:
    if changes.silences:
        (seq,) = connection.execute(_COUNT).fetchone() or (0,)
        rows = []
        for silence_id, record in changes.silences.items():
            seq += 1
            rows.append((silence_id, record_text(record), silence_stamp(record), seq))
        # a version older than the one saved (another process changed it since) is left out
        connection.executemany(
            "INSERT INTO silence_log (id, record, updated, seq) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE"
            " SET record = excluded.record, updated = excluded.updated, seq = excluded.seq"
            " WHERE excluded.updated >= silence_log.updated",
            rows,
        )
        connection.execute(
            "INSERT OR REPLACE INTO otel_alerting_meta (key, value) VALUES ('silence_seq', ?)", (str(seq),)
        )
    if changes.removed_silences:
        connection.executemany("DELETE FROM silence_log WHERE id = ?", ((i,) for i in changes.removed_silences))


def silences_since(connection: sqlite3.Connection, seq: int) -> tuple[dict[str, Record], int]:
    row = connection.execute(_COUNT).fetchone()
    latest = 0 if row is None else int(row[0])
    if latest == seq:
        return {}, latest
    # read after the count: a change committed in between is read now and again next time
    rows = connection.execute("SELECT id, record FROM silence_log WHERE seq > ?", (seq,))
    changed: dict[str, Record] = {i: parse_record(text) for i, text in rows}
    return changed, latest


def record_text(record: Mapping[str, Any]) -> str:
    """A record as the store keeps it: compact JSON (NaN refused)."""
    return json.dumps(record, separators=(",", ":"), allow_nan=False)


def parse_record(text: str) -> dict[str, Any]:
    """A record the store kept; a ValueError if it is not a JSON object."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"a saved record is a {type(value).__name__}, not an object")
    return value
