"""Scoring rankers on held-out requests: logged-label list metrics on every data source, and
the true expected ListReward where the source knows it.

A data plugin yields :class:`~edgerank.data.ranking.RankingRequest` objects. Every request has
its logged labels, so the ranker's list and the server's order are scored with NDCG@5/10 and
MAP@10 (:mod:`edgerank.metrics.list_metrics`). A simulator's requests also carry a function that
returns the *true* expected ListReward of any order of the candidates; the ranker's list is then
compared with the server's order and a random order on it, not on the model's own belief.

Where a request has unlabelled candidates (a log's rows sent but not shown), the list metrics
re-rank its labelled rows alone (the ranker's candidate mask cut to them), as re-ranking papers
evaluate on the displayed list; where every candidate is labelled (the simulator) that is the same
ranking the true ListReward scores.
"""

from __future__ import annotations

from collections.abc import Iterable, Sized

import numpy as np
import torch

from edgerank.console import progress
from edgerank.data.ranking import RankingRequest
from edgerank.rankers.base import Ranker
from edgerank.metrics.list_metrics import LIST_METRICS, gains, list_metrics


def evaluate_ranker(ranker: Ranker, requests: Iterable[RankingRequest], seed: int = 0) -> dict[str, float]:
    """``rerank/*`` metrics, means over the requests:

    - ``rerank/ndcg@5``, ``rerank/ndcg@10``, ``rerank/map@10`` of the ranker's list and
      ``rerank/server_ndcg@5`` ... of the server's order (cut to the ranker's list size), on the
      logged labels, where the requests have them;
    - ``rerank/true_list_reward``, ``rerank/pxtr_true_list_reward``, ``rerank/random_true_list_reward``
      (the ranker's list, the server order, a random order), where every request has ground truth;
    - ``rerank/evals_per_request``: model evaluations the ranker spent.
    """
    rng = np.random.default_rng(seed)
    n = ranker.list_size
    truth: dict[str, list[float]] = {"ranker": [], "pxtr": [], "random": []}
    logged: dict[str, list[float]] = {}
    evals, all_truth, all_labels = [], True, True
    total = len(requests) if isinstance(requests, Sized) else None
    for request in progress(requests, "ranker evaluation", total):
        ranking = ranker.rank(request.inputs)
        evals.append(ranking.evaluations)
        order = np.asarray(request.server_order)
        if request.true_list_reward is None:
            all_truth = False
        else:
            true = lambda slots: request.true_list_reward(slots, ranker.alpha, ranker.beta)  # noqa: E731
            truth["ranker"].append(true(ranking.slots))
            truth["pxtr"].append(true(order[:n]))
            truth["random"].append(true(rng.permutation(order)[:n]))
        if request.labels is None:
            all_labels = False
            continue
        labelled = request.labelled_slots()
        gain = gains(request.labels, ranker.alpha, ranker.beta)
        slots = ranking.slots if labelled.all() else ranker.rank(_labelled_only(request, ranker.mask_input, labelled)).slots
        server = order[labelled[order]][:n]
        for prefix, result in (("", list_metrics(slots, gain, labelled)), ("server_", list_metrics(server, gain, labelled))):
            for name, value in result.items():
                logged.setdefault(f"rerank/{prefix}{name}", []).append(value)
    if not evals:
        return {}
    metrics = {}
    if all_labels:
        for prefix in ("", "server_"):
            metrics.update({f"rerank/{prefix}{m}": float(np.mean(logged[f"rerank/{prefix}{m}"])) for m in LIST_METRICS})
    if all_truth:
        metrics["rerank/true_list_reward"] = float(np.mean(truth["ranker"]))
        metrics["rerank/pxtr_true_list_reward"] = float(np.mean(truth["pxtr"]))
        metrics["rerank/random_true_list_reward"] = float(np.mean(truth["random"]))
    metrics["rerank/evals_per_request"] = float(np.mean(evals))
    return metrics


def _labelled_only(request: RankingRequest, mask_input: str, labelled: np.ndarray) -> dict[str, torch.Tensor]:
    """The request's inputs with the candidate mask cut to its labelled slots."""
    mask = request.inputs[mask_input].clone()
    keep = torch.zeros_like(mask)
    keep[..., : len(labelled)] = torch.from_numpy(labelled.astype(np.float32)).reshape(keep[..., : len(labelled)].shape)
    return {**request.inputs, mask_input: mask * keep}
