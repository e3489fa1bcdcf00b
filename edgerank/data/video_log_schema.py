"""The feed-log format: fixed column names, what each means, and which feature group needs it.

One row per candidate shown (or sent) in a request. ``data.columns.<name>=<column in the file>``
renames a column of the file to a fixed name. Declared once here; the loader's checks, the
README's schema table and :func:`rows_from_columns` (log columns -> contract rows) derive from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from edgerank.core.video_contract import as_rows
from edgerank.core.video_features import TASKS


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    kind: str  # "id", "float", "label", "flag"
    meaning: str


COLUMNS = (
    Column("user_id", True, "id", "user (any type)"),
    Column("ts", True, "float", "seconds (`data.ts_unit=ms` for milliseconds): exposure time of a shown row, request time otherwise"),
    Column("video_id", True, "id", "video (any type: strings, int64 above 2^31)"),
    Column("effective_view", True, "label", "0/1 label (derived from `watch_seconds` when absent)"),
    Column("like", True, "label", "0/1 label"),
    Column("session_id", False, "id", "else sessions are cut where a user's gap exceeds `data.session_gap_s` (1800)"),
    Column("request_id", False, "id", "else consecutive rows of a session form requests of `data.request_size` rows"),
    Column("position", False, "float", "slot in the request (server order); else file order"),
    Column("category", False, "id", "video category (any type)"),
    Column("duration", False, "float", "video duration, seconds"),
    Column("has_next", False, "label", "0/1 the user kept scrolling; else derived: another exposure follows in the session"),
    Column("watch_seconds", False, "float", "derives `effective_view` (watch >= `data.effective_view_ratio` x duration) where that label is absent"),
    Column("pxtr_has_next", False, "float", "server probability of has_next (else `data.pxtr=estimate`)"),
    Column("pxtr_effective_view", False, "float", "server probability of effective_view"),
    Column("pxtr_like", False, "float", "server probability of like"),
    Column("network_speed", False, "float", "Mbit/s at the request"),
    Column("preload", False, "float", "estimated preload seconds of the candidate"),
    Column("exposed", False, "flag", "0/1 (default 1): rows sent but not shown carry no labels and are candidates only"),
)
BY_NAME = {c.name: c for c in COLUMNS}
REQUIRED = tuple(c.name for c in COLUMNS if c.required)
PXTR = tuple(f"pxtr_{t}" for t in TASKS)
TRUTH = tuple(f"true_{t}" for t in TASKS)  # simulator logs only: the ground-truth probabilities
# columns a switched-on feature group reads (pxtr/fe: unless data.pxtr=estimate)
GROUP_NEEDS = {
    "pxtr": PXTR,
    "static": ("category", "duration"),
    "csf": ("network_speed", "preload"),
    "rts": ("category", "duration"),
    "fe": PXTR,
}
# what a column a switched-off group would have read holds instead (the model never sees it)
NEUTRAL = {"category": 0, "duration": 0.0, "network_speed": 1.0, "preload": 0.0, **{p: 0.0 for p in PXTR}}


def rows_from_columns(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Contract rows from a prepared log: fixed names, ``session``/``request`` as ints, ids mapped,
    sorted by session, request and position; absent optional columns hold :data:`NEUTRAL`."""
    n = len(columns["ts"])

    def column(name: str) -> np.ndarray:
        return np.asarray(columns[name]) if name in columns else np.full(n, NEUTRAL[name])

    rows = {
        "session": columns["session"],
        "request": columns["request"],
        "ts": columns["ts"],
        "video_id": columns["video_id"],
        "category": column("category"),
        "duration": column("duration"),
        "preload": column("preload"),
        "network_speed": column("network_speed"),
        "pxtr": np.stack([column(p) for p in PXTR], axis=1),
        "labels": np.stack([np.asarray(columns[t]) for t in TASKS], axis=1),
        "exposed": np.asarray(columns["exposed"]) if "exposed" in columns else np.ones(n, bool),
    }
    if "labelled" in columns:
        rows["labelled"] = np.asarray(columns["labelled"])
    if all(t in columns for t in TRUTH):
        rows["true_prob"] = np.stack([np.asarray(columns[t]) for t in TRUTH], axis=1)
    return as_rows(rows)


def schema_table() -> str:
    """The README's schema table (markdown)."""
    lines = ["| column | required | meaning |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {'yes' if c.required else ''} | {c.meaning} |" for c in COLUMNS]
    return "\n".join(lines)
