"""The beam step shared by every generative ranker, in graph-friendly PyTorch.

Static shapes only (fixed candidate count M, beam width K, context size C) and no
data-dependent control flow, so an unrolled search converts to ``.tflite`` and one expansion
can be exported as a signature of its own (adaptive beam search drives it from the app).

The step is written for the ops LiteRT gives each construct (experiments/video_rankers/
search_graph.md): every per-option quantity is built for all ``K x M`` options at once and the
``width`` chosen rows are read with one row gather (``F.embedding``: a single
EMBEDDING_LOOKUP, where advanced indexing lowers to five ops and ``index_select`` to eleven); no
parent index is needed for that, and no integer division (``//`` lowers to eight ops).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from edgerank.models.scorer import ContextScorer, State
from edgerank.core.list_reward import EFFECTIVE_VIEW, HAS_NEXT, LIKE
from edgerank.core.app_loop import BLOCKED, NO_TIE


@dataclass
class Beams:
    """K partial lists: their ListReward, survival probability s, open slots and context."""

    reward: torch.Tensor  # [K]
    survive: torch.Tensor  # [K] probability the user is still scrolling after the last item
    open: torch.Tensor  # [K, M] 1.0 where the candidate is valid and not yet in the list
    context: torch.Tensor  # [K, C] sum of item_context over placed items

    @classmethod
    def empty(cls, valid: torch.Tensor, context_dim: int) -> "Beams":
        zeros = valid.new_zeros
        return cls(zeros(1), zeros(1) + 1.0, valid.reshape(1, -1), zeros(1, context_dim))

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
        return Beams.empty(self.valid, self.scorer.context_dim)

    def task_weights(self) -> torch.Tensor:
        """ListReward's weight of each task's probability in a gain (has_next weighs 0)."""
        weights = [0.0, 0.0, 0.0]
        weights[EFFECTIVE_VIEW], weights[LIKE] = self.alpha, self.beta
        return torch.tensor(weights, dtype=self.valid.dtype)


@dataclass
class Expansion:
    """One step: the new beams and, per new beam, the option it extends (``chosen``: parent
    beam x M + candidate slot), the slot appended (-1 where no valid candidate was left), the
    ListReward gained (``BLOCKED`` there) and the step's top-(width + 1) totals ``ranked``."""

    beams: Beams
    chosen: torch.Tensor
    item: torch.Tensor
    gain: torch.Tensor
    ranked: torch.Tensor
    num_beams: int  # before the step
    num_candidates: int

    def parent(self) -> torch.Tensor:
        """Parent beam of every new beam, by a table lookup (no integer division in the graph)."""
        table = torch.tensor([[float(i // self.num_candidates)] for i in range(self.num_beams * self.num_candidates)])
        return rows(table, self.chosen).reshape(-1).to(torch.int64)


def _others(size: int) -> torch.Tensor:
    """``1 - eye(size)`` as a constant (``torch.eye`` lowers to STABLEHLO_IOTA, which LiteRT lacks)."""
    return torch.tensor([[0.0 if i == j else 1.0 for j in range(size)] for i in range(size)])


def rows(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``table[index]`` for a 2-d float ``table``: one EMBEDDING_LOOKUP in the ``.tflite``."""
    return F.embedding(index, table)


def expand(ctx: SearchContext, beams: Beams, width: int) -> Expansion:
    """Extend every beam by every open candidate; keep the ``width`` best by ListReward."""
    probs = ctx.scorer.score(ctx.state, beams.context)  # [K, M, 3]
    num_beams, num_candidates = beams.open.shape
    options = num_beams * num_candidates
    gain = beams.survive.unsqueeze(1) * (probs * ctx.task_weights()).sum(-1)  # [K, M]
    total = torch.where(beams.open > 0.5, beams.reward.unsqueeze(1) + gain, BLOCKED)
    ranked, flat = torch.topk(total.reshape(1, options), min(width + 1, options), dim=1)
    ranked, flat = ranked[0], flat[0, :width]
    reward = ranked[:width]
    # Once the valid candidates run out every extension is BLOCKED and ties everywhere; keep the
    # beams in their order then (parent j -> new beam j) so both runtimes agree on the best list.
    exhausted = reward <= BLOCKED / 2
    keep_order = torch.tensor([min(j, num_beams - 1) * num_candidates for j in range(width)])  # constants, not iota
    chosen = torch.where(exhausted, keep_order, flat)
    item = torch.where(exhausted, -1, flat % num_candidates)
    gained = torch.where(exhausted, BLOCKED, rows(gain.reshape(options, 1), flat).reshape(width))
    # every option's next state, then the chosen rows (an exhausted beam's state is never read)
    survive = (beams.survive.unsqueeze(1) * probs[..., HAS_NEXT]).reshape(options, 1)
    context = (beams.context.unsqueeze(1) + ctx.item_context.unsqueeze(0)).reshape(options, -1)
    still_open = (beams.open.unsqueeze(1) * _others(num_candidates)).reshape(options, num_candidates)
    new = Beams(reward, rows(survive, chosen).reshape(width), rows(still_open, chosen), rows(context, chosen))
    return Expansion(new, chosen, item, gained, ranked, num_beams, num_candidates)


def unrolled(ctx: SearchContext, beams: Beams, width: int, steps: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``steps`` expansions in a row (a static loop, unrolled in the graph).

    Returns each final beam's appended slots and gains ``[width, steps]`` (best beam first) and
    every step's :func:`tie_margin` ``[steps]``. Each beam's history is one ``[width, 2, s]``
    tensor (slots as floats, gains), so following the parents costs one row gather a step.
    """
    history, ranked = None, []
    for _ in range(steps):
        step = expand(ctx, beams, width)
        latest = torch.stack([step.item.to(step.gain.dtype), step.gain], dim=1).unsqueeze(2)  # [width, 2, 1]
        if history is None:
            history = latest
        else:  # a single beam's history needs no gather
            before = history if width == 1 else rows(history.reshape(len(history), -1), step.parent()).reshape(width, 2, -1)
            history = torch.cat([before, latest], dim=2)
        beams = step.beams
        ranked.append(step.ranked)
    return history[:, 0].to(torch.int64), history[:, 1], tie_margins(ranked)


def tie_margin(ranked: torch.Tensor) -> torch.Tensor:
    """Smallest gap between consecutive live values of a descending top-(k+1) ``[..., k+1]``
    (``[1]`` for one row, one per row otherwise): below float error, another runtime may keep a
    different item or beam here and still be right."""
    gaps = ranked[..., :-1] - ranked[..., 1:]
    live = ranked[..., 1:] > BLOCKED / 2  # descending: the larger value of a live gap is live too
    return torch.where(live, gaps, NO_TIE).amin(-1).reshape(-1)


def tie_margins(ranked: list[torch.Tensor]) -> torch.Tensor:
    """:func:`tie_margin` of every step ``[steps]``, computed together where the steps' top-k
    have one size (all but a first step over fewer than k + 1 candidates)."""
    if len({r.shape for r in ranked}) == 1:
        return tie_margin(torch.stack(ranked))
    return torch.cat([tie_margin(r) for r in ranked])
