"""The app-side runtime: what a phone does with a published artifact, without torch.

Raw inputs -> features (with the manifest's encoder) -> ``.tflite`` inference (ai_edge_litert)
-> ranked ids, with sha256 verification before loading, rollout-based version choice, a
documented fallback instead of exceptions, and every request recorded for monitoring.

    from edgerank.runtime import FixedArtifact, ProductRuntime
    runtime = ProductRuntime(FixedArtifact("outputs/.../artifact"), fallback_skus=[100003, 100001])
    ranking = runtime.rank("user-42", {"city": "Nanjing", "device": "vivo X200", "gender": "male", "age": "31"})
    ranking.items, ranking.source  # [SKU ids], "model" | "fallback"

Importing this package must never import torch (tests/test_runtime_no_torch.py checks it).
"""

from edgerank.runtime.artifact import ArtifactError, InputError, VerifiedArtifact, open_artifact
from edgerank.runtime.guard import GuardedRuntime, Ranking
from edgerank.runtime.product import ProductModel, ProductRuntime
from edgerank.runtime.remote import EventUploader, ServerSource
from edgerank.runtime.sources import FixedArtifact, ModelHandle, ModelSource, StoreSource
from edgerank.runtime.video import VideoModel, VideoRanking, VideoRuntime, VideoSession

__all__ = [
    "ArtifactError",
    "EventUploader",
    "FixedArtifact",
    "GuardedRuntime",
    "InputError",
    "ModelHandle",
    "ModelSource",
    "ProductModel",
    "ProductRuntime",
    "Ranking",
    "ServerSource",
    "StoreSource",
    "VerifiedArtifact",
    "VideoModel",
    "VideoRanking",
    "VideoRuntime",
    "VideoSession",
    "open_artifact",
]
