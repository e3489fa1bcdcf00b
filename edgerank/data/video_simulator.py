"""Seeded short-video session simulator (Kuaishou on-device re-ranking, CIKM 2022).

Users scroll an immersive feed in sessions. A session is a sequence of server *requests*; each
returns a few dozen candidates with server scores pXTR (one per task). The user then watches the
first ``watched_per_request`` candidates in server order (stopping early, and pausing, after an
item with ``has_next = 0``); their feedback enters the real-time sequence that the phone sees
at the next request.

Labels: every candidate of a request is labelled ``has_next`` / ``effective_view`` / ``like`` by
drawing from its ground-truth probability *at the request's moment* (a full-feedback log, which
only a simulator can afford). The watched head is the exception, because it really was watched
in order: item k is labelled from its truth *after* items 0..k-1 of the same list (their
feedback, the time they took, the positions they used), and ``Request.exposed`` says how long
that head is. This in-list context is what generative re-rankers model (see
:mod:`edgerank.data.video_truth` for scoring any order against this ground truth). The true
probabilities are kept so rankers can later be scored against ground truth.

Ground truth, per task t (logit):

    static   = base_t + quality[v, t] + interest_w[t] * interest[u, cat(v)] + duration effect
    network  = - network_effect * net_w[t] * log1p(preload_time)          (client-only signal)
    fatigue  = - position_effect * session_position / 20                  (has_next only)
    drift    = drift * drift_w[t] * sum_j [cat_j == cat(v)] * f_j * decay_j   (in-session interest)
    decay_j  = exp(-time_gap_effect * time_gap_j / 300 s) * exp(-position_effect * position_gap_j / 10)

with ``f_j = like_j + 0.6 * (2 * effective_view_j - 1)`` the feedback on watched item ``j``.
Each effect has its own knob, and 0 switches it off exactly. The server score is *stale*: it
sees the static part and only the drift of items watched more than ``stale_seconds`` ago, never
the network or fatigue terms, plus Gaussian noise (``pxtr_noise``) on the logit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from edgerank.config_values import int_range, non_negative, positive_int
from edgerank.core.video_features import TASKS

BASE_LOGIT = np.array([3.0, 0.8, -1.8])  # observed rates about .88 has_next, .4 effective view, .15 like
INTEREST_W = np.array([0.3, 0.8, 1.0])
DRIFT_W = np.array([0.4, 1.0, 1.2])
NETWORK_W = np.array([0.5, 1.0, 0.3])
VIDEO_MBIT_PER_S = 1.5  # bitrate; the first 30 s are preloaded
TIME_SCALE_S = 300.0  # drift of a watched item fades over minutes ...
POSITION_SCALE = 10.0  # ... and over the exposures since it
FATIGUE_SCALE = 20.0
COUNTS = ("num_users", "num_videos", "num_categories", "sessions_per_user", "watched_per_request")
EFFECTS = ("drift", "network_effect", "position_effect", "time_gap_effect", "pxtr_noise", "stale_seconds")


@dataclass(frozen=True)
class SimConfig:
    """Knobs of the simulator. Volume: ``num_users * sessions_per_user`` sessions."""

    num_users: int = 600  # volume: num_users * sessions_per_user sessions (~9k requests)
    num_videos: int = 1500
    num_categories: int = 12
    sessions_per_user: int = 3
    requests_per_session: tuple[int, int] = (3, 7)
    candidates: tuple[int, int] = (20, 50)  # candidates per request (min, max)
    watched_per_request: int = 6  # head of each list the user watches -> real-time sequence
    drift: float = 1.0  # in-session interest drift from feedback on watched items (0: none)
    network_effect: float = 1.0  # preload time lowers effective view (0: none)
    position_effect: float = 1.0  # fatigue over the session + drift fading with exposures (0: none)
    time_gap_effect: float = 1.0  # drift fading with time since the watched exposure (0: none)
    pxtr_noise: float = 0.5  # std of the noise on the server's logits
    stale_seconds: float = 300.0  # the server has not seen feedback younger than this
    seed: int = 0

    def __post_init__(self) -> None:
        checked: dict[str, Any] = {name: positive_int(name, getattr(self, name)) for name in COUNTS}
        checked |= {name: int_range(name, getattr(self, name)) for name in ("requests_per_session", "candidates")}
        checked |= {name: non_negative(name, getattr(self, name)) for name in EFFECTS}
        checked["seed"] = int(self.seed)
        for name, value in checked.items():  # frozen: the checked, normalised values replace the given ones
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class World:
    """Users and videos: what stays fixed across sessions."""

    category: np.ndarray  # [V] int
    duration: np.ndarray  # [V] seconds
    quality: np.ndarray  # [V, T] logit offsets
    popularity: np.ndarray  # [V] sampling weight of the server's retrieval
    interest: np.ndarray  # [U, C] long-term interest


@dataclass
class Watched:
    """One watched item in a session's history."""

    video: int
    time: float  # seconds since session start when it was exposed
    position: int  # index in the session's exposure order
    feedback: np.ndarray  # [T] labels (has_next, effective_view, like)
    pxtr: np.ndarray  # [T] server scores it was served with


@dataclass
class Request:
    """One server request with everything logged about it (variable lengths, raw units)."""

    user: int
    session: int
    time: float
    position: int  # session position of the first slot this request fills
    network_speed: float  # Mbit/s
    cand_id: np.ndarray  # [m] int
    cand_cat: np.ndarray  # [m] int
    cand_duration: np.ndarray  # [m] seconds
    preload_time: np.ndarray  # [m] seconds
    cand_pxtr: np.ndarray  # [m, T] server probabilities
    labels: np.ndarray  # [m, T] 0/1
    true_prob: np.ndarray  # [m, T] ground truth
    seq_id: np.ndarray  # [n] watched videos, oldest first (the whole session so far)
    seq_cat: np.ndarray
    seq_duration: np.ndarray
    seq_feedback: np.ndarray  # [n, T]
    seq_pxtr: np.ndarray  # [n, T]
    seq_time_gap: np.ndarray  # [n] seconds between the watched exposure and this request
    seq_pos_gap: np.ndarray  # [n] exposures between the watched item and this request
    exposed: int = 0  # length of the watched head (slots 0..exposed-1, labelled in list context)
    exposure_time: list[float] = field(default_factory=list)  # [exposed] when each head slot was shown
    extras: dict[str, np.ndarray] = field(default_factory=dict)


def make_world(cfg: SimConfig, rng: np.random.Generator) -> World:
    c, v = cfg.num_categories, cfg.num_videos
    category_share = rng.dirichlet(np.full(c, 2.0))
    return World(
        category=rng.choice(c, size=v, p=category_share),
        duration=np.clip(rng.lognormal(np.log(25.0), 0.8, size=v), 5.0, 300.0),
        quality=rng.normal(0.0, [0.4, 0.6, 0.6], size=(v, len(TASKS))),
        popularity=rng.lognormal(0.0, 1.0, size=v),
        interest=rng.normal(0.0, 1.0, size=(cfg.num_users, c)),
    )


def feedback_score(feedback: np.ndarray) -> np.ndarray:
    """How much a watched item's feedback moves interest in its category (like > view > skip)."""
    return feedback[..., 2] + 0.6 * (2.0 * feedback[..., 1] - 1.0)


def drift_signal(
    cfg: SimConfig, cand_cat: np.ndarray, history: list[Watched], world: World, now: float, position: int
) -> np.ndarray:
    """Per candidate: sum over watched items of the same category of feedback x decay.

    Also the oracle a test uses to measure how much the real-time sequence tells.
    """
    if not history:
        return np.zeros(len(cand_cat))
    cats = world.category[[h.video for h in history]]
    times = np.array([h.time for h in history])
    positions = np.array([h.position for h in history], dtype=np.float64)
    scores = feedback_score(np.array([h.feedback for h in history]))
    decay = np.exp(-cfg.time_gap_effect * (now - times) / TIME_SCALE_S) * np.exp(
        -cfg.position_effect * (position - positions) / POSITION_SCALE
    )
    return (cand_cat[:, None] == cats[None, :]).astype(np.float64) @ (scores * decay)


def true_logits(
    cfg: SimConfig,
    world: World,
    user: int,
    videos: np.ndarray,
    preload_time: np.ndarray,
    history: list[Watched],
    now: float,
    position: int,
) -> np.ndarray:
    """Ground-truth logits ``[m, T]`` of candidates ``videos`` at this moment of the session."""
    cat = world.category[videos]
    static = BASE_LOGIT + world.quality[videos] + INTEREST_W * world.interest[user, cat][:, None]
    static[:, 1] -= 0.4 * np.log(world.duration[videos] / 25.0)  # long videos are viewed less fully
    network = -cfg.network_effect * NETWORK_W * np.log1p(preload_time)[:, None]
    fatigue = np.zeros(len(TASKS))
    fatigue[0] = -cfg.position_effect * position / FATIGUE_SCALE
    drift = cfg.drift * DRIFT_W * drift_signal(cfg, cat, history, world, now, position)[:, None]
    return static + network + fatigue + drift


def server_logits(
    cfg: SimConfig, world: World, user: int, videos: np.ndarray, history: list[Watched], now: float, position: int, rng: np.random.Generator
) -> np.ndarray:
    """The stale, noisy server estimate: static part + drift it has seen + noise."""
    seen = [h for h in history if now - h.time > cfg.stale_seconds]
    zero = np.zeros(len(videos))
    logits = true_logits(cfg, world, user, videos, zero, seen, now, position)
    logits[:, 0] += cfg.position_effect * position / FATIGUE_SCALE  # no fatigue term on the server
    return logits + rng.normal(0.0, cfg.pxtr_noise, size=logits.shape)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate(cfg: SimConfig) -> tuple[list[Request], World]:
    """Run every session; returns the requests in generation order and the world."""
    rng = np.random.default_rng(cfg.seed)
    world = make_world(cfg, rng)
    retrieval = world.popularity / world.popularity.sum()
    requests: list[Request] = []
    session_id = 0
    for user in range(cfg.num_users):
        # retrieval favours the user's long-term categories, as a server would
        affinity = np.exp(0.5 * world.interest[user, world.category]) * retrieval
        affinity /= affinity.sum()
        for _ in range(cfg.sessions_per_user):
            requests.extend(_session(cfg, world, user, session_id, affinity, rng))
            session_id += 1
    return requests, world


def _session(
    cfg: SimConfig, world: World, user: int, session: int, affinity: np.ndarray, rng: np.random.Generator
) -> list[Request]:
    history: list[Watched] = []
    now, position = 0.0, 0
    out: list[Request] = []
    network_speed = float(np.clip(rng.lognormal(np.log(4.0), 1.0), 0.2, 80.0))  # Mbit/s, per session
    for _ in range(rng.integers(cfg.requests_per_session[0], cfg.requests_per_session[1] + 1)):
        m = int(rng.integers(cfg.candidates[0], cfg.candidates[1] + 1))
        videos = rng.choice(cfg.num_videos, size=m, replace=False, p=affinity)
        speed = float(np.clip(network_speed * rng.lognormal(0.0, 0.3), 0.1, 100.0))  # fluctuates per request
        size_mbit = VIDEO_MBIT_PER_S * np.minimum(world.duration[videos], 30.0)
        preload = size_mbit / speed * rng.lognormal(0.0, 0.2, size=m)
        pxtr = sigmoid(server_logits(cfg, world, user, videos, history, now, position, rng))
        truth = sigmoid(true_logits(cfg, world, user, videos, preload, history, now, position))
        labels = (rng.random(truth.shape) < truth).astype(np.float32)
        # the server orders by a blend of its scores; the user watches the head of that order
        order = np.argsort(-(pxtr[:, 1] + pxtr[:, 2]), kind="stable")
        videos, preload, pxtr, truth, labels = videos[order], preload[order], pxtr[order], truth[order], labels[order]
        out.append(
            Request(
                user=user,
                session=session,
                time=now,
                position=position,
                network_speed=speed,
                cand_id=videos.astype(np.int64),
                cand_cat=world.category[videos].astype(np.int64),
                cand_duration=world.duration[videos],
                preload_time=preload,
                cand_pxtr=pxtr,
                labels=labels,
                true_prob=truth,
                seq_id=np.array([h.video for h in history], dtype=np.int64),
                seq_cat=np.array([world.category[h.video] for h in history], dtype=np.int64),
                seq_duration=np.array([world.duration[h.video] for h in history]),
                seq_feedback=np.array([h.feedback for h in history]).reshape(-1, len(TASKS)),
                seq_pxtr=np.array([h.pxtr for h in history]).reshape(-1, len(TASKS)),
                seq_time_gap=np.array([now - h.time for h in history]),
                seq_pos_gap=np.array([position - h.position for h in history], dtype=np.float64),
            )
        )
        stopped = False
        for k in range(min(cfg.watched_per_request, m)):
            if k > 0:  # watched after the items above it: their feedback, time and positions count
                truth[k] = sigmoid(true_logits(cfg, world, user, videos[k : k + 1], preload[k : k + 1], history, now, position))[0]
                labels[k] = (rng.random(len(TASKS)) < truth[k]).astype(np.float32)
            out[-1].exposed = k + 1
            out[-1].exposure_time.append(now)
            ev = labels[k, 1] > 0
            history.append(Watched(int(videos[k]), now, position, labels[k].copy(), pxtr[k].copy()))
            watch = world.duration[videos[k]] * (rng.uniform(0.6, 1.0) if ev else rng.uniform(0.05, 0.3))
            now += float(watch) + float(preload[k]) + 1.0
            position += 1
            if labels[k, 0] == 0:  # the user stopped scrolling: the rest of this list goes unwatched
                stopped = True
                break
        # a pause before the next request: after a stop always long (the phone was put away),
        # otherwise mostly short
        long_pause = stopped or rng.random() < 0.2
        now += float(rng.lognormal(np.log(120.0), 0.8)) if long_pause else float(rng.uniform(0.5, 3.0))
    return out
