"""Built-in models' options, declared once: name, type, default and check.

A model class names its dataclass (``Options = TAMMoEOptions``); the registry accepts,
type-checks and builds exactly these fields, and ``conf/model/<name>.yaml`` extends the defaults
stored here with Hydra's ConfigStore (``defaults: [options/TAMMoEOptions@_here_, _self_]``), so ``--cfg job``
shows every option while a file holds only ``name``. Torch-free: Hydra imports it before
composing a config (``edgerank/conf/__init__.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgerank.config_values import in_range, is_int, positive_int, positive_int_list
from edgerank.errors import ConfigError
from edgerank.registry.defaults import store_defaults


@dataclass
class TAMMoEOptions:
    """``ta_mmoe``: target attention over the real-time sequence + multi-task MMoE."""

    embed_dim: int = 8
    attention_hidden: int = 16
    attention_dim: int = 16
    num_experts: int = 4
    expert_hidden: tuple[int, ...] = (64,)
    expert_dim: int = 32
    tower_hidden: tuple[int, ...] = (16,)
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("embed_dim", "attention_hidden", "attention_dim", "num_experts", "expert_dim"):
            setattr(self, name, positive_int(name, getattr(self, name)))
        self.expert_hidden = positive_int_list("expert_hidden", self.expert_hidden)
        self.tower_hidden = positive_int_list("tower_hidden", self.tower_hidden)
        self.dropout = in_range("dropout", self.dropout, 0.0, 1.0)


@dataclass
class TAMMoEContextOptions(TAMMoEOptions):
    """``ta_mmoe_ctx``: ``ta_mmoe`` whose gates and towers also see the partial list."""

    context_dim: int = 16  # the placed items' context vector (learned part + a count column)
    context_hidden: tuple[int, ...] = (32,)  # MLP giving what placing a candidate adds to the context
    context_width: int = 32  # units of the layer where a candidate meets the context

    def __post_init__(self) -> None:
        super().__post_init__()
        self.context_dim = positive_int("context_dim", self.context_dim)
        if self.context_dim < 2:
            raise ConfigError("context_dim", f"needs at least 2 (learned part + the count column), got {self.context_dim}")
        self.context_hidden = positive_int_list("context_hidden", self.context_hidden)
        self.context_width = positive_int("context_width", self.context_width)


@dataclass
class DenseTopKOptions:
    """``dense_topk``: MLP -> softmax -> (in the exported graph) eligibility mask, top-K, SKU ids."""

    hidden: tuple[int, ...] = (64, 128)
    top_k: int = 5  # 1..number of products (checked by the model, which knows the products)
    dropout: float = 0.0

    def __post_init__(self) -> None:
        hidden = list(self.hidden) if isinstance(self.hidden, (list, tuple)) else None
        if not hidden or not all(is_int(h) and h >= 1 for h in hidden):
            raise ConfigError("hidden", f"must be a non-empty list of positive integers, got {hidden if hidden is not None else self.hidden!r}")
        self.hidden = hidden
        self.dropout = in_range("dropout", self.dropout, 0.0, 1.0)


@dataclass
class VideoDNNOptions:
    """``dnn``: concat(candidate features, mean-pooled sequence) -> MLP -> one head per task."""

    embed_dim: int = 8
    hidden: tuple[int, ...] = (128, 64)
    tower_hidden: tuple[int, ...] = (16,)
    dropout: float = 0.0

    def __post_init__(self) -> None:
        self.embed_dim = positive_int("embed_dim", self.embed_dim)
        self.hidden = positive_int_list("hidden", self.hidden, allow_empty=False)
        self.tower_hidden = positive_int_list("tower_hidden", self.tower_hidden)
        self.dropout = in_range("dropout", self.dropout, 0.0, 1.0)


@dataclass
class EdgeRecOptions(VideoDNNOptions):
    """``edgerec`` (CIKM 2020): GRU behaviour encoder, GRU over the candidate list, attention, MLP."""

    hidden: tuple[int, ...] = (64,)
    gru_hidden: int = 32
    attention_hidden: int = 16
    attention_dim: int = 16

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("gru_hidden", "attention_hidden", "attention_dim"):
            setattr(self, name, positive_int(name, getattr(self, name)))


@dataclass
class PRMOptions:
    """``prm`` (RecSys 2019): a transformer over the candidate list with personalised inputs."""

    embed_dim: int = 8
    attention_hidden: int = 16
    attention_dim: int = 16  # the personalised vector of each candidate
    model_dim: int = 32
    num_heads: int = 2
    num_layers: int = 2
    ffn_dim: int = 64
    tower_hidden: tuple[int, ...] = (16,)
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("embed_dim", "attention_hidden", "attention_dim", "model_dim", "num_heads", "num_layers", "ffn_dim"):
            setattr(self, name, positive_int(name, getattr(self, name)))
        if self.model_dim % self.num_heads:
            raise ConfigError("num_heads", f"must divide model_dim={self.model_dim}, got {self.num_heads}")
        self.tower_hidden = positive_int_list("tower_hidden", self.tower_hidden)
        self.dropout = in_range("dropout", self.dropout, 0.0, 1.0)


for _options in (TAMMoEOptions, TAMMoEContextOptions, DenseTopKOptions, VideoDNNOptions, EdgeRecOptions, PRMOptions):
    store_defaults("model", _options)
