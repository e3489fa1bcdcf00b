"""The real-time state of one feed session, built from raw events only (strict: a bad event
raises :class:`~edgerank.runtime.artifact.InputError`; :class:`~edgerank.runtime.video.VideoRuntime`
turns that into a skipped event or a fallback)."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgerank.core.video_features import TASKS
from edgerank.core.list_reward import EFFECTIVE_VIEW, HAS_NEXT, LIKE
from edgerank.runtime.artifact import InputError
from edgerank.runtime.video_events import number, pxtr, raw_id


@dataclass
class CandidateInfo:
    """What a request said about one video (kept so a later exposure knows its attributes)."""

    video_id: int | str
    category: int | str
    duration: float
    preload: float
    pxtr: np.ndarray  # [T] float64, task order of TASKS

    @classmethod
    def from_event(cls, raw: Any, where: str) -> CandidateInfo:
        if not isinstance(raw, Mapping):
            raise InputError(f"{where} must be a mapping, got {type(raw).__name__}")
        return cls(video_id=raw_id(raw, "video_id", where), category=raw_id(raw, "category", where),
                   duration=number(raw, "duration", where=where), preload=number(raw, "preload", where=where),
                   pxtr=pxtr(raw.get("pxtr"), where))


@dataclass
class WatchedItem:
    """One exposure of the session, with the feedback observed on it so far."""

    video_id: int | str
    category: int | str
    duration: float
    pxtr: np.ndarray  # [T] the pXTR it was served with
    ts: float  # exposure time
    position: int  # exposure index in the session
    feedback: np.ndarray = field(default_factory=lambda: np.zeros(len(TASKS)))  # has_next, ev, like


@dataclass
class RequestSnapshot:
    """A request plus the session state at its moment, as feed-log rows in raw units.

    ``rows`` are the fields of :data:`edgerank.core.video_contract.ROW_FIELDS`: the watched
    history (one exposed row each, oldest first) and then the request's candidates, with raw
    ids; a model maps the ids by its manifest and encodes them with
    :func:`~edgerank.core.video_contract.encode_rows`, exactly as training encoded its log.
    """

    video_ids: list[Any]  # server order
    rows: dict[str, np.ndarray]
    history: int  # rows before the candidates


class VideoSession:
    """The real-time state of one user's feed session, built from raw events only.

    One object per session: positions count exposures from the session's start, as in
    training. The watched history is a recency window of ``history_limit`` items (more than any
    model's ``seq_len``; each model takes its own most recent ``seq_len``), so a rollout that
    switches versions mid-session still finds the items it needs.
    """

    def __init__(
        self,
        user_id: str | int | None = None,
        *,
        effective_view_ratio: float = 0.5,
        history_limit: int = 256,
        remember_requests: int = 8,
    ) -> None:
        self.user_id = user_id
        self.effective_view_ratio = float(effective_view_ratio)
        self.watched: deque[WatchedItem] = deque(maxlen=int(history_limit))
        self.exposures = 0
        self.network_mbps: float | None = None
        self._recent: deque[dict[int | str, CandidateInfo]] = deque(maxlen=int(remember_requests))
        self.problems: deque[str] = deque(maxlen=32)  # the latest events skipped by VideoRuntime.observe
        self.skipped = 0  # all of them

    # -- events -----------------------------------------------------------------------------
    def apply(self, event: Mapping[str, Any]) -> None:
        """Apply a non-request event (``exposure``, ``play``, ``like``, ``skip``, ``network``)."""
        if not isinstance(event, Mapping):
            raise InputError(f"an event must be a mapping with a 'type', got {type(event).__name__}")
        kind = event.get("type")
        handler = {"exposure": self._exposure, "play": self._play, "like": self._like, "skip": self._skip,
                   "network": self._network}.get(kind)  # type: ignore[arg-type]
        if handler is None:
            raise InputError(f"unknown event type {kind!r} (request, exposure, play, like, skip, network)")
        handler(event)

    def _exposure(self, event: Mapping[str, Any]) -> None:
        video, ts = raw_id(event, "video_id"), number(event, "ts")
        info = next((r[video] for r in reversed(self._recent) if video in r), None)
        if all(k in event for k in ("category", "duration", "pxtr")):
            category, duration = raw_id(event, "category"), number(event, "duration")
            served = pxtr(event["pxtr"], f"exposure of video {video}")
        elif info is not None:
            category, duration, served = info.category, info.duration, info.pxtr
        else:
            raise InputError(f"exposure of video {video}: no recent request delivered it; give category, duration and pxtr")
        self.watched.append(WatchedItem(video_id=video, category=category, duration=duration, pxtr=served.copy(),
                                        ts=ts, position=self.exposures))
        self.exposures += 1

    def _item(self, event: Mapping[str, Any]) -> WatchedItem:
        video = raw_id(event, "video_id")
        for item in reversed(self.watched):
            if item.video_id == video:
                return item
        raise InputError(f"event '{event.get('type')}': video {video} was not exposed in this session")

    def _play(self, event: Mapping[str, Any]) -> None:
        item = self._item(event)
        if event.get("effective_view") is not None:
            effective = bool(event["effective_view"])
        else:
            effective = number(event, "watched_seconds") >= self.effective_view_ratio * item.duration
        item.feedback[EFFECTIVE_VIEW] = max(item.feedback[EFFECTIVE_VIEW], float(effective))

    def _like(self, event: Mapping[str, Any]) -> None:
        self._item(event).feedback[LIKE] = 1.0

    def _skip(self, event: Mapping[str, Any]) -> None:
        self._item(event).feedback[HAS_NEXT] = 1.0

    def _network(self, event: Mapping[str, Any]) -> None:
        self.network_mbps = number(event, "mbps")

    # -- requests ---------------------------------------------------------------------------
    def request(self, event: Mapping[str, Any]) -> RequestSnapshot:
        """Remember the request's candidates and return it with the session state at ``ts``."""
        if not isinstance(event, Mapping):
            raise InputError(f"a request must be a mapping, got {type(event).__name__}")
        ts = number(event, "ts")
        raw = event.get("candidates")
        if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
            raise InputError(f"request: 'candidates' must be a list, got {type(raw).__name__}")
        candidates = [CandidateInfo.from_event(c, f"request: candidate {i}") for i, c in enumerate(raw)]
        self._recent.append({c.video_id: c for c in candidates})
        speed = number(event, "network_speed", self.network_mbps)
        if speed is None:
            raise InputError("request: no network reading yet (send a 'network' event or give network_speed)")
        if not candidates:
            raise InputError("request: zero candidates; every request needs at least one")
        return RequestSnapshot(video_ids=[c.video_id for c in candidates], rows=self._rows(ts, candidates, speed),
                               history=len(self.watched))

    def _rows(self, ts: float, candidates: Sequence[CandidateInfo], speed: float) -> dict[str, np.ndarray]:
        """The watched history, then the candidates, as feed-log rows in raw units."""
        seq = list(self.watched)
        n, m = len(seq), len(candidates)
        return {
            "session": np.zeros(n + m, np.int64),
            "request": np.r_[np.zeros(n, np.int64), np.ones(m, np.int64)],
            "ts": np.array([w.ts for w in seq] + [ts] * m, dtype=np.float64),
            "video_id": np.array([w.video_id for w in seq] + [c.video_id for c in candidates], dtype=object),
            "category": np.array([w.category for w in seq] + [c.category for c in candidates], dtype=object),
            "duration": np.array([w.duration for w in seq] + [c.duration for c in candidates], dtype=np.float64),
            "preload": np.array([0.0] * n + [c.preload for c in candidates], dtype=np.float64),
            "network_speed": np.full(n + m, float(speed)),
            "pxtr": np.array([w.pxtr for w in seq] + [c.pxtr for c in candidates], dtype=np.float64).reshape(-1, len(TASKS)),
            "labels": np.array([w.feedback for w in seq] + [np.zeros(len(TASKS))] * m, dtype=np.float32).reshape(-1, len(TASKS)),
            "exposed": np.r_[np.ones(n, bool), np.zeros(m, bool)],
        }
