"""Small pieces every model plugin uses: MLP stacks and the checks of their options."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from edgerank.errors import ConfigError


def positive(name: str, value: int) -> int:
    if not isinstance(value, int) or value < 1:
        raise ConfigError(name, f"must be a positive integer, got {value!r}")
    return value


def positive_list(name: str, values: Sequence[int]) -> list[int]:
    values = list(values)
    if any(not isinstance(v, int) or v < 1 for v in values):
        raise ConfigError(name, f"must be a list of positive integers, got {values}")
    return values


def dropout_rate(value: float) -> float:
    if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ConfigError("dropout", f"must be in [0, 1), got {value}")
    return float(value)


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
