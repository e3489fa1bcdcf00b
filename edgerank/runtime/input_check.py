"""The last check before a model runs, and the first after: every encoded input finite and within its declared range.

A raw value that passed the event parser can still encode to something no model was trained
on: ``log1p`` of a negative duration is NaN, of a preload of -1 is -inf, and a pXTR of 1e39 is
inf once cast to float32. Run on such inputs, a model returns NaN scores that look like a model
result; refused here, the request falls back with the reason named. The ranges are the feature
declarations' own (:attr:`edgerank.core.video_features.InputDef.bounds`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

import numpy as np

from edgerank.errors import EdgeRankError
from edgerank.runtime.artifact import InputError


class OutputError(EdgeRankError):
    """The model ran but its result cannot be served (a non-finite score)."""


class Declared(Protocol):
    bounds: tuple[float, float]


def check_inputs(inputs: Mapping[str, np.ndarray], declared: Mapping[str, Declared]) -> None:
    """Raise :class:`InputError` naming the first input, position and value that is not finite
    or lies outside its declared ``bounds``; inputs without a declaration need only be finite."""
    for name, values in inputs.items():
        array = np.asarray(values)
        low, high = declared[name].bounds if name in declared else (-math.inf, math.inf)
        bad = ~np.isfinite(array) if array.dtype.kind == "f" else np.zeros(array.shape, dtype=bool)
        if bad.any():
            where = _first(bad)
            raise InputError(f"non-finite model input '{name}': {array[where]} at {list(where)}")
        outside = (array < low) | (array > high)
        if outside.any():
            where = _first(outside)
            raise InputError(f"model input '{name}' out of its declared range [{low:g}, {high:g}]: {array[where]} at {list(where)}")


def check_scores(scores: list[float] | None) -> None:
    """A result whose scores are not all finite is not a model result."""
    if scores is not None and not all(math.isfinite(s) for s in scores):
        bad = next(i for i, s in enumerate(scores) if not math.isfinite(s))
        raise OutputError(f"the model returned a non-finite score ({scores[bad]} at rank {bad})")


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])
