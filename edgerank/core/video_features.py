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
    """One model input: ``dims`` uses B (batch), M (candidates), L (sequence), T (tasks).

    ``raw`` is the field of a feed-log row it is read from (candidate inputs from the request's
    own rows, sequence inputs from the session's earlier exposures, see
    :mod:`edgerank.core.video_contract`) and ``fn`` the transform applied to it; both drive the
    encoding, ``transform`` says the same in words for the app and the manifest.
    """

    name: str
    dtype: str
    dims: tuple[str, ...]
    group: str  # feature group, or "mask"
    raw: str  # row field it is read from ("" for masks)
    fn: str  # one of TRANSFORMS
    transform: str  # how the raw value becomes the input (for the app)
    bounds: tuple[float, float] = (-math.inf, math.inf)  # the encoded values a model may see (finite always)

    def shape(self, batch: int, m: int, seq_len: int) -> list[int]:
        sizes = {"B": batch, "M": m, "L": seq_len, "T": len(TASKS)}
        return [sizes[d] for d in self.dims]

    @property
    def side(self) -> str:
        """``"cand"`` (one value per candidate slot) or ``"seq"`` (per watched item)."""
        return "seq" if "L" in self.dims else "cand"


TRANSFORMS = {"mask": None, "identity": lambda x: x, "log1p": np.log1p, "log": np.log}

INPUTS = (
    InputDef("cand_mask", "float32", ("B", "M"), "mask", "", "mask", "1 for a real candidate, 0 for padding", (0.0, 1.0)),
    InputDef("cand_pxtr", "float32", ("B", "M", "T"), "pxtr", "pxtr", "identity", "server probability per task (has_next, effective_view, like)", (0.0, 1.0)),
    InputDef("cand_id", "int32", ("B", "M"), "static", "video_id", "identity", "video id (0..num_videos-1)", (0.0, math.inf)),
    InputDef("cand_cat", "int32", ("B", "M"), "static", "category", "identity", "category id (0..num_categories-1)", (0.0, math.inf)),
    InputDef("cand_duration", "float32", ("B", "M"), "static", "duration", "log1p", "log1p(duration seconds)", (0.0, math.inf)),
    InputDef("network_speed", "float32", ("B", "M"), "csf", "network_speed", "log", "log(network speed Mbit/s), same for every candidate"),
    InputDef("preload_time", "float32", ("B", "M"), "csf", "preload", "log1p", "log1p(estimated preload seconds of the candidate)", (0.0, math.inf)),
    InputDef("seq_mask", "float32", ("B", "L"), "mask", "", "mask", "1 for a real watched item, 0 for padding", (0.0, 1.0)),
    InputDef("seq_id", "int32", ("B", "L"), "rts", "video_id", "identity", "watched video id, oldest first", (0.0, math.inf)),
    InputDef("seq_cat", "int32", ("B", "L"), "rts", "category", "identity", "watched category id", (0.0, math.inf)),
    InputDef("seq_duration", "float32", ("B", "L"), "rts", "duration", "log1p", "log1p(watched duration seconds)", (0.0, math.inf)),
    InputDef("seq_feedback", "float32", ("B", "L", "T"), "rts", "labels", "identity", "feedback on the watched item: has_next, effective_view, like (0/1)", (0.0, 1.0)),
    InputDef("seq_pxtr", "float32", ("B", "L", "T"), "fe", "pxtr", "identity", "server pXTR the watched item had (the graph takes cand_pxtr minus it)", (0.0, 1.0)),
    InputDef("seq_time_gap", "float32", ("B", "L"), "fe", "time_gap", "log1p", "log1p(seconds between the watched exposure and this request)", (0.0, math.inf)),
    InputDef("seq_pos_gap", "float32", ("B", "L"), "fe", "pos_gap", "log1p", "log1p(exposures between the watched item and this request)", (0.0, math.inf)),
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


def encode_gathered(
    cand: Mapping[str, np.ndarray],
    cand_mask: np.ndarray,
    seq: Mapping[str, np.ndarray],
    seq_mask: np.ndarray,
    rows: Mapping[str, np.ndarray] | None = None,
    cand_index: np.ndarray | None = None,
    seq_index: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every input of :data:`INPUTS`, by its declaration, from raw fields gathered per slot.

    ``cand[raw]`` is ``[R, M]`` (``[R, M, T]`` per task) and ``seq[raw]`` ``[R, L(, T)]`` in raw
    units. A raw field found in neither is read from ``rows[raw]`` (one value per log row),
    transformed once per row and gathered by ``cand_index``/``seq_index`` (the same numbers:
    the transforms are element-wise), where index ``len(rows)`` is a padded slot. Padded slots
    (mask 0) may hold anything and come out 0.
    """
    out: dict[str, np.ndarray] = {}
    per_row: dict[tuple[str, str, str], np.ndarray] = {}
    masks = {"cand": np.asarray(cand_mask) > 0, "seq": np.asarray(seq_mask) > 0}
    for d in INPUTS:
        gathered, index = (cand, cand_index) if d.side == "cand" else (seq, seq_index)
        mask = masks[d.side]
        if d.fn == "mask":
            out[d.name] = mask.astype(d.dtype)
            continue
        neutral = 1 if d.fn == "log" else 0  # what padded slots are transformed from
        if d.raw in gathered:
            raw = np.asarray(gathered[d.raw])
            keep = mask if raw.ndim == mask.ndim else mask[..., None]
            value = TRANSFORMS[d.fn](np.where(keep, raw, neutral)).astype(d.dtype)
        else:
            key = (d.raw, d.fn, d.dtype)
            if key not in per_row:
                per_row[key] = with_padding_row(np.asarray(TRANSFORMS[d.fn](np.asarray(rows[d.raw]))), d.dtype)
            out[d.name] = np.take(per_row[key], index, axis=0)  # the padding row is 0
            continue
        out[d.name] = np.where(keep, value, np.zeros((), d.dtype))
    return out


def with_padding_row(values: np.ndarray, dtype: Any = None) -> np.ndarray:
    """``values`` (cast to ``dtype``, as ``astype`` casts) plus one trailing row of zeros: what a
    padded slot's index points to. One allocation and one pass, whatever the cast."""
    out = np.empty((len(values) + 1, *values.shape[1:]), values.dtype if dtype is None else dtype)
    out[:-1], out[-1] = values, 0
    return out


# fields of a request as :class:`~edgerank.data.video_simulator.Request` gives them (one name per input)
CANDIDATE_FIELDS = ("cand_id", "cand_cat", "cand_duration", "preload_time", "cand_pxtr", "labels")
SEQUENCE_FIELDS = ("seq_id", "seq_cat", "seq_duration", "seq_feedback", "seq_pxtr", "seq_time_gap", "seq_pos_gap")
ID_FIELDS = {"cand_id": "num_videos", "seq_id": "num_videos", "cand_cat": "num_categories", "seq_cat": "num_categories"}
RAW_OF = {d.name: d.raw for d in INPUTS if d.raw} | {"labels": "labels"}


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
    same field names, in raw units, the session state already gathered per request (feed logs
    go through :func:`edgerank.core.video_contract.encode_rows`, which gathers it). Raises
    DataError naming the request and field.
    """
    n, m_max, l_max, t = len(requests), int(max_candidates), int(seq_len), len(TASKS)
    if n == 0:
        raise DataError("no requests to encode")
    per_task = {"cand_pxtr", "labels", "seq_feedback", "seq_pxtr"}
    cand_raw = {RAW_OF[f]: np.zeros((n, m_max, t) if f in per_task else (n, m_max)) for f in CANDIDATE_FIELDS}
    cand_raw["network_speed"] = np.ones((n, m_max))
    seq_raw = {RAW_OF[f]: np.zeros((n, l_max, t) if f in per_task else (n, l_max)) for f in SEQUENCE_FIELDS}
    cand_mask, seq_mask = np.zeros((n, m_max), np.float32), np.zeros((n, l_max), np.float32)
    exposed = np.zeros((n, m_max), np.float32)  # 1 on the watched head (training only)
    has_truth = all(_has(r, "true_prob") for r in requests)
    true_prob = np.zeros((n, m_max, t), np.float32) if has_truth else None
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
        cand_mask[i, :m], seq_mask[i, :k] = 1.0, 1.0
        for f in CANDIDATE_FIELDS:
            cand_raw[RAW_OF[f]][i, :m] = cand[f]
        cand_raw["network_speed"][i, :m] = float(speed)
        for f in SEQUENCE_FIELDS:
            seq_raw[RAW_OF[f]][i, :k] = seq[f][keep]
        exposed[i, : int(_field(request, "exposed")) if _has(request, "exposed") else 0] = 1.0
        if true_prob is not None:
            true_prob[i, :m] = np.asarray(_field(request, "true_prob"))
    out = encode_gathered(cand_raw, cand_mask, seq_raw, seq_mask)
    out["labels"], out["exposed"] = cand_raw["labels"].astype(np.float32), exposed
    if true_prob is not None:
        out["true_prob"] = true_prob
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
