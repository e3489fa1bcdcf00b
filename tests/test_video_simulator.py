"""The session simulator: deterministic, and each knob controls exactly the effect it names."""

from __future__ import annotations

import numpy as np
import pytest

from edgerank.data.video_simulator import (
    DRIFT_W,
    POSITION_SCALE,
    TIME_SCALE_S,
    SimConfig,
    Watched,
    World,
    feedback_score,
    make_world,
    simulate,
    true_logits,
)
from edgerank.errors import ConfigError

SMALL = dict(num_users=150, num_videos=400, sessions_per_user=2)


def sequence_signal(cfg: SimConfig, r) -> np.ndarray:
    """What the logged real-time sequence says about each candidate (same category feedback, decayed)."""
    if len(r.seq_id) == 0:
        return np.zeros(len(r.cand_id))
    decay = np.exp(-cfg.time_gap_effect * r.seq_time_gap / TIME_SCALE_S) * np.exp(
        -cfg.position_effect * r.seq_pos_gap / POSITION_SCALE
    )
    same = r.cand_cat[:, None] == r.seq_cat[None, :]
    return same.astype(float) @ (feedback_score(r.seq_feedback) * decay)


def logistic_slope(x: np.ndarray, y: np.ndarray, offset: np.ndarray, steps: int = 25) -> float:
    """Maximum-likelihood b of ``P(y) = sigmoid(offset + a + b x)`` (Newton's method)."""
    X = np.stack([np.ones_like(x), x], axis=1)
    w = np.zeros(2)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(offset + X @ w)))
        hessian = X.T @ (X * (p * (1 - p))[:, None]) + 1e-9 * np.eye(2)
        w += np.linalg.solve(hessian, X.T @ (y - p))
    return float(w[1])


def test_same_seed_same_sessions_other_seed_other_sessions():
    a, _ = simulate(SimConfig(**SMALL, seed=5))
    b, _ = simulate(SimConfig(**SMALL, seed=5))
    c, _ = simulate(SimConfig(**SMALL, seed=6))
    assert len(a) == len(b) and len(a) > 500
    for x, y in zip(a, b):
        assert np.array_equal(x.cand_id, y.cand_id) and np.array_equal(x.labels, y.labels)
        assert np.array_equal(x.cand_pxtr, y.cand_pxtr) and np.array_equal(x.seq_feedback, y.seq_feedback)
    assert [r.cand_id.tolist() for r in a[:20]] != [r.cand_id.tolist() for r in c[:20]]


def test_ground_truth_is_kept_and_labels_follow_it():
    requests, _ = simulate(SimConfig(**SMALL, seed=1))
    truth = np.concatenate([r.true_prob for r in requests])
    labels = np.concatenate([r.labels for r in requests])
    assert truth.shape == labels.shape and truth.shape[1] == 3
    # calibration: within bins of the true probability, the label rate matches it
    for task in range(3):
        bins = np.digitize(truth[:, task], [0.2, 0.4, 0.6, 0.8])
        for b in np.unique(bins):
            sel = bins == b
            if sel.sum() > 2000:
                assert abs(labels[sel, task].mean() - truth[sel, task].mean()) < 0.03


@pytest.mark.parametrize("drift", [0.0, 1.0])
def test_drift_knob_decides_whether_the_sequence_informs_the_next_choice(drift):
    """Measured on the log: slope of the label on the sequence signal, given all other truth."""
    cfg = SimConfig(**SMALL, drift=drift, seed=2)
    requests, _ = simulate(cfg)
    with_history = [r for r in requests if len(r.seq_id)]
    signal = np.concatenate([sequence_signal(cfg, r) for r in with_history])
    assert np.abs(signal).max() > 1.0  # the sequence does carry same-category feedback
    for task in (1, 2):  # effective_view, like
        truth = np.concatenate([r.true_prob[:, task] for r in with_history])
        label = np.concatenate([r.labels[:, task] for r in with_history])
        drift_free = np.log(truth / (1 - truth)) - drift * DRIFT_W[task] * signal
        slope = logistic_slope(signal, label, drift_free)
        if drift == 0.0:
            assert abs(slope) < 0.15, slope  # no information beyond the drift-free truth
        else:
            assert slope > 0.6 * DRIFT_W[task], slope


def _world() -> tuple[SimConfig, World]:
    cfg = SimConfig(num_users=3, num_videos=50, num_categories=4)
    return cfg, make_world(cfg, np.random.default_rng(0))


def test_drift_fades_with_time_gap_and_position_gap_only_when_their_knobs_are_on():
    _, world = _world()
    video = int(np.flatnonzero(world.category == world.category[0])[1])  # same category as video 0
    liked = np.array([1.0, 1.0, 1.0])
    recent = [Watched(0, time=590.0, position=29, feedback=liked, pxtr=liked)]
    old_by_time = [Watched(0, time=0.0, position=29, feedback=liked, pxtr=liked)]
    old_by_position = [Watched(0, time=590.0, position=0, feedback=liked, pxtr=liked)]

    def like_logit(cfg: SimConfig, history: list[Watched]) -> float:
        return float(true_logits(cfg, world, 0, np.array([video]), np.zeros(1), history, now=600.0, position=30)[0, 2])

    on = SimConfig(num_users=3, num_videos=50, num_categories=4, drift=1.0)
    none = like_logit(on, [])
    assert like_logit(on, recent) - none > 1.5  # 1.6 feedback x 1.2 weight x 0.87 decay
    assert like_logit(on, old_by_time) - none < 0.3 * (like_logit(on, recent) - none)
    assert like_logit(on, old_by_position) - none < 0.3 * (like_logit(on, recent) - none)
    off = SimConfig(num_users=3, num_videos=50, num_categories=4, drift=1.0, time_gap_effect=0.0, position_effect=0.0)
    assert like_logit(off, old_by_time) == pytest.approx(like_logit(off, recent))
    assert like_logit(off, old_by_position) == pytest.approx(like_logit(off, recent))


def test_position_knob_drives_fatigue_on_has_next():
    cfg, world = _world()
    videos = np.arange(10)
    early = true_logits(cfg, world, 1, videos, np.zeros(10), [], now=0.0, position=0)
    late = true_logits(cfg, world, 1, videos, np.zeros(10), [], now=0.0, position=40)
    assert np.all(late[:, 0] < early[:, 0] - 1.0) and np.allclose(late[:, 1:], early[:, 1:])
    flat = SimConfig(num_users=3, num_videos=50, num_categories=4, position_effect=0.0)
    assert np.allclose(true_logits(flat, world, 1, videos, np.zeros(10), [], 0.0, 40), early)


@pytest.mark.parametrize("effect", [0.0, 1.0])
def test_network_knob_moves_effective_views_between_slow_and_fast_networks(effect):
    requests, _ = simulate(SimConfig(**SMALL, network_effect=effect, seed=3))
    speed = np.array([r.network_speed for r in requests])
    slow, fast = speed < np.quantile(speed, 0.25), speed > np.quantile(speed, 0.75)
    rate = lambda sel: np.concatenate([r.labels[:, 1] for r, s in zip(requests, sel) if s]).mean()  # noqa: E731
    gap = rate(fast) - rate(slow)
    if effect:
        assert gap > 0.1, gap
    else:
        assert abs(gap) < 0.03, gap


def test_server_scores_get_worse_with_noise():
    def pxtr_auc(noise: float) -> float:
        requests, _ = simulate(SimConfig(**SMALL, pxtr_noise=noise, seed=4))
        p = np.concatenate([r.cand_pxtr[:, 2] for r in requests])
        y = np.concatenate([r.labels[:, 2] for r in requests])
        ranks = p.argsort().argsort()
        n_pos = y.sum()
        return float((ranks[y > 0].sum() - n_pos * (n_pos - 1) / 2) / (n_pos * (len(y) - n_pos)))

    clean, noisy = pxtr_auc(0.0), pxtr_auc(2.0)
    assert clean > noisy + 0.05, (clean, noisy)


def test_bad_knobs_are_config_errors():
    with pytest.raises(ConfigError, match="drift"):
        SimConfig(drift=-1.0)
    with pytest.raises(ConfigError, match="candidates"):
        SimConfig(candidates=(30, 20))
