"""``prm``: the Personalized Re-ranking Model (Pei et al., RecSys 2019), a published baseline.

A transformer encoder over the whole candidate list, so every candidate's score depends on the
others it is shown with, computed for all candidates in one pass; the ranking is a greedy sort
of those scores (``ranker=greedy``). As in the paper, each candidate enters as its features plus
a *personalised vector* and a learned embedding of its position in the server's list:

- personalised vector: the paper takes it from a pre-trained user-item model; here it is the
  candidate's target attention over the user's real-time watched sequence (the same block
  ``ta_mmoe`` uses), trained end to end;
- position: the candidate slot, which is the server's order (``M`` embeddings, fixed shape);
- encoder: ``num_layers`` blocks of multi-head self-attention over the real candidates (padding
  is masked out of every key) and a feed-forward layer, each with a residual and LayerNorm;
- output: one tower per task (has_next, effective_view, like) on every candidate's encoding,
  trained on the same labels as the other models (PRM's click loss, per task).

Written for litert-torch: heads are split by ``reshape`` on activations, never by slicing
weights; attention is two batched 3-D matmuls with the padding mask added to the logits.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from edgerank.data.video import VideoSpec
from edgerank.models.options import PRMOptions
from edgerank.models.scorer import PointwiseScorer
from edgerank.models.video_blocks import TaskHeads, VideoEncoder, VideoRerankNet, personalised_candidates, personalised_dim, watched_attention
from edgerank.registry import register_model

MASKED = -1.0e9  # attention logit of a padded key


class SelfAttentionBlock(nn.Module):
    """Post-LN transformer encoder block over the candidates ``[B, M, D]``."""

    def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.norm_attention, self.norm_ffn = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.ReLU(), nn.Linear(ffn_dim, dim))
        self.dropout = nn.Dropout(dropout)

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # [B, M, D] -> [B * heads, M, head_dim]
        b, m, _ = x.shape
        return x.reshape(b, m, self.heads, self.head_dim).permute(0, 2, 1, 3).reshape(b * self.heads, m, self.head_dim)

    def forward(self, x: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:
        """``key_bias`` ``[B * heads, 1, M]``: 0 for a real candidate, :data:`MASKED` for padding."""
        b, m, d = x.shape
        q, k, v = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        logits = torch.bmm(q, k.transpose(1, 2)) / math.sqrt(self.head_dim) + key_bias
        mixed = torch.bmm(torch.softmax(logits, dim=-1), v)  # [B * heads, M, head_dim]
        mixed = mixed.reshape(b, self.heads, m, self.head_dim).permute(0, 2, 1, 3).reshape(b, m, d)
        x = self.norm_attention(x + self.dropout(self.out(mixed)))
        return self.norm_ffn(x + self.dropout(self.ffn(x)))


@register_model("prm", description="PRM (Pei et al. 2019): transformer over the candidate list with personalised inputs, all scores in one pass")
class PRM(VideoRerankNet):
    Options = PRMOptions

    def __init__(self, spec: VideoSpec, options: PRMOptions | None = None, **values: Any) -> None:
        super().__init__(spec, options, **values)
        o = self.options
        self.encoder = VideoEncoder(spec, o.embed_dim)
        self.attention = watched_attention(self.encoder, o.attention_hidden, o.attention_dim)
        in_dim = personalised_dim(self.encoder, self.attention)
        self.num_heads = o.num_heads
        self.input = nn.Linear(in_dim, o.model_dim)
        self.position = nn.Parameter(torch.randn(spec.max_candidates, o.model_dim) * 0.02)  # slot = server position
        self.blocks = nn.ModuleList(SelfAttentionBlock(o.model_dim, o.num_heads, o.ffn_dim, o.dropout) for _ in range(o.num_layers))
        self.heads = TaskHeads(o.model_dim, o.tower_hidden, o.dropout)

    def forward(self, **x: torch.Tensor) -> dict[str, torch.Tensor]:
        mask = x["cand_mask"]
        h = self.input(personalised_candidates(self.encoder, self.attention, x)) + self.position
        b, m = mask.shape
        key_bias = ((1.0 - mask) * MASKED).reshape(b, 1, 1, m).expand(b, self.num_heads, 1, m).reshape(b * self.num_heads, 1, m)
        for block in self.blocks:
            h = block(h, key_bias)
        return self.heads(h)

    def scorer(self) -> nn.Module:
        """Its scores already see the whole list, not a partial one: rankers sort them as given."""
        return PointwiseScorer(self.on_device())
