"""Short-video re-ranking on the device: raw feed events in, re-ranked video ids out.

The phone sees a stream of raw events; :class:`VideoSession` turns them into the real-time state
the model needs, and :class:`VideoRuntime` runs the published ``.tflite`` on it::

    runtime = VideoRuntime(FixedArtifact("outputs/.../artifact"), monitor=EventLog("events.sqlite"))
    session = runtime.session(user_id="u1")
    runtime.observe(session, {"type": "network", "ts": 0.0, "mbps": 4.2})
    ranking = runtime.observe(session, {"type": "request", "ts": 1.0, "candidates": [
        {"video_id": 17, "category": 3, "duration": 31.0, "preload": 0.8,
         "pxtr": {"has_next": 0.9, "effective_view": 0.41, "like": 0.12}}, ...]})
    ranking.items, ranking.source   # video ids, "model" | "fallback"
    runtime.observe(session, {"type": "exposure", "ts": 2.0, "video_id": 17})
    runtime.observe(session, {"type": "play", "ts": 20.0, "video_id": 17, "watched_seconds": 18.0})
    runtime.observe(session, {"type": "like", "ts": 21.0, "video_id": 17})
    runtime.observe(session, {"type": "skip", "ts": 22.0, "video_id": 17})

**Events** (``ts`` in seconds, any origin: only differences are used):

- ``request``: the server's candidates in server order, each with ``video_id``, ``category``,
  ``duration`` (s), ``preload`` (estimated preload s) and ``pxtr`` (a mapping task -> probability,
  or three numbers in the order has_next, effective_view, like); optional ``network_speed``
  (Mbit/s) overrides the last ``network`` reading. Answered with a :class:`VideoRanking`.
- ``exposure``: ``video_id`` was shown. It becomes the newest watched item, at exposure
  position = number of exposures before it in this session; its category, duration and pXTR are
  those of the most recent request that delivered it (or given in the event). Feedback starts
  at (has_next, effective_view, like) = (0, 0, 0): nothing observed yet.
- ``play``: ``watched_seconds`` of ``video_id``; effective view is the event's
  ``effective_view`` if given, else ``watched_seconds >= effective_view_ratio * duration``
  (default 0.5). An effective view stays effective.
- ``like``: like = 1. ``skip``: the user swiped from ``video_id`` on to the next video, i.e.
  has_next = 1 (a user who leaves the feed on a video sends no skip, so has_next stays 0).
- ``network``: a speed reading ``mbps`` (Mbit/s); the latest one is used.

**Encoding.** The watched sequence and the cross features (exposure time gap = request ``ts`` -
exposure ``ts``, clamped at 0 against clock jumps; exposure position gap = exposures since the
item; the pXTR gap is computed in-graph from ``cand_pxtr`` and ``seq_pxtr``) are derived by
:func:`edgerank.core.video_contract.encode_rows` from the session's history and the request's
candidates written as feed-log rows - the very function that encoded the training log (numpy
only, no torch); ids go through the manifest's id maps (:mod:`edgerank.core.video_ids`). The model refuses to load when a manifest
input's declared transform is not the one this code applies, so a drifted declaration can never
be silently mis-encoded. Fixed shapes come from the manifest: the most recent ``seq_len`` items
(oldest first), candidates padded to ``candidates``.

**Output.** A plain model (outputs per task) ranks all candidates by ``sum_t weights[t] * p_t``
(default effective_view + like; ties keep server order). A model exported with a ranker returns
its list (``ranked`` slots; adaptive beam search runs its ``prepare``/``step``/``finish`` loop
here with the torch-free :func:`edgerank.core.app_loop.drive`, the very loop PyTorch evaluation runs); the candidates it did not place follow in server
order. ``placed`` says how many head items the model ordered; ``scores`` covers those.

**Fallback for videos: the server order**, unchanged, recorded as a failure with its reason.
It is returned for a missing/corrupt/unloadable model, zero candidates, more candidates than
the fixed shape (never silently dropped), NaN/inf or non-positive network speed, an id outside
an ``identity`` vocabulary (listed in ``unknown``; a model trained on a log with ``data.ids=hash``
maps every id to a bucket, so an unseen id is never a fallback),
a missing network reading, or a malformed event. Non-request events never raise either: a bad
one is skipped and kept in ``session.problems``.

**Where things are.** Event fields: :mod:`~edgerank.runtime.video_events`; the session state:
:mod:`~edgerank.runtime.video_session`; the model (id maps, encoding, order):
:mod:`~edgerank.runtime.video_model`; what its outputs mean, chosen once from the manifest:
:mod:`~edgerank.runtime.video_outputs`; here, what an app calls.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgerank.core.video_features import TASKS
from edgerank.errors import ConfigError
from edgerank.monitor.events import EventLog
from edgerank.runtime.artifact import InputError, VerifiedArtifact
from edgerank.runtime.guard import GuardedRuntime, Ranking
from edgerank.runtime.sources import ModelHandle, ModelSource
from edgerank.runtime.video_events import server_order
from edgerank.runtime.video_model import MappedIds, VideoModel
from edgerank.runtime.video_session import RequestSnapshot, VideoSession

__all__ = ["RequestSnapshot", "VideoModel", "VideoRanking", "VideoRuntime", "VideoSession"]


@dataclass(kw_only=True)
class VideoRanking(Ranking):
    """:class:`Ranking` plus what re-ranking adds: how many head items the model placed
    (``scores`` covers those; the rest is in server order), the candidate scorings spent
    (adaptive beam search), and the exact model inputs and raw outputs (kept so an app can log
    a suspicious request and a test can compare them with the offline pipeline)."""

    placed: int = 0
    evaluations: int = 0
    inputs: dict[str, np.ndarray] | None = field(default=None, repr=False)
    outputs: dict[str, np.ndarray] | None = field(default=None, repr=False)


class VideoRuntime(GuardedRuntime[VideoModel]):
    """``observe(session, event)`` for every raw event; ``request`` events return a :class:`VideoRanking`.

    ``weights`` (task -> weight) orders a plain model's candidates (default effective_view + like).
    ``ranker`` gives ``list_size``/``threshold`` for adaptive beam artifacts whose manifest does
    not carry them. See the module docstring for the fallback.
    """

    def __init__(
        self,
        source: ModelSource,
        *,
        weights: Mapping[str, float] | None = None,
        ranker: Mapping[str, Any] | None = None,
        monitor: EventLog | None = None,
        num_threads: int | None = None,
    ) -> None:
        super().__init__(source, monitor, num_threads)
        if weights is not None:
            unknown = sorted(set(weights) - set(TASKS))
            if unknown or not all(isinstance(w, (int, float)) and math.isfinite(w) for w in weights.values()):
                raise ConfigError("weights", f"must map tasks {list(TASKS)} to finite numbers, got {dict(weights)}")
        self.weights = None if weights is None else dict(weights)
        self.ranker = None if ranker is None else dict(ranker)

    def _build(self, artifact: VerifiedArtifact) -> VideoModel:
        return VideoModel(artifact, self.num_threads, self.weights, self.ranker)

    def session(self, user_id: str | int | None = None, **options: Any) -> VideoSession:
        """A new feed session (its own sequence and exposure positions)."""
        return VideoSession(user_id, **options)

    def observe(self, session: VideoSession, event: Mapping[str, Any]) -> VideoRanking | None:
        """Feed one raw event; a ``request`` is ranked, anything else updates the session.

        Never raises: a bad non-request event is skipped and described in ``session.problems``;
        without a session (None) the event is served as in a new anonymous session.
        """
        if not isinstance(session, VideoSession):
            session = self.session()
        if isinstance(event, Mapping) and event.get("type") == "request":
            return self.rank(session, event)
        try:
            session.apply(event)
        except Exception as exc:  # noqa: BLE001 - a bad event must not crash the feed
            session.problems.append(f"{type(exc).__name__}: {exc}")
            session.skipped += 1
        return None

    def rank(self, session: VideoSession, request: Mapping[str, Any]) -> VideoRanking:
        """Re-rank one request's candidates with the session's real-time state."""
        snapshot: RequestSnapshot | None = None
        problem: Exception | None = None
        try:
            if not isinstance(session, VideoSession):
                raise InputError(f"session must be a VideoSession (runtime.session()), got {type(session).__name__}")
            snapshot = session.request(request)
        except Exception as exc:  # noqa: BLE001 - reported through _serve as this request's failure
            problem = exc
        mapped = MappedIds(ids={}, unknown=[], looked=0)

        def infer(model: VideoModel, handle: ModelHandle) -> Ranking:
            nonlocal mapped
            if problem is not None:
                raise problem
            assert snapshot is not None
            if model.seq_len > (session.watched.maxlen or 0):
                raise InputError(f"the model reads {model.seq_len} watched items, the session keeps only {session.watched.maxlen} "
                                 "(raise history_limit)")
            mapped = model.mapped_ids(snapshot)
            unknown = mapped.unknown
            if unknown:
                raise InputError(f"ids outside the model's vocabulary: {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
            ranked = model.rank(snapshot, mapped)
            return VideoRanking(items=ranked.items, labels=None, scores=ranked.scores, source="model", fields=mapped.looked,
                                placed=ranked.placed, evaluations=ranked.evaluations, inputs=ranked.inputs, outputs=ranked.outputs)

        def fallback(handle: ModelHandle | None, error: str) -> Ranking:
            items = list(snapshot.video_ids) if snapshot is not None else server_order(request)
            return VideoRanking(items=items, labels=None, scores=None, source="fallback", error=error,
                                unknown=list(mapped.unknown), fields=mapped.looked)

        return self._serve(getattr(session, "user_id", None), infer, fallback)  # type: ignore[return-value]
