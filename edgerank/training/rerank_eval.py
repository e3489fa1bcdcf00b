"""Scoring rankers against ground truth, not against the model's own belief.

A data plugin that can (a simulator) yields :class:`~edgerank.data.ranking.RankingRequest` objects carrying a function
that returns the *true* expected ListReward of any order of the request's candidates. The
ranker's list is compared with the server's order and a random order on the same requests.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from edgerank.data.ranking import RankingRequest
from edgerank.rankers.base import Ranker


def evaluate_ranker(ranker: Ranker, requests: Iterable[RankingRequest], seed: int = 0) -> dict[str, float]:
    """``rerank/*`` metrics: mean true ListReward of the ranker, the server order and a random
    order (each cut to the ranker's list size), and model evaluations per request."""
    rng = np.random.default_rng(seed)
    n = ranker.list_size
    totals = {"ranker": [], "pxtr": [], "random": [], "evals": []}
    for request in requests:
        ranking = ranker.rank(request.inputs)
        valid = request.server_order
        truth = lambda slots: request.true_list_reward(slots, ranker.alpha, ranker.beta)  # noqa: E731
        totals["ranker"].append(truth(ranking.slots))
        totals["pxtr"].append(truth(valid[:n]))
        totals["random"].append(truth(rng.permutation(valid)[:n]))
        totals["evals"].append(ranking.evaluations)
    if not totals["evals"]:
        return {}
    return {
        "rerank/true_list_reward": float(np.mean(totals["ranker"])),
        "rerank/pxtr_true_list_reward": float(np.mean(totals["pxtr"])),
        "rerank/random_true_list_reward": float(np.mean(totals["random"])),
        "rerank/evals_per_request": float(np.mean(totals["evals"])),
    }
