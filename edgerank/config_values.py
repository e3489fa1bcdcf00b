"""Typed checks of single config values, raising a :class:`ConfigError` that names the key.

Hydra passes values as the user typed them (``seed=abc`` arrives as the string ``'abc'``), so
every layer that reads a config checks its values with these before using them. They are the
one set of option checks of edgerank and of its plugins (re-exported by
:mod:`edgerank.models.api`): ``True`` is not an integer, NaN is not a number, a string is not
a list, and every message starts with the key the user wrote.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from edgerank.errors import ConfigError


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool, not NaN/inf)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def positive_int(key: str, value: Any, hint: str = "") -> int:
    if not is_int(value) or value < 1:
        raise ConfigError(key, f"must be a positive integer, got {value!r}{hint}")
    return int(value)


def positive_number(key: str, value: Any) -> float:
    if not is_number(value) or value <= 0:
        raise ConfigError(key, f"must be a positive number, got {value!r}")
    return float(value)


def non_negative(key: str, value: Any) -> float:
    if not is_number(value) or value < 0:
        raise ConfigError(key, f"must be >= 0, got {value!r}")
    return float(value)


def in_range(key: str, value: Any, low: float, high: float, *, low_open: bool = False, high_open: bool = True) -> float:
    """``value`` as a float in the interval written ``[low, high)`` (by default), else a ConfigError."""
    inside = is_number(value) and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not inside:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ConfigError(key, f"must be in {interval}, got {value!r}")
    return float(value)


def positive_int_list(key: str, values: Any, *, allow_empty: bool = True) -> list[int]:
    """A list of positive ints (Hydra hands lists over as plain lists after ``to_container``)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ConfigError(key, f"must be a list of positive integers, got {values!r}")
    values = list(values)
    if not all(is_int(v) and v >= 1 for v in values):
        raise ConfigError(key, f"must be a list of positive integers, got {values}")
    if not values and not allow_empty:
        raise ConfigError(key, "must list at least one layer size")
    return values


def int_range(key: str, values: Any, low: int = 1) -> tuple[int, int]:
    """A ``[min, max]`` pair of ints with ``low <= min <= max``."""
    pair = list(values) if isinstance(values, Sequence) and not isinstance(values, (str, bytes)) else [values]
    if len(pair) != 2 or not all(is_int(v) for v in pair) or not low <= pair[0] <= pair[1]:
        raise ConfigError(key, f"must be [min, max] with {low} <= min <= max, got {pair}")
    return int(pair[0]), int(pair[1])


def one_of(key: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ConfigError(key, f"must be one of {', '.join(choices)}, got {value!r}")
    return value


def boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, got {value!r}")
    return value
