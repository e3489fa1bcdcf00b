"""A verified short-video artifact on the device: map ids, encode a request, infer, order
(strict: raises on any problem; :class:`~edgerank.runtime.video.VideoRuntime` falls back)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgerank.core.video_contract import check_rows, encode_rows
from edgerank.core.video_features import BY_NAME
from edgerank.core.video_ids import IdMap
from edgerank.errors import ConfigError
from edgerank.core.manifest import ArtifactError, require
from edgerank.runtime.artifact import VerifiedArtifact
from edgerank.runtime.input_check import check_inputs
from edgerank.runtime.video_outputs import choose_outputs
from edgerank.runtime.video_session import RequestSnapshot

SCENARIO = "short_video_rerank"


@dataclass
class MappedIds:
    """A snapshot's ids in the model's id space, the ids it has no row for (``name=value``, only an
    ``identity`` map has such; candidates first), and how many ids were looked at."""

    ids: dict[str, np.ndarray]
    unknown: list[str]
    looked: int


@dataclass
class RankedRequest:
    """The model's answer to one request: video ids (the model's head, then the candidates it did
    not place, in server order), the head's scores and length, the candidate scorings spent, and
    the exact model inputs and raw outputs."""

    items: list[Any]
    scores: list[float]
    placed: int
    evaluations: int
    inputs: dict[str, np.ndarray] = field(repr=False)
    outputs: dict[str, np.ndarray] = field(repr=False)


class VideoModel:
    """A verified short-video artifact: encode a :class:`RequestSnapshot`, infer, order."""

    def __init__(
        self,
        artifact: VerifiedArtifact,
        num_threads: int | None = None,
        weights: Mapping[str, float] | None = None,
        ranker: Mapping[str, Any] | None = None,
    ) -> None:
        manifest, where = artifact.manifest, artifact.directory
        if manifest.get("scenario") != SCENARIO:
            raise ArtifactError(f"{where}: manifest scenario is {manifest.get('scenario')!r}, not {SCENARIO!r}")
        try:
            shapes = require(manifest, "fixed_shapes", where)
            self.max_candidates, self.seq_len = int(shapes["candidates"]), int(shapes["seq_len"])
            vocab = require(manifest, "vocab", where)
            self.num_videos, self.num_categories = int(vocab["num_videos"]), int(vocab["num_categories"])
            ids = manifest.get("ids") or {}
            self.id_maps = {"video_id": IdMap.from_manifest(ids.get("video_id"), self.num_videos),
                            "category": IdMap.from_manifest(ids.get("category"), self.num_categories)}
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            raise ArtifactError(f"{where}/manifest.json: fixed_shapes/vocab/ids malformed ({exc})") from None
        transforms = require(manifest, "input_transforms", where)
        self.outputs = choose_outputs(artifact, num_threads, weights, ranker)
        for name, spec in self.outputs.inputs.items():
            declared = BY_NAME.get(name)
            if declared is None:
                raise ArtifactError(f"{where}: model input '{name}' is not a declared video input ({sorted(BY_NAME)})")
            if transforms.get(name) != declared.transform:
                raise ArtifactError(f"{where}: input '{name}' is declared as {transforms.get(name)!r}; this runtime encodes "
                                    f"{declared.transform!r} - refusing to guess")
            expected = (declared.dtype, tuple(declared.shape(1, self.max_candidates, self.seq_len)))
            if (spec.dtype, spec.shape) != expected:
                raise ArtifactError(f"{where}: input '{name}' is {spec.dtype}{list(spec.shape)}, expected {expected[0]}{list(expected[1])}")
        self.input_names = sorted(self.outputs.inputs)

    def mapped_ids(self, snapshot: RequestSnapshot) -> MappedIds:
        """The snapshot's ids by the manifest's id maps (only those the model reads)."""
        history, mapped, unknown = snapshot.history, {}, []
        looked = 0
        for field_name, id_map in self.id_maps.items():
            raw = snapshot.rows[field_name]
            used = np.r_[np.arange(max(0, history - self.seq_len), history), np.arange(history, len(raw))]
            looked += len(used)
            ids = np.zeros(len(raw), np.int64)
            try:
                ids[used] = id_map.apply(np.array([id_map.event_id(v) for v in raw[used]], dtype=object))
                bad = used[~id_map.known(ids[used])]
            except (TypeError, ValueError):  # a text id for an integer vocabulary
                bad = np.array([i for i in used if not isinstance(raw[i], (int, np.integer))])
            for i in bad:
                name = ("cand_" if i >= history else "seq_") + ("id" if field_name == "video_id" else "cat")
                unknown.append(f"{name}={raw[i]}")
            mapped[field_name] = ids
        return MappedIds(ids=mapped, unknown=sorted(unknown, key=lambda u: not u.startswith("cand_")), looked=looked)

    def encode(self, snapshot: RequestSnapshot, mapped: MappedIds | None = None) -> dict[str, np.ndarray]:
        """The model's inputs, ``[1, ...]`` fixed shapes, by the shared contract."""
        rows = {**snapshot.rows, **(mapped or self.mapped_ids(snapshot)).ids}
        h = snapshot.history
        check_rows(rows, lambda i: f"candidate {i - h}" if i >= h else f"watched item {i}", ranges=False)  # ranges: check_inputs
        arrays = encode_rows(rows, self.max_candidates, self.seq_len, only=np.array([-1]))  # the last request: the candidates
        return {name: arrays[name] for name in self.input_names}

    def rank(self, snapshot: RequestSnapshot, mapped: MappedIds | None = None) -> RankedRequest:
        """Encode, check, infer, and put the candidates the model did not place after its head."""
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # such values are refused next
            inputs = self.encode(snapshot, mapped)
        check_inputs(inputs, BY_NAME)
        inference = self.outputs.infer(inputs)
        m = len(snapshot.video_ids)
        keep = (inference.slots >= 0) & (inference.slots < m)  # -1: no candidate left for that position
        head = [int(s) for s in inference.slots[keep]]
        placed = set(head)
        items = [snapshot.video_ids[s] for s in head] + [v for i, v in enumerate(snapshot.video_ids) if i not in placed]
        return RankedRequest(items=items, scores=[float(s) for s in np.asarray(inference.scores)[keep]], placed=len(head),
                             evaluations=inference.evaluations, inputs=inputs, outputs=inference.outputs)
