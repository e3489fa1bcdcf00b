"""``dense_topk``: vivo's on-device product recommender.

Training sees an MLP over the group one-hot vector that outputs one logit per product. The
exported graph wraps it with what the app needs, all inside the ``.tflite``: softmax, masking of
products that are not eligible in the user's environment, top-K selection, and the mapping of
class indices to int32 SKU ids.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from edgerank.data.choice import ChoiceSpec
from edgerank.errors import ConfigError
from edgerank.graph import OnDeviceGraph
from edgerank.models.layers import mlp
from edgerank.models.options import DenseTopKOptions
from edgerank.registry import register_model
from edgerank.registry.given_options import given_options

INELIGIBLE_SCORE = -1.0


@register_model("dense_topk", description="MLP over group one-hot user bits -> softmax -> in-graph eligibility mask, top-K, SKU ids")
class DenseTopK(nn.Module):
    """Input -> Dense(hidden...) relu -> Dense(N) logits; :meth:`on_device` adds the app-side head."""

    Options = DenseTopKOptions

    def __init__(self, spec: ChoiceSpec, options: DenseTopKOptions | None = None, **values: Any) -> None:
        super().__init__()
        self.options = o = given_options(DenseTopKOptions, options, values, type(self).__name__)
        if not 1 <= o.top_k <= spec.num_products:
            raise ConfigError("top_k", f"must be between 1 and the number of products ({spec.num_products}), got {o.top_k}")
        self.top_k = o.top_k
        self.layers = mlp([spec.input_dim, *o.hidden, spec.num_products], o.dropout)
        self.register_buffer("sku_ids", torch.as_tensor(spec.sku_ids, dtype=torch.int32))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)

    def on_device(self) -> "TopKGraph":
        return TopKGraph(self)


class TopKGraph(nn.Module, OnDeviceGraph):
    """What the app calls: ``(features, eligible) -> {scores, sku_ids}``, K best eligible products.

    ``eligible`` is 1.0 for products that may be shown and 0.0 otherwise. A rank with no eligible
    product left gets score ``-1.0``. Ties keep the lower class index first on both sides.
    """

    ranked_lists = {"sku_ids": "scores"}  # list output -> the scores it is ranked by (parity)

    def __init__(self, model: DenseTopK) -> None:
        super().__init__()
        self.model = model

    def forward(self, features: torch.Tensor, eligible: torch.Tensor) -> dict[str, torch.Tensor]:
        probs = torch.softmax(self.model(features), dim=-1)
        probs = torch.where(eligible > 0.5, probs, torch.full_like(probs, INELIGIBLE_SCORE))
        scores, index = torch.topk(probs, self.model.top_k, dim=-1)
        return {"scores": scores, "sku_ids": self.model.sku_ids[index]}
