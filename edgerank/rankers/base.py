"""Common shape of every ranker: an ``nn.Module`` graph plus an eager ``rank`` for evaluation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from edgerank.errors import ConfigError
from edgerank.graph import OnDeviceGraph
from edgerank.rankers.loop import NO_TIE, Ranking
from edgerank.rankers.scorer import ContextScorer

TASK_ORDER = ("has_next", "effective_view", "like")


class Ranker(nn.Module, OnDeviceGraph):
    """Returns the top-``list_size`` list out of the request's candidates.

    As an exported graph: ``(**request inputs) -> {ranked [1, n] int32 slots, gains [1, n],
    list_reward [1]}``; ``ranked`` is -1 where the request has fewer valid candidates than n.
    """

    ranked_lists = {"ranked": "gains"}  # for the parity check
    bounded_by_candidates = ("list_size",)  # options that cannot exceed a request's candidates
    tie_margin_output = "margin"  # PyTorch's smallest top-k margin per request (parity: near ties)

    def __init__(
        self, scorer: ContextScorer, list_size: int = 10, alpha: float = 1.0, beta: float = 1.0, mask_input: str = "cand_mask"
    ) -> None:
        super().__init__()
        if not isinstance(list_size, int) or list_size < 1:
            raise ConfigError("list_size", f"must be a positive integer, got {list_size!r}")
        if alpha < 0 or beta < 0 or alpha + beta == 0:
            raise ConfigError("alpha", f"alpha and beta must be >= 0 and not both 0, got {alpha}, {beta}")
        self.scorer = scorer
        self.list_size, self.alpha, self.beta, self.mask_input = list_size, float(alpha), float(beta), mask_input

    def check_candidates(self, max_candidates: int) -> None:
        """Fail before training when an option asks for more than a request's ``max_candidates``
        (the search would run over padding, and unrolled graphs grow with the option)."""
        for key in self.bounded_by_candidates:
            value = getattr(self, key)
            if value > max_candidates:
                raise ConfigError(key, f"is {value}, but a request has at most {max_candidates} candidates "
                                  "(data.max_candidates)")

    def valid(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return inputs[self.mask_input].reshape(-1)

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        slots, gains, reward, margin = self.search_with_margin(inputs)
        return {
            "ranked": slots.to(torch.int32).reshape(1, -1),
            "gains": gains.reshape(1, -1),
            "list_reward": reward.reshape(1),
            "margin": margin.reshape(1),
        }

    def search(self, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Slots in display order, the gain at each position, and the list's ListReward."""
        return self.search_with_margin(inputs)[:3]

    def search_with_margin(
        self, inputs: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`search` plus the smallest top-k margin the search met (the ``margin`` output,
        which tells the parity check a near tie from a divergence). A ranker that cannot tell
        overrides :meth:`search` instead and reports no tie."""
        slots, gains, reward = self.search(inputs)
        return slots, gains, reward, torch.full((1,), NO_TIE)

    def evaluations(self, num_valid: int) -> int:
        raise NotImplementedError

    def fit(self, batches: Iterable[dict[str, torch.Tensor]], input_names: Sequence[str]) -> None:
        """Learn the ranker's own parameters, if it has any, once the model is trained: on the
        training batches (model inputs named ``input_names``, ``labels``); the model stays frozen."""

    @torch.no_grad()
    def rank(self, inputs: dict[str, torch.Tensor]) -> Ranking:
        """Eager ranking of one request (batch 1), with its cost."""
        slots, gains, _, margin = self.search_with_margin(inputs)
        valid = int(self.valid(inputs).sum())
        return Ranking(slots.numpy().astype(np.int64), gains.numpy(), self.evaluations(valid), float(margin[0]))

    def on_device(self) -> nn.Module:
        """The graph converted to ``.tflite`` together with the model (one signature)."""
        return self
