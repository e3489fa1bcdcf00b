"""The options of the ``video_synthetic`` data plugin, declared once: name, type, default, check.

:class:`VideoSyntheticOptions` is the simulator's knobs (:class:`SimConfig`, inherited, so each
knob is written once) plus the fixed shapes of the exported graph, the split, the batches and
the ranking evaluation. ``VideoSyntheticData`` names it (``Options = VideoSyntheticOptions``), so
the registry accepts, type-checks and builds exactly these fields; ``conf/data/video_synthetic.yaml``
extends the defaults stored here with Hydra's ConfigStore and only overrides what a job
changes (the feature groups and the seed), so ``--cfg job`` still shows every option.
Torch-free: Hydra imports it before composing a config (``edgerank/conf/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from edgerank.config_values import in_range, positive_int
from edgerank.core.video_features import check_groups
from edgerank.data.video_simulator import SimConfig
from edgerank.errors import ConfigError
from edgerank.registry.defaults import store_defaults


@dataclass(frozen=True)
class VideoSyntheticOptions(SimConfig):
    """Simulator knobs (see :class:`SimConfig`) plus shapes, split, batches and ranking evaluation."""

    features: Mapping[str, Any] | None = None  # feature groups the model sees; None: every group on
    max_candidates: int = 50  # fixed M of the exported graph (padded, cand_mask)
    seq_len: int = 20  # fixed L: the most recent L watched items (padded, seq_mask)
    test_fraction: float = 0.2  # split by session
    val_fraction: float = 0.1
    batch_size: int = 128
    rank_eval_requests: int = 500  # test requests on which rankers are scored by the true ListReward
    truth_rollouts: int = 8  # feedback draws per request for that truth (shared by every order)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_groups(self.features)
        checked: dict[str, Any] = {
            name: positive_int(name, getattr(self, name))
            for name in ("max_candidates", "seq_len", "batch_size", "rank_eval_requests", "truth_rollouts")
        }
        checked["test_fraction"] = in_range("test_fraction", self.test_fraction, 0.0, 1.0, low_open=True)
        checked["val_fraction"] = in_range("val_fraction", self.val_fraction, 0.0, 1.0)
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        if self.candidates[1] > self.max_candidates:
            raise ConfigError("candidates", f"max {self.candidates[1]} exceeds max_candidates={self.max_candidates}")

    def simulator(self) -> SimConfig:
        """The simulator's part of the options."""
        return SimConfig(**{f.name: getattr(self, f.name) for f in fields(SimConfig)})


store_defaults("data", VideoSyntheticOptions)
