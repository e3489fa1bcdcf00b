"""Which artifact serves a user: one fixed artifact, or the registry plus its rollout.

A source answers ``resolve(user_id) -> ModelHandle`` from memory (the registry's index and
rollout are read at construction and on :meth:`StoreSource.refresh`, the app's "config
distribution" poll), so resolution costs a hash, never a database query on the request path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from edgerank.core.manifest import ArtifactError, read_manifest


@dataclass(frozen=True)
class ModelHandle:
    """A resolved version: where its files are and how monitoring should label it."""

    model: str
    version: str
    group: str
    path: Path
    expected_sha256: str | None = None  # the registry's record, checked on top of the manifest's


class ModelSource(Protocol):
    def resolve(self, user_id: str | int | None) -> ModelHandle: ...


class FixedArtifact:
    """Every user gets the artifact in ``directory`` (e.g. ``<run dir>/artifact``)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        try:
            manifest = read_manifest(self.directory)
            model, version = str(manifest.get("name", self.directory.name)), str(manifest.get("version", "?"))
            if isinstance(manifest.get("quantization"), dict):
                version += f"-{manifest['quantization'].get('mode', 'q')}"
        except ArtifactError:  # reported as a failure by the runtime when it loads
            model, version = self.directory.name, "unavailable"
        self.handle = ModelHandle(model, version, "", self.directory)

    def resolve(self, user_id: str | int | None = None) -> ModelHandle:
        return self.handle


class StoreSource:
    """Versions of ``name`` in a :class:`~edgerank.modelstore.ModelStore`, chosen by its rollout.

    Without a rollout every user gets the latest version. A user id of None (anonymous) gets the
    first rollout group (the stable one by convention).
    """

    def __init__(self, store: "ModelStore | str | Path", name: str) -> None:  # noqa: F821
        from edgerank.modelstore.store import ModelStore

        self.store = store if isinstance(store, ModelStore) else ModelStore(store)
        self.name = name
        self.refresh()

    def refresh(self) -> None:
        """Re-read published versions and the rollout (what a config poll would deliver)."""
        self.records = self.store.published(self.name)
        self._rollout = self.store.rollout(self.name)

    def resolve(self, user_id: str | int | None) -> ModelHandle:
        from edgerank.modelstore.rollout import assign

        assignment = assign(self._rollout, list(self.records), user_id)
        record = self.records[assignment.version]
        return ModelHandle(self.name, record.label, assignment.group, record.path, record.sha256)
