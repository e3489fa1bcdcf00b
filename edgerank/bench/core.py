"""What ``python -m edgerank.bench RUN_DIR`` measures, on the same requests for every runtime.

- requests: the held-out parity requests saved at export (``reference/samples.npz``), cycled
  to ``n_requests``; batch size 1, as on a phone;
- latency p50/p95/p99 (ms, one timing per request after a warm-up) of the float ``.tflite``, of
  every quantized artifact found (``artifact_int8*``), and of the PyTorch eager on-device graph
  (``reference/graph.pt``), each with 1 and 2 threads (``torch.set_num_threads`` for PyTorch,
  ``num_threads`` for LiteRT), all in this one process and run; every runtime is called as the
  app calls the ``.tflite``: numpy in, numpy out, through the graph's own loop
  (:meth:`edgerank.graph.OnDeviceGraph.drive`);
- ``torch_over_tflite``: PyTorch eager p50 / float ``.tflite`` p50 per thread count (> 1: the
  ``.tflite`` is faster);
- ``runners``: the float ``.tflite`` on 1 thread called through LiteRT's ``SignatureRunner`` and
  through :class:`edgerank.core.runners.FixedShapeRunner`, in turns (``signature_runner_over_fixed``);
- size in bytes of each model file (and int8/float ratio);
- peak memory: each runtime in a fresh subprocess (see :mod:`edgerank.bench.memory`);
- distance to the floor: ``signatures`` (ops, XNNPACK partitions, MACs of each), ``macs_per_request``,
  ``peak_gflops``, ``floor_us``, ``floor_ratio``, ``matmul_us``, timed in turns (see :mod:`edgerank.bench.floor`).

It is a benchmark, not a test: numbers depend on the machine, which the output records.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgerank.bench.memory import measure, tflite_call
from edgerank.bench.timing import time_interleaved, time_requests
from edgerank.console import progress
from edgerank.core.manifest import MANIFEST_FILE, MODEL_FILE, read_manifest
from edgerank.errors import EdgeRankError
from edgerank.export.reference import GRAPH_FILE, REFERENCE_DIR, SAMPLES_FILE, load_samples



def artifacts(run_dir: Path) -> dict[str, Path]:
    """``{"float32": artifact/, "int8": artifact_int8/, ...}`` of the run, float first."""
    found: dict[str, Path] = {}
    if (run_dir / "artifact" / MANIFEST_FILE).is_file():
        found["float32"] = run_dir / "artifact"
    for path in sorted(run_dir.glob("artifact_*")):
        if (path / MANIFEST_FILE).is_file():
            found[path.name.removeprefix("artifact_")] = path
    return found


def _requests(run_dir: Path, manifest: dict[str, Any], n: int, seed: int = 0) -> tuple[list[dict[str, np.ndarray]], str]:
    if (run_dir / REFERENCE_DIR / SAMPLES_FILE).is_file():
        base, origin = load_samples(run_dir), "held-out parity requests (reference/samples.npz)"
    else:  # no reference saved: random inputs of the manifest's shapes (latency only)
        rng = np.random.default_rng(seed)
        base = [
            {t["name"]: (rng.random(t["shape"]) if "float" in t["dtype"] else np.zeros(t["shape"])).astype(t["dtype"]) for t in manifest["inputs"]}
            for _ in range(64)
        ]
        origin = "random inputs of the manifest's shapes (no reference/ in the run dir)"
    return [base[i % len(base)] for i in range(n)], origin


def benchmark(
    run_dir: str | Path,
    n_requests: int = 2000,
    threads: Sequence[int] = (1, 2),
    warmup: int = 50,
    memory: bool = True,
    peers: Sequence[str] | None = None,  # None: no peers; []: every peer (see edgerank.bench.peers)
    floor: bool = True,  # ops, MACs, peak GFLOP/s and floor_ratio (edgerank.bench.floor)
) -> dict[str, Any]:
    run_dir = Path(run_dir)
    found = artifacts(run_dir)
    if "float32" not in found:
        raise EdgeRankError(f"{run_dir}: no artifact/{MANIFEST_FILE}; give the run directory of an export (outputs/<task>/runs/<time>)")
    from ai_edge_litert.interpreter import Interpreter

    manifest = read_manifest(found["float32"])
    requests, origin = _requests(run_dir, manifest, n_requests)
    result: dict[str, Any] = {
        "run_dir": str(run_dir),
        "model": manifest.get("name"),
        "requests": len(requests),
        "request_source": origin,
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "python": platform.python_version()},
        "model_bytes": {},
        "latency_ms": {},
        "peak_memory_mb": {},
    }
    graph_path = run_dir / REFERENCE_DIR / GRAPH_FILE
    graph = None
    if graph_path.is_file():
        from edgerank.export.reference import load_graph

        graph = load_graph(run_dir)
    adaptive = False
    if graph is not None:  # torch is loaded with the graph, not before (error paths stay fast)
        from edgerank.rankers.adaptive_beam import AdaptiveBeamGraph

        adaptive = isinstance(graph, AdaptiveBeamGraph)  # also timed against its unrolled-beam twin
    steps = len(found) * len(threads) + (len(threads) if graph is not None else 0) + adaptive + (peers is not None) + (1 in threads)
    steps += graph is not None and floor
    steps += (len(found) + graph_path.is_file()) if memory else 0
    bar = progress(None, "bench", total=steps)

    def step(label: str) -> None:
        bar.set_postfix_str(f"{label} done")
        bar.update()

    for variant, directory in found.items():
        model_path = directory / MODEL_FILE
        result["model_bytes"][variant] = model_path.stat().st_size
        for t in threads:
            call = tflite_call(Interpreter(model_path=str(model_path), num_threads=t), read_manifest(directory))
            if call is None:
                result["latency_ms"][f"tflite_{variant}"] = {"error": "signatures this benchmark cannot drive (one, or prepare/step/finish with a ranker in the manifest)"}
                break
            result["latency_ms"].setdefault(f"tflite_{variant}", {})[str(t)] = time_requests(call, requests, warmup)
            step(f"tflite_{variant}, {t} thread(s)")
    for variant in found:
        if variant != "float32":
            result["model_bytes"][f"{variant}_over_float32"] = round(result["model_bytes"][variant] / result["model_bytes"]["float32"], 4)
    result["size_bytes"] = result["model_bytes"]["float32"]

    float_stats = result["latency_ms"].get("tflite_float32")
    if graph is not None and isinstance(float_stats, dict):
        import torch

        from edgerank.graph import eager_runners

        runners = eager_runners(graph)  # called like every backend: numpy in, numpy out, the graph's loop
        eager = lambda r: graph.drive(runners, r)  # noqa: E731
        previous = torch.get_num_threads()
        ratios = {}
        try:
            for t in threads:
                torch.set_num_threads(t)
                with torch.inference_mode():
                    stats = time_requests(eager, requests, warmup)
                result["latency_ms"].setdefault("torch_eager", {})[str(t)] = stats
                ratios[str(t)] = round(stats["p50"] / float_stats[str(t)]["p50"], 3)
                step(f"torch_eager, {t} thread(s)")
        finally:
            torch.set_num_threads(previous)
        result["torch_over_tflite_p50"] = ratios
    elif graph is None:
        result["torch_eager"] = f"skipped: no {REFERENCE_DIR}/{GRAPH_FILE} (export with export.save_reference=true)"

    if isinstance(float_stats, dict) and "1" in float_stats:  # headline figures, 1 thread, float model
        result["tflite_p50_us"] = round(float_stats["1"]["p50"] * 1000, 1)
        result["runners"] = compare_runners(found["float32"] / MODEL_FILE, manifest, requests, warmup)
        step("LiteRT's SignatureRunner against FixedShapeRunner")
        torch_stats = result["latency_ms"].get("torch_eager", {}).get("1")
        if torch_stats:
            result["torch_p50_us"] = round(torch_stats["p50"] * 1000, 1)
            result["speedup"] = round(torch_stats["p50"] / float_stats["1"]["p50"], 3)
    if graph is not None and floor:  # distance to the arithmetic floor (see edgerank.bench.floor)
        from edgerank.bench.floor import graph_floor

        result.update(graph_floor(graph, found["float32"] / MODEL_FILE, requests, warmup))
        step("distance to the floor")
    if adaptive:
        from edgerank.bench.adaptive import adaptive_vs_beam

        result["adaptive_vs_beam"] = adaptive_vs_beam(graph, found["float32"] / MODEL_FILE, requests, warmup, floor)
        step("adaptive vs beam")

    if peers is not None:  # --peers: the same graph on ONNX Runtime and ExecuTorch, same requests, 1 thread
        from edgerank.bench.peers import run_peers

        float_model = found["float32"] / MODEL_FILE
        make_call = lambda t: tflite_call(Interpreter(model_path=str(float_model), num_threads=t), manifest)  # noqa: E731
        tolerance = float((manifest.get("parity") or {}).get("tolerance", 1e-5))  # judged as the export was
        result["peers"] = run_peers(graph, requests, float_model, make_call, warmup, list(peers), tolerance=tolerance)
        step("peers")

    if memory:
        samples = run_dir / REFERENCE_DIR / SAMPLES_FILE
        if not samples.is_file():
            import tempfile

            samples = Path(tempfile.mkdtemp()) / SAMPLES_FILE
            np.savez(samples, **{k: np.concatenate([r[k] for r in requests[:256]]) for k in requests[0]})
        for variant, directory in found.items():
            result["peak_memory_mb"][f"tflite_{variant}"] = measure("tflite", directory / MODEL_FILE, samples, threads[0])
            step(f"peak memory, tflite_{variant}")
        if graph_path.is_file():
            result["peak_memory_mb"]["torch_eager"] = measure("torch", graph_path, samples, threads[0])
            step("peak memory, torch_eager")
    bar.close()
    return result


def compare_runners(model_path: Path, manifest: dict[str, Any], requests: list[dict[str, np.ndarray]], warmup: int) -> dict[str, float]:
    """p50 (µs, 1 thread, in turns) of the file called through LiteRT's ``SignatureRunner``, which
    resizes and re-plans on every call, and through :class:`edgerank.core.runners.FixedShapeRunner`,
    which every edgerank caller uses; their ratio is what the fixed shapes save."""
    from ai_edge_litert.interpreter import Interpreter

    calls = {name: tflite_call(Interpreter(model_path=str(model_path), num_threads=1), manifest, fixed_shape=fixed)
             for name, fixed in (("signature_runner", False), ("fixed_shape_runner", True))}
    timed = time_interleaved(calls, requests, warmup, rounds=10)
    p50 = {f"{name}_p50_us": round(stats["p50"] * 1000, 1) for name, stats in timed.items()}
    return {**p50, "signature_runner_over_fixed": round(timed["signature_runner"]["p50"] / timed["fixed_shape_runner"]["p50"], 3)}


def unmeasured(result: Any, path: str = "") -> list[str]:
    """``key.path: reason`` of every requested figure that could not be measured."""
    if isinstance(result, dict):
        if "error" in result:
            return [f"{path}: {result['error']}"]
        return [line for key, value in result.items() for line in unmeasured(value, f"{path}.{key}" if path else str(key))]
    return []
