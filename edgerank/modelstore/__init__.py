"""Model registry (cloud side): immutable, checksummed versions and rollout configs.

Not to be confused with :mod:`edgerank.registry`, the *plugin* registry; the issue fixes the
CLI name ``python -m edgerank.registry publish|list|rollout``, which delegates here.

Embedded default: a directory with an SQLite index (see :mod:`edgerank.modelstore.store`),
at ``--store`` / ``$EDGERANK_STORE`` / ``~/.edgerank/registry``. Torch-free.
"""

from edgerank.modelstore.checks import PublishError, check_artifact
from edgerank.modelstore.rollout import Assignment, Rollout, RolloutGroup, bucket
from edgerank.modelstore.store import ModelStore, StoreError, VersionRecord

__all__ = [
    "Assignment",
    "ModelStore",
    "PublishError",
    "Rollout",
    "RolloutGroup",
    "StoreError",
    "VersionRecord",
    "bucket",
    "check_artifact",
]
