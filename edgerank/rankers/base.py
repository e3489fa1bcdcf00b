"""Common shape of every ranker: an ``nn.Module`` graph plus an eager ``rank`` for evaluation.

A ranker implements two methods, :meth:`Ranker.search` (one request in, a :class:`SearchResult`
out) and :meth:`Ranker.evaluations` (its cost); the exported outputs and the eager ``rank`` are
derived from them. A subclass missing either cannot be instantiated (``abc``).
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from edgerank.errors import ConfigError
from edgerank.graph import OnDeviceGraph
from edgerank.models.scorer import ContextScorer
from edgerank.core.app_loop import NO_TIE, RankedSlots
from edgerank.rankers.options import RankerOptions


@dataclass
class SearchResult:
    """One request's list, as the graph computes it.

    ``slots`` ``[n]`` in display order (-1 where no valid candidate is left), ``gains`` ``[n]``
    the score of each position (``list_reward`` is their sum), ``margin`` ``[1]`` the smallest
    top-k margin the search met, which lets the parity check tell a near tie from a divergence
    (None: the search cannot tell, and the graph has no ``margin`` output), and ``outputs``:
    further named ``[n]`` graph outputs (e.g. the score a plugin's ``ranked_lists`` names).
    """

    slots: torch.Tensor
    gains: torch.Tensor
    margin: torch.Tensor | None = None
    outputs: dict[str, torch.Tensor] = field(default_factory=dict)


class Ranker(nn.Module, OnDeviceGraph, metaclass=ABCMeta):
    """Returns the top-``list_size`` list out of the request's candidates.

    As an exported graph: ``(**request inputs) -> {ranked [1, n] int32 slots, gains [1, n],
    list_reward [1], margin [1], **result.outputs}``; ``ranked`` is -1 where the request has
    fewer valid candidates than n.
    """

    ranked_lists = {"ranked": "gains"}  # for the parity check
    bounded_by_candidates = ("list_size",)  # options that cannot exceed a request's candidates
    tie_margin_output = "margin"  # PyTorch's smallest top-k margin per request (parity: near ties)

    Options: ClassVar[type[RankerOptions]] = RankerOptions  # a subclass names its own dataclass

    def __init__(
        self, scorer: ContextScorer, options: RankerOptions | None = None, *, mask_input: str = "cand_mask", **values: Any
    ) -> None:
        """``options``, or the option ``values`` as keywords (``BeamSearchRanker(scorer,
        beam_size=2)``): checked once, by the class's :attr:`Options` dataclass, and readable as
        attributes (``self.beam_size``). ``mask_input`` names the request's candidate mask."""
        super().__init__()
        if options is None:
            options = self.Options(**values)
        elif values or not isinstance(options, self.Options):
            raise TypeError(f"{type(self).__name__} takes either a {self.Options.__name__} or option keywords, not both")
        self.options, self.scorer, self.mask_input = options, scorer, mask_input
        for option in fields(options):
            setattr(self, option.name, getattr(options, option.name))

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
        result = self.search(inputs)
        out = {
            "ranked": result.slots.to(torch.int32).reshape(1, -1),
            "gains": result.gains.reshape(1, -1),
            "list_reward": result.gains.sum().reshape(1),
        }
        if result.margin is not None:
            out["margin"] = result.margin.reshape(1)
        return {**out, **{name: value.reshape(1, -1) for name, value in result.outputs.items()}}

    @abstractmethod
    def search(self, inputs: dict[str, torch.Tensor]) -> SearchResult:
        """The list for one request (batch 1), in graph-friendly PyTorch: it is exported."""

    @abstractmethod
    def evaluations(self, num_valid: int) -> int:
        """Candidate scorings spent on a request with ``num_valid`` candidates (cost plots)."""

    def fit(self, batches: Iterable[dict[str, torch.Tensor]], input_names: Sequence[str]) -> None:
        """Learn the ranker's own parameters, if it has any, once the model is trained: on the
        training batches (model inputs named ``input_names``, ``labels``); the model stays frozen."""

    @torch.no_grad()
    def rank(self, inputs: dict[str, torch.Tensor]) -> RankedSlots:
        """Eager ranking of one request (batch 1), with its cost."""
        result = self.search(inputs)
        valid = int(self.valid(inputs).sum())
        margin = NO_TIE if result.margin is None else float(result.margin[0])
        return RankedSlots(slots=result.slots.numpy().astype(np.int64), gains=result.gains.numpy(),
                           evaluations=self.evaluations(valid), margin=margin)

    def on_device(self) -> nn.Module:
        """The graph converted to ``.tflite`` together with the model (one signature)."""
        return self
