"""``python -m edgerank.bench RUN_DIR --peers``: the runtimes a user would pick instead of LiteRT.

For each peer (ONNX Runtime, ExecuTorch + XNNPACK) the run's on-device graph
(``reference/graph.pt``: the model, or the ranker with its model) is exported to a temporary
directory (never the run directory), checked against PyTorch eager on the held-out requests
(:mod:`edgerank.bench.peers.accuracy`) and timed at one thread together with the float
``.tflite`` and PyTorch eager: the runtimes take turns over the same requests in several rounds,
so a burst of load on a shared machine hits all of them rather than one.

Each peer module (``onnx``, ``executorch``) provides ``NAME``, ``unavailable()``, ``versions()``,
``export(signatures, directory)`` and ``load(files, signatures, threads) -> {signature: runner}``
(a backend of :mod:`edgerank.graph`: the graph's own loop drives its runners). A peer that is not
installed, does not import beside this torch, or cannot convert the graph is reported with the
reason (``{"available": false, "reason": ...}`` or ``{"converted": false, "reason": ...}``); the
benchmark itself does not fail.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from edgerank.bench.peers import executorch as executorch_peer
from edgerank.bench.peers import onnx as onnx_peer
from edgerank.bench.peers.accuracy import accuracy
from edgerank.bench.peers.program import describe, quiet_stdout
from edgerank.bench.timing import time_interleaved
from edgerank.graph import OnDeviceGraph, Runners, as_graph, eager_runners, signatures

PEERS: dict[str, ModuleType] = {onnx_peer.NAME: onnx_peer, executorch_peer.NAME: executorch_peer}
BASELINE = "tflite_float32"
Call = Callable[[Mapping[str, np.ndarray]], Any]


def compare_peers(
    graph: OnDeviceGraph,
    requests: Sequence[Mapping[str, np.ndarray]],
    baselines: Mapping[str, Call],
    tflite_size: int,
    selected: Sequence[str] | None = None,
    warmup: int = 50,
    threads: int = 1,
    checks: int = 512,
    rounds: int = 5,
    tolerance: float = 1e-5,
) -> dict[str, Any]:
    """The ``peers`` block of the benchmark JSON.

    ``baselines`` are numpy-in callables already set to ``threads`` (``tflite_float32`` first,
    then e.g. ``torch_eager``); ``requests`` are the benchmark's (cycled) requests, of which the
    first ``checks`` are compared against PyTorch by export parity's comparison at ``tolerance``
    (the run's own parity tolerance, so that a peer is judged as the ``.tflite`` was).
    """
    chosen = list(PEERS) if not selected else list(selected)
    unknown = sorted(set(chosen) - set(PEERS))
    if unknown:
        raise ValueError(f"unknown peer(s) {unknown}; known: {sorted(PEERS)}")
    graph = as_graph(graph)
    reference = eager_runners(graph)
    checked = list({id(r): r for r in requests[:checks]}.values())  # the benchmark cycles its requests: check each once
    report: dict[str, Any] = {"threads": threads, "request_count": len(requests), "checked_requests": len(checked)}
    calls: dict[str, Call] = dict(baselines)
    with tempfile.TemporaryDirectory(prefix="edgerank-peers-") as tmp:
        for name, peer in PEERS.items():
            if name not in chosen:
                report[name] = {"available": False, "reason": f"not selected (--peers {' '.join(chosen)})"}
                continue
            reason = peer.unavailable()
            if reason is not None:
                report[name] = {"available": False, "reason": reason}
                continue
            entry: dict[str, Any] = {"available": True, "versions": peer.versions()}
            report[name] = entry
            try:
                with quiet_stdout():
                    sigs = signatures(graph, requests[0])
                    directory = Path(tmp) / name
                    directory.mkdir()
                    start = time.perf_counter()
                    files, info = peer.export(sigs, directory)
                    entry["export"] = {**info, "seconds": round(time.perf_counter() - start, 2), "signatures": list(sigs)}
                    runners = peer.load(files, sigs, threads)
            except Exception as exc:  # noqa: BLE001 - a peer that cannot convert is a finding
                entry.update(converted=False, reason=f"could not export or load the graph: {describe(exc)}")
                continue
            entry["converted"] = True
            entry["size_bytes"] = sum(f.stat().st_size for f in files)
            entry["size_over_tflite"] = round(entry["size_bytes"] / tflite_size, 3)
            try:
                with quiet_stdout():
                    entry["accuracy"] = accuracy(graph, reference, runners, checked, tolerance)
            except Exception as exc:  # noqa: BLE001
                entry["accuracy"] = {"error": describe(exc)}
                continue
            calls[name] = _driven(graph, runners)
        latency = _interleaved(calls, requests, warmup, rounds, threads)
    report["latency_ms"] = {name: {str(threads): stats} for name, stats in latency.items()}
    base = latency.get(BASELINE)
    for name in PEERS:
        if name in latency:
            report[name]["latency_ms"] = {str(threads): latency[name]}
            if base:
                report[name]["p50_over_tflite"] = round(latency[name]["p50"] / base["p50"], 3)
    report["note"] = "p50_over_tflite > 1: edgerank's .tflite is faster; size_over_tflite > 1: the .tflite is smaller"
    return report


def _driven(graph: OnDeviceGraph, runners: Runners) -> Call:
    """One request through ``graph``'s loop over a backend's runners (what is timed)."""
    return lambda request: graph.drive(runners, request)


def _interleaved(calls: Mapping[str, Call], requests: Sequence[Any], warmup: int, rounds: int, threads: int) -> dict[str, dict[str, float]]:
    """p50/p95/p99/mean (ms) per runtime; runtimes alternate over ``rounds`` slices of the requests."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)  # torch eager, and ExecuTorch's portable kernels share no pool with it
    try:
        with quiet_stdout(), torch.inference_mode():
            return time_interleaved(calls, requests, warmup, rounds)
    finally:
        torch.set_num_threads(previous)


def run_peers(
    graph: OnDeviceGraph | None,
    requests: Sequence[Mapping[str, np.ndarray]],
    tflite_path: Path,
    tflite_call: Callable[[int], Call | None],
    warmup: int = 50,
    selected: Sequence[str] | None = None,
    threads: int = 1,
    tolerance: float = 1e-5,
) -> dict[str, Any]:
    """What :func:`edgerank.bench.core.benchmark` puts under ``peers``.

    ``tflite_call(threads)`` makes the float ``.tflite`` callable (``None`` when it cannot be
    driven); PyTorch eager is the on-device graph called with numpy in and out, like the peers.
    """
    if graph is None:
        reason = "no reference/graph.pt in the run dir (export with export.save_reference=true): nothing to export to the peers"
        return {name: {"available": False, "reason": reason} for name in PEERS}
    graph = as_graph(graph)
    baselines: dict[str, Call] = {}
    tflite = tflite_call(threads)
    if tflite is not None:
        baselines[BASELINE] = tflite
    baselines["torch_eager"] = _driven(graph, eager_runners(graph))
    return compare_peers(graph, requests, baselines, Path(tflite_path).stat().st_size, selected, warmup, threads,
                         tolerance=tolerance)
