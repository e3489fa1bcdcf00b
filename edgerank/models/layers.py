"""MLP stacks, and the dropout check of the models (the other checks: :mod:`edgerank.config_values`)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from edgerank.config_values import in_range


def dropout_rate(value: float) -> float:
    return in_range("dropout", value, 0.0, 1.0)


def mlp(sizes: Sequence[int], dropout: float = 0.0, last_activation: bool = False) -> nn.Sequential:
    """Linear+ReLU between consecutive ``sizes``; the last Linear is bare unless ``last_activation``."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2 or last_activation:
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)
