"""The inference event log: one row per request the runtime served, in SQLite.

SQLite because it is embedded (no server, one file, what a phone has too) and safe to append to
from several processes. Rows are buffered and written in one transaction every
``flush_every`` events (and on :meth:`EventLog.flush` / :meth:`EventLog.close`), so recording
costs the request path a list append, not a disk sync.
"""

from __future__ import annotations

import atexit
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass, fields
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    ts          REAL    NOT NULL,  -- unix time the request started
    model       TEXT    NOT NULL,  -- model name (manifest 'name' or registry name)
    version     TEXT    NOT NULL,  -- version that served (or should have served) the request
    grp         TEXT    NOT NULL,  -- rollout group the user fell in ('' without a rollout)
    ok          INTEGER NOT NULL,  -- 1: model result, 0: failure, fallback returned
    latency_ms  REAL    NOT NULL,  -- whole request: features + inference + decoding (+ fallback)
    unknown     INTEGER NOT NULL,  -- categorical inputs that were unknown or missing
    fields      INTEGER NOT NULL,  -- categorical inputs looked at (denominator of unknown rate)
    error       TEXT    NOT NULL   -- '' on success, else 'ExceptionType: message'
);
CREATE INDEX IF NOT EXISTS events_by_version ON events (model, version);
"""


@dataclass(frozen=True)
class Event:
    """One served request."""

    ts: float
    model: str
    version: str
    grp: str
    ok: bool
    latency_ms: float
    unknown: int = 0
    fields: int = 0
    error: str = ""


COLUMNS = [f.name for f in fields(Event)]


class EventLog:
    """Append-only event log in the SQLite file ``path`` (created with its folder if needed)."""

    def __init__(self, path: str | Path, flush_every: int = 64) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.flush_every = max(1, int(flush_every))
        self._pending: list[Event] = []
        self._lock = threading.Lock()
        db = self._connect()
        try:
            db.executescript(SCHEMA)
        finally:
            db.close()
        atexit.register(self._flush_at_exit)  # an app that forgets close() still keeps its last events

    @classmethod
    def at_default_location(cls, flush_every: int = 64) -> "EventLog":
        """The log the monitor CLI reads by default ($EDGERANK_MONITOR_DB or ~/.edgerank/monitor.sqlite)."""
        from edgerank.locations import default_monitor_db

        return cls(default_monitor_db(), flush_every)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")  # readers (the CLI) never block the app
        return db

    def record(self, event: Event) -> None:
        with self._lock:
            self._pending.append(event)
            full = len(self._pending) >= self.flush_every
        if full:
            self.flush()

    def extend(self, events: Iterable[Event]) -> None:
        for event in events:
            self.record(event)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        placeholders = ", ".join("?" for _ in COLUMNS)
        db = self._connect()
        try:
            with db:
                db.executemany(
                    f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                    [(*astuple(e)[:4], int(e.ok), *astuple(e)[5:]) for e in pending],
                )
        finally:
            db.close()

    def _flush_at_exit(self) -> None:
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - the folder may be gone by interpreter exit
            pass

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> "EventLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def events(self, model: str | None = None, since: float | None = None) -> Iterator[Event]:
        """Recorded events (flushed ones), oldest first, optionally of one model / after a time."""
        self.flush()
        query, args = f"SELECT {', '.join(COLUMNS)} FROM events WHERE 1=1", []
        if model is not None:
            query, args = query + " AND model = ?", [*args, model]
        if since is not None:
            query, args = query + " AND ts >= ?", [*args, since]
        db = self._connect()
        try:
            for row in db.execute(query + " ORDER BY ts, rowid", args):
                values = list(row)
                values[4] = bool(values[4])
                yield Event(*values)
        finally:
            db.close()


def now() -> float:
    return time.time()
