"""Latency of callables over a list of requests: warm-up, then one timing per request."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np


def time_requests(call: Callable[[Any], Any], requests: Sequence[Any], warmup: int = 20) -> dict[str, float]:
    """p50/p95/p99/mean in milliseconds of ``call(request)`` over ``requests``.

    Each request is timed on its own (not a loop divided by n) because an app serves one
    request at a time and cares about the tail, not the throughput.
    """
    return time_interleaved({"call": call}, requests, warmup, rounds=1)["call"]


def time_interleaved(
    calls: Mapping[str, Callable[[Any], Any]], requests: Sequence[Any], warmup: int = 20, rounds: int = 5
) -> dict[str, dict[str, float]]:
    """:func:`time_requests` for several runtimes that take turns over ``rounds`` slices of the
    requests, so that a slow spell of a shared machine hits all of them alike."""
    for call in calls.values():
        for request in requests[:warmup]:
            call(request)
    times: dict[str, list[float]] = {name: [] for name in calls}
    for chunk in np.array_split(np.arange(len(requests)), max(1, rounds)):
        for name, call in calls.items():
            for i in chunk:
                start = time.perf_counter_ns()
                call(requests[i])
                times[name].append((time.perf_counter_ns() - start) / 1e6)
    return {name: _stats(np.asarray(t)) for name, t in times.items() if t}


def _stats(times: np.ndarray) -> dict[str, float]:
    stats = {"p50": np.percentile(times, 50), "p95": np.percentile(times, 95), "p99": np.percentile(times, 99), "mean": times.mean()}
    return {k: round(float(v), 5) for k, v in stats.items()}  # 10 ns resolution is plenty
