"""``ta_mmoe_ctx``: ``ta_mmoe`` that also sees the partial list, for generative re-ranking.

The ranking context of the item at position i is the watched sequence *plus the items already
placed at positions 1..i-1* (Kuaishou, CIKM 2022). Here the placed items enter as a context
vector - the sum of a learned ``item_context`` of each placed item, with a constant column that
counts them - added to the first layer of every expert and to every gate. That layer is linear,
so its candidate part (and the target attention before it) is computed once per request
(:meth:`ContextScorer.prepare`); a beam step only adds the context part and runs the rest of
the experts and the towers.

Training sees the context the logged labels were produced under: the exposed head of each
request (``exposed`` = 1) was watched in slot order, so slot i's context is the exposed slots
before it; every other candidate is labelled at the request's moment, i.e. with an empty list.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from edgerank.data.video import VideoSpec
from edgerank.data.video_features import TASKS
from edgerank.models.ta_mmoe import TargetAttentionMMoE
from edgerank.errors import ConfigError
from edgerank.models.layers import positive
from edgerank.registry import register_model


@register_model("ta_mmoe_ctx", description="ta_mmoe with the partial list as context (for beam / adaptive_beam rankers)")
class ContextualTAMMoE(TargetAttentionMMoE):
    training_inputs = ("exposed",)  # batches carry it; the exported graphs do not take it

    def __init__(self, spec: VideoSpec, context_dim: int = 8, **ta_mmoe_options: Any) -> None:
        super().__init__(spec, **ta_mmoe_options)
        self.context_dim = positive("context_dim", context_dim)
        if context_dim < 2:
            raise ConfigError("context_dim", f"needs at least 2 (learned part + the count column), got {context_dim}")
        in_dim = self.mmoe.gates[TASKS[0]].in_features
        first = self.mmoe.experts[0][0].out_features
        self.item_projection = nn.Linear(in_dim, context_dim - 1)
        self.context_experts = nn.ModuleList(nn.Linear(context_dim, first, bias=False) for _ in self.mmoe.experts)
        num_experts = len(self.mmoe.experts)
        self.context_gates = nn.ModuleDict({t: nn.Linear(context_dim, num_experts, bias=False) for t in TASKS})

    # -- shared pieces ---------------------------------------------------------------------------
    def item_contexts(self, features: torch.Tensor) -> torch.Tensor:
        """What placing each candidate adds to the context: ``[..., M, C]`` (last column counts)."""
        learned = torch.tanh(self.item_projection(features))
        return torch.cat([learned, torch.ones_like(learned[..., :1])], dim=-1)

    def mix(self, first: list[torch.Tensor], gates: dict[str, torch.Tensor], context: torch.Tensor) -> dict[str, torch.Tensor]:
        """Finish the experts from their first-layer pre-activations plus the context part.

        ``first[e]`` and ``gates[t]`` broadcast against ``context`` projected to ``[..., 1|M, .]``.
        """
        experts = torch.stack(
            [e[1:](pre + c(context)) for e, pre, c in zip(self.mmoe.experts, first, self.context_experts)], dim=-1
        )
        mixed = {
            t: (experts * torch.softmax(gates[t] + self.context_gates[t](context), dim=-1).unsqueeze(-2)).sum(-1)
            for t in TASKS
        }
        return self.heads(mixed)

    # -- training / point-wise -----------------------------------------------------------------
    def forward(self, **x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.features(x)
        exposed = x.get("exposed")
        if exposed is None:  # point-wise use: every candidate at the head of an empty list
            context = features.new_zeros((*features.shape[:-1], self.context_dim))
        else:  # slot i of the exposed head was watched after the exposed slots before it
            placed = self.item_contexts(features) * exposed.unsqueeze(-1)
            context = (torch.cumsum(placed, dim=1) - placed) * exposed.unsqueeze(-1)
        first = [e[0](features) for e in self.mmoe.experts]
        gates = {t: self.mmoe.gates[t](features) for t in TASKS}
        return self.mix(first, gates, context)

    def scorer(self) -> "ContextScorerOf":
        return ContextScorerOf(self)


class ContextScorerOf(nn.Module):
    """The :class:`~edgerank.rankers.scorer.ContextScorer` view of a :class:`ContextualTAMMoE`."""

    def __init__(self, net: ContextualTAMMoE) -> None:
        super().__init__()
        self.net = net
        self.context_dim = net.context_dim

    def prepare(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = {k: v for k, v in inputs.items() if k in self.net.input_names}
        features = self.net.features(x)[0]  # [M, D]
        state = {f"expert{i}": e[0](features) for i, e in enumerate(self.net.mmoe.experts)}
        state.update({f"gate_{t}": self.net.mmoe.gates[t](features) for t in TASKS})
        state["item_context"] = self.net.item_contexts(features)
        state["mask"] = inputs["cand_mask"][0]
        return state

    def item_context(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        return state["item_context"]

    def score(self, state: dict[str, torch.Tensor], context: torch.Tensor) -> torch.Tensor:
        c = context.unsqueeze(1)  # [K, 1, C] against [M, .] -> [K, M, .]
        first = [state[f"expert{i}"] for i in range(len(self.net.mmoe.experts))]
        logits = self.net.mix(first, {t: state[f"gate_{t}"] for t in TASKS}, c)
        return torch.stack([torch.sigmoid(logits[t]) for t in TASKS], dim=-1) * state["mask"].unsqueeze(-1)
