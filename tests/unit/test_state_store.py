"""The state stores: round trip, one transaction per write, bounds, and the one clear
error (with memory instead) for a file that cannot be used."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from otel_alerting.state import (
    Changes,
    MemoryStore,
    SavedState,
    SqliteStore,
    StateError,
    StateKeeper,
    StateStore,
    open_store,
)

ALERT = {"alert": "A", "group": {"proc": "p"}, "lifecycle": {"since": [[3, 10.0]]}, "notified": 3}
SILENCE = {"matchers": ['alertname="A"'], "starts_at": 0.0, "ends_at": 100.0, "comment": "c", "created_by": "me"}


def stores(tmp_path: Path) -> list[StateStore]:
    return [MemoryStore(), SqliteStore(str(tmp_path / "state.db"))]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_what_is_saved_is_loaded(tmp_path: Path, kind: str) -> None:
    store: StateStore = MemoryStore() if kind == "memory" else SqliteStore(str(tmp_path / "state.db"))
    store.save(
        Changes(
            alerts={"fp1": ALERT, "fp2": {**ALERT, "notified": None}},
            silences={"s1": SILENCE},
            nflog={("fp1", "webhook"): {"status": "FIRING", "severity": 3, "at": 5.0}},
        )
    )
    store.save(Changes(removed_alerts=frozenset({"fp2"})))
    if kind == "sqlite":  # another process (or a restart) reads the same
        store.close()
        store = SqliteStore(str(tmp_path / "state.db"))
    saved = store.load()
    assert saved == SavedState(
        {"fp1": ALERT}, {"s1": SILENCE}, {("fp1", "webhook"): {"status": "FIRING", "severity": 3, "at": 5.0}}
    )
    store.close()


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    SqliteStore(str(tmp_path / "state.db")).close()
    with sqlite3.connect(tmp_path / "state.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failure_in_the_middle_of_a_write_leaves_the_state_before_it(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "state.db"))
    store.save(Changes(alerts={"fp1": ALERT}, silences={"s1": SILENCE}))
    # the second alert cannot be written (not JSON): the first, the removal and the
    # silences written before it in the same transaction are undone
    bad = Changes(
        alerts={"fp3": ALERT, "fp4": {"x": object()}},
        removed_alerts=frozenset({"fp1"}),
        silences={},
    )
    with pytest.raises(StateError, match="cannot write"):
        store.save(bad)
    assert store.load() == SavedState({"fp1": ALERT}, {"s1": SILENCE}, {})
    store.close()


def test_two_processes_share_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    first, second = SqliteStore(path), SqliteStore(path)
    first.save(Changes(alerts={"fp1": ALERT}))
    second.save(Changes(alerts={"fp2": ALERT}))
    assert set(first.load().alerts) == {"fp1", "fp2"}
    first.close()
    second.close()


def _corrupt(path: Path) -> None:
    path.write_bytes(b"this is no database\n" * 200)


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        connection.execute("INSERT INTO invoices (total) VALUES (12.5)")
    connection.close()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_corrupt, "is not a usable SQLite file"),
        (_foreign, "an SQLite database of another program"),
    ],
    ids=["corrupt", "foreign"],
)
def test_a_file_that_is_not_our_state_gives_one_error_and_memory(tmp_path: Path, make: object, says: str) -> None:
    path = tmp_path / "state.db"
    make(path)  # type: ignore[operator]
    before = path.read_bytes()
    store, problem = open_store(str(path))
    assert isinstance(store, MemoryStore)
    assert problem is not None and says in problem and str(path) in problem
    assert "memory" in problem
    assert path.read_bytes() == before  # never changed


def test_an_unreachable_file_gives_one_error_and_memory(tmp_path: Path) -> None:
    store, problem = open_store(str(tmp_path / "missing-directory" / "state.db"))
    assert isinstance(store, MemoryStore)
    assert problem is not None and "cannot open" in problem


def test_no_location_is_memory_without_a_problem() -> None:
    store, problem = open_store(None)
    assert isinstance(store, MemoryStore) and problem is None


def test_a_newer_layout_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    SqliteStore(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE otel_alerting_meta SET value = '99' WHERE key = 'version'")
    connection.close()
    with pytest.raises(StateError, match="version '99'"):
        SqliteStore(path)


# --- the keeper: writes only what changed, bounded, never raises ---------------------


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[Changes] = []
        self.fail: str | None = None

    def save(self, changes: Changes) -> None:
        if self.fail is not None:
            raise StateError(self.fail)
        self.writes.append(changes)
        super().save(changes)


def test_the_keeper_writes_only_what_changed() -> None:
    store = CountingStore()
    keeper = StateKeeper(store)
    assert keeper.write({"fp1": ALERT}, {}, 0.0)
    assert keeper.write({"fp1": ALERT}, {}, 1.0)  # nothing changed: no write at all
    assert len(store.writes) == 1
    keeper.write({"fp2": ALERT}, {"s1": SILENCE}, 2.0)
    last = store.writes[-1]
    assert (dict(last.alerts), last.removed_alerts, last.silences) == ({"fp2": ALERT}, {"fp1"}, {"s1": SILENCE})


def test_a_failing_store_is_logged_once_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    store = CountingStore()
    keeper = StateKeeper(store)
    store.fail = "disk full"
    with caplog.at_level(logging.WARNING):
        for at in range(5):
            assert not keeper.write({"fp1": ALERT}, {}, float(at))
        assert keeper.error == "disk full"
        store.fail = None
        assert keeper.write({"fp1": ALERT}, {}, 9.0)  # what failed is written now
    assert store.load().alerts == {"fp1": ALERT}
    assert [r.levelname for r in caplog.records] == ["ERROR", "WARNING"]
    assert "disk full" in caplog.records[0].getMessage()


def test_the_notification_log_is_bounded() -> None:
    store = CountingStore()
    keeper = StateKeeper(store, nflog_retention=100.0, nflog_limit=3)
    keeper.sent([("old", "webhook", "RESOLVED", 3), ("gone", "webhook", "FIRING", 3)], 0.0)
    keeper.sent([("live", "webhook", "FIRING", 3)], 0.0)
    keeper.write({"live": ALERT}, {}, 0.0)
    assert len(store.load().nflog) == 3
    keeper.sent([(f"new{i}", "webhook", "FIRING", 3) for i in range(3)], 150.0)
    for at in range(60):  # the log is swept every so many writes
        keeper.write({"live": ALERT, "new0": ALERT, "new1": ALERT, "new2": ALERT}, {}, 150.0 + at)
    kept = store.load().nflog
    # a resolved entry and one of a forgotten alert go after the retention; a firing
    # alert's stays while room is left, else the oldest go
    assert set(kept) == {("new0", "webhook"), ("new1", "webhook"), ("new2", "webhook")}
    assert keeper.notified() == {f"new{i}": {"webhook": 150.0} for i in range(3)}
