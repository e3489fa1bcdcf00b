"""Feature groups of the short-video re-ranker and the fixed-shape encoding of requests.

Declared once here (name, dtype, shape, transform, group) and used for everything else: which
tensors the datamodule produces, which keyword inputs the exported graph takes, the parity
samples, and the manifest an app reads to build the inputs itself.

Fixed shapes (one ``.tflite`` signature per size): ``M`` candidates and ``L`` watched items.

- a request with fewer than ``M`` candidates is padded at the end, ``cand_mask`` = 0 there; the
  model's outputs at padded slots are 0. Zero candidates, or more than ``M``, is a DataError
  (dropping candidates would silently change the ranking);
- the watched sequence is oldest first; one longer than ``L`` keeps its **most recent** ``L``
  items (older ones are dropped, by design: the real-time sequence is a recency window), a
  shorter one is padded at the end with ``seq_mask`` = 0;
- ids are int32 (litert-torch feeds int32), every other feature float32; NaN/inf is a DataError.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgerank.errors import ConfigError, DataError

TASKS = ("has_next", "effective_view", "like")
GROUPS = ("pxtr", "static", "csf", "rts", "fe")


@dataclass(frozen=True)
class InputDef:
    """One model input: ``dims`` uses B (batch), M (candidates), L (sequence), T (tasks)."""

    name: str
    dtype: str
    dims: tuple[str, ...]
    group: str  # feature group, or "mask"
    transform: str  # how the raw value becomes the input (for the app)
    bounds: tuple[float, float] = (-math.inf, math.inf)  # the encoded values a model may see (finite always)

    def shape(self, batch: int, m: int, seq_len: int) -> list[int]:
        sizes = {"B": batch, "M": m, "L": seq_len, "T": len(TASKS)}
        return [sizes[d] for d in self.dims]


INPUTS = (
    InputDef("cand_mask", "float32", ("B", "M"), "mask", "1 for a real candidate, 0 for padding", (0.0, 1.0)),
    InputDef("cand_pxtr", "float32", ("B", "M", "T"), "pxtr", "server probability per task (has_next, effective_view, like)", (0.0, 1.0)),
    InputDef("cand_id", "int32", ("B", "M"), "static", "video id (0..num_videos-1)", (0.0, math.inf)),
    InputDef("cand_cat", "int32", ("B", "M"), "static", "category id (0..num_categories-1)", (0.0, math.inf)),
    InputDef("cand_duration", "float32", ("B", "M"), "static", "log1p(duration seconds)", (0.0, math.inf)),
    InputDef("network_speed", "float32", ("B", "M"), "csf", "log(network speed Mbit/s), same for every candidate"),
    InputDef("preload_time", "float32", ("B", "M"), "csf", "log1p(estimated preload seconds of the candidate)", (0.0, math.inf)),
    InputDef("seq_mask", "float32", ("B", "L"), "mask", "1 for a real watched item, 0 for padding", (0.0, 1.0)),
    InputDef("seq_id", "int32", ("B", "L"), "rts", "watched video id, oldest first", (0.0, math.inf)),
    InputDef("seq_cat", "int32", ("B", "L"), "rts", "watched category id", (0.0, math.inf)),
    InputDef("seq_duration", "float32", ("B", "L"), "rts", "log1p(watched duration seconds)", (0.0, math.inf)),
    InputDef("seq_feedback", "float32", ("B", "L", "T"), "rts", "feedback on the watched item: has_next, effective_view, like (0/1)", (0.0, 1.0)),
    InputDef("seq_pxtr", "float32", ("B", "L", "T"), "fe", "server pXTR the watched item had (the graph takes cand_pxtr minus it)", (0.0, 1.0)),
    InputDef("seq_time_gap", "float32", ("B", "L"), "fe", "log1p(seconds between the watched exposure and this request)", (0.0, math.inf)),
    InputDef("seq_pos_gap", "float32", ("B", "L"), "fe", "log1p(exposures between the watched item and this request)", (0.0, math.inf)),
)
BY_NAME = {d.name: d for d in INPUTS}
# bounds: probabilities, masks and 0/1 feedback in [0, 1]; ids, log1p of seconds and counts >= 0;
# log(network speed) any finite number. The app runtime refuses to run a model on anything else.


def check_groups(features: Mapping[str, Any] | None) -> dict[str, bool]:
    """The enabled feature groups; every group defaults to on; unknown names are a ConfigError."""
    features = dict(features or {})
    unknown = sorted(set(features) - set(GROUPS))
    if unknown:
        raise ConfigError(f"features.{unknown[0]}", f"is not a feature group (groups: {', '.join(GROUPS)})")
    out = {}
    for group in GROUPS:
        value = features.get(group, True)
        if not isinstance(value, bool):
            raise ConfigError(f"features.{group}", f"must be true or false, got {value!r}")
        out[group] = value
    if not any(out.values()):
        raise ConfigError("features", "switch at least one feature group on")
    return out


def input_names(groups: Mapping[str, bool]) -> list[str]:
    """Inputs the graph takes for these groups (``fe`` needs ``cand_pxtr`` for its pXTR gap)."""
    names = ["cand_mask"]
    for d in INPUTS:
        if d.group in groups and groups[d.group]:
            names.append(d.name)
    if groups["fe"] and "cand_pxtr" not in names:
        names.append("cand_pxtr")
    if groups["rts"] or groups["fe"]:
        names.append("seq_mask")
    return [d.name for d in INPUTS if d.name in names]  # declaration order


# raw field -> (kind, dtype) of a request as a loader gives it
CANDIDATE_FIELDS = ("cand_id", "cand_cat", "cand_duration", "preload_time", "cand_pxtr", "labels")
SEQUENCE_FIELDS = ("seq_id", "seq_cat", "seq_duration", "seq_feedback", "seq_pxtr", "seq_time_gap", "seq_pos_gap")
ID_FIELDS = {"cand_id": "num_videos", "seq_id": "num_videos", "cand_cat": "num_categories", "seq_cat": "num_categories"}


def _field(request: Any, name: str) -> Any:
    return request[name] if isinstance(request, Mapping) else getattr(request, name)


def encode_requests(
    requests: Sequence[Any],
    max_candidates: int,
    seq_len: int,
    num_videos: int,
    num_categories: int,
) -> dict[str, np.ndarray]:
    """Fixed-shape arrays for every input of :data:`INPUTS` plus ``labels`` (and ``true_prob`` if given).

    ``requests`` are :class:`~edgerank.data.video_simulator.Request` objects or mappings with the
    same field names, in raw units. Raises DataError naming the request and field.
    """
    n, m_max, l_max, t = len(requests), int(max_candidates), int(seq_len), len(TASKS)
    if n == 0:
        raise DataError("no requests to encode")
    out = {d.name: np.zeros([n, *d.shape(1, m_max, l_max)[1:]], dtype=d.dtype) for d in INPUTS}
    out["labels"] = np.zeros((n, m_max, t), np.float32)
    out["exposed"] = np.zeros((n, m_max), np.float32)  # 1 on the watched head (training only)
    has_truth = all(_has(r, "true_prob") for r in requests)
    if has_truth:
        out["true_prob"] = np.zeros((n, m_max, t), np.float32)
    limits = {"num_videos": num_videos, "num_categories": num_categories}
    for i, request in enumerate(requests):
        where = f"request {i}"
        cand = {f: np.asarray(_field(request, f)) for f in CANDIDATE_FIELDS}
        m = len(cand["cand_id"])
        if m == 0:
            raise DataError(f"{where}: zero candidates (cand_id is empty); every request needs at least one")
        if m > m_max:
            raise DataError(f"{where}: {m} candidates, more than data.max_candidates={m_max} (candidates are never dropped)")
        seq = {f: np.asarray(_field(request, f)) for f in SEQUENCE_FIELDS}
        n_seq = len(seq["seq_id"])
        _check_lengths(where, cand, m, "cand_id", per_task=("cand_pxtr", "labels"))
        _check_lengths(where, seq, n_seq, "seq_id", per_task=("seq_feedback", "seq_pxtr"))
        speed = np.asarray(_field(request, "network_speed"), dtype=np.float64)
        if speed.ndim != 0:
            raise DataError(f"{where}: field 'network_speed' must be one number per request, got shape {speed.shape}")
        for name, values in [*cand.items(), *seq.items(), ("network_speed", speed)]:
            if name not in ID_FIELDS and not np.all(np.isfinite(values.astype(np.float64))):
                raise DataError(f"{where}: field '{name}' has NaN/inf values")
        for name, limit in ID_FIELDS.items():
            values = cand.get(name, seq.get(name))
            if len(values) and (values.min() < 0 or values.max() >= limits[limit]):
                raise DataError(f"{where}: field '{name}' has id {int(values.max() if values.max() >= limits[limit] else values.min())} outside 0..{limits[limit] - 1}")
        if float(speed) <= 0:
            raise DataError(f"{where}: field 'network_speed' must be positive, got {float(speed)}")
        keep = slice(max(0, n_seq - l_max), n_seq)  # the most recent L watched items
        k = min(n_seq, l_max)
        out["cand_mask"][i, :m] = 1.0
        out["cand_id"][i, :m] = cand["cand_id"]
        out["cand_cat"][i, :m] = cand["cand_cat"]
        out["cand_duration"][i, :m] = np.log1p(cand["cand_duration"])
        out["preload_time"][i, :m] = np.log1p(cand["preload_time"])
        out["network_speed"][i, :m] = np.log(float(speed))
        out["cand_pxtr"][i, :m] = cand["cand_pxtr"]
        out["labels"][i, :m] = cand["labels"]
        out["exposed"][i, : int(_field(request, "exposed")) if _has(request, "exposed") else 0] = 1.0
        if has_truth:
            out["true_prob"][i, :m] = np.asarray(_field(request, "true_prob"))
        out["seq_mask"][i, :k] = 1.0
        out["seq_id"][i, :k] = seq["seq_id"][keep]
        out["seq_cat"][i, :k] = seq["seq_cat"][keep]
        out["seq_duration"][i, :k] = np.log1p(seq["seq_duration"][keep])
        out["seq_feedback"][i, :k] = seq["seq_feedback"][keep]
        out["seq_pxtr"][i, :k] = seq["seq_pxtr"][keep]
        out["seq_time_gap"][i, :k] = np.log1p(seq["seq_time_gap"][keep])
        out["seq_pos_gap"][i, :k] = np.log1p(seq["seq_pos_gap"][keep])
    return out


def _has(request: Any, name: str) -> bool:
    return (name in request) if isinstance(request, Mapping) else getattr(request, name, None) is not None


def _check_lengths(where: str, fields: Mapping[str, np.ndarray], n: int, ref: str, per_task: tuple[str, ...]) -> None:
    for name, values in fields.items():
        expected = (n, len(TASKS)) if name in per_task else (n,)
        if n == 0 and values.size == 0:
            continue
        if values.shape != expected:
            raise DataError(
                f"{where}: field '{name}' has shape {values.shape}, expected {expected} ({ref} has {n} entries)"
            )
