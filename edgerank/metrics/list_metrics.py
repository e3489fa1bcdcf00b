"""Logged-label list metrics, as re-ranking papers report them: NDCG@k and MAP@k.

They need only what every data source has, the logged labels of each request (a simulator's true
probabilities and a real log's missing ones play no part), so they compare a ranker across data
sources and with published numbers. Definitions follow LibRerank's ``evaluate_multi`` (the
reference implementation behind PRM / Seq2Slate comparisons) and torchmetrics'
``RetrievalNormalizedDCG`` / ``RetrievalMAP`` with ``top_k`` (tests check both agree):

- the *gain* of a candidate is ``alpha * effective_view + beta * like`` of its logged labels, the
  weights ListReward puts on the two tasks (see :mod:`edgerank.core.list_reward`);
- ``DCG@k = sum_{i<=k} gain_i / log2(i + 1)`` over the list's first k positions (a position past
  the end of the list, or holding an unlabelled row, gains 0); ``NDCG@k = DCG@k / IDCG@k`` with
  the ideal top-k of the request's labelled rows, 0 when no labelled row has a gain;
- a row is *relevant* when its gain is positive; ``AP@k`` is the mean precision at the relevant
  positions of the first k, 0 when none is relevant (LibRerank's and torchmetrics' ``top_k``
  normalisation: by the relevant items found, not by all relevant items).

Gains are linear (torchmetrics, ``sklearn.metrics.ndcg_score``); LibRerank's ``2**label - 1``
is the same for 0/1 labels and differs only where both tasks are positive.
"""

from __future__ import annotations

import numpy as np

from edgerank.core.list_reward import EFFECTIVE_VIEW, LIKE

LIST_METRICS = ("ndcg@5", "ndcg@10", "map@10")


def gains(labels: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """``[m]`` gain per candidate slot from its logged labels ``[m, 3]`` (has_next, ev, like)."""
    labels = np.asarray(labels, dtype=np.float64)
    return alpha * labels[:, EFFECTIVE_VIEW] + beta * labels[:, LIKE]


def _shown_gains(slots: np.ndarray, gain: np.ndarray, labelled: np.ndarray, k: int) -> np.ndarray:
    """Gain at each of the first k positions of a list of slots (-1 = empty position)."""
    slots = np.asarray(slots, dtype=np.int64)[:k]
    shown = np.zeros(k)
    real = slots >= 0
    picked = slots[real]
    shown[: len(slots)][real] = np.where(labelled[picked], gain[picked], 0.0)
    return shown


def ndcg_at_k(slots: np.ndarray, gain: np.ndarray, labelled: np.ndarray, k: int) -> float:
    """NDCG@k of the list ``slots`` (display order) under per-slot ``gain`` and ``labelled`` mask."""
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(np.sum(_shown_gains(slots, gain, labelled, k) * discount))
    ideal = np.sort(gain[labelled])[::-1][:k]
    idcg = float(np.sum(ideal * discount[: len(ideal)]))
    return dcg / idcg if idcg > 0 else 0.0


def average_precision_at_k(slots: np.ndarray, gain: np.ndarray, labelled: np.ndarray, k: int) -> float:
    """AP@k: mean of precision@i over the relevant (gain > 0) positions i <= k; 0 without any."""
    relevant = _shown_gains(slots, gain, labelled, k) > 0
    if not relevant.any():
        return 0.0
    hits = np.cumsum(relevant)
    return float(np.mean(hits[relevant] / (np.flatnonzero(relevant) + 1)))


def list_metrics(slots: np.ndarray, gain: np.ndarray, labelled: np.ndarray) -> dict[str, float]:
    """The :data:`LIST_METRICS` of one list."""
    labelled = np.asarray(labelled, dtype=bool)
    return {
        "ndcg@5": ndcg_at_k(slots, gain, labelled, 5),
        "ndcg@10": ndcg_at_k(slots, gain, labelled, 10),
        "map@10": average_precision_at_k(slots, gain, labelled, 10),
    }
