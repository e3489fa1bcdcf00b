"""Logged-label list metrics: NDCG@k / MAP@k by hand, against torchmetrics, and in the ranker evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchmetrics.retrieval import RetrievalMAP, RetrievalNormalizedDCG

from edgerank.data.ranking import RankingRequest
from edgerank.rankers.greedy import GreedyRanker
from edgerank.models.scorer import PointwiseScorer
from edgerank.metrics.list_metrics import average_precision_at_k, gains, list_metrics, ndcg_at_k
from edgerank.training.rerank_eval import evaluate_ranker
from ranker_fixtures import ToyPointwise, request, tensors


def labels_of(ev: list[int], like: list[int]) -> np.ndarray:
    return np.stack([np.zeros(len(ev)), ev, like], axis=1).astype(np.float32)


def test_metrics_by_hand():
    # slots 0..4; gains with alpha=1, beta=2: [1, 0, 3, 0, 2]
    gain = gains(labels_of([1, 0, 1, 0, 0], [0, 0, 1, 0, 1]), alpha=1.0, beta=2.0)
    assert gain.tolist() == [1.0, 0.0, 3.0, 0.0, 2.0]
    labelled = np.ones(5, dtype=bool)
    order = np.array([1, 2, 0, 4, 3])  # gains shown: 0, 3, 1, 2, 0
    d = [1 / math.log2(i + 2) for i in range(5)]
    dcg = 3 * d[1] + 1 * d[2] + 2 * d[3]
    ideal = 3 * d[0] + 2 * d[1] + 1 * d[2]
    assert ndcg_at_k(order, gain, labelled, 5) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(order, gain, labelled, 2) == pytest.approx(3 * d[1] / (3 * d[0] + 2 * d[1]))
    # relevant at positions 2, 3, 4: precision 1/2, 2/3, 3/4
    assert average_precision_at_k(order, gain, labelled, 10) == pytest.approx((1 / 2 + 2 / 3 + 3 / 4) / 3)
    assert average_precision_at_k(order, gain, labelled, 2) == pytest.approx(1 / 2)
    # the ideal order scores 1; a list with no gain, and a request without any, score 0
    assert ndcg_at_k(np.array([2, 4, 0]), gain, labelled, 10) == pytest.approx(1.0)
    assert ndcg_at_k(np.array([1, 3]), gain, labelled, 5) == 0.0
    assert list_metrics(order, np.zeros(5), labelled) == {"ndcg@5": 0.0, "ndcg@10": 0.0, "map@10": 0.0}


def test_empty_positions_and_unlabelled_rows_gain_nothing():
    gain = np.array([1.0, 2.0, 0.0, 4.0])
    d = [1 / math.log2(i + 2) for i in range(4)]
    # a list of 2 (then -1 padding) is scored at k = 5 as if positions 3..5 were empty
    assert ndcg_at_k(np.array([1, 0, -1, -1]), gain, np.ones(4, bool), 5) == pytest.approx(
        (2 * d[0] + 1 * d[1]) / (4 * d[0] + 2 * d[1] + 1 * d[2])
    )
    # slot 3 is unlabelled: it leaves the ideal list and gains 0 where it is shown
    labelled = np.array([True, True, True, False])
    assert ndcg_at_k(np.array([3, 1, 0]), gain, labelled, 5) == pytest.approx((2 * d[1] + 1 * d[2]) / (2 * d[0] + 1 * d[1]))


def test_metrics_agree_with_torchmetrics():
    rng = np.random.default_rng(0)
    ndcg = {k: RetrievalNormalizedDCG(top_k=k) for k in (5, 10)}
    ap = RetrievalMAP(top_k=10)
    ours: dict[str, list[float]] = {"ndcg@5": [], "ndcg@10": [], "map@10": []}
    for query in range(200):
        m = int(rng.integers(10, 30))
        labels = (rng.random((m, 3)) < [0.5, 0.3, 0.1]).astype(np.float32)
        gain = gains(labels, alpha=1.0, beta=0.5)
        order = rng.permutation(m)[:10]
        for name, value in list_metrics(order, gain, np.ones(m, bool)).items():
            ours[name].append(value)
        preds = 1.0 / (2.0 + np.arange(m))  # slots off the list: below every listed one, still > 0
        preds[order] = 100.0 - np.arange(len(order))
        index = torch.full((m,), query)
        for metric in ndcg.values():
            metric.update(torch.tensor(preds), torch.tensor(gain), indexes=index)
        ap.update(torch.tensor(preds), torch.tensor(gain > 0), indexes=index)
    assert np.mean(ours["ndcg@5"]) == pytest.approx(float(ndcg[5].compute()), abs=1e-6)
    assert np.mean(ours["ndcg@10"]) == pytest.approx(float(ndcg[10].compute()), abs=1e-6)
    assert np.mean(ours["map@10"]) == pytest.approx(float(ap.compute()), abs=1e-6)
    assert 0.2 < np.mean(ours["ndcg@10"]) < 0.9  # random lists: neither 0 nor ideal


def test_ranker_evaluation_reports_list_metrics_on_logged_labels_alone():
    """A log's requests (no ground truth, some rows unlabelled): the ranker re-ranks the labelled
    rows alone; the server order is its labelled rows in logged order; no true-ListReward keys."""
    torch.manual_seed(0)
    ranker = GreedyRanker(PointwiseScorer(ToyPointwise()).eval(), list_size=5).eval()
    requests, expected = [], {"ndcg@10": [], "server_ndcg@10": []}
    for seed in range(8):
        sample = tensors(request(seed, m=12, min_valid=12))
        rng = np.random.default_rng(seed)
        labels = (rng.random((12, 3)) < 0.4).astype(np.float32)
        labelled = np.arange(12) < 7  # the exposed head of 7 rows
        requests.append(RankingRequest(sample, None, np.arange(12), labels=labels, labelled=labelled))
        gain = gains(labels, 1.0, 1.0)
        with torch.no_grad():
            probs = ranker.scorer.prepare(sample)["probs"]
        key = (probs[:, 1] + probs[:, 2]).numpy()
        mine = np.argsort(-np.where(labelled, key, -np.inf), kind="stable")[:5]  # greedy over the 7 labelled
        expected["ndcg@10"].append(ndcg_at_k(mine, gain, labelled, 10))
        expected["server_ndcg@10"].append(ndcg_at_k(np.arange(5), gain, labelled, 10))
    metrics = evaluate_ranker(ranker, requests)
    assert "rerank/true_list_reward" not in metrics
    assert set(metrics) == {
        "rerank/evals_per_request",
        *(f"rerank/{p}{m}" for p in ("", "server_") for m in ("ndcg@5", "ndcg@10", "map@10")),
    }
    assert metrics["rerank/ndcg@10"] == pytest.approx(np.mean(expected["ndcg@10"]))
    assert metrics["rerank/server_ndcg@10"] == pytest.approx(np.mean(expected["server_ndcg@10"]))
    assert metrics["rerank/ndcg@10"] != pytest.approx(metrics["rerank/server_ndcg@10"])
