"""``beam``: context-aware generative re-ranking by beam search guided by ListReward."""

from __future__ import annotations

import torch

from edgerank.rankers.base import Ranker, SearchResult
from edgerank.rankers.options import BeamOptions
from edgerank.rankers.search import BLOCKED, SearchContext, unrolled
from edgerank.registry import register_ranker


@register_ranker("beam", description="Beam search over partial lists, k best by ListReward (loops unrolled in the graph)")
class BeamSearchRanker(Ranker):
    """Builds the list position by position, keeping the ``beam_size`` best partial lists.

    The first expansion starts from the empty list (one beam); each later one scores every
    candidate under each of the k beams' contexts.
    """

    Options = BeamOptions
    bounded_by_candidates = ("list_size", "beam_size")

    def context(self, inputs: dict[str, torch.Tensor]) -> SearchContext:
        """The request's per-request state, each candidate's item context and the valid mask."""
        state = self.scorer.prepare(inputs)
        return SearchContext(self.scorer, state, self.scorer.item_context(state), self.valid(inputs), self.alpha, self.beta)

    def search(self, inputs: dict[str, torch.Tensor]) -> SearchResult:
        ctx = self.context(inputs)
        slots, gains, margins = unrolled(ctx, ctx.empty_list(), self.beam_size, self.list_size)
        return SearchResult(*best_list(slots[0], gains[0]), margin=margins.min().reshape(1))

    def evaluations(self, num_valid: int) -> int:
        """Candidate scorings: every valid candidate under every beam, for each position that
        still has a valid candidate to fill it (the first position starts from one beam)."""
        steps = min(self.list_size, num_valid)
        return num_valid * (1 + self.beam_size * (steps - 1)) if steps else 0


def best_list(slots: torch.Tensor, gains: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Best beam's list with impossible positions set to -1.

    Positions are impossible only once the valid candidates ran out, so they form a suffix.
    """
    possible = gains > BLOCKED / 2
    slots = torch.where(possible, slots, torch.full_like(slots, -1))
    gains = torch.where(possible, gains, torch.zeros_like(gains))
    return slots, gains
