"""The beam step shared by every generative ranker, in graph-friendly PyTorch.

Static shapes only (fixed candidate count M, beam width K, context size C) and no
data-dependent control flow, so an unrolled search converts to ``.tflite`` and one expansion
can be exported as a signature of its own (adaptive beam search drives it from the app).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from edgerank.models.scorer import ContextScorer, State
from edgerank.core.list_reward import EFFECTIVE_VIEW, HAS_NEXT, LIKE
from edgerank.core.app_loop import BLOCKED, NO_TIE


@dataclass
class Beams:
    """K partial lists: their ListReward, survival probability s, placed items and context."""

    reward: torch.Tensor  # [K]
    survive: torch.Tensor  # [K] probability the user is still scrolling after the last item
    placed: torch.Tensor  # [K, M] 1.0 where the candidate is already in the list
    context: torch.Tensor  # [K, C] sum of item_context over placed items

    @classmethod
    def empty(cls, num_candidates: int, context_dim: int, like: torch.Tensor) -> "Beams":
        zeros = like.new_zeros
        return cls(zeros(1), zeros(1) + 1.0, zeros(1, num_candidates), zeros(1, context_dim))

    def select(self, rows: torch.Tensor) -> "Beams":
        return Beams(self.reward[rows], self.survive[rows], self.placed[rows], self.context[rows])

    def repeat(self, times: int) -> "Beams":
        """A single beam ``times`` over: ``select`` of row 0 without the gathers in the graph."""
        return Beams(*(x.expand(times, *x.shape[1:]) for x in (self.reward, self.survive, self.placed, self.context)))

    def stability(self) -> torch.Tensor:
        """``min(rewards) / max(rewards)`` over the live beams (1.0 when none is live)."""
        live = self.reward > BLOCKED / 2
        low = torch.where(live, self.reward, torch.full_like(self.reward, 3.0e38)).min()
        high = torch.where(live, self.reward, torch.full_like(self.reward, -3.0e38)).max()
        any_live = live.to(self.reward.dtype).max() > 0.5
        return torch.where(any_live, low / high.clamp_min(1e-12), torch.ones_like(high))


@dataclass
class SearchContext:
    """What every expansion of one request reads: the scorer and its per-request ``state``,
    each candidate's ``item_context`` ``[M, C]``, the ``valid`` mask ``[M]`` and ListReward's
    weights."""

    scorer: ContextScorer
    state: State
    item_context: torch.Tensor
    valid: torch.Tensor
    alpha: float
    beta: float

    def empty_list(self) -> Beams:
        """One beam holding the empty list."""
        return Beams.empty(self.valid.shape[0], self.scorer.context_dim, self.valid)


def expand(ctx: SearchContext, beams: Beams, width: int) -> tuple[Beams, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Extend every beam by every unplaced valid candidate; keep the ``width`` best by ListReward.

    Returns the new beams, and per new beam its parent beam, the appended candidate slot and the
    ListReward gained by appending it (``BLOCKED`` where no valid candidate was left), and the
    step's :func:`tie_margin`.
    """
    probs = ctx.scorer.score(ctx.state, beams.context)  # [K, M, 3]
    num_beams, num_candidates = beams.placed.shape
    gain = beams.survive.unsqueeze(1) * (ctx.alpha * probs[..., EFFECTIVE_VIEW] + ctx.beta * probs[..., LIKE])
    blocked = (beams.placed > 0.5) | (ctx.valid.unsqueeze(0) < 0.5)
    total = torch.where(blocked, torch.full_like(gain, BLOCKED), beams.reward.unsqueeze(1) + gain)
    options = num_beams * num_candidates
    ranked, flat = torch.topk(total.reshape(1, options), min(width + 1, options), dim=1)
    reward, flat = ranked[0, :width], flat[0, :width]
    margin = tie_margin(ranked[0])
    # Once the valid candidates run out every extension is BLOCKED and ties everywhere; keep the
    # beams in their order then (parent j -> new beam j) so both runtimes agree on the best list.
    exhausted = reward <= BLOCKED / 2
    if num_beams == 1:  # every new beam extends the one beam: no parent to work out or gather
        parent = torch.zeros_like(flat)
        item = torch.where(exhausted, torch.full_like(flat, -1), flat)
    else:
        keep_order = torch.arange(width, device=flat.device).clamp_max(num_beams - 1)
        parent = torch.where(exhausted, keep_order, torch.div(flat, num_candidates, rounding_mode="floor"))
        item = torch.where(exhausted, torch.full_like(flat, -1), flat - parent * num_candidates)
    slots = torch.arange(num_candidates, device=flat.device)
    chosen = (slots.unsqueeze(0) == item.unsqueeze(1)).to(beams.placed.dtype)  # one-hot without F.one_hot
    live = (~exhausted).to(beams.reward.dtype)
    p_next = probs[..., HAS_NEXT].reshape(-1)[flat]
    parents = beams.select(parent) if num_beams > 1 else beams.repeat(width)
    new = Beams(
        reward=reward,
        survive=parents.survive * (live * p_next + (1.0 - live)),
        placed=parents.placed + chosen,
        context=parents.context + ctx.item_context[item.clamp_min(0)] * live.unsqueeze(1),
    )
    gained = torch.where(exhausted, torch.full_like(reward, BLOCKED), gain.reshape(-1)[flat])
    return new, parent, item, gained, margin


def unrolled(ctx: SearchContext, beams: Beams, width: int, steps: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``steps`` expansions in a row (a static loop, unrolled in the graph).

    Returns each final beam's appended slots and gains ``[width, steps]`` (best beam first) and
    every step's :func:`tie_margin` ``[steps]``.
    """
    slots = gains = None
    margins = []
    for _ in range(steps):
        beams, parent, item, gain, margin = expand(ctx, beams, width)
        if slots is None:
            slots, gains = item.unsqueeze(1), gain.unsqueeze(1)
        else:  # a single beam's history needs no gather
            slots = torch.cat([slots if width == 1 else slots[parent], item.unsqueeze(1)], dim=1)
            gains = torch.cat([gains if width == 1 else gains[parent], gain.unsqueeze(1)], dim=1)
        margins.append(margin)
    return slots, gains, torch.cat(margins)


def tie_margin(ranked: torch.Tensor) -> torch.Tensor:
    """Smallest gap between consecutive live values of a descending top-(k+1): below float
    error, another runtime may keep a different item or beam here and still be right."""
    gaps = ranked[:-1] - ranked[1:]
    live = (ranked[:-1] > BLOCKED / 2) & (ranked[1:] > BLOCKED / 2)
    return torch.where(live, gaps, torch.full_like(gaps, NO_TIE)).min().reshape(1)
