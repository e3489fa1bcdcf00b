"""GAUC against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from edgerank.metrics.gauc import GroupAUC, gauc, request_auc


def test_gauc_on_a_hand_computed_example():
    # request 0: 4 real candidates (the 5th is padding); positives score 0.9 and 0.3,
    #   negatives 0.5 and 0.1 -> pairs (0.9>0.5, 0.9>0.1, 0.3<0.5, 0.3>0.1) -> AUC 3/4, weight 4
    # request 1: 3 candidates, one positive (0.2) tied with one negative (0.2), above 0.1
    #   -> (0.5 + 1) / 2 = 0.75 ... and with the second negative 0.1: pairs (tie, win) -> 0.75, weight 3
    # request 2: all labels 0 -> skipped
    # request 3: 2 candidates, the positive below the negative -> AUC 0, weight 2
    scores = torch.tensor(
        [
            [0.9, 0.5, 0.3, 0.1, 0.99],
            [0.2, 0.2, 0.1, 0.0, 0.0],
            [0.3, 0.2, 0.1, 0.0, 0.0],
            [0.1, 0.7, 0.0, 0.0, 0.0],
        ]
    )
    labels = torch.tensor(
        [
            [1.0, 0.0, 1.0, 0.0, 1.0],  # the padded slot's label must be ignored
            [1.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0, 0.0],
        ]
    )
    mask = torch.tensor(
        [[1, 1, 1, 1, 0], [1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], dtype=torch.float32
    )
    auc, defined = request_auc(scores, labels, mask)
    assert defined.tolist() == [True, True, False, True]
    assert auc[[0, 1, 3]].tolist() == pytest.approx([0.75, 0.75, 0.0])
    expected = (4 * 0.75 + 3 * 0.75 + 2 * 0.0) / (4 + 3 + 2)
    assert gauc(scores, labels, mask) == pytest.approx(expected)

    streamed = GroupAUC()  # batches accumulate exactly like one big batch
    streamed.update(scores[:2], labels[:2], mask[:2])
    streamed.update(scores[2:], labels[2:], mask[2:])
    assert float(streamed.compute()) == pytest.approx(expected)


def test_gauc_without_any_mixed_request_is_nan():
    assert math.isnan(gauc(torch.rand(2, 3), torch.zeros(2, 3), torch.ones(2, 3)))


def test_gauc_is_one_for_a_perfect_ranking_and_half_for_constant_scores():
    labels = (torch.rand(20, 10) > 0.5).float()
    mask = torch.ones(20, 10)
    assert gauc(labels + 0.01 * torch.rand(20, 10), labels, mask) == pytest.approx(1.0)
    assert gauc(torch.zeros(20, 10), labels, mask) == pytest.approx(0.5)
