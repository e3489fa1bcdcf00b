"""``mmr``: diversity-aware re-ranking by maximal marginal relevance (Carbonell & Goldstein, 1998).

Position by position, the ranker places the unplaced valid candidate j maximising

    lam * relevance_j - (1 - lam) * max_{k placed} sim(j, k)

with ``relevance_j = alpha * p_effective_view_j + beta * p_like_j`` from the model's scorer at the
empty context (one scoring per candidate, like ``greedy``) and ``sim(j, k) = 1`` when the two
candidates share a category (the ``cand_cat`` input), else 0. ``lam = 1`` is the greedy order;
smaller ``lam`` spreads categories: a candidate whose category is already on the list loses
``1 - lam``. Once every category present is on the list, all candidates carry the same penalty
and the order falls back to relevance.

Graph-friendly like edgerank's own rankers: the loop over ``list_size`` is static (unrolled at
export, so the ranker ships inside the model's ``.tflite``), the pick is computed with
comparisons and sums (no ``F.one_hot``, no data-dependent branch, no int64 inputs), and ties
are broken deterministically towards the lower candidate slot, in PyTorch and ``.tflite`` alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch

from edgerank.rankers.api import (
    BLOCKED,
    EFFECTIVE_VIEW,
    HAS_NEXT,
    LIKE,
    ConfigError,
    ContextScorer,
    Ranker,
    RankerOptions,
    SearchResult,
    in_range,
    register_ranker,
)

log = logging.getLogger(__name__)



@dataclass
class MMROptions(RankerOptions):
    """``list_size``, ``alpha`` and ``beta`` as every ranker, plus MMR's own two."""

    lam: float = 0.7  # lambda of MMR (a Python keyword): 1 = pure relevance (greedy), 0 = pure diversity
    category_input: str = "cand_cat"  # int32 [1, M] category of each candidate; absent -> relevance only

    def __post_init__(self) -> None:
        super().__post_init__()
        self.lam = in_range("lam", self.lam, 0.0, 1.0, high_open=False)
        if not isinstance(self.category_input, str) or not self.category_input:
            raise ConfigError("category_input", f"must name an input, got {self.category_input!r}")


@register_ranker("mmr", description="Maximal marginal relevance over categories: lam*relevance - (1-lam)*same-category (plugin example)")
class MMRRanker(Ranker):
    """MMR over the candidates' categories; see the module docstring for the objective.

    Exported outputs: ``ranked`` ``[1, n]`` int32 slots (-1 once the valid candidates run
    out), ``gains`` ``[1, n]`` the ListReward each placed item adds under the model (with the
    survival probability of the items before it, at the empty context), ``list_reward`` ``[1]``
    their sum, and ``mmr_score`` ``[1, n]`` the MMR objective of each pick. The parity check
    compares lists through ``mmr_score``: two different picks whose MMR scores agree within
    float error are a near tie, not a divergence.
    """

    ranked_lists = {"ranked": "mmr_score"}

    Options = MMROptions

    def __init__(self, scorer: ContextScorer, options: MMROptions | None = None, **values: Any) -> None:
        super().__init__(scorer, options, **values)
        self._warned_no_category = False

    def categories(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """``[M]`` float categories, or None (warned once) when the request carries none.

        Without categories there is nothing to diversify on, so the ranker still returns the
        relevance order instead of failing: e.g. ``features.static=false`` drops ``cand_cat``.
        """
        if self.category_input in inputs:
            # float32 holds category ids exactly below 2^24; comparing floats avoids int ops.
            return inputs[self.category_input].reshape(-1).to(torch.float32)
        if not self._warned_no_category:
            log.warning(
                "mmr: the request has no '%s' input (inputs: %s); ranking by relevance only, "
                "without diversity",
                self.category_input,
                ", ".join(sorted(inputs)),
            )
            self._warned_no_category = True
        return None

    def search(self, inputs: dict[str, torch.Tensor]) -> SearchResult:
        """The MMR list: slots (float in-graph, -1 = none), gains, and ``mmr_score`` of each pick.

        No tie ``margin``: ``ranked_lists`` compares lists through ``mmr_score`` instead.
        """
        state = self.scorer.prepare(inputs)
        probs = self.scorer.score(state, torch.zeros(1, self.scorer.context_dim))[0]  # [M, 3]
        relevance = self.alpha * probs[:, EFFECTIVE_VIEW] + self.beta * probs[:, LIKE]
        p_next = probs[:, HAS_NEXT]
        valid = self.valid(inputs) > 0.5
        categories = self.categories(inputs)
        num_candidates = relevance.shape[0]
        index = torch.arange(num_candidates, dtype=torch.float32)  # float: no int64 in the graph

        placed = torch.zeros_like(relevance)
        max_similarity = torch.zeros_like(relevance)
        survive = torch.ones_like(relevance[:1]).sum()  # scalar 1.0
        slots, gains, scores = [], [], []
        for _ in range(self.list_size):  # static: unrolled at export
            key = self.lam * relevance - (1.0 - self.lam) * max_similarity
            key = torch.where(valid & (placed < 0.5), key, torch.full_like(key, BLOCKED))
            best = key.max()
            # Deterministic tie-break: the lowest slot among exact maxima, on both runtimes
            # (argmax/topk make no promise about which of equal values they return).
            pick = torch.where(key >= best, index, torch.full_like(index, float(num_candidates))).min()
            live = (best > BLOCKED / 2).to(relevance.dtype)  # 0 once the valid candidates ran out
            chosen = (index == pick).to(relevance.dtype) * live  # one-hot without F.one_hot
            slots.append(live * pick + (live - 1.0))  # -1 when not live
            gains.append(live * survive * (chosen * relevance).sum())
            scores.append(live * best)
            survive = survive * ((chosen * p_next).sum() + (1.0 - live))
            placed = placed + chosen
            if categories is not None:
                category = (chosen * categories).sum()
                same = (categories == category).to(relevance.dtype) * live
                max_similarity = torch.maximum(max_similarity, same)
        return SearchResult(torch.stack(slots), torch.stack(gains), outputs={"mmr_score": torch.stack(scores)})

    def evaluations(self, num_valid: int) -> int:
        """One scoring per valid candidate: the MMR loop reuses the empty-context scores."""
        return num_valid
