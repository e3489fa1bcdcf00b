"""ListReward (Kuaishou, CIKM 2022): the expected reward of a list for a user who may stop scrolling.

``LR(P) = sum_i s_i * (alpha * p(ev_i | c(i)) + beta * p(like_i | c(i)))`` with ``s_1 = 1`` and
``s_i = prod_{j<i} p(has_next_j | c(j))``: item i only counts if the user is still scrolling.
"""

from __future__ import annotations

import numpy as np

from edgerank.core.video_features import TASKS

HAS_NEXT, EFFECTIVE_VIEW, LIKE = (TASKS.index(t) for t in ("has_next", "effective_view", "like"))  # in every probability tensor


def list_reward(probs: np.ndarray, alpha: float, beta: float) -> float:
    """ListReward of a list whose item i has probabilities ``probs[i] = (has_next, ev, like)``."""
    probs = np.asarray(probs, dtype=np.float64)
    survive = np.concatenate([[1.0], np.cumprod(probs[:-1, HAS_NEXT])])
    return float(np.sum(survive * (alpha * probs[:, EFFECTIVE_VIEW] + beta * probs[:, LIKE])))
