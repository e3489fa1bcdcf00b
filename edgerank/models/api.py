"""The public API for model plugins: everything a model needs from edgerank, in one import.

A plugin (``plugins/edgerank-dcn``, and the built-in ``ta_mmoe_ctx``) imports only from here,
so edgerank's own models can change without breaking it:

- **registration**: :func:`register_model`, and :func:`store_defaults` for an options dataclass
  (its defaults become the ``defaults:`` entry the plugin's YAML extends);
- **option checks** that raise ``ConfigError(key, ...)``, which the registry reports under the
  key the user wrote (``model.cross_layers: must be a positive integer, got 0``). They reject
  what Python would let through: ``True`` as an integer, NaN as a number, a string as a list;
- **building blocks** of the short-video re-rankers, each a module with named parts:
  :class:`VideoEncoder` (the enabled inputs as candidate / watched-item / pair vectors),
  :class:`TargetAttention` (a candidate over the watched sequence; :func:`watched_attention`
  builds it for an encoder, :func:`personalised_candidates` applies it, :func:`personalised_dim` is its width), :class:`MMoE`
  (``experts``, per-task ``gates``), :class:`TaskHeads` (one :class:`Tower` per task, each a
  ``first`` linear layer and the ``rest``), :class:`GRUCell`, :func:`mlp`;
- **bases**: :class:`VideoRerankNet` (``forward(**inputs) -> {task: logits}``; its
  ``on_device()`` is the :class:`RerankGraph` the exporter converts) and
  :class:`TargetAttentionMMoE` (``ta_mmoe``, with parts ``encoder``, ``attention``, ``mmoe``,
  ``heads``, and its options :class:`TAMMoEOptions`) to extend; for the product scenario,
  :class:`DenseTopK` over a :class:`ChoiceSpec`.
"""

from __future__ import annotations

from edgerank.config_values import (
    boolean,
    in_range,
    int_range,
    non_negative,
    one_of,
    positive_int,
    positive_int_list,
    positive_number,
)
from edgerank.data.choice import ChoiceSpec
from edgerank.data.video import VideoSpec
from edgerank.core.video_features import TASKS
from edgerank.errors import ConfigError
from edgerank.models.dense_topk import DenseTopK
from edgerank.models.layers import dropout_rate, mlp
from edgerank.models.options import TAMMoEContextOptions, TAMMoEOptions
from edgerank.models.ta_mmoe import TargetAttentionMMoE
from edgerank.models.video_blocks import (
    GRUCell,
    MMoE,
    RerankGraph,
    TargetAttention,
    TaskHeads,
    Tower,
    VideoEncoder,
    VideoRerankNet,
    personalised_candidates,
    personalised_dim,
    watched_attention,
)
from edgerank.registry import register_model
from edgerank.registry.defaults import store_defaults

__all__ = [
    "TASKS",
    "ChoiceSpec",
    "ConfigError",
    "DenseTopK",
    "GRUCell",
    "MMoE",
    "RerankGraph",
    "TAMMoEContextOptions",
    "TAMMoEOptions",
    "TargetAttention",
    "TargetAttentionMMoE",
    "TaskHeads",
    "Tower",
    "VideoEncoder",
    "VideoRerankNet",
    "VideoSpec",
    "boolean",
    "dropout_rate",
    "in_range",
    "int_range",
    "mlp",
    "non_negative",
    "one_of",
    "personalised_candidates",
    "personalised_dim",
    "positive_int",
    "positive_int_list",
    "positive_number",
    "register_model",
    "store_defaults",
    "watched_attention",
]
