"""Group AUC: AUC within each request, averaged with weights by request size.

A re-ranker only orders the candidates *of one request*, so what matters is how well it ranks
within a request; a global AUC also rewards telling active users from idle ones. Requests whose
label is constant (all 0 or all 1 among the real candidates) have no AUC and are skipped. The
weight of a request is its number of real candidates.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric


def request_auc(scores: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per request ``[B]``: the AUC (ties count 1/2) and whether it is defined.

    ``scores``, ``labels`` (0/1) and ``mask`` (1 = real candidate) are ``[B, M]``.
    """
    mask = mask > 0.5
    pos = (labels > 0.5) & mask
    neg = (labels <= 0.5) & mask
    diff = scores.unsqueeze(2) - scores.unsqueeze(1)  # [B, M(pos), M(neg)]
    wins = (diff > 0).to(torch.float64) + 0.5 * (diff == 0).to(torch.float64)
    pairs = pos.unsqueeze(2) & neg.unsqueeze(1)
    n_pairs = pairs.sum(dim=(1, 2)).to(torch.float64)
    defined = n_pairs > 0
    auc = (wins * pairs).sum(dim=(1, 2)) / n_pairs.clamp(min=1.0)
    return auc, defined


def gauc(scores: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> float:
    """GAUC of one batch of requests (NaN when no request has both labels)."""
    metric = GroupAUC()
    metric.update(scores, labels, mask)
    return float(metric.compute())


class GroupAUC(Metric):
    """Streaming GAUC: sums of size-weighted per-request AUCs and of the weights."""

    full_state_update = False
    higher_is_better = True

    def __init__(self) -> None:
        super().__init__()
        self.add_state("weighted", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("weight", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, scores: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> None:  # type: ignore[override]
        auc, defined = request_auc(scores, labels, mask)
        size = (mask > 0.5).sum(dim=1).to(torch.float64) * defined
        self.weighted += (auc * size).sum()
        self.weight += size.sum()

    def compute(self) -> torch.Tensor:
        return self.weighted / self.weight if self.weight > 0 else torch.tensor(float("nan"), dtype=torch.float64)
