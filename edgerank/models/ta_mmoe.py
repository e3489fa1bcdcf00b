"""``ta_mmoe``: Kuaishou's on-device re-ranker (CIKM 2022).

Candidate features -> target attention of each candidate over the real-time watched sequence
(with the engineered pair features in the attention) -> multi-task Mixture-of-Experts: shared
experts, one softmax gate per task, one tower per task (has_next, effective_view, like).
"""

from __future__ import annotations

from typing import Any

import torch

from edgerank.data.video import VideoSpec
from edgerank.models.options import TAMMoEOptions
from edgerank.models.video_blocks import MMoE, TaskHeads, VideoEncoder, VideoRerankNet, personalised_candidates, personalised_dim, watched_attention
from edgerank.registry import register_model


@register_model("ta_mmoe", description="Target attention over the real-time sequence + multi-task MMoE (Kuaishou on-device re-ranker)")
class TargetAttentionMMoE(VideoRerankNet):
    Options = TAMMoEOptions

    def __init__(self, spec: VideoSpec, options: TAMMoEOptions | None = None, **values: Any) -> None:
        super().__init__(spec, options, **values)
        o = self.options
        self.encoder = VideoEncoder(spec, o.embed_dim)
        self.attention = watched_attention(self.encoder, o.attention_hidden, o.attention_dim)
        in_dim = personalised_dim(self.encoder, self.attention)
        self.mmoe = MMoE(in_dim, o.num_experts, o.expert_hidden, o.expert_dim, o.dropout)
        self.heads = TaskHeads(o.expert_dim, o.tower_hidden, o.dropout)

    def features(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """Candidate vectors with their target attention over the watched sequence: ``[B, M, D]``."""
        return personalised_candidates(self.encoder, self.attention, x)

    def forward(self, **x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.heads(self.mmoe(self.features(x)))
