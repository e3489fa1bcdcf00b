"""``greedy``: point-wise re-ranking, sort candidates by a weighted sum of task probabilities."""

from __future__ import annotations

from typing import Any

import torch

from edgerank.models.scorer import ContextScorer
from edgerank.rankers.base import Ranker, SearchResult
from edgerank.rankers.options import GreedyOptions
from edgerank.rankers.search import BLOCKED, by_task, tie_margin, weighted_sum
from edgerank.registry import register_ranker


@register_ranker("greedy", description="Point-wise sort by weighted task probabilities (default alpha*p_ev + beta*p_like)")
class GreedyRanker(Ranker):
    """One model evaluation per candidate, all in the request's context (no partial list).

    ``score_weights`` (has_next, effective_view, like) defaults to ``(0, alpha, beta)``.
    """

    Options = GreedyOptions

    def __init__(self, scorer: ContextScorer, options: GreedyOptions | None = None, **values: Any) -> None:
        super().__init__(scorer, options, **values)
        self.register_buffer("weights", torch.tensor(self.options.weights()))

    def search(self, inputs: dict[str, torch.Tensor]) -> SearchResult:
        state = self.scorer.prepare(inputs)
        context = torch.zeros(1, self.scorer.context_dim)
        key = weighted_sum(by_task(self.scorer.score(state, context)), self.weights)[0]  # [M]
        key = torch.where(self.valid(inputs) > 0.5, key, torch.full_like(key, BLOCKED))
        ranked, slots = torch.topk(key, min(self.list_size + 1, key.shape[0]))
        top, slots = ranked[: self.list_size], slots[: self.list_size]
        slots = torch.where(top > BLOCKED / 2, slots, torch.full_like(slots, -1))
        gains = torch.where(top > BLOCKED / 2, top, torch.zeros_like(top))
        return SearchResult(slots, gains, margin=tie_margin(ranked))

    def evaluations(self, num_valid: int) -> int:
        return num_valid
