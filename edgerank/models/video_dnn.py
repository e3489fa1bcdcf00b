"""``dnn``: the plain baseline of the paper: feature concat -> MLP -> one head per task.

It reads the same inputs as ``ta_mmoe``; the watched sequence enters as a masked mean (no
attention), the pair features as their mean over the sequence.
"""

from __future__ import annotations

from typing import Any

import torch

from edgerank.data.video import VideoSpec
from edgerank.models.layers import mlp
from edgerank.models.options import VideoDNNOptions
from edgerank.models.video_blocks import TaskHeads, VideoEncoder, VideoRerankNet
from edgerank.registry import register_model


@register_model("dnn", description="Short-video baseline: concat of candidate features and mean-pooled sequence -> MLP, multi-task heads")
class VideoDNN(VideoRerankNet):
    Options = VideoDNNOptions

    def __init__(self, spec: VideoSpec, options: VideoDNNOptions | None = None, **values: Any) -> None:
        super().__init__(spec, options, **values)
        o = self.options
        self.encoder = VideoEncoder(spec, o.embed_dim)
        enc = self.encoder
        in_dim = enc.cand_dim + enc.seq_dim + enc.pair_dim
        self.bottom = mlp([in_dim, *o.hidden], o.dropout, last_activation=True)
        self.heads = TaskHeads(o.hidden[-1], o.tower_hidden, o.dropout)

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
