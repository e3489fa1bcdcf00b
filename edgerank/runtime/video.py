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
:func:`edgerank.data.video_contract.encode_rows` from the session's history and the request's
candidates written as feed-log rows - the very function that encoded the training log (numpy
only, no torch); ids go through the manifest's id maps (:mod:`edgerank.data.video_ids`). The model refuses to load when a manifest
input's declared transform is not the one this code applies, so a drifted declaration can never
be silently mis-encoded. Fixed shapes come from the manifest: the most recent ``seq_len`` items
(oldest first), candidates padded to ``candidates``.

**Output.** A plain model (outputs per task) ranks all candidates by ``sum_t weights[t] * p_t``
(default effective_view + like; ties keep server order). A model exported with a ranker returns
its list (``ranked`` slots; adaptive beam search runs its ``prepare``/``step``/``finish`` loop
here with the torch-free :func:`edgerank.rankers.loop.drive`, the very loop PyTorch evaluation runs); the candidates it did not place follow in server
order. ``placed`` says how many head items the model ordered; ``scores`` covers those.

**Fallback for videos: the server order**, unchanged, recorded as a failure with its reason.
It is returned for a missing/corrupt/unloadable model, zero candidates, more candidates than
the fixed shape (never silently dropped), NaN/inf or non-positive network speed, an id outside
an ``identity`` vocabulary (listed in ``unknown``; a model trained on a log with ``data.ids=hash``
maps every id to a bucket, so an unseen id is never a fallback),
a missing network reading, or a malformed event. Non-request events never raise either: a bad
one is skipped and kept in ``session.problems``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgerank.data.video_contract import check_rows, encode_rows
from edgerank.data.video_features import BY_NAME, TASKS
from edgerank.data.video_ids import IdMap
from edgerank.errors import ConfigError
from edgerank.monitor.events import EventLog
from edgerank.runtime.artifact import ArtifactError, InputError, TensorSpec, VerifiedArtifact, require
from edgerank.rankers.loop import SIGNATURES as ADAPTIVE_SIGNATURES, drive
from edgerank.runtime.guard import GuardedRuntime, Ranking
from edgerank.runtime.input_check import check_inputs
from edgerank.runtime.sources import ModelHandle, ModelSource

SCENARIO = "short_video_rerank"
DEFAULT_WEIGHTS = {"effective_view": 1.0, "like": 1.0}
HAS_NEXT, EFFECTIVE_VIEW, LIKE = (TASKS.index(t) for t in ("has_next", "effective_view", "like"))


# --------------------------------------------------------------------------------------------
# the session state (strict: raises InputError on a bad event)
# --------------------------------------------------------------------------------------------
@dataclass
class CandidateInfo:
    """What a request said about one video (kept so a later exposure knows its attributes)."""

    video_id: int | str
    category: int | str
    duration: float
    preload: float
    pxtr: np.ndarray  # [T] float64, task order of TASKS


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

    ``rows`` are the fields of :data:`edgerank.data.video_contract.ROW_FIELDS`: the watched
    history (one exposed row each, oldest first) and then the request's candidates, with raw
    ids; a model maps the ids by its manifest and encodes them with
    :func:`~edgerank.data.video_contract.encode_rows`, exactly as training encoded its log.
    """

    video_ids: list[Any]  # server order
    rows: dict[str, np.ndarray]
    history: int  # rows before the candidates


def _where(event: Mapping[str, Any], where: str | None) -> str:
    return where or f"event '{event.get('type', '?')}'"


def _number(event: Mapping[str, Any], key: str, default: Any = ..., where: str | None = None) -> float:
    if key not in event or event[key] is None:
        if default is ...:
            raise InputError(f"{_where(event, where)}: missing field '{key}'")
        return default
    value = event[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{_where(event, where)}: field '{key}' must be a number, got {value!r}")
    return float(value)


def _id(event: Mapping[str, Any], key: str, where: str | None = None) -> int | str:
    """An id as the log had it: an integer or a text (the model's id map turns it into its id)."""
    value = event.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{_where(event, where)}: field '{key}' must be an integer or a string, got {value!r}")
    return int(value)


def _pxtr(raw: Any, where: str) -> np.ndarray:
    if isinstance(raw, Mapping):
        missing = [t for t in TASKS if t not in raw]
        if missing:
            raise InputError(f"{where}: pxtr lacks {missing} (needs {list(TASKS)})")
        values = [raw[t] for t in TASKS]
    elif isinstance(raw, Sequence) and not isinstance(raw, (str, bytes)) and len(raw) == len(TASKS):
        values = list(raw)
    else:
        raise InputError(f"{where}: pxtr must be {{task: probability}} or {len(TASKS)} numbers {list(TASKS)}, got {raw!r}")
    try:
        return np.array([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{where}: pxtr values must be numbers, got {values!r}") from None


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
        self._recent: deque[dict[int, CandidateInfo]] = deque(maxlen=int(remember_requests))
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
        video, ts = _id(event, "video_id"), _number(event, "ts")
        info = next((r[video] for r in reversed(self._recent) if video in r), None)
        if all(k in event for k in ("category", "duration", "pxtr")):
            category, duration = _id(event, "category"), _number(event, "duration")
            pxtr = _pxtr(event["pxtr"], f"exposure of video {video}")
        elif info is not None:
            category, duration, pxtr = info.category, info.duration, info.pxtr
        else:
            raise InputError(f"exposure of video {video}: no recent request delivered it; give category, duration and pxtr")
        self.watched.append(WatchedItem(video, category, duration, pxtr.copy(), ts, self.exposures))
        self.exposures += 1

    def _item(self, event: Mapping[str, Any]) -> WatchedItem:
        video = _id(event, "video_id")
        for item in reversed(self.watched):
            if item.video_id == video:
                return item
        raise InputError(f"event '{event.get('type')}': video {video} was not exposed in this session")

    def _play(self, event: Mapping[str, Any]) -> None:
        item = self._item(event)
        if event.get("effective_view") is not None:
            effective = bool(event["effective_view"])
        else:
            effective = _number(event, "watched_seconds") >= self.effective_view_ratio * item.duration
        item.feedback[EFFECTIVE_VIEW] = max(item.feedback[EFFECTIVE_VIEW], float(effective))

    def _like(self, event: Mapping[str, Any]) -> None:
        self._item(event).feedback[LIKE] = 1.0

    def _skip(self, event: Mapping[str, Any]) -> None:
        self._item(event).feedback[HAS_NEXT] = 1.0

    def _network(self, event: Mapping[str, Any]) -> None:
        self.network_mbps = _number(event, "mbps")

    def request(self, event: Mapping[str, Any]) -> RequestSnapshot:
        """Remember the request's candidates and return it with the session state at ``ts``."""
        if not isinstance(event, Mapping):
            raise InputError(f"a request must be a mapping, got {type(event).__name__}")
        ts = _number(event, "ts")
        raw = event.get("candidates")
        if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
            raise InputError(f"request: 'candidates' must be a list, got {type(raw).__name__}")
        candidates = []
        for i, c in enumerate(raw):
            if not isinstance(c, Mapping):
                raise InputError(f"request: candidate {i} must be a mapping, got {type(c).__name__}")
            where = f"request: candidate {i}"
            candidates.append(CandidateInfo(_id(c, "video_id", where), _id(c, "category", where),
                                            _number(c, "duration", where=where), _number(c, "preload", where=where),
                                            _pxtr(c.get("pxtr"), where)))
        self._recent.append({c.video_id: c for c in candidates})
        speed = _number(event, "network_speed", self.network_mbps)
        if speed is None:
            raise InputError("request: no network reading yet (send a 'network' event or give network_speed)")
        if not candidates:
            raise InputError("request: zero candidates; every request needs at least one")
        seq = list(self.watched)
        n, m = len(seq), len(candidates)
        rows = {
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
        return RequestSnapshot([c.video_id for c in candidates], rows, n)


def server_order(request: Any) -> list[Any]:
    """Best-effort video ids of a (maybe malformed) request, in server order: the fallback."""
    try:
        return [c["video_id"] for c in request["candidates"] if isinstance(c, Mapping) and "video_id" in c]
    except Exception:  # noqa: BLE001 - nothing usable: an empty list
        return []


# --------------------------------------------------------------------------------------------
# the model (strict: raises on any problem)
# --------------------------------------------------------------------------------------------
@dataclass
class VideoRanking(Ranking):
    """:class:`Ranking` plus what re-ranking adds: how many head items the model placed
    (``scores`` covers those; the rest is in server order), the candidate scorings spent
    (adaptive beam search), and the exact model inputs and raw outputs (kept so an app can log
    a suspicious request and a test can compare them with the offline pipeline)."""

    placed: int = 0
    evaluations: int = 0
    inputs: dict[str, np.ndarray] | None = field(default=None, repr=False)
    outputs: dict[str, np.ndarray] | None = field(default=None, repr=False)


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
        signatures = manifest.get("signatures") or {}
        self.adaptive = set(ADAPTIVE_SIGNATURES) <= set(signatures)
        if len(signatures) > 1 and not self.adaptive:  # e.g. an adaptive beam from before 'finish'
            raise ArtifactError(f"{where}: signatures {sorted(signatures)}; this runtime drives an adaptive beam "
                                f"through {list(ADAPTIVE_SIGNATURES)} - re-export the run")
        inputs = artifact.inputs
        if self.adaptive:  # the request inputs are those of 'prepare'
            inputs = {t["name"]: TensorSpec(t["name"], str(t["dtype"]), tuple(t["shape"])) for t in signatures["prepare"]["inputs"]}
        for name, spec in inputs.items():
            declared = BY_NAME.get(name)
            if declared is None:
                raise ArtifactError(f"{where}: model input '{name}' is not a declared video input ({sorted(BY_NAME)})")
            if transforms.get(name) != declared.transform:
                raise ArtifactError(f"{where}: input '{name}' is declared as {transforms.get(name)!r}; this runtime encodes "
                                    f"{declared.transform!r} - refusing to guess")
            expected = (declared.dtype, tuple(declared.shape(1, self.max_candidates, self.seq_len)))
            if (spec.dtype, spec.shape) != expected:
                raise ArtifactError(f"{where}: input '{name}' is {spec.dtype}{list(spec.shape)}, expected {expected[0]}{list(expected[1])}")
        self.input_names = sorted(inputs)
        outputs = set(artifact.outputs)
        self.ranked = not self.adaptive and "ranked" in outputs
        if not (self.adaptive or self.ranked or set(TASKS) <= outputs):
            raise ArtifactError(f"{where}: outputs {sorted(outputs)} are neither per-task scores {list(TASKS)} nor a ranker's 'ranked'")
        self.weights = np.array([float((weights or DEFAULT_WEIGHTS).get(t, 0.0)) for t in TASKS], dtype=np.float64)
        if self.adaptive:
            options = manifest.get("ranker") or ranker or {}
            try:
                self.list_size, self.threshold = int(options["list_size"]), float(options["threshold"])
            except (KeyError, TypeError, ValueError):
                raise ArtifactError(f"{where}: an adaptive beam artifact needs list_size and threshold; the manifest has no "
                                    "'ranker' field, so pass VideoRuntime(ranker={'list_size': ..., 'threshold': ...})") from None
            from ai_edge_litert.interpreter import Interpreter

            try:
                interpreter = Interpreter(model_content=artifact.model_bytes, num_threads=num_threads)
                self._signatures = {n: interpreter.get_signature_runner(n) for n in ADAPTIVE_SIGNATURES}
            except Exception as exc:  # LiteRT raises ValueError/RuntimeError for unloadable models
                raise ArtifactError(f"{where}: LiteRT cannot load it ({type(exc).__name__}: {exc})") from None
        else:
            self.runner = artifact.runner(num_threads)

    def mapped_ids(self, snapshot: RequestSnapshot) -> tuple[dict[str, np.ndarray], list[str], int]:
        """Model ids of the snapshot's rows by the manifest's id maps, the ids the model has no row
        for (``name=value``, only an ``identity`` map has such), and how many ids were looked at."""
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
        return mapped, sorted(unknown, key=lambda u: not u.startswith("cand_")), looked

    def encode(self, snapshot: RequestSnapshot, mapped: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """The model's inputs, ``[1, ...]`` fixed shapes, by the shared contract."""
        rows = {**snapshot.rows, **(mapped if mapped is not None else self.mapped_ids(snapshot)[0])}
        h = snapshot.history
        check_rows(rows, lambda i: f"candidate {i - h}" if i >= h else f"watched item {i}", ranges=False)  # ranges: check_inputs
        arrays = encode_rows(rows, self.max_candidates, self.seq_len, only=np.array([-1]))  # the last request: the candidates
        return {name: arrays[name] for name in self.input_names}

    def infer(self, inputs: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, int]:
        """Raw outputs, the ordered slots the model placed, their scores, and candidate scorings."""
        m = int(np.sum(inputs["cand_mask"] > 0.5))
        if self.adaptive:
            result = drive(self._signatures, {k: np.ascontiguousarray(v) for k, v in inputs.items()}, self.list_size, self.threshold)
            outputs = {"ranked": result.slots[None].astype(np.int32), "gains": result.gains[None]}
            return outputs, result.slots, result.gains, result.evaluations
        outputs = {k: np.asarray(v) for k, v in self.runner(**inputs).items()}
        if self.ranked:
            return outputs, outputs["ranked"][0].astype(np.int64), outputs["gains"][0], m
        probs = np.stack([outputs[t][0, :m] for t in TASKS], axis=-1).astype(np.float64)
        key = probs @ self.weights
        slots = np.argsort(-key, kind="stable")  # ties keep the server order
        return outputs, slots, key[slots], m

    def rank(self, snapshot: RequestSnapshot, mapped: Mapping[str, np.ndarray] | None = None
             ) -> tuple[list[Any], list[float], int, int, dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Video ids (model head, then the unplaced candidates in server order), head scores,
        head length, candidate scorings, model inputs and raw outputs."""
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # such values are refused next
            inputs = self.encode(snapshot, mapped)
        check_inputs(inputs, BY_NAME)
        outputs, slots, scores, evaluations = self.infer(inputs)
        m = len(snapshot.video_ids)
        keep = (slots >= 0) & (slots < m)  # -1: no candidate left for that position
        head = [int(s) for s in slots[keep]]
        placed = set(head)
        items = [snapshot.video_ids[s] for s in head] + [v for i, v in enumerate(snapshot.video_ids) if i not in placed]
        return items, [float(s) for s in np.asarray(scores)[keep]], len(head), evaluations, inputs, outputs


# --------------------------------------------------------------------------------------------
# what an app calls (never raises)
# --------------------------------------------------------------------------------------------
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
        unknown: list[str] = []
        looked = 0

        def infer(model: VideoModel, handle: ModelHandle) -> Ranking:
            nonlocal unknown, looked
            if problem is not None:
                raise problem
            assert snapshot is not None
            if model.seq_len > (session.watched.maxlen or 0):
                raise InputError(f"the model reads {model.seq_len} watched items, the session keeps only {session.watched.maxlen} "
                                 "(raise history_limit)")
            mapped, unknown, looked = model.mapped_ids(snapshot)
            if unknown:
                raise InputError(f"ids outside the model's vocabulary: {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
            items, scores, placed, evaluations, inputs, outputs = model.rank(snapshot, mapped)
            return VideoRanking(items, None, scores, "model", handle.model, handle.version, handle.group, 0.0,
                                fields=looked, placed=placed, evaluations=evaluations, inputs=inputs, outputs=outputs)

        def fallback(handle: ModelHandle | None, error: str) -> Ranking:
            items = list(snapshot.video_ids) if snapshot is not None else server_order(request)
            return VideoRanking(items, None, None, "fallback", "", "", "", 0.0, error=error, unknown=list(unknown),
                                fields=looked)

        return self._serve(getattr(session, "user_id", None), infer, fallback)  # type: ignore[return-value]
