"""Latency of one callable over a list of requests: warm-up, then one timing per request."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def time_requests(call: Callable[[Any], Any], requests: Sequence[Any], warmup: int = 20) -> dict[str, float]:
    """p50/p95/p99/mean in milliseconds of ``call(request)`` over ``requests``.

    Each request is timed on its own (not a loop divided by n) because an app serves one
    request at a time and cares about the tail, not the throughput.
    """
    for request in requests[:warmup]:
        call(request)
    times = np.empty(len(requests), dtype=np.float64)
    for i, request in enumerate(requests):
        start = time.perf_counter_ns()
        call(request)
        times[i] = (time.perf_counter_ns() - start) / 1e6
    stats = {"p50": np.percentile(times, 50), "p95": np.percentile(times, 95), "p99": np.percentile(times, 99), "mean": times.mean()}
    return {k: round(float(v), 5) for k, v in stats.items()}  # 10 ns resolution is plenty
