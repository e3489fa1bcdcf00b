"""The beam step shared by every generative ranker, in graph-friendly PyTorch.

Static shapes only (fixed candidate count M, beam width K, context size C) and no
data-dependent control flow, so an unrolled search converts to ``.tflite`` and one expansion
can be exported as a signature of its own (adaptive beam search drives it from the app).

The step is written for the ops LiteRT gives each construct (experiments/video_rankers/
search_graph.md): rows are read with ``F.embedding`` (one EMBEDDING_LOOKUP, where advanced
indexing lowers to five ops and ``index_select`` to eleven), each new beam from its parent's row
and its new item's row; the parent comes from a constant table (``//`` lowers to eight ops), the
appended slot leaves the open set by a one-hot, and the tie margins of all steps are taken at once.
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

    reward: torch.Tensor  # [K, 1]
    survive: torch.Tensor  # [K, 1] probability the user is still scrolling after the last item
    open: torch.Tensor  # [K, M] 1.0 where the candidate is valid and not yet in the list
    context: torch.Tensor  # [K, C] sum of item_context over placed items

    @classmethod
    def empty(cls, valid: torch.Tensor, context_dim: int) -> "Beams":
        zeros = valid.new_zeros
        return cls(zeros(1, 1), zeros(1, 1) + 1.0, valid.reshape(1, -1), zeros(1, context_dim))

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
    """One step: the new beams and, per new beam, its ``parent`` beam, whether no valid
    candidate was left for it (``exhausted``), the beams' ``history`` ``[width, 2 s]`` ((slot,
    gain) per position, this step's last; past the valid candidates the pairs are placeholders)
    and the step's top-(width + 1) totals ``ranked``."""

    beams: Beams
    parent: torch.Tensor
    exhausted: torch.Tensor
    history: torch.Tensor
    ranked: torch.Tensor

    @property
    def item(self) -> torch.Tensor:
        """The slot each new beam appended (-1 where no valid candidate was left)."""
        return torch.where(self.exhausted, -1, self.history[:, -2].to(torch.int64))

    @property
    def gain(self) -> torch.Tensor:
        """The ListReward each new beam gained (``BLOCKED`` where no valid candidate was left)."""
        return torch.where(self.exhausted, BLOCKED, self.history[:, -1])


def by_task(probs: torch.Tensor) -> torch.Tensor:
    """A scorer's ``[K, M, 3]`` probabilities as ``[3, K, M]``. A scorer that computes task-major
    (``ta_mmoe_ctx``) ends in the inverse transpose, and the two cancel in the ``.tflite``."""
    return probs.permute(2, 0, 1)


def weighted_sum(probs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``sum_t weights[t] * probs[t]`` of task-major ``probs`` ``[3, ...]``."""
    return (probs * weights.reshape(-1, *([1] * (probs.dim() - 1)))).sum(0)


def parent_of(chosen: torch.Tensor, num_beams: int, num_candidates: int) -> torch.Tensor:
    """``chosen // num_candidates`` by a table lookup (no integer division in the graph)."""
    table = torch.tensor([[float(i // num_candidates)] for i in range(num_beams * num_candidates)])
    return rows(table, chosen).reshape(-1).to(torch.int64)


def rows(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``table[index]`` for a 2-d float ``table``: one EMBEDDING_LOOKUP in the ``.tflite``."""
    return F.embedding(index, table)


def expand(ctx: SearchContext, beams: Beams, width: int, history: torch.Tensor | None = None) -> Expansion:
    """Extend every beam by every open candidate; keep the ``width`` best by ListReward.

    The new beams are read from their parents' rows and their new items' rows (tiny gathers);
    ``history`` ``[K, 2 s]`` follows the parents and gets this step's (slot, gain) appended.
    """
    probs = by_task(ctx.scorer.score(ctx.state, beams.context))  # [3, K, M]
    num_beams, num_candidates = beams.open.shape
    options = num_beams * num_candidates
    gain = beams.survive * weighted_sum(probs, ctx.task_weights())  # [K, M]
    total = torch.where(beams.open > 0.5, beams.reward + gain, BLOCKED)
    ranked, flat = torch.topk(total.reshape(options), min(width + 1, options))
    reward, flat = ranked[:width], flat[:width]
    # Once the valid candidates run out every extension is BLOCKED and ties everywhere; keep the
    # beams in their order then (parent j -> new beam j) so both runtimes agree on the best list.
    exhausted = reward <= BLOCKED / 2
    if num_beams == 1:  # every new beam extends the one beam: no parent to look up
        parent, item = torch.zeros(width, dtype=torch.int64), flat
        of_parent = lambda x: x.expand(width, *x.shape[1:])  # noqa: E731  # nothing at all for width 1
    else:
        keep_order = torch.tensor([min(j, num_beams - 1) * num_candidates for j in range(width)])  # constants, not iota
        parent, item = parent_of(torch.where(exhausted, keep_order, flat), num_beams, num_candidates), flat % num_candidates
        of_parent = lambda x: rows(x, parent)  # noqa: E731
    # two one-column gathers: stacking the two into one table costs a CONCATENATION and two slices a step
    picked_gain, picked_next = (rows(x.reshape(options, 1), flat) for x in (gain, probs[HAS_NEXT]))  # [width, 1] each
    new = Beams(
        reward.reshape(width, 1),
        of_parent(beams.survive) * picked_next,
        of_parent(beams.open) - (torch.arange(num_candidates).unsqueeze(0) == item.unsqueeze(1)).to(gain.dtype),  # ONE_HOT
        of_parent(beams.context) + rows(ctx.item_context, item),
    )
    latest = torch.cat([item.to(gain.dtype).reshape(width, 1), picked_gain], dim=1)
    history = latest if history is None else torch.cat([of_parent(history), latest], dim=1)
    return Expansion(new, parent, exhausted, history, ranked)


def unrolled(ctx: SearchContext, beams: Beams, width: int, steps: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``steps`` expansions in a row (a static loop, unrolled in the graph).

    Returns each final beam's appended slots and gains ``[width, steps]`` (best beam first; -1
    and 0 past the open candidates of ``beams``) and every step's :func:`tie_margin` ``[steps]``.
    """
    possible = torch.tensor([float(s) for s in range(steps)]) < beams.open[0].sum()  # live beams share that count
    history, ranked = None, []
    for _ in range(steps):
        step = expand(ctx, beams, width, history)
        beams, history = step.beams, step.history
        ranked.append(step.ranked)
    pairs = history.reshape(width, steps, 2)
    slots = torch.where(possible, pairs[..., 0], -1.0).to(torch.int64)
    return slots, torch.where(possible, pairs[..., 1], 0.0), tie_margins(ranked)


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
