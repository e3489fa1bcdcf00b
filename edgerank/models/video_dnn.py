"""``dnn``: the plain baseline of the paper: feature concat -> MLP -> one head per task.

It reads the same inputs as ``ta_mmoe``; the watched sequence enters as a masked mean (no
attention), the pair features as their mean over the sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from edgerank.data.video import VideoSpec
from edgerank.errors import ConfigError
from edgerank.models.layers import dropout_rate, mlp, positive, positive_list
from edgerank.models.video_blocks import TaskHeads, VideoEncoder, VideoRerankNet
from edgerank.registry import register_model


@register_model("dnn", description="Short-video baseline: concat of candidate features and mean-pooled sequence -> MLP, multi-task heads")
class VideoDNN(VideoRerankNet):
    def __init__(
        self,
        spec: VideoSpec,
        embed_dim: int = 8,
        hidden: Sequence[int] = (128, 64),
        tower_hidden: Sequence[int] = (16,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__(spec)
        positive("embed_dim", embed_dim)
        hidden = positive_list("hidden", hidden)
        if not hidden:
            raise ConfigError("hidden", "must list at least one layer size")
        dropout = dropout_rate(dropout)
        self.encoder = VideoEncoder(spec, embed_dim)
        enc = self.encoder
        in_dim = enc.cand_dim + enc.seq_dim + enc.pair_dim
        self.bottom = mlp([in_dim, *hidden], dropout, last_activation=True)
        self.heads = TaskHeads(hidden[-1], positive_list("tower_hidden", tower_hidden), dropout)

    def forward(self, **x: torch.Tensor) -> dict[str, torch.Tensor]:
        cand = self.encoder.candidates(x)
        parts = [cand]
        if self.encoder.has_sequence:
            mask = x["seq_mask"]
            count = mask.sum(dim=1, keepdim=True).clamp(min=1.0)  # [B, 1]
            pooled = (self.encoder.sequence(x) * mask.unsqueeze(-1)).sum(dim=1) / count  # [B, D]
            parts.append(pooled.unsqueeze(1) + torch.zeros_like(cand[..., :1]))  # broadcast over M
            pairs = self.encoder.pairs(x)
            if pairs is not None:  # mean over the sequence of cand_pxtr - seq_pxtr
                seq_pxtr = (pairs[1] * mask.unsqueeze(-1)).sum(dim=1) / count  # [B, T]
                parts.append(pairs[0] - seq_pxtr.unsqueeze(1))
        return self.heads(self.bottom(torch.cat(parts, dim=-1)))
