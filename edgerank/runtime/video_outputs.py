"""What a short-video artifact's outputs mean, decided once when the model loads.

Three kinds of artifact, one class each, all answering ``infer(inputs) -> Inference``:

- :class:`TaskScores`: a plain model (one output per task); candidates are ordered by
  ``sum_t weights[t] * p_t``, ties in server order;
- :class:`RankerList`: a model exported with its ranker (``ranked`` slots, their ``gains``);
- :class:`AdaptiveBeam`: an adaptive beam search exported as ``prepare``/``step``/``finish``
  signatures, driven here by the torch-free :func:`edgerank.core.app_loop.drive`.

:func:`choose_outputs` reads the manifest and returns the one that fits, or raises
:class:`~edgerank.runtime.artifact.ArtifactError` saying why none does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from edgerank.core.video_features import TASKS
from edgerank.core.app_loop import SIGNATURES as ADAPTIVE_SIGNATURES, drive
from edgerank.core.manifest import ArtifactError
from edgerank.runtime.artifact import TensorSpec, VerifiedArtifact

DEFAULT_WEIGHTS = {"effective_view": 1.0, "like": 1.0}


@dataclass
class Inference:
    """One request through the model: its raw outputs, the candidate slots it placed in order
    (``-1`` where no candidate was left), their scores, and the candidate scorings it spent."""

    outputs: dict[str, np.ndarray]
    slots: np.ndarray
    scores: np.ndarray
    evaluations: int


class Outputs(Protocol):
    inputs: dict[str, TensorSpec]  # the request's model inputs

    def infer(self, inputs: Mapping[str, np.ndarray]) -> Inference: ...


def _candidates(inputs: Mapping[str, np.ndarray]) -> int:
    return int(np.sum(inputs["cand_mask"] > 0.5))


class TaskScores:
    """Per-task probabilities, ordered by their weighted sum (a stable sort: ties keep server order)."""

    def __init__(self, artifact: VerifiedArtifact, num_threads: int | None, weights: Mapping[str, float] | None) -> None:
        self.inputs = artifact.inputs
        self.weights = np.array([float((weights or DEFAULT_WEIGHTS).get(t, 0.0)) for t in TASKS], dtype=np.float64)
        self.runner = artifact.runner(num_threads)

    def infer(self, inputs: Mapping[str, np.ndarray]) -> Inference:
        m = _candidates(inputs)
        outputs = {k: np.asarray(v) for k, v in self.runner(**inputs).items()}
        probs = np.stack([outputs[t][0, :m] for t in TASKS], axis=-1).astype(np.float64)
        key = probs @ self.weights
        slots = np.argsort(-key, kind="stable")
        return Inference(outputs=outputs, slots=slots, scores=key[slots], evaluations=m)


class RankerList:
    """The list the exported ranker returned (``ranked`` slots, ``gains`` as their scores)."""

    def __init__(self, artifact: VerifiedArtifact, num_threads: int | None) -> None:
        self.inputs = artifact.inputs
        self.runner = artifact.runner(num_threads)

    def infer(self, inputs: Mapping[str, np.ndarray]) -> Inference:
        outputs = {k: np.asarray(v) for k, v in self.runner(**inputs).items()}
        return Inference(outputs=outputs, slots=outputs["ranked"][0].astype(np.int64), scores=outputs["gains"][0],
                         evaluations=_candidates(inputs))


class AdaptiveBeam:
    """``prepare``, ``step`` while the beams are unstable, ``finish``: the app loop of adaptive beam search."""

    def __init__(self, artifact: VerifiedArtifact, num_threads: int | None, ranker: Mapping[str, Any] | None) -> None:
        where, signatures = artifact.directory, artifact.manifest["signatures"]
        self.inputs = {t["name"]: TensorSpec(t["name"], str(t["dtype"]), tuple(t["shape"])) for t in signatures["prepare"]["inputs"]}
        options = artifact.manifest.get("ranker") or ranker or {}
        try:
            self.list_size, self.threshold = int(options["list_size"]), float(options["threshold"])
        except (KeyError, TypeError, ValueError):
            raise ArtifactError(f"{where}: an adaptive beam artifact needs list_size and threshold; the manifest has no "
                                "'ranker' field, so pass VideoRuntime(ranker={'list_size': ..., 'threshold': ...})") from None
        self.signatures = artifact.signatures(ADAPTIVE_SIGNATURES, num_threads)

    def infer(self, inputs: Mapping[str, np.ndarray]) -> Inference:
        result = drive(self.signatures, {k: np.ascontiguousarray(v) for k, v in inputs.items()}, self.list_size, self.threshold)
        return Inference(outputs={"ranked": result.slots[None].astype(np.int32), "gains": result.gains[None]},
                         slots=result.slots, scores=result.gains, evaluations=result.evaluations)


def choose_outputs(
    artifact: VerifiedArtifact,
    num_threads: int | None = None,
    weights: Mapping[str, float] | None = None,
    ranker: Mapping[str, Any] | None = None,
) -> Outputs:
    """The reading of ``artifact``'s outputs its manifest declares (signatures, then output names)."""
    where = artifact.directory
    signatures = artifact.manifest.get("signatures") or {}
    if set(ADAPTIVE_SIGNATURES) <= set(signatures):
        return AdaptiveBeam(artifact, num_threads, ranker)
    if len(signatures) > 1:  # e.g. an adaptive beam without 'finish'
        raise ArtifactError(f"{where}: signatures {sorted(signatures)}; this runtime drives an adaptive beam "
                            f"through {list(ADAPTIVE_SIGNATURES)} - re-export the run")
    outputs = set(artifact.outputs)
    if "ranked" in outputs:
        return RankerList(artifact, num_threads)
    if set(TASKS) <= outputs:
        return TaskScores(artifact, num_threads, weights)
    raise ArtifactError(f"{where}: outputs {sorted(outputs)} are neither per-task scores {list(TASKS)} nor a ranker's 'ranked'")
