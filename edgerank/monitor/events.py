"""The inference event log: one row per request the runtime served, in SQLite.

SQLite because it is embedded (no server, one file, what a phone has too) and safe to append to
from several processes. Recording must never slow or break serving, so :meth:`EventLog.record`
only puts the event on a bounded in-memory queue (``capacity`` events) and returns; a background
thread wakes at most every ``max_delay_s`` and drains it, up to ``flush_every`` events per
transaction (waking per event would take the GIL from the request thread thousands of times a
second). When the queue is full (the disk or a lock holder is slower than the traffic) the
event is dropped and counted, never waited for.
A file SQLite cannot use - corrupt, not a database - disables the log with the reason
recorded (:meth:`EventLog.status`); serving goes on. Only reading (:meth:`EventLog.events`, what
``python -m edgerank.monitor`` does) raises, as :class:`MonitorError`.
"""

from __future__ import annotations

import atexit
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, fields
from operator import attrgetter
from pathlib import Path
from typing import Any

from edgerank.errors import EdgeRankError

log = logging.getLogger(__name__)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS events (
    ts          REAL    NOT NULL,  -- unix time the request started
    model       TEXT    NOT NULL,  -- model name (manifest 'name' or registry name)
    version     TEXT    NOT NULL,  -- version that served (or should have served) the request
    grp         TEXT    NOT NULL,  -- rollout group the user fell in ('' without a rollout)
    ok          INTEGER NOT NULL,  -- 1: model result, 0: failure, fallback returned
    latency_ms  REAL    NOT NULL,  -- what the caller waited: features + inference + decoding (+ fallback)
    unknown     INTEGER NOT NULL,  -- categorical inputs that were unknown or missing
    fields      INTEGER NOT NULL,  -- categorical inputs looked at (denominator of unknown rate)
    error       TEXT    NOT NULL,  -- '' on success, else 'ExceptionType: message'
    sha256      TEXT    NOT NULL DEFAULT ''  -- the model file that served ('' if none loaded)
)""",
    "CREATE INDEX IF NOT EXISTS events_by_version ON events (model, version)",
)
ADDED_COLUMNS = {"sha256": "TEXT NOT NULL DEFAULT ''"}  # logs written before a column existed gain it


class MonitorError(EdgeRankError):
    """The event log cannot be read (missing, corrupt, not an edgerank event log)."""


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
    sha256: str = ""


COLUMNS = [f.name for f in fields(Event)]
_ROW = attrgetter(*COLUMNS)  # C-speed tuples: the writer holds the GIL as briefly as it can


class EventLog:
    """Append-only event log in the SQLite file ``path`` (created with its folder if needed)."""

    def __init__(self, path: str | Path, flush_every: int = 256, capacity: int = 10_000, busy_timeout_s: float = 30.0,
                 max_delay_s: float = 0.1) -> None:
        self.path = Path(path).expanduser()
        self.flush_every = max(1, int(flush_every))
        self.capacity = max(1, int(capacity))
        self.busy_timeout_s = busy_timeout_s
        self.max_delay_s = max_delay_s
        # A deque, not a queue.Queue: append and popleft are single C calls, and nothing wakes the
        # writer per event (it polls every max_delay_s), so the request thread keeps the GIL.
        self._pending: deque[Event] = deque()
        self._hurry = threading.Event()  # flush()/close(): write now, do not wait for the delay
        self._stopping = False
        self._state = threading.Condition()
        self._submitted = self._settled = self._written = self._dropped = 0
        self._disabled = ""
        self._last_error = ""
        self._writer: threading.Thread | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as db:
                _create_schema(db)
        except (sqlite3.Error, OSError) as exc:
            self._disable(exc)
        atexit.register(self._close_at_exit)  # an app that forgets close() still keeps its last events

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")  # readers (the CLI) never block the app
        return db

    # -- the request path: never blocks, never raises ----------------------------------------
    def record(self, event: Event) -> None:
        """Queue ``event`` for writing; drops (and counts) it when disabled or the queue is full."""
        with self._state:
            if self._disabled or len(self._pending) >= self.capacity:
                self._dropped += 1
                return
            self._submitted += 1
            self._pending.append(event)
            writer = None
            if self._writer is None:  # started lazily; it clears this under the lock when it stops
                self._stopping = False
                writer = self._writer = threading.Thread(target=self._drain, name=f"edgerank-monitor:{self.path.name}", daemon=True)
        if writer is not None:
            try:
                writer.start()
            except RuntimeError as exc:  # no new threads (interpreter shutdown): keep serving
                self._last_error = f"{type(exc).__name__}: {exc}"
                with self._state:
                    self._writer = None

    def extend(self, events: Iterable[Event]) -> None:
        for event in events:
            self.record(event)

    def status(self) -> dict[str, Any]:
        """``written``/``dropped`` counts, ``queued`` events, ``disabled`` reason ('' when enabled),
        the ``last_error`` of a dropped batch, and the ``batch_size`` of a write."""
        with self._state:
            return {"written": self._written, "dropped": self._dropped, "queued": self._submitted - self._settled,
                    "disabled": self._disabled, "last_error": self._last_error, "batch_size": self.flush_every}


    # -- off the request path ----------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event recorded so far is written or dropped; False on timeout."""
        with self._state:
            target = self._submitted
            self._hurry.set()
            return self._state.wait_for(lambda: self._settled >= target, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Flush and stop the writer thread. Never raises; a later :meth:`record` starts it again."""
        try:
            self.flush(timeout)
            with self._state:
                writer, self._stopping = self._writer, True
            self._hurry.set()
            if writer is not None:
                writer.join(timeout)
        except Exception as exc:  # noqa: BLE001 - closing monitoring must never break the app
            self._last_error = f"{type(exc).__name__}: {exc}"

    def _close_at_exit(self) -> None:
        self.close(timeout=5.0)

    def __enter__(self) -> "EventLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drain(self) -> None:
        while True:
            self._hurry.wait(self.max_delay_s)
            self._hurry.clear()
            while True:
                with self._state:
                    batch = [self._pending.popleft() for _ in range(min(self.flush_every, len(self._pending)))]
                    if not batch and self._stopping:
                        self._writer = None
                        return
                if not batch:
                    break
                self._write(batch)

    def _write(self, events: list[Event]) -> None:
        if self._disabled:
            self._count_dropped(len(events))
            return
        placeholders = ", ".join("?" for _ in COLUMNS)
        rows = list(map(_ROW, events))  # bool ok is stored as the integer 1/0
        try:
            with closing(self._connect()) as db:
                db.execute("BEGIN")
                db.executemany(f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({placeholders})", rows)
                db.execute("COMMIT")
        except sqlite3.OperationalError as exc:  # locked past the timeout, disk full: this batch only
            self._last_error = f"{type(exc).__name__}: {exc}"
            self._count_dropped(len(events))
        except (sqlite3.Error, OSError) as exc:  # not a database (any more): stop trying
            self._disable(exc)
            self._count_dropped(len(events))
        except Exception as exc:  # noqa: BLE001 - a bug here must not kill the writer silently
            self._last_error = f"{type(exc).__name__}: {exc}"
            self._count_dropped(len(events))
        else:
            with self._state:
                self._written += len(events)
                self._settled += len(events)
                self._state.notify_all()

    def _count_dropped(self, n: int) -> None:
        with self._state:
            self._dropped += n
            self._settled += n
            self._state.notify_all()

    def _disable(self, exc: BaseException) -> None:
        if not self._disabled:
            self._disabled = f"{self.path}: not a usable SQLite event log ({type(exc).__name__}: {exc}); monitoring disabled"
            log.warning("%s", self._disabled)

    # -- reading -------------------------------------------------------------------------------
    def events(self, model: str | None = None, since: float | None = None) -> Iterator[Event]:
        """Recorded events (flushed ones), oldest first, optionally of one model / after a time."""
        self.flush()
        if self._disabled:
            raise MonitorError(self._disabled.removesuffix("; monitoring disabled"))
        yield from read_events(self.path, model, since, self.busy_timeout_s)


def _create_schema(db: sqlite3.Connection) -> None:
    db.execute("BEGIN IMMEDIATE")  # two processes opening one old log migrate it once
    try:
        for statement in SCHEMA:
            db.execute(statement)
        present = {row[1] for row in db.execute("PRAGMA table_info(events)")}
        for column, declaration in ADDED_COLUMNS.items():
            if column not in present:
                db.execute(f"ALTER TABLE events ADD COLUMN {column} {declaration}")
        missing = sorted(set(COLUMNS) - present - set(ADDED_COLUMNS))
        if missing:
            raise sqlite3.DatabaseError(f"table 'events' lacks columns {missing}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def read_events(path: str | Path, model: str | None = None, since: float | None = None, busy_timeout_s: float = 30.0) -> Iterator[Event]:
    """The events recorded in the log at ``path``, oldest first, optionally of one model / after a
    time: for readers (the ``monitor`` CLI), which must neither create the schema nor, on a
    broken file, announce that the app's monitoring is disabled; ``MonitorError`` says what is wrong."""
    query, args = f"SELECT {', '.join(COLUMNS)} FROM events WHERE 1=1", []
    if model is not None:
        query, args = query + " AND model = ?", [*args, model]
    if since is not None:
        query, args = query + " AND ts >= ?", [*args, since]
    try:
        with closing(sqlite3.connect(Path(path).expanduser(), timeout=busy_timeout_s)) as db:
            for row in db.execute(query + " ORDER BY ts, rowid", args):  # streamed: logs can be large
                values = list(row)
                values[4] = bool(values[4])
                yield Event(*values)
    except sqlite3.Error as exc:
        raise MonitorError(f"{path}: not a usable SQLite event log ({type(exc).__name__}: {exc})") from None
