"""Every built-in ranker's options, declared once: name, type, default and check.

A ranker class names its dataclass (``Options = BeamOptions``); the registry accepts, type-checks
and builds exactly these fields, and the YAML files in ``conf/ranker/`` extend the defaults
stored here with Hydra's ConfigStore (``defaults: [options/BeamOptions@_here_, _self_]``), so ``--cfg job``
shows every option while a file holds only what it changes. Torch-free: Hydra imports it
before composing a config (``edgerank/conf/__init__.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgerank.config_values import positive_int
from edgerank.core.video_features import TASKS
from edgerank.errors import ConfigError
from edgerank.registry.defaults import store_defaults

TASK_ORDER = TASKS  # order of every probability tensor


@dataclass
class RankerOptions:
    """What every ranker takes: the list it returns and ListReward's weights."""

    list_size: int = 10  # n: items returned out of the m candidates of a request
    alpha: float = 1.0  # ListReward weight of effective view
    beta: float = 1.0  # ListReward weight of like

    def __post_init__(self) -> None:
        self.list_size = positive_int("list_size", self.list_size)
        if self.alpha < 0 or self.beta < 0 or self.alpha + self.beta == 0:
            raise ConfigError("alpha", f"alpha and beta must be >= 0 and not both 0, got {self.alpha}, {self.beta}")
        self.alpha, self.beta = float(self.alpha), float(self.beta)


@dataclass
class GreedyOptions(RankerOptions):
    score_weights: list[float] | None = None  # (has_next, effective_view, like); null: (0, alpha, beta)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.score_weights is not None:
            weights = [float(w) for w in self.score_weights]
            if len(weights) != len(TASK_ORDER):
                raise ConfigError("score_weights", f"needs one weight per task {list(TASK_ORDER)}, got {weights}")
            self.score_weights = weights

    def weights(self) -> list[float]:
        return [0.0, self.alpha, self.beta] if self.score_weights is None else list(self.score_weights)


@dataclass
class BeamOptions(RankerOptions):
    beam_size: int = 4  # k partial lists kept at each position

    def __post_init__(self) -> None:
        super().__post_init__()
        self.beam_size = positive_int("beam_size", self.beam_size)


@dataclass
class AdaptiveBeamOptions(BeamOptions):
    threshold: float = 0.9  # stability (min/max beam reward) above which the search stops widening; > 1: never

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= float(self.threshold):
            raise ConfigError("threshold", f"must be >= 0 (above 1 never narrows), got {self.threshold}")
        self.threshold = float(self.threshold)

    def beam(self) -> BeamOptions:
        """The same search without narrowing (its unrolled twin, for comparisons)."""
        return BeamOptions(self.list_size, self.alpha, self.beta, self.beam_size)


@dataclass
class Seq2SlateOptions(RankerOptions):
    hidden: int = 32  # encoder, GRU decoder and pointer width
    epochs: int = 8
    lr: float = 0.003
    batch_size: int = 128
    seed: int = 0  # the pointer's initialisation and batch order (conf: the run's seed)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("hidden", "epochs", "batch_size"):
            positive_int(name, getattr(self, name))
        if not float(self.lr) > 0:
            raise ConfigError("lr", f"must be positive, got {self.lr}")
        self.lr, self.seed = float(self.lr), int(self.seed)


for _options in (GreedyOptions, BeamOptions, AdaptiveBeamOptions, Seq2SlateOptions):
    store_defaults("ranker", _options)
