"""What a model offers the rankers above it: scores of every candidate given the list placed so far.

The ranking context c(i) of the item placed at position i is the request (watched sequence,
candidates, client signals) plus the items already placed at positions 1..i-1. Rankers handle
the placed items as a *context vector*: the sum of ``item_context`` of the placed items (models
include a constant column, so the vector also counts the position). Everything that does not
depend on the partial list is computed once per request by ``prepare``; ``score`` then adds only
the context-dependent part, which is what makes beam search affordable on a phone.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import nn

State = dict[str, torch.Tensor]


@runtime_checkable
class ContextScorer(Protocol):
    """Implemented by context-aware models (and by :class:`PointwiseScorer` for the others)."""

    context_dim: int

    def prepare(self, inputs: dict[str, torch.Tensor]) -> State:
        """Per-request work for one request (batch 1): tensors reused by every ``score`` call."""

    def item_context(self, state: State) -> torch.Tensor:
        """``[M, C]``: what placing candidate j adds to the context vector."""

    def score(self, state: State, context: torch.Tensor) -> torch.Tensor:
        """``[K, M, 3]`` probabilities (has_next, effective_view, like) of every candidate, for
        each of K partial lists summarised by ``context`` ``[K, C]``."""


class PointwiseScorer(nn.Module):
    """Adapts a point-wise model (``net(**inputs) -> {task: [1, M]}``) to :class:`ContextScorer`.

    Scores ignore the partial list, so beam search over it still optimises the order through
    ListReward's survival term but sees no context effects.
    """

    context_dim = 1
    tasks = ("has_next", "effective_view", "like")

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def prepare(self, inputs: dict[str, torch.Tensor]) -> State:
        out = self.net(**inputs)
        return {"probs": torch.stack([out[t][0] for t in self.tasks], dim=-1)}  # [M, 3]

    def item_context(self, state: State) -> torch.Tensor:
        return torch.ones_like(state["probs"][:, :1])

    def score(self, state: State, context: torch.Tensor) -> torch.Tensor:
        return state["probs"].unsqueeze(0) + 0.0 * context.sum(-1).reshape(-1, 1, 1)
