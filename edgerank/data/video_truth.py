"""Ground truth for re-ranking: the true expected ListReward of any order of a request.

Shown a list, the simulated user watches it top-down: each item's true probabilities depend on
the session so far *including the items just watched above it* (interest drift, fatigue, time),
and the user's realised feedback on it moves what comes next. ListReward needs
``E[sum_i s_i (alpha p_ev_i + beta p_like_i)]`` with ``s_i = prod_{j<i} p_has_next_j`` under that
process; it is estimated by Monte Carlo over feedback draws, with the same random numbers for
every order of one request (common random numbers), so orders are compared, not noise.
"""

from __future__ import annotations

import numpy as np

from edgerank.data.video_simulator import Request, SimConfig, Watched, World, sigmoid, true_logits


def history_of(request: Request) -> list[Watched]:
    """The session's watched items as the simulator kept them, rebuilt from the request log."""
    return [
        Watched(
            video=int(request.seq_id[j]),
            time=float(request.time - request.seq_time_gap[j]),
            position=int(round(request.position - request.seq_pos_gap[j])),
            feedback=np.asarray(request.seq_feedback[j], dtype=np.float64),
            pxtr=np.asarray(request.seq_pxtr[j], dtype=np.float64),
        )
        for j in range(len(request.seq_id))
    ]


def expected_list_reward(
    cfg: SimConfig,
    world: World,
    request: Request,
    slots: np.ndarray,
    alpha: float,
    beta: float,
    rollouts: int = 8,
    seed: int = 0,
) -> float:
    """True expected ListReward of showing candidate ``slots`` (display order, -1 = empty)."""
    slots = [int(s) for s in slots if s >= 0]
    start = history_of(request)
    total = 0.0
    for rollout in range(rollouts):
        rng = np.random.default_rng([seed, rollout])
        history, now, position, survive = list(start), float(request.time), int(request.position), 1.0
        for slot in slots:
            video = request.cand_id[slot : slot + 1]
            preload = request.preload_time[slot : slot + 1]
            p = sigmoid(true_logits(cfg, world, request.user, video, preload, history, now, position))[0]
            total += survive * (alpha * p[1] + beta * p[2])
            survive *= p[0]
            feedback = (rng.random(3) < p).astype(np.float64)
            history.append(Watched(int(video[0]), now, position, feedback, request.cand_pxtr[slot]))
            watched = world.duration[video[0]] * (rng.uniform(0.6, 1.0) if feedback[1] else rng.uniform(0.05, 0.3))
            now += float(watched) + float(preload[0]) + 1.0
            position += 1
    return total / rollouts
