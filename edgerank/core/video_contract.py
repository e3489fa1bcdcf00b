"""The one contract from raw feed events to model tensors (numpy only; the app runtime uses it).

A feed log is rows, one per candidate a request delivered, sorted by session, request and slot
(:data:`ROW_FIELDS`, raw units, ids already mapped to ints by :mod:`edgerank.core.video_ids`).
The session state a request is ranked in is derived from the rows alone:

- **watched sequence**: the rows with ``exposed`` = 1 of the *earlier* requests of the same
  session, in row order (oldest first), the most recent ``seq_len`` of them; their feedback is
  their logged labels (has_next, effective_view, like);
- **request time**: the earliest ``ts`` of the request's rows (an exposed row carries its
  exposure time, a row only sent carries the request time);
- **exposure time gap**: request time minus the item's exposure ``ts``, clamped at 0;
- **exposure position gap**: exposures in the session between the item and the request,
  the item itself included (1 for the last watched item);
- **network speed**: the request's first row's (one reading per request).

Then :func:`~edgerank.core.video_features.encode_gathered` applies the declared transforms. The
simulator (``video_synthetic`` writes its sessions as these rows), the log loader
(``video_log``) and :class:`~edgerank.runtime.video.VideoSession` (its history plus the
request's candidates, as rows) all call :func:`encode_rows`, so training and the phone cannot
disagree on a feature. Vectorised: no Python loop over requests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from edgerank.core.video_features import TASKS, encode_gathered, with_padding_row
from edgerank.errors import DataError

T = len(TASKS)
# name -> (dtype, per task); "true_prob" is optional (only a simulator knows it)
ROW_FIELDS: dict[str, tuple[str, bool]] = {
    "session": ("int64", False),
    "request": ("int64", False),
    "ts": ("float64", False),
    "video_id": ("int64", False),
    "category": ("int64", False),
    "duration": ("float64", False),
    "preload": ("float64", False),
    "network_speed": ("float64", False),
    "pxtr": ("float64", True),
    "labels": ("float32", True),
    "exposed": ("bool", False),
}
# "labelled": the row's labels were logged (default: all rows; a row only sent may carry none)
OPTIONAL_FIELDS = {"true_prob": ("float32", True), "labelled": ("bool", False)}


def as_rows(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The row arrays in their declared dtypes and shapes; a DataError names a bad field."""
    n = len(np.asarray(columns["request"]))
    rows = {}
    for name, (dtype, per_task) in {**ROW_FIELDS, **OPTIONAL_FIELDS}.items():
        if name not in columns:
            if name in OPTIONAL_FIELDS:
                continue
            raise DataError(f"feed rows lack field '{name}' (fields: {', '.join(ROW_FIELDS)})")
        values = np.asarray(columns[name]).astype(dtype, copy=False)
        expected = (n, T) if per_task else (n,)
        if values.shape != expected:
            raise DataError(f"feed rows: field '{name}' has shape {values.shape}, expected {expected}")
        rows[name] = values
    return rows


def request_bounds(rows: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """First row and row count of every request (rows of one request are contiguous)."""
    request = np.asarray(rows["request"])
    if len(request) == 0:
        raise DataError("no feed rows to encode")
    starts = np.flatnonzero(np.r_[True, request[1:] != request[:-1]])
    return starts, np.diff(np.r_[starts, len(request)])


def encode_rows(
    rows: Mapping[str, np.ndarray],
    max_candidates: int,
    seq_len: int,
    only: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Fixed-shape inputs of every request (or of the requests ``only``) plus ``labels``,
    ``label_mask`` (1 on slots with logged labels: what the loss and metrics read), ``exposed``
    (1 on shown slots), ``request_row`` (its first row) and ``true_prob`` if given.
    More candidates than ``max_candidates`` is a DataError naming the request's first row.
    """
    rows = as_rows(rows)
    starts, counts = request_bounds(rows)
    picked = np.arange(len(starts)) if only is None else np.asarray(only, dtype=np.int64)
    m_max, l_max = int(max_candidates), int(seq_len)
    too_big = np.flatnonzero(counts[picked] > m_max)
    if len(too_big):
        r = picked[too_big[0]]
        raise DataError(f"request at row {starts[r]}: {counts[r]} candidates, more than data.max_candidates={m_max} "
                        "(candidates are never dropped)")
    exposed = rows["exposed"]
    before = np.cumsum(exposed) - exposed  # exposures (all sessions) before each row
    session = rows["session"]
    session_first = np.flatnonzero(np.r_[True, session[1:] != session[:-1]])
    first_of_row = np.repeat(session_first, np.diff(np.r_[session_first, len(session)]))
    exposed_rows = np.flatnonzero(exposed)

    # candidates: the request's own rows, padded
    start, count = starts[picked], counts[picked]
    slot = np.arange(m_max)
    cand_mask = slot[None, :] < count[:, None]
    padding = len(rows["ts"])  # the index of a padded slot (see encode_gathered)
    cand_index = np.where(cand_mask, start[:, None] + slot[None, :], padding)
    cand = {"network_speed": np.broadcast_to(rows["network_speed"][start][:, None], cand_mask.shape)}
    request_ts = np.minimum.reduceat(rows["ts"], starts)[picked]

    # the watched sequence: the session's exposures before the request, the most recent L
    n_before = before[start]
    history = n_before - before[first_of_row[start]]
    k = np.minimum(history, l_max)
    j = np.arange(l_max)
    seq_mask = j[None, :] < k[:, None]
    exposure = np.where(seq_mask, n_before[:, None] - k[:, None] + j[None, :], 0)  # global exposure index
    seq_index = np.where(seq_mask, exposed_rows[exposure] if len(exposed_rows) else 0, padding)
    seq = {"time_gap": np.maximum(request_ts[:, None] - np.take(with_padding_row(rows["ts"]), seq_index), 0.0),
           "pos_gap": (n_before[:, None] - exposure).astype(np.float64)}

    out = encode_gathered(cand, cand_mask, seq, seq_mask, rows, cand_index, seq_index)
    out["labels"] = np.take(with_padding_row(rows["labels"]), cand_index, axis=0)
    out["exposed"] = np.take(with_padding_row(exposed), cand_index).astype(np.float32)
    labelled = np.take(with_padding_row(rows["labelled"]), cand_index) if "labelled" in rows else cand_mask
    out["label_mask"] = labelled.astype(np.float32)
    out["request_row"] = start
    if "true_prob" in rows:
        out["true_prob"] = np.take(with_padding_row(rows["true_prob"]), cand_index, axis=0)
    return out


def check_rows(rows: Mapping[str, np.ndarray], describe: Callable[[int], str] = lambda i: f"row {i}", ranges: bool = True) -> None:
    """Finite numbers and a positive network speed (and with ``ranges`` non-negative durations and
    preload times): a DataError names the first bad row."""
    for name in ("ts", "duration", "preload", "network_speed", "pxtr", "labels"):
        values = np.asarray(rows[name], dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad.reshape(len(values), -1).any(axis=1))[0])
            raise DataError(f"{describe(i)}: field '{name}' is NaN/inf")
    for name, low in (("network_speed", 0.0),):
        bad = np.flatnonzero(np.asarray(rows[name]) <= low)
        if len(bad):
            raise DataError(f"{describe(int(bad[0]))}: field '{name}' must be positive, got {rows[name][bad[0]]}")
    for name in ("duration", "preload") if ranges else ():
        bad = np.flatnonzero(np.asarray(rows[name]) < 0)
        if len(bad):
            raise DataError(f"{describe(int(bad[0]))}: field '{name}' must be >= 0, got {rows[name][bad[0]]}")
