"""``dcn_v2``: Deep & Cross Network v2 (Wang et al., "DCN V2", WWW 2021) as a video re-ranker.

Same inputs as ``ta_mmoe`` (through edgerank's :class:`VideoEncoder`), so a comparison with the
built-in models is about the architecture only: each candidate's vector, plus its target
attention over the real-time watched sequence, is the input ``x0`` of

- a cross network of ``cross_layers`` layers ``x_{l+1} = x0 * (W_l x_l + b_l) + x_l``, which
  learns bounded-degree feature crosses explicitly (e.g. "pXTR high *and* preload slow"), and
- a deep MLP, either next to it (``structure: parallel``, heads see ``[cross, deep]``) or on top
  of it (``structure: stacked``),

then one tower per task (has_next, effective_view, like) via edgerank's :class:`TaskHeads`.

Written for litert-torch (see the lowering pitfalls in edgerank's DESIGN notes): every weight
is its own ``nn.Linear`` (the low-rank ``W = U V^T`` is two ``nn.Linear``, never a weight
sliced inside ``forward``), the layer loop is static, and no op depends on the data's values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from edgerank.models.api import (
    TaskHeads,
    VideoEncoder,
    VideoRerankNet,
    VideoSpec,
    dropout_rate,
    mlp,
    one_of,
    personalised_candidates,
    personalised_dim,
    positive_int,
    positive_int_list,
    register_model,
    store_defaults,
    watched_attention,
)

STRUCTURES = ("parallel", "stacked")


@dataclass
class DCNv2Options:
    """Every option of ``dcn_v2``, its default and its check (``conf/model/dcn_v2.yaml`` extends these)."""

    embed_dim: int = 8
    attention_hidden: int = 32  # target attention of each candidate over the watched sequence
    attention_dim: int = 32
    cross_layers: int = 3  # x_{l+1} = x0 * (W_l x_l + b_l) + x_l
    low_rank: int | None = None  # None: full-rank W_l; r: W_l = U_l V_l^T with rank r (fewer weights)
    deep_hidden: tuple[int, ...] = (64, 32)  # deep tower next to the cross network
    structure: str = "parallel"  # parallel: heads see [cross, deep]; stacked: deep tower on top of cross
    tower_hidden: tuple[int, ...] = (16,)  # one tower per task (has_next, effective_view, like)
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for key in ("embed_dim", "attention_hidden", "attention_dim", "cross_layers"):
            setattr(self, key, positive_int(key, getattr(self, key)))
        if self.low_rank is not None:
            self.low_rank = positive_int("low_rank", self.low_rank)
        self.structure = one_of("structure", self.structure, STRUCTURES)
        self.deep_hidden = positive_int_list("deep_hidden", self.deep_hidden, allow_empty=self.structure == "parallel")
        self.tower_hidden = positive_int_list("tower_hidden", self.tower_hidden)
        self.dropout = dropout_rate(self.dropout)


store_defaults("model", DCNv2Options)


class CrossLayer(nn.Module):
    """One DCN-v2 cross layer: ``x0 * (W x + b) + x``, with ``W`` full (d x d) or ``U V^T``.

    The low-rank form is two separate ``nn.Linear`` layers (d -> r -> d), which both saves
    weights on a phone (2dr instead of d^2) and avoids slicing weights inside ``forward``.
    """

    def __init__(self, dim: int, low_rank: int | None) -> None:
        super().__init__()
        if low_rank is None:
            self.transform: nn.Module = nn.Linear(dim, dim)
        else:
            self.transform = nn.Sequential(nn.Linear(dim, low_rank, bias=False), nn.Linear(low_rank, dim))

    def forward(self, x0: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x0 * self.transform(x) + x


class CrossNetwork(nn.Module):
    """``cross_layers`` cross layers over the last dimension; shape-preserving ``[..., d]``."""

    def __init__(self, dim: int, num_layers: int, low_rank: int | None = None) -> None:
        super().__init__()
        self.layers = nn.ModuleList(CrossLayer(dim, low_rank) for _ in range(num_layers))

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        x = x0
        for layer in self.layers:  # static depth: unrolled at export
            x = layer(x0, x)
        return x


@register_model("dcn_v2", description="DCN-v2 cross network + deep MLP over the video inputs, multi-task heads (plugin example)")
class DCNv2(VideoRerankNet):
    """DCN-v2 re-ranker: ``forward(**inputs) -> {task: logits [B, M]}``.

    Subclassing :class:`VideoRerankNet` is what makes it a drop-in video model: ``on_device()``
    wraps it in edgerank's ``RerankGraph`` (named keyword inputs, probabilities, 0 at padded
    slots), which the exporter converts and the parity check runs, and the rankers score it
    through ``PointwiseScorer``.
    """

    Options = DCNv2Options

    def __init__(self, spec: VideoSpec, options: DCNv2Options | None = None, **values: Any) -> None:
        super().__init__(spec, options, **values)
        o = self.options
        self.structure = o.structure
        self.encoder = VideoEncoder(spec, o.embed_dim)
        # Without a watched sequence (rts and fe off) there is nothing to attend over: None.
        self.attention = watched_attention(self.encoder, o.attention_hidden, o.attention_dim)
        x0_dim = personalised_dim(self.encoder, self.attention)
        self.cross = CrossNetwork(x0_dim, o.cross_layers, o.low_rank)
        deep_hidden, dropout = o.deep_hidden, o.dropout
        if o.structure == "parallel":
            self.deep = mlp([x0_dim, *deep_hidden], dropout, last_activation=True) if deep_hidden else None
            head_dim = x0_dim + (deep_hidden[-1] if deep_hidden else 0)
        else:
            self.deep = mlp([x0_dim, *deep_hidden], dropout, last_activation=True)
            head_dim = deep_hidden[-1]
        self.heads = TaskHeads(head_dim, o.tower_hidden, dropout)

    def x0(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """``[B, M, d]``: candidate features, plus what the candidate found in the watched list."""
        return personalised_candidates(self.encoder, self.attention, x)

    def forward(self, **x: torch.Tensor) -> dict[str, torch.Tensor]:
        x0 = self.x0(x)
        crossed = self.cross(x0)
        if self.structure == "stacked":
            return self.heads(self.deep(crossed))
        parts = [crossed] if self.deep is None else [crossed, self.deep(x0)]
        return self.heads(torch.cat(parts, dim=-1))
