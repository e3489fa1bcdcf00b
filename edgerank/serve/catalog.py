"""What the service may hand out: published versions whose files still match their checksums.

The catalog is a read-only view of a :class:`~edgerank.modelstore.ModelStore`. It holds no
state of its own beyond caches derived from the store, so any number of service processes can
serve one store and a restart loses nothing:

- the index (versions and rollouts) is re-read whenever ``index.sqlite`` (or its WAL file)
  changes on disk, so a ``rollout`` or ``publish`` on the CLI reaches the next request (and at
  least every ``INDEX_MAX_AGE_S`` seconds regardless);
- a version's two files are read, hashed against the sha256 the index recorded at publish time,
  and kept in memory (bounded, least recently used first); every request re-checks their
  ``stat`` so a file changed behind the store's back is hashed again, and refused if it no
  longer matches. The bytes served are the bytes hashed.

User resolution goes through :class:`~edgerank.runtime.sources.StoreSource`, the code the
registry CLI's ``resolve`` runs, so the service and the CLI assign every user identically.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgerank.core.manifest import MANIFEST_FILE, MODEL_FILE
from edgerank.core.names import url_name_problem
from edgerank.errors import EdgeRankError
from edgerank.modelstore import ModelStore, VersionRecord
from edgerank.modelstore.store import INDEX_FILE
from edgerank.runtime.sources import StoreSource

SERVED_FILES = (MODEL_FILE, MANIFEST_FILE)
# Re-read the index at least this often even when its files look unchanged on disk (a write
# within the file system's timestamp granularity keeps size and mtime).
INDEX_MAX_AGE_S = 2.0


class NotServed(EdgeRankError):
    """The request names nothing the service hands out; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class VerifiedFile:
    data: bytes
    sha256: str


def check_name(name: str) -> str:
    """``name``, when the store could hold a model of that name (its own rule) and it has no ``..``."""
    problem = url_name_problem(name)
    if problem:
        raise NotServed(400, f"invalid model name: {problem[:200]}")
    return name


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        s = path.stat()
    except OSError:
        return None
    return (s.st_ino, s.st_size, s.st_mtime_ns)


class Catalog:
    """Published, verified versions of every model in the store at ``root``."""

    def __init__(self, root: str | Path, max_cached_bytes: int = 512 * 2**20) -> None:
        self.store = ModelStore(root)
        self.root = self.store.root.resolve()
        self.max_cached_bytes = max_cached_bytes
        self._lock = threading.Lock()
        self._index_key: Any = None
        self._read_at = 0.0
        self._models: dict[str, tuple[dict[int, VersionRecord], StoreSource]] = {}
        self._files: OrderedDict[tuple[str, int, str], tuple[Any, VerifiedFile]] = OrderedDict()
        self._cached_bytes = 0

    # -- index --------------------------------------------------------------------------------
    def _index(self) -> dict[str, tuple[dict[int, VersionRecord], StoreSource]]:
        key = tuple(_stat_key(self.store.root / f"{INDEX_FILE}{suffix}") for suffix in ("", "-wal"))
        now = time.monotonic()
        with self._lock:
            if key == self._index_key and now - self._read_at < INDEX_MAX_AGE_S:
                return self._models
        models: dict[str, tuple[dict[int, VersionRecord], StoreSource]] = {}
        for name in self.store.names():
            source = StoreSource(self.store, name)
            models[name] = (source.records, source)
        with self._lock:
            self._index_key, self._models, self._read_at = key, models, now
        return models

    def names(self) -> list[str]:
        return sorted(self._index())

    def records(self, name: str) -> dict[int, VersionRecord]:
        return self._model(name)[0]

    def _model(self, name: str) -> tuple[dict[int, VersionRecord], StoreSource]:
        models = self._index()
        if check_name(name) not in models:
            raise NotServed(404, f"no published model named '{name}' (models: {', '.join(sorted(models)) or 'none'})")
        return models[name]

    def rollout(self, name: str) -> dict[str, Any] | None:
        self._model(name)
        rollout = self.store.rollout(name)
        if rollout is None:
            return None
        return {**rollout.to_dict(), "shares": rollout.shares()}

    # -- resolution ---------------------------------------------------------------------------
    def resolve(self, name: str, user_id: str | None) -> tuple[VersionRecord, str]:
        """The record of the version ``user_id`` gets under the rollout in force, and its group."""
        records, source = self._model(name)
        handle = source.resolve(user_id)
        record = records[int(handle.version.lstrip("v"))]
        self.file(record, MODEL_FILE)  # only a verified version is handed out
        self.file(record, MANIFEST_FILE)
        return record, handle.group

    # -- files --------------------------------------------------------------------------------
    def record(self, name: str, version: int) -> VersionRecord:
        records = self.records(name)
        if version not in records:
            raise NotServed(404, f"{name} has no published version v{version} (versions: {', '.join(f'v{v}' for v in sorted(records))})")
        return records[version]

    def file(self, record: VersionRecord, filename: str) -> VerifiedFile:
        """The bytes of one of a version's files, proven to be the ones published."""
        if filename not in SERVED_FILES:
            raise NotServed(404, f"no file {filename[:80]!r}; a version serves {', '.join(SERVED_FILES)}")
        path = record.path / filename
        expected = record.sha256 if filename == MODEL_FILE else record.manifest_sha256
        cache_key, stat_key = (record.name, record.version, filename), _stat_key(path)
        with self._lock:
            cached = self._files.get(cache_key)
            if cached is not None and cached[0] == stat_key:
                self._files.move_to_end(cache_key)
                return cached[1]
        if not path.resolve().is_relative_to(self.root):
            raise NotServed(503, f"{record.name} {record.label}: stored outside the store root; refusing to serve it")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise NotServed(503, f"{record.name} {record.label}: {filename} unreadable in the store ({type(exc).__name__})") from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected:
            raise NotServed(503, f"{record.name} {record.label}: {filename} no longer matches its publish-time sha256; not served")
        verified = VerifiedFile(data, digest)
        with self._lock:
            previous = self._files.pop(cache_key, None)
            if previous is not None:
                self._cached_bytes -= len(previous[1].data)
            self._files[cache_key] = (stat_key, verified)
            self._cached_bytes += len(data)
            while self._cached_bytes > self.max_cached_bytes and len(self._files) > 1:
                _, (_, evicted) = self._files.popitem(last=False)
                self._cached_bytes -= len(evicted.data)
        return verified

    def verified(self, record: VersionRecord) -> bool:
        try:
            self.file(record, MODEL_FILE)
            self.file(record, MANIFEST_FILE)
        except NotServed:
            return False
        return True
