"""A small context-aware scorer for ranker tests: placed items shift every candidate's scores."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class ToyScorer(nn.Module):
    def __init__(self, features: int = 5, hidden: int = 16, context: int = 6) -> None:
        super().__init__()
        self.context_dim = context
        self.base = nn.Linear(features, hidden)
        self.item = nn.Linear(features, context - 1)
        self.context = nn.Linear(context, hidden, bias=False)
        self.head = nn.Linear(hidden, 3)

    def prepare(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = inputs["cand_x"][0]
        return {"base": self.base(x), "x": x}

    def item_context(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        c = torch.tanh(self.item(state["x"]))
        return torch.cat([c, torch.ones_like(c[:, :1])], dim=-1)

    def score(self, state: dict[str, torch.Tensor], context: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(torch.relu(state["base"].unsqueeze(0) + self.context(context).unsqueeze(1))))


class ToyPointwise(nn.Module):
    """A point-wise model in the video models' output format: ``{task: [1, M]}``."""

    def __init__(self, features: int = 5) -> None:
        super().__init__()
        self.head = nn.Linear(features, 3)

    def forward(self, cand_x: torch.Tensor, cand_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        p = torch.sigmoid(self.head(cand_x)) * cand_mask.unsqueeze(-1)
        return {"has_next": p[..., 0], "effective_view": p[..., 1], "like": p[..., 2]}


def request(seed: int, m: int = 12, min_valid: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    mask = np.zeros((1, m), np.float32)
    mask[0, : rng.integers(min_valid, m + 1)] = 1.0
    return {"cand_x": rng.normal(size=(1, m, 5)).astype(np.float32), "cand_mask": mask}


def tensors(sample: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v) for k, v in sample.items()}
