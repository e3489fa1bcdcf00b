"""The embedded model registry: a directory of immutable versions indexed by SQLite.

Layout of a store directory::

    STORE/
      index.sqlite                      versions (name, version, checksums, metrics, parity)
                                        and rollouts (name -> rollout config JSON)
      models/NAME/vN/model.tflite       read-only copies, never rewritten
      models/NAME/vN/manifest.json
      models/NAME/vN/reference_requests.npz   what publish replayed (see edgerank.core.reference_requests)

Why this shape: a phone-side runtime or a CDN only needs the plain files; the SQLite index gives
atomic version numbering (``BEGIN IMMEDIATE``) when two publishers race, and fast ``list``.
Versions are numbered per model name, 1, 2, 3, ... A version is immutable: files are copied to a
staging folder, made read-only, renamed into place and only then indexed, and the index keeps
the model's and the manifest's sha256 so :meth:`ModelStore.verify` detects any later change.

Every step that writes to ``models/NAME`` runs inside one ``BEGIN IMMEDIATE`` transaction (the
index's write lock), so while a publisher holds the lock nothing else writes there. A folder in
``models/NAME`` that the index does not list can therefore only be left by a publisher that
died; the next writer of that name (a later publish, or ``verify --repair``) rolls it back,
under the same lock. Names follow :data:`~edgerank.core.names.NAME_PATTERN` and every
path written is checked to resolve inside the store.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgerank.core.manifest import MANIFEST_FILE, MODEL_FILE, sha256
from edgerank.core.names import name_problem
from edgerank.errors import EdgeRankError
from edgerank.modelstore.checks import check_artifact
from edgerank.modelstore.rollout import Rollout

INDEX_FILE = "index.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    name            TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    sha256          TEXT    NOT NULL,
    manifest_sha256 TEXT    NOT NULL,
    size_bytes      INTEGER NOT NULL,
    variant         TEXT    NOT NULL,   -- float32 | int8 ...
    export_version  TEXT    NOT NULL,   -- the manifest's own 'version' field
    created         TEXT    NOT NULL,   -- when the artifact was exported
    published       TEXT    NOT NULL,   -- when it entered the registry
    source          TEXT    NOT NULL,   -- the artifact directory it was published from
    metrics         TEXT    NOT NULL,   -- JSON
    parity          TEXT    NOT NULL,   -- JSON
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS rollouts (
    name    TEXT PRIMARY KEY,
    config  TEXT NOT NULL,              -- JSON, see edgerank.modelstore.rollout.Rollout
    updated TEXT NOT NULL
);
"""


class StoreError(EdgeRankError):
    """The registry cannot do what was asked (unknown model/version, broken store)."""


PUBLISH_STEPS = ("checked", "locked", "staged", "moved", "indexed", "committed")
"""Where :meth:`ModelStore.publish` stands, in order; the fault-injection tests kill a publisher
at each (see :func:`_reached`)."""


def _reached(step: str) -> None:
    """Called as publishing passes each of :data:`PUBLISH_STEPS`; a no-op a test replaces."""


@dataclass(frozen=True)
class VersionRecord:
    name: str
    version: int
    sha256: str
    manifest_sha256: str
    size_bytes: int
    variant: str
    export_version: str
    created: str
    published: str
    source: str
    metrics: dict[str, Any]
    parity: dict[str, Any]
    path: Path

    @property
    def label(self) -> str:
        return f"v{self.version}"

    def summary(self) -> dict[str, Any]:
        """What ``list`` shows: identity, size, test metrics, and the parity headline numbers."""
        parity_keys = ("passed", "max_abs_err", "lists_identical", "near_ties", "divergent", "size_ratio", "overlap_at_k")
        return {
            "name": self.name,
            "version": self.version,
            "label": self.label,
            "variant": self.variant,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256[:12],
            "published": self.published,
            "metrics": self.metrics,
            "parity": {k: self.parity[k] for k in parity_keys if k in self.parity},
        }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ModelStore:
    """A registry rooted at ``root`` (created on first use)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        self.root.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection to the index; a file SQLite cannot use becomes a :class:`StoreError`."""
        index = self.root / INDEX_FILE
        try:
            with closing(sqlite3.connect(index, timeout=30, isolation_level=None)) as db:
                db.row_factory = sqlite3.Row
                yield db
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise StoreError(f"{index}: not a usable SQLite index ({type(exc).__name__}: {exc})") from None
            raise StoreError(f"{index}: another process has held the write lock for over 30 s; try again") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{index}: not a usable SQLite index ({type(exc).__name__}: {exc}); the version files under "
                f"{self.root / 'models'} are intact: restore the index from a backup or move it away to start afresh"
            ) from None

    def model_dir(self, name: str) -> Path:
        """``models/NAME``, after checking the name and that the folder resolves inside the store."""
        problem = name_problem(name)
        if problem:
            raise StoreError(problem)
        models = self.root / "models"
        path = models / name
        if path.is_symlink() or path.resolve().parent != models.resolve():
            raise StoreError(f"{path}: resolves to {path.resolve()}, outside the store {models.resolve()}; refusing to write there")
        return path

    # -- publishing ---------------------------------------------------------------------------
    def publish(self, artifact_dir: str | Path) -> tuple[VersionRecord, bool]:
        """Add the artifact as the next version of its model; returns ``(record, created)``.

        Publishing a model file that is already in the store returns the existing version
        (``created`` False) instead of a duplicate, so a retried CI step is harmless; the check
        runs under the write lock, so concurrent publishers of one file make one version.
        Raises :class:`~edgerank.modelstore.checks.PublishError` when checks fail.
        """
        artifact_dir = Path(artifact_dir)
        manifest = check_artifact(artifact_dir)
        name = str(manifest["name"])
        models = self.model_dir(name)
        _reached("checked")
        with self._db() as db, self._write_lock(db):
            _reached("locked")
            self._roll_back_orphans(db, name)
            same = db.execute("SELECT version FROM versions WHERE name = ? AND sha256 = ?", (name, manifest["sha256"])).fetchone()
            if same is not None:
                db.execute("ROLLBACK")
                return self.get(name, same[0]), False
            row = db.execute("SELECT MAX(version) FROM versions WHERE name = ?", (name,)).fetchone()
            version = (row[0] or 0) + 1
            final = models / f"v{version}"
            self._stage(artifact_dir, manifest, final)
            try:
                _reached("moved")
                db.execute(
                    "INSERT INTO versions VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        name, version, manifest["sha256"], sha256(final / MANIFEST_FILE), int(manifest["size_bytes"]),
                        _variant(manifest), str(manifest["version"]), str(manifest.get("created", "")), _now(),
                        str(artifact_dir.resolve()), json.dumps(manifest.get("metrics", {})), json.dumps(manifest["parity"]),
                    ),
                )
                _reached("indexed")
                db.execute("COMMIT")
            except BaseException:
                _remove_readonly(final)  # the index rolls back with the transaction
                raise
        _reached("committed")
        return self.get(name, version), True

    @contextmanager
    def _write_lock(self, db: sqlite3.Connection) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... the caller commits or rolls back; an exception rolls back."""
        db.execute("BEGIN IMMEDIATE")  # serialises every writer of models/ and the index
        try:
            yield
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        if db.in_transaction:
            db.execute("COMMIT")

    def _stage(self, artifact_dir: Path, manifest: dict[str, Any], final: Path) -> None:
        """Copy the artifact into a read-only staging folder, then rename it to ``final``."""
        model_src = artifact_dir / str(manifest.get("model_file", MODEL_FILE))
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=final.parent))
        try:
            shutil.copyfile(model_src, staging / MODEL_FILE)
            reference = manifest["reference_requests"]["file"]  # a plain file name (schema)
            shutil.copyfile(artifact_dir / reference, staging / reference)
            stored_manifest = {**manifest, "model_file": MODEL_FILE}
            (staging / MANIFEST_FILE).write_text(json.dumps(stored_manifest, indent=2, sort_keys=True))
            if sha256(staging / MODEL_FILE) != manifest["sha256"]:  # changed while we copied
                raise StoreError(f"{model_src}: changed while being copied into the store; publish again")
            for path in staging.iterdir():
                path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            staging.chmod(0o555)
            _reached("staged")
            os.rename(staging, final)
        finally:
            if staging.exists():
                _remove_readonly(staging)

    def _roll_back_orphans(self, db: sqlite3.Connection, name: str) -> list[str]:
        """Remove what dead publishers of ``name`` left; only call while holding the write lock."""
        folder = self.model_dir(name)
        if not folder.is_dir():
            return []
        indexed = {f"v{r[0]}" for r in db.execute("SELECT version FROM versions WHERE name = ?", (name,))}
        removed = []
        for path in sorted(folder.iterdir()):
            if path.name not in indexed:
                _remove_readonly(path)
                removed.append(path.name)
        return removed

    def repair(self, name: str) -> list[str]:
        """Roll back what publishers of ``name`` that died left (``verify --repair``); what was removed."""
        with self._db() as db, self._write_lock(db):
            return self._roll_back_orphans(db, name)

    def orphans(self, name: str) -> list[str]:
        """Folders in ``models/NAME`` the index does not list (left by a publisher that died)."""
        folder = self.model_dir(name)
        with self._db() as db, self._write_lock(db):  # a live publisher's folders are not orphans
            indexed = {f"v{r[0]}" for r in db.execute("SELECT version FROM versions WHERE name = ?", (name,))}
            return sorted(p.name for p in folder.iterdir() if p.name not in indexed) if folder.is_dir() else []

    # -- reading ------------------------------------------------------------------------------
    def names(self) -> list[str]:
        with self._db() as db:
            return [r[0] for r in db.execute("SELECT DISTINCT name FROM versions ORDER BY name")]

    def versions(self, name: str | None = None) -> list[VersionRecord]:
        query, args = "SELECT * FROM versions", ()
        if name is not None:
            query, args = query + " WHERE name = ?", (name,)
        with self._db() as db:
            rows = db.execute(query + " ORDER BY name, version", args).fetchall()
        return [self._record(r) for r in rows]

    def published(self, name: str) -> dict[int, VersionRecord]:
        """Every version of ``name`` by its number; a StoreError naming the known models when none is."""
        records = {r.version: r for r in self.versions(name)}
        if not records:
            self.get(name)  # raises the StoreError
        return records

    def get(self, name: str, version: int | None = None) -> VersionRecord:
        """Version ``version`` of ``name`` (the latest when None)."""
        self.model_dir(name)  # a name that is a path is refused before it names a folder
        records = self.versions(name)
        if not records:
            known = ", ".join(self.names()) or "(store is empty)"
            raise StoreError(f"no model named '{name}' in {self.root} (models: {known})")
        if version is None:
            return records[-1]
        for record in records:
            if record.version == int(version):
                return record
        raise StoreError(f"{name} has no version {version} (versions: {', '.join(r.label for r in records)})")

    def verify(self, name: str, version: int | None = None) -> VersionRecord:
        """The record, after checking its files still match the checksums taken at publish time."""
        record = self.get(name, version)
        for file, expected in ((MODEL_FILE, record.sha256), (MANIFEST_FILE, record.manifest_sha256)):
            path = record.path / file
            if not path.is_file():
                raise StoreError(f"{path}: missing from the store")
            if sha256(path) != expected:
                raise StoreError(f"{path}: sha256 differs from the one recorded at publish time; the store was tampered with")
        return record

    def _record(self, row: sqlite3.Row) -> VersionRecord:
        data = dict(row)
        data["metrics"], data["parity"] = json.loads(data["metrics"]), json.loads(data["parity"])
        return VersionRecord(**data, path=self.root / "models" / data["name"] / f"v{data['version']}")

    # -- rollouts -----------------------------------------------------------------------------
    def set_rollout(self, name: str, rollout: Rollout) -> None:
        known = {r.version for r in self.versions(name)}
        missing = sorted(rollout.versions - known)
        if missing:
            raise StoreError(
                f"rollout for '{name}' names version(s) {', '.join(f'v{v}' for v in missing)} that are not published "
                f"(published: {', '.join(f'v{v}' for v in sorted(known)) or 'none'})"
            )
        with self._db() as db:
            db.execute(
                "INSERT INTO rollouts VALUES (?,?,?) ON CONFLICT(name) DO UPDATE SET config=excluded.config, updated=excluded.updated",
                (name, json.dumps(rollout.to_dict()), _now()),
            )

    def rollout(self, name: str) -> Rollout | None:
        """The configured rollout of ``name``, or None (then everyone gets the latest version)."""
        with self._db() as db:
            row = db.execute("SELECT config FROM rollouts WHERE name = ?", (name,)).fetchone()
        return Rollout.from_dict(json.loads(row[0])) if row else None


def _variant(manifest: dict[str, Any]) -> str:
    quantization = manifest.get("quantization")
    return str(quantization.get("mode", "quantized")) if isinstance(quantization, dict) else "float32"


def _remove_readonly(path: Path) -> None:
    """Delete a folder whose files were made read-only (only used to undo a failed publish)."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
        return
    path.chmod(0o755)
    for child in path.iterdir():
        child.chmod(0o644)
    shutil.rmtree(path, ignore_errors=True)
