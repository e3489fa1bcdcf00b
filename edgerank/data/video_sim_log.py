"""The simulator's sessions as a feed log (the fixed columns of :mod:`edgerank.data.video_log_schema`).

``video_synthetic`` encodes these columns through the same contract as ``video_log`` reads a
file with, and ``python -m edgerank.simulate`` writes them to a file, so a simulator log read
back by ``data=video_log`` gives the very tensors ``data=video_synthetic`` trains on.

Clock: session ``k`` of user ``u`` starts at ``T0 + k days + u minutes`` (the simulator's own
times are seconds since the session's start), so later sessions are later in time and
``data.split=time`` means something on a simulator log too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgerank.core.video_features import TASKS
from edgerank.data.video_log_schema import PXTR, TRUTH
from edgerank.data.video_simulator import Request

T0 = 1_700_000_000.0
DAY_S = 86_400.0
USER_STAGGER_S = 60.0


def log_columns(requests: Sequence[Request]) -> dict[str, np.ndarray]:
    """One row per candidate of every request, server order; shown rows carry their exposure time."""
    parts: dict[str, list[np.ndarray]] = {}
    sessions_seen: dict[int, int] = {}  # user -> sessions so far
    start, session = 0.0, None
    for index, r in enumerate(requests):
        if r.session != session:
            session = r.session
            k = sessions_seen.get(r.user, 0)
            sessions_seen[r.user] = k + 1
            start = T0 + k * DAY_S + r.user * USER_STAGGER_S
        m = len(r.cand_id)
        ts = np.full(m, start + r.time)
        ts[: r.exposed] = start + np.asarray(r.exposure_time, dtype=np.float64)
        columns = {
            "user_id": np.full(m, r.user, np.int64),
            "session_id": np.full(m, r.session, np.int64),
            "request_id": np.full(m, index, np.int64),
            "position": np.arange(m, dtype=np.int64),
            "ts": ts,
            "video_id": r.cand_id.astype(np.int64),
            "category": r.cand_cat.astype(np.int64),
            "duration": r.cand_duration.astype(np.float64),
            "preload": r.preload_time.astype(np.float64),
            "network_speed": np.full(m, r.network_speed),
            "exposed": (np.arange(m) < r.exposed).astype(np.int8),
            **{p: r.cand_pxtr[:, i].astype(np.float64) for i, p in enumerate(PXTR)},
            **{t: r.labels[:, i].astype(np.float32) for i, t in enumerate(TASKS)},
            **{t: r.true_prob[:, i].astype(np.float32) for i, t in enumerate(TRUTH)},
        }
        for name, values in columns.items():
            parts.setdefault(name, []).append(values)
    return {name: np.concatenate(values) for name, values in parts.items()}
