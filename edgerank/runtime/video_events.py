"""Reading the fields of one raw feed event, strictly: a bad field raises :class:`InputError`
naming the event (or candidate) and the field, so the session can skip it and say why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from edgerank.core.video_features import TASKS
from edgerank.runtime.artifact import InputError


def _where(event: Mapping[str, Any], where: str | None) -> str:
    return where or f"event '{event.get('type', '?')}'"


def number(event: Mapping[str, Any], key: str, default: Any = ..., where: str | None = None) -> float:
    """``event[key]`` as a float; ``default`` when it is absent or None (else an error)."""
    if key not in event or event[key] is None:
        if default is ...:
            raise InputError(f"{_where(event, where)}: missing field '{key}'")
        return default
    value = event[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{_where(event, where)}: field '{key}' must be a number, got {value!r}")
    return float(value)


def raw_id(event: Mapping[str, Any], key: str, where: str | None = None) -> int | str:
    """An id as the log had it: an integer or a text (the model's id map turns it into its id)."""
    value = event.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{_where(event, where)}: field '{key}' must be an integer or a string, got {value!r}")
    return int(value)


def pxtr(raw: Any, where: str) -> np.ndarray:
    """The server's per-task probabilities ``[T]`` in :data:`TASKS` order, from a mapping or a list."""
    if isinstance(raw, Mapping):
        missing = [t for t in TASKS if t not in raw]
        if missing:
            raise InputError(f"{where}: pxtr lacks {missing} (needs {list(TASKS)})")
        values = [raw[t] for t in TASKS]
    elif isinstance(raw, Sequence) and not isinstance(raw, (str, bytes)) and len(raw) == len(TASKS):
        values = list(raw)
    else:
        raise InputError(f"{where}: pxtr must be {{task: probability}} or {len(TASKS)} numbers {list(TASKS)}, got {raw!r}")
    try:
        return np.array([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{where}: pxtr values must be numbers, got {values!r}") from None


def server_order(request: Any) -> list[Any]:
    """Best-effort video ids of a (maybe malformed) request, in server order: the fallback."""
    try:
        return [c["video_id"] for c in request["candidates"] if isinstance(c, Mapping) and "video_id" in c]
    except Exception:  # noqa: BLE001 - nothing usable: an empty list
        return []
