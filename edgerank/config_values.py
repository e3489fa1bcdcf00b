"""Typed checks of single config values, raising a :class:`ConfigError` that names the key.

Hydra passes values as the user typed them (``seed=abc`` arrives as the string ``'abc'``), so
every layer that reads a config checks its values with these before using them.
"""

from __future__ import annotations

import math
from typing import Any

from edgerank.errors import ConfigError


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(key: str, value: Any, hint: str = "") -> int:
    if not is_int(value) or value < 1:
        raise ConfigError(key, f"must be a positive integer, got {value!r}{hint}")
    return int(value)


def positive_number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(key, f"must be a positive number, got {value!r}")
    return float(value)


def boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, got {value!r}")
    return value
