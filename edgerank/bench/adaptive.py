"""Does adaptive beam search save time on the device, not only model evaluations?

For an adaptive-beam artifact the benchmark also exports the *same* ranker as plain beam search
(one unrolled signature, the fastest form of the full search) and times both ``.tflite`` files
on the same requests, in turns, 1 thread: the adaptive loop pays per-signature call overhead, the unrolled
graph pays for every position at full width, and only the measurement says which wins.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgerank.bench.timing import time_interleaved

if TYPE_CHECKING:
    from edgerank.rankers.adaptive_beam import AdaptiveBeamGraph


def adaptive_vs_beam(
    graph: "AdaptiveBeamGraph", adaptive_model: Path, requests: Sequence[Mapping[str, np.ndarray]], warmup: int, floor: bool = True
) -> dict[str, Any]:
    """Both p50s in turns; with ``floor`` also the unrolled twin's distance to the floor
    (``beam_floor``, :mod:`edgerank.bench.floor`), as the benchmark reports the artifact's."""
    from edgerank.export.convert import litert_runners, to_tflite
    from edgerank.graph import SINGLE
    from edgerank.rankers.beam import BeamSearchRanker

    ranker = graph.ranker
    beam = BeamSearchRanker(ranker.scorer, ranker.options.beam(), mask_input=ranker.mask_input).eval()
    adaptive = litert_runners(adaptive_model, graph)
    with tempfile.TemporaryDirectory() as tmp:
        beam_path = to_tflite(beam, requests[0], Path(tmp) / "beam.tflite")
        beam_runner = litert_runners(beam_path, beam)[SINGLE]
        spent: dict[str, list[float]] = {name: [] for name in adaptive}
        clocked = {name: _clocked(runner, spent[name]) for name, runner in adaptive.items()}
        calls = {"beam": lambda r: beam_runner(**r), "adaptive": lambda r: graph.drive(clocked, r)}
        timed = time_interleaved(calls, requests, warmup, rounds=10)  # in turns: both see the same machine
        beam_stats, adaptive_stats = timed["beam"], timed["adaptive"]
        beam_size = beam_path.stat().st_size
        beam_floor = None
        if floor:
            from edgerank.bench.floor import graph_floor

            beam_floor = graph_floor(beam, beam_path, requests, warmup)
    valid = [int(np.sum(r[ranker.mask_input] > 0.5)) for r in requests]
    adaptive_evals = [int(graph.drive(adaptive, r)["evaluations"][0]) for r in requests]
    signature_p50 = {name: round(float(np.percentile(t, 50)) * 1e6, 1) for name, t in spent.items() if t}
    return {
        "threshold": ranker.threshold,
        "beam_size": ranker.beam_size,
        "beam_p50_us": round(beam_stats["p50"] * 1000, 1),
        "adaptive_p50_us": round(adaptive_stats["p50"] * 1000, 1),
        "latency_saved": round(1.0 - adaptive_stats["p50"] / beam_stats["p50"], 4),
        # where the adaptive time goes, per call of each signature, and the most it could save:
        # narrowing right after prepare (no step call) in a loop that costs nothing
        "signature_p50_us": signature_p50,
        "latency_saved_bound": round(1.0 - (signature_p50["prepare"] + signature_p50["finish"]) / 1000 / beam_stats["p50"], 4)
        if {"prepare", "finish"} <= signature_p50.keys() else None,
        "beam_evals_per_request": float(np.mean([beam.evaluations(v) for v in valid])),
        "adaptive_evals_per_request": float(np.mean(adaptive_evals)),
        "beam_size_bytes": beam_size,
        **({"beam_floor": beam_floor} if beam_floor is not None else {}),
    }


def _clocked(runner: Callable[..., Any], seconds: list[float]) -> Callable[..., Any]:
    """``runner`` that appends the seconds of each call to ``seconds``."""

    def call(**inputs: np.ndarray) -> Any:
        start = time.perf_counter()
        try:
            return runner(**inputs)
        finally:
            seconds.append(time.perf_counter() - start)

    return call
