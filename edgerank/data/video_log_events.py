"""A feed log replayed as the raw events an app sends (``python -m edgerank.simulate EVENTS.jsonl``).

Each request of the log becomes, in the loader's order, the feedback on what the session showed
before it (exposure, play, like, skip of the previous request's exposed rows), the network speed,
then the request with its candidates: the event vocabulary :mod:`edgerank.runtime.video` reads.
Replaying these through :class:`~edgerank.runtime.video.VideoRuntime` gives the tensors the log
loader prepares for training (tests/test_video_log_runtime.py), and the same file makes
``python -m edgerank.runtime video`` runnable without a real app.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from edgerank.core.video_features import TASKS


def log_requests(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """The log's requests in the loader's order (user, session start, request start, position)."""
    frame = frame.with_columns(
        pl.col("ts").min().over("user_id", "session_id").alias("s0"), pl.col("ts").min().over("request_id").alias("r0"))
    frame = frame.sort("user_id", "s0", "session_id", "r0", "request_id", "position")
    return frame.partition_by("request_id", maintain_order=True)


def _feedback(rows: pl.DataFrame) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for r in rows.filter(pl.col("exposed") == 1).iter_rows(named=True):
        events.append({"type": "exposure", "ts": r["ts"], "video_id": r["video_id"]})
        events.append({"type": "play", "ts": r["ts"] + 1, "video_id": r["video_id"], "watched_seconds": 1.0,
                       "effective_view": bool(r["effective_view"])})
        if r["like"]:
            events.append({"type": "like", "ts": r["ts"] + 1, "video_id": r["video_id"]})
        if r["has_next"]:
            events.append({"type": "skip", "ts": r["ts"] + 2, "video_id": r["video_id"]})
    return events


def request_events(requests: list[pl.DataFrame]) -> Iterator[tuple[bool, Any, Any, list[dict[str, Any]]]]:
    """Per request: ``(new_session, user, session, events)``, the request being the last event."""
    previous, session = None, None
    for rows in requests:
        first = rows.row(0, named=True)
        new_session = first["session_id"] != session
        events = [] if new_session or previous is None else _feedback(previous)
        session, previous = first["session_id"], rows
        events.append({"type": "network", "ts": rows["ts"].min(), "mbps": first["network_speed"]})
        candidates = [{"video_id": r["video_id"], "category": r["category"], "duration": r["duration"], "preload": r["preload"],
                       "pxtr": [r[f"pxtr_{t}"] for t in TASKS]} for r in rows.iter_rows(named=True)]
        events.append({"type": "request", "ts": rows["ts"].min(), "candidates": candidates})
        yield new_session, first["user_id"], session, events


def app_events(frame: pl.DataFrame) -> Iterator[dict[str, Any]]:
    """Every event of the log, each with its ``user`` and ``session`` (the replay CLI's keys)."""
    for _, user, session, events in request_events(log_requests(frame)):
        for event in events:
            yield {**event, "user": str(user), "session": str(session)}
