"""Event ingestion: devices' batches of inference events into the monitoring store.

A batch is ``{"batch_id": "...", "events": [{...}, ...]}``; each event carries the fields of
:class:`edgerank.monitor.Event` (the record the runtime keeps), which is where the checks below
come from: a field without a default is required, its annotation gives its type. Keys that are
not fields are ignored, so an older service accepts events of a newer app.

Guarantees:

- **validated per record**: an invalid record (missing or mistyped field, non-finite or
  negative number, ``unknown > fields``, oversized text) is rejected with its index and reason
  and counted; valid records of the same batch are stored. A record is stored whole or not at
  all, and a batch's records are committed in one transaction together with its id, so a crash
  never leaves half a batch;
- **idempotent**: the batch id is the primary key of ``ingested_batches`` in the same SQLite
  file, written in the same transaction as the events. A retry of a batch whose answer was
  lost stores nothing and gets the first answer again; the same id with different events is a
  conflict (the device reused an id), refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
import threading
import time
from collections.abc import Mapping
from contextlib import closing
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from edgerank.errors import EdgeRankError
from edgerank.monitor import Event, EventLog
from edgerank.monitor.events import COLUMNS

BATCH_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_EVENTS = 1000
MAX_TEXT = {"error": 500}  # other text fields: DEFAULT_MAX_TEXT
DEFAULT_MAX_TEXT = 128
BATCHES_SCHEMA = """
CREATE TABLE IF NOT EXISTS ingested_batches (
    batch_id TEXT    PRIMARY KEY,
    digest   TEXT    NOT NULL,   -- sha256 of the batch's events as received (canonical JSON)
    received REAL    NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL
);
"""


class BadBatch(ValueError):
    """The envelope itself is unusable (not a batch); nothing of it is stored."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Receipt:
    batch_id: str
    accepted: int
    rejected: int
    duplicate: bool
    errors: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "accepted": self.accepted, "rejected": self.rejected,
                "duplicate": self.duplicate, "errors": self.errors}


def _check(name: str, kind: str, value: Any) -> Any:
    """The stored value of one field, or ValueError saying what is wrong with it."""
    if kind == "str":
        limit = MAX_TEXT.get(name, DEFAULT_MAX_TEXT)
        if not isinstance(value, str) or len(value) > limit:
            raise ValueError(f"field '{name}': must be a string of at most {limit} characters")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"field '{name}': must be true or false, got {json.dumps(value)[:40]}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"field '{name}': must be a number, got {json.dumps(value)[:40]}")
    if kind == "int":
        if value != int(value) or value < 0:
            raise ValueError(f"field '{name}': must be a whole number >= 0, got {value}")
        return int(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"field '{name}': must be a finite number >= 0, got {value}")
    return float(value)


FIELDS = [(f.name, getattr(f.type, "__name__", str(f.type)), f.default is MISSING) for f in fields(Event)]


def parse_event(record: Any) -> Event:
    if not isinstance(record, Mapping):
        raise ValueError(f"must be a JSON object, got {type(record).__name__}")
    values = {}
    for name, kind, required in FIELDS:
        if name not in record:
            if required:
                raise ValueError(f"field '{name}': missing")
            continue
        values[name] = _check(name, kind, record[name])
    event = Event(**values)
    if event.unknown > event.fields:
        raise ValueError(f"field 'unknown': {event.unknown} unknown fields out of {event.fields} seen")
    if not event.model:
        raise ValueError("field 'model': empty")
    return event


def parse_batch(payload: Any) -> tuple[str, list[Event], list[dict[str, Any]], str]:
    """``(batch_id, valid events, errors of the invalid ones, digest)``; BadBatch for the envelope."""
    if not isinstance(payload, Mapping):
        raise BadBatch(400, 'a batch is a JSON object {"batch_id": "...", "events": [...]}')
    batch_id = payload.get("batch_id")
    if not isinstance(batch_id, str) or not BATCH_ID.fullmatch(batch_id):
        raise BadBatch(400, f"field 'batch_id': required, 1-128 characters of {BATCH_ID.pattern[:-6]}")
    records = payload.get("events")
    if not isinstance(records, list):
        raise BadBatch(400, "field 'events': required, a list of event records")
    if len(records) > MAX_EVENTS:
        raise BadBatch(413, f"field 'events': {len(records)} records; a batch holds at most {MAX_EVENTS}")
    events, errors = [], []
    for index, record in enumerate(records):
        try:
            events.append(parse_event(record))
        except ValueError as exc:
            errors.append({"index": index, "error": str(exc)})
    digest = hashlib.sha256(json.dumps(records, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return batch_id, events, errors, digest


@dataclass
class _Pending:
    batch_id: str
    rows: list[tuple[Any, ...]]
    errors: list[dict[str, Any]]
    digest: str
    outcome: Receipt | Exception | None = None


class IngestStore:
    """Writes batches into the monitoring SQLite file that :class:`EventLog` reads.

    Group commit: concurrent :meth:`write` calls queue their batch; whichever holds the database
    commits every batch queued so far in one transaction (one fsync for all of them, full
    durability kept), so ingestion keeps up with many devices on one SQLite file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        try:
            EventLog(self.path).close()  # the monitor's own schema, created the monitor's way
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(BATCHES_SCHEMA)
            self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM events LIMIT 0")
        except sqlite3.Error as exc:
            raise EdgeRankError(f"{self.path}: cannot be the monitoring store ({type(exc).__name__}: {exc})") from None
        self._lock = threading.Lock()  # the connection
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._insert = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"

    def write(self, payload: Any) -> Receipt:
        """Validate and store one batch; its receipt, or BadBatch (nothing stored)."""
        batch_id, events, errors, digest = parse_batch(payload)
        item = _Pending(batch_id, [tuple(getattr(e, c) for c in COLUMNS) for e in events], errors, digest)
        with self._queue_lock:
            self._queue.append(item)
        with self._lock:
            if item.outcome is None:  # no one committed it while we waited: commit the queue
                with self._queue_lock:
                    items, self._queue = self._queue, []
                self._commit(items)
        if isinstance(item.outcome, Exception):
            raise item.outcome
        return item.outcome

    def _commit(self, items: list[_Pending]) -> None:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            for item in items:
                seen = db.execute("SELECT digest, accepted, rejected FROM ingested_batches WHERE batch_id = ?", (item.batch_id,)).fetchone()
                if seen is None:
                    db.executemany(self._insert, item.rows)
                    db.execute("INSERT INTO ingested_batches VALUES (?,?,?,?,?)",
                               (item.batch_id, item.digest, time.time(), len(item.rows), len(item.errors)))
                    item.outcome = Receipt(item.batch_id, len(item.rows), len(item.errors), False, item.errors[:20])
                elif seen[0] != item.digest:
                    item.outcome = BadBatch(409, f"batch_id '{item.batch_id}' was already used for different events; a batch id names one batch")
                else:
                    item.outcome = Receipt(item.batch_id, seen[1], seen[2], True, item.errors[:20])
            db.execute("COMMIT")
        except Exception as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            for item in items:  # nothing of any of them was stored
                item.outcome = exc
            raise

    def stats(self) -> dict[str, int]:
        """Batches and records taken so far, read on a connection of its own (WAL: never waits for a commit)."""
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            row = db.execute("SELECT COUNT(*), COALESCE(SUM(accepted), 0), COALESCE(SUM(rejected), 0) FROM ingested_batches").fetchone()
        return {"batches": row[0], "accepted": row[1], "rejected": row[2]}

    def close(self) -> None:
        with self._lock:
            self._db.close()

