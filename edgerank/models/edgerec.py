"""``edgerec``: EdgeRec (Gong et al., CIKM 2020), the on-device baseline of the paper.

A GRU encodes the behaviour (watched) sequence; a second GRU runs over the candidate list in
server order, giving each candidate the context of the items listed before it; each candidate
(with its context) attends over the encoded behaviour; an MLP and one head per task follow.
The GRUs are unrolled over the fixed lengths with masked steps (see
:class:`~edgerank.models.video_blocks.GRUCell`), so padding changes nothing.
"""

from __future__ import annotations

from typing import Any

import torch

from edgerank.data.video import VideoSpec
from edgerank.models.layers import mlp
from edgerank.models.options import EdgeRecOptions
from edgerank.models.video_blocks import GRUCell, TargetAttention, TaskHeads, VideoEncoder, VideoRerankNet
from edgerank.registry import register_model


@register_model("edgerec", description="EdgeRec baseline: GRU behaviour encoder, GRU over the candidate list, attention, MLP")
class EdgeRec(VideoRerankNet):
    Options = EdgeRecOptions

    def __init__(self, spec: VideoSpec, options: EdgeRecOptions | None = None, **values: Any) -> None:
        super().__init__(spec, options, **values)
        o = self.options
        gru_hidden, attention_dim = o.gru_hidden, o.attention_dim
        self.encoder = VideoEncoder(spec, o.embed_dim)
        enc = self.encoder
        self.context_gru = GRUCell(enc.cand_dim, gru_hidden)
        query_dim = enc.cand_dim + gru_hidden
        if enc.has_sequence:
            self.behaviour_gru = GRUCell(enc.seq_dim, gru_hidden)
            self.attention = TargetAttention(query_dim, gru_hidden, enc.pair_dim, o.attention_hidden, attention_dim)
        in_dim = query_dim + (attention_dim if enc.has_sequence else 0)
        self.bottom = mlp([in_dim, *o.hidden], o.dropout, last_activation=True)
        self.heads = TaskHeads(o.hidden[-1], o.tower_hidden, o.dropout)

    def forward(self, **x: torch.Tensor) -> dict[str, torch.Tensor]:
        cand = self.encoder.candidates(x)
        query = torch.cat([cand, self.context_gru.run(cand, x["cand_mask"])], dim=-1)
        parts = [query]
        if self.encoder.has_sequence:
            behaviour = self.behaviour_gru.run(self.encoder.sequence(x), x["seq_mask"])
            parts.append(self.attention(query, behaviour, x["seq_mask"], self.encoder.pairs(x)))
        return self.heads(self.bottom(torch.cat(parts, dim=-1)))
