"""How far an exported graph runs from the arithmetic floor of this machine.

- ``signatures``: per signature of the ``.tflite``: ``ops`` (operators in its subgraph, before
  delegation), ``op_counts`` (by op name, most frequent first), ``xnnpack_partitions`` (the
  delegate nodes XNNPACK leaves in it once the interpreter has applied its default delegate:
  every op outside them runs on the reference kernels) and ``macs_per_call`` (the multiply-adds
  of its FULLY_CONNECTED and BATCH_MATMUL ops, read from the static tensor shapes);
- ``macs_per_request``: multiply-adds of one request counted by ``torch.utils.flop_counter``
  on the eager graph (matmul-like ops only: bias adds, softmax, top-k and gathers are excluded on
  both sides), mean over the requests counted; ``macs_per_request_tflite``: the same from the
  ``.tflite`` shapes (for an app loop: each signature's MACs times its calls per request);
- ``peak_gflops`` (and ``peak``): what XNNPACK reaches here on one thread for a fully-connected
  chain at the model's busiest layer (``peak.shape``: rows x in x out; rows at least 256 so that
  it is compute-bound; :mod:`edgerank.bench.reference_graphs`);
- ``floor_us = 2 * macs_per_request / peak``, ``floor_p50_us`` (the ``.tflite``'s request p50,
  timed in turns with the peak chain) and ``floor_ratio = floor_p50_us / floor_us``: how many
  times the arithmetic alone the request costs (1 would be every multiply-add at peak);
- ``matmul_us`` (the request's matmuls alone at their own shapes, timed in the same turns: each
  signature's matmul graph times its calls per request), ``matmul_over_floor = matmul_us /
  floor_us`` (what LiteRT's kernels at these shapes take over the peak, which no rewrite of the
  other ops removes) and ``matmul_share = matmul_us / floor_p50_us``.

The request, the peak chain and the matmul graphs take turns over the requests, so a slow spell
of a shared machine moves all of them together and the ratios hold within one run.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgerank.bench.reference_graphs import invoker, matmul_file, peak_file, signature_matmuls
from edgerank.bench.tflite_ops import describe, dominant_layer
from edgerank.bench.timing import time_interleaved
from edgerank.graph import OnDeviceGraph, Runner, Runners, eager_runners


def eager_macs(call: Callable[[Any], Any], requests: Sequence[Any]) -> float:
    """Mean multiply-adds per request of ``call`` (PyTorch eager), by FlopCounterMode."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    total = 0
    for request in requests:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            call(request)
        total += counter.get_total_flops() // 2  # FlopCounterMode counts a multiply-add as 2 FLOPs
    return total / max(1, len(requests))


def counting(runners: Runners) -> tuple[dict[str, Runner], Counter]:
    """``runners`` that count their calls (how often an app loop calls each signature)."""
    calls: Counter = Counter()

    def counted(name: str, runner: Runner) -> Runner:
        def call(**inputs: np.ndarray) -> Any:
            calls[name] += 1
            return runner(**inputs)

        return call

    return {name: counted(name, runner) for name, runner in runners.items()}, calls


def gflops_of(macs: float, us: float) -> float:
    """GFLOP/s of ``macs`` multiply-adds (two flops each) done in ``us`` microseconds."""
    return 2 * macs / (us * 1e3)


def floor_us_of(macs: float, gflops: float) -> float:
    """Microseconds ``macs`` multiply-adds take at ``gflops``: the arithmetic floor."""
    return 2 * macs / (gflops * 1e3)


def floor_report(
    model_path: str | Path,
    request: Callable[[Any], Any],
    requests: Sequence[Any],
    macs: float,
    calls_per_request: Mapping[str, float] | None = None,
    warmup: int = 20,
) -> dict[str, Any]:
    """The keys of this module's docstring for one ``.tflite``: ``request`` runs one of
    ``requests`` through it, ``macs`` is the eager count per request and ``calls_per_request`` the
    mean calls of each signature (for an app loop; one call of the only signature otherwise)."""
    signatures = describe(model_path)
    calls = calls_per_request or {name: 1.0 for name in signatures}
    with tempfile.TemporaryDirectory() as tmp:
        chain, peak = peak_file(dominant_layer([model_path]), Path(tmp) / "peak.tflite")
        turns = {"request": request, "peak": invoker(chain)}
        for name, ops in signature_matmuls(model_path).items():
            if ops and calls.get(name):
                turns[f"matmuls/{name}"] = invoker(matmul_file(ops, Path(tmp) / f"matmuls_{name}.tflite"))
        timed = {name: stats["p50"] * 1000 for name, stats in time_interleaved(turns, requests, warmup, rounds=10).items()}
    gflops = gflops_of(peak["macs"], timed["peak"])
    floor_us = floor_us_of(macs, gflops)
    matmul_us = sum(calls[name.removeprefix("matmuls/")] * us for name, us in timed.items() if name.startswith("matmuls/"))
    report: dict[str, Any] = {
        "signatures": signatures,
        "macs_per_request": round(macs, 1),
        "macs_per_request_tflite": round(sum(signatures[n]["macs_per_call"] * c for n, c in calls.items()), 1),
        "peak": {"gflops": round(gflops, 2), "shape": peak["shape"], "layers": peak["layers"], "p50_us": round(timed["peak"], 1)},
        "peak_gflops": round(gflops, 2),
        "floor_us": round(floor_us, 3),
        "floor_p50_us": round(timed["request"], 2),
        "matmul_us": round(matmul_us, 2),
    }
    if calls_per_request:
        report["calls_per_request"] = {k: round(v, 3) for k, v in calls_per_request.items()}
    if floor_us > 0:
        report["floor_ratio"] = round(timed["request"] / floor_us, 2)
        report["matmul_over_floor"] = round(matmul_us / floor_us, 2)
        report["matmul_share"] = round(matmul_us / timed["request"], 3)
    return report


def graph_floor(
    graph: OnDeviceGraph, model_path: str | Path, requests: Sequence[Mapping[str, np.ndarray]], warmup: int = 20, counted: int = 16
) -> dict[str, Any]:
    """:func:`floor_report` of a run's on-device graph (``reference/graph.pt``) and its ``.tflite``,
    MACs counted on the first ``counted`` requests (an app loop's work depends on the request)."""
    from edgerank.export.convert import litert_runners

    sample = list(requests[:counted])
    eager = eager_runners(graph)
    macs = eager_macs(lambda r: graph.drive(eager, r), sample)
    runners = litert_runners(model_path, graph)
    request = lambda r: graph.drive(runners, r)  # noqa: E731
    if len(eager) == 1:
        return floor_report(model_path, request, requests, macs, warmup=warmup)
    counted_runners, calls = counting(runners)  # app loop: count the .tflite's calls
    for r in sample:
        graph.drive(counted_runners, r)
    per_request = {name: n / len(sample) for name, n in calls.items()}
    return floor_report(model_path, request, requests, macs, per_request, warmup)
