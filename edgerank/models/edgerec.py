"""``edgerec``: EdgeRec (Gong et al., CIKM 2020), the on-device baseline of the paper.

A GRU encodes the behaviour (watched) sequence; a second GRU runs over the candidate list in
server order, giving each candidate the context of the items listed before it; each candidate
(with its context) attends over the encoded behaviour; an MLP and one head per task follow.
The GRUs are unrolled over the fixed lengths with masked steps (see
:class:`~edgerank.models.video_blocks.GRUCell`), so padding changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from edgerank.data.video import VideoSpec
from edgerank.errors import ConfigError
from edgerank.models.layers import dropout_rate, mlp, positive, positive_list
from edgerank.models.video_blocks import GRUCell, TargetAttention, TaskHeads, VideoEncoder, VideoRerankNet
from edgerank.registry import register_model


@register_model("edgerec", description="EdgeRec baseline: GRU behaviour encoder, GRU over the candidate list, attention, MLP")
class EdgeRec(VideoRerankNet):
    def __init__(
        self,
        spec: VideoSpec,
        embed_dim: int = 8,
        gru_hidden: int = 32,
        attention_hidden: int = 16,
        attention_dim: int = 16,
        hidden: Sequence[int] = (64,),
        tower_hidden: Sequence[int] = (16,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__(spec)
        for name, value in (("embed_dim", embed_dim), ("gru_hidden", gru_hidden), ("attention_hidden", attention_hidden), ("attention_dim", attention_dim)):
            positive(name, value)
        hidden = positive_list("hidden", hidden)
        if not hidden:
            raise ConfigError("hidden", "must list at least one layer size")
        dropout = dropout_rate(dropout)
        self.encoder = VideoEncoder(spec, embed_dim)
        enc = self.encoder
        self.context_gru = GRUCell(enc.cand_dim, gru_hidden)
        query_dim = enc.cand_dim + gru_hidden
        if enc.has_sequence:
            self.behaviour_gru = GRUCell(enc.seq_dim, gru_hidden)
            self.attention = TargetAttention(query_dim, gru_hidden, enc.pair_dim, attention_hidden, attention_dim)
        in_dim = query_dim + (attention_dim if enc.has_sequence else 0)
        self.bottom = mlp([in_dim, *hidden], dropout, last_activation=True)
        self.heads = TaskHeads(hidden[-1], positive_list("tower_hidden", tower_hidden), dropout)

    def forward(self, **x: torch.Tensor) -> dict[str, torch.Tensor]:
        cand = self.encoder.candidates(x)
        query = torch.cat([cand, self.context_gru.run(cand, x["cand_mask"])], dim=-1)
        parts = [query]
        if self.encoder.has_sequence:
            behaviour = self.behaviour_gru.run(self.encoder.sequence(x), x["seq_mask"])
            parts.append(self.attention(query, behaviour, x["seq_mask"], self.encoder.pairs(x)))
        return self.heads(self.bottom(torch.cat(parts, dim=-1)))
