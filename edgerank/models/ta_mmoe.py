"""``ta_mmoe``: Kuaishou's on-device re-ranker (CIKM 2022).

Candidate features -> target attention of each candidate over the real-time watched sequence
(with the engineered pair features in the attention) -> multi-task Mixture-of-Experts: shared
experts, one softmax gate per task, one tower per task (has_next, effective_view, like).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from edgerank.data.video import VideoSpec
from edgerank.models.layers import dropout_rate, mlp, positive, positive_list
from edgerank.models.video_blocks import MMoE, TaskHeads, VideoEncoder, VideoRerankNet, personalised_candidates, watched_attention
from edgerank.registry import register_model


@register_model("ta_mmoe", description="Target attention over the real-time sequence + multi-task MMoE (Kuaishou on-device re-ranker)")
class TargetAttentionMMoE(VideoRerankNet):
    def __init__(
        self,
        spec: VideoSpec,
        embed_dim: int = 8,
        attention_hidden: int = 16,
        attention_dim: int = 16,
        num_experts: int = 4,
        expert_hidden: Sequence[int] = (64,),
        expert_dim: int = 32,
        tower_hidden: Sequence[int] = (16,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__(spec)
        positive("embed_dim", embed_dim)
        positive("attention_hidden", attention_hidden)
        positive("attention_dim", attention_dim)
        positive("num_experts", num_experts)
        positive("expert_dim", expert_dim)
        dropout = dropout_rate(dropout)
        self.encoder = VideoEncoder(spec, embed_dim)
        enc = self.encoder
        self.attention = watched_attention(enc, attention_hidden, attention_dim)
        in_dim = enc.cand_dim + (attention_dim if enc.has_sequence else 0)
        self.mmoe = MMoE(in_dim, num_experts, positive_list("expert_hidden", expert_hidden), expert_dim, dropout)
        self.heads = TaskHeads(expert_dim, positive_list("tower_hidden", tower_hidden), dropout)

    def features(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """Candidate vectors with their target attention over the watched sequence: ``[B, M, D]``."""
        return personalised_candidates(self.encoder, self.attention, x)

    def forward(self, **x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.heads(self.mmoe(self.features(x)))
