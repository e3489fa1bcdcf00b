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
- ``peak_gflops``: what XNNPACK reaches here on one thread for a fully-connected chain at the
  model's widest-working layer (``peak.shape``: rows x in x out; rows at least 256 so that it is
  compute-bound), converted with litert-torch and timed with ai_edge_litert in this process;
- ``floor_us = 2 * macs_per_request / peak`` and ``floor_ratio = tflite_p50_us / floor_us``:
  how many times the arithmetic alone the request costs (1 would be every multiply-add at peak).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgerank.bench.timing import time_requests
from edgerank.graph import OnDeviceGraph, Runner, Runners, eager_runners

PEAK_ROWS = 256  # rows of the peak graph: a GEMM, not a GEMV, so XNNPACK is compute-bound
PEAK_MACS = 16_000_000  # work per timed call: call overhead (~µs) stays under 1 % of it
MATMUL_OPS = ("FULLY_CONNECTED", "BATCH_MATMUL")
CONTROL_FLOW_OPS = ("WHILE", "IF", "CALL_ONCE")


def _op_names(model: Any) -> list[str]:
    from ai_edge_litert.tools.flatbuffer_utils import opcode_to_name

    return [opcode_to_name(model, i) or f"opcode_{i}" for i in range(len(model.operatorCodes))]


def _shape(subgraph: Any, index: int) -> list[int]:
    return [int(d) for d in subgraph.tensors[index].shape]


def matmuls(model: Any, subgraph: Any) -> list[tuple[int, int, int, int]]:
    """``(batch, rows, inner, cols)`` of every FULLY_CONNECTED / BATCH_MATMUL of ``subgraph``."""
    from ai_edge_litert import schema_py_generated as schema

    names = _op_names(model)
    found = []
    for op in subgraph.operators:
        name = names[op.opcodeIndex]
        if name == "FULLY_CONNECTED":
            out_features, in_features = _shape(subgraph, op.inputs[1])
            rows = int(np.prod(_shape(subgraph, op.inputs[0]))) // in_features
            found.append((1, rows, in_features, out_features))
        elif name == "BATCH_MATMUL":
            a, b = _shape(subgraph, op.inputs[0]), _shape(subgraph, op.inputs[1])
            options = op.builtinOptions if isinstance(op.builtinOptions, schema.BatchMatMulOptionsT) else None
            rows, inner = (a[-1], a[-2]) if options is not None and options.adjX else (a[-2], a[-1])
            cols = b[-2] if options is not None and options.adjY else b[-1]
            batch = int(np.prod(np.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2])), dtype=np.int64))
            found.append((batch, rows, inner, cols))
    return found


def _partitions(model: Any, subgraph_index: int, names: list[str]) -> int | str:
    """Delegate nodes of one subgraph: the interpreter lists nodes of its primary subgraph only,
    so the subgraph is packed alone into a one-signature model and loaded with the default
    (XNNPACK) delegate, as :func:`edgerank.bench.core.tflite_call` loads the real file."""
    import copy

    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_litert.tools.flatbuffer_utils import convert_object_to_bytearray

    subgraph = model.subgraphs[subgraph_index]
    control = sorted({names[op.opcodeIndex] for op in subgraph.operators} & set(CONTROL_FLOW_OPS))
    if control:
        return f"not read: the subgraph calls other subgraphs ({', '.join(control)})"
    alone, signature = copy.copy(model), copy.copy(next(s for s in model.signatureDefs if s.subgraphIndex == subgraph_index))
    signature.subgraphIndex = 0
    alone.subgraphs, alone.signatureDefs = [subgraph], [signature]
    try:
        interpreter = Interpreter(model_content=bytes(convert_object_to_bytearray(alone)), num_threads=1)
        interpreter.allocate_tensors()  # the default delegate is applied here
        return sum(1 for op in interpreter._get_ops_details() if op["op_name"] == "DELEGATE")
    except Exception as exc:  # a model the interpreter cannot load alone: say so, do not fail the benchmark
        return f"not read: {type(exc).__name__}: {exc}"


def describe(model_path: str | Path) -> dict[str, dict[str, Any]]:
    """Per signature: ops, op_counts, xnnpack_partitions, macs_per_call."""
    from ai_edge_litert.tools.flatbuffer_utils import read_model

    model = read_model(Path(model_path))
    names = _op_names(model)
    result = {}
    for signature in model.signatureDefs:
        subgraph = model.subgraphs[signature.subgraphIndex]
        counts = Counter(names[op.opcodeIndex] for op in subgraph.operators)
        result[signature.signatureKey.decode()] = {
            "ops": sum(counts.values()),
            "op_counts": dict(counts.most_common()),
            "xnnpack_partitions": _partitions(model, signature.subgraphIndex, names),
            "macs_per_call": sum(b * r * i * c for b, r, i, c in matmuls(model, subgraph)),
        }
    return result


def dominant_layer(model_paths: Sequence[str | Path]) -> tuple[int, int, int]:
    """``(rows, in, out)`` of the FULLY_CONNECTED doing the most multiply-adds in the files."""
    from ai_edge_litert.tools.flatbuffer_utils import read_model

    best = (0, (1, 1, 1))
    for path in model_paths:
        model = read_model(Path(path))
        for subgraph in model.subgraphs:
            for batch, rows, inner, cols in matmuls(model, subgraph):
                best = max(best, (batch * rows * inner * cols, (batch * rows, inner, cols)))
    return best[1]


def peak_gflops(layer: tuple[int, int, int], requests: int = 200, warmup: int = 20) -> dict[str, Any]:
    """1-thread GFLOP/s of a LiteRT chain of ``in -> out -> in ...`` fully-connected layers."""
    import torch
    from ai_edge_litert.interpreter import Interpreter

    from edgerank.export.convert import to_tflite

    rows, inner, cols = max(layer[0], PEAK_ROWS), layer[1], layer[2]
    depth = max(2, round(PEAK_MACS / (rows * inner * cols)))
    widths = [inner if i % 2 == 0 else cols for i in range(depth + 1)]

    class Chain(torch.nn.Module):  # forward(x=...): the keyword form to_tflite feeds
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.Sequential(*(torch.nn.Linear(a, b) for a, b in zip(widths, widths[1:])))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layers(x)

    torch.manual_seed(0)
    chain = Chain().eval()
    sample = {"x": np.random.default_rng(0).standard_normal((rows, inner)).astype(np.float32)}
    with tempfile.TemporaryDirectory() as tmp:
        path = to_tflite(chain, sample, Path(tmp) / "peak.tflite")
        runner = Interpreter(model_path=str(path), num_threads=1).get_signature_runner()
        stats = time_requests(lambda r: runner(**r), [sample] * requests, warmup)
    macs = rows * sum(a * b for a, b in zip(widths, widths[1:]))
    return {"gflops": round(2 * macs / (stats["p50"] * 1e6), 2), "shape": [rows, inner, cols], "layers": depth, "p50_us": round(stats["p50"] * 1000, 1)}


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


def floor_report(
    model_path: str | Path,
    eager: Callable[[Any], Any],
    eager_requests: Sequence[Any],
    tflite_p50_us: float | None,
    peak: Mapping[str, Any],
    calls_per_request: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The keys of this module's docstring for one ``.tflite`` (``calls_per_request``: mean calls
    of each signature per request, for an app loop; one call of the only signature otherwise)."""
    signatures = describe(model_path)
    calls = calls_per_request or {name: 1.0 for name in signatures}
    macs = eager_macs(eager, eager_requests)
    report: dict[str, Any] = {
        "signatures": signatures,
        "macs_per_request": round(macs, 1),
        "macs_per_request_tflite": round(sum(signatures[n]["macs_per_call"] * c for n, c in calls.items()), 1),
        "peak_gflops": peak["gflops"],
        "floor_us": round(2 * macs / (peak["gflops"] * 1e3), 3),
    }
    if calls_per_request:
        report["calls_per_request"] = {k: round(v, 3) for k, v in calls_per_request.items()}
    if tflite_p50_us is not None and report["floor_us"] > 0:
        report["tflite_p50_us"] = tflite_p50_us
        report["floor_ratio"] = round(tflite_p50_us / report["floor_us"], 2)
    return report


def graph_floor(
    graph: OnDeviceGraph, model_path: str | Path, requests: Sequence[Mapping[str, np.ndarray]], tflite_p50_us: float | None, peak: Mapping[str, Any], counted: int = 16
) -> dict[str, Any]:
    """:func:`floor_report` of a run's on-device graph (``reference/graph.pt``) and its ``.tflite``,
    MACs counted on the first ``counted`` requests (an app loop's work depends on the request)."""
    from edgerank.export.convert import litert_runners

    sample = list(requests[:counted])
    eager = eager_runners(graph)
    if len(eager) == 1:
        return floor_report(model_path, lambda r: graph.drive(eager, r), sample, tflite_p50_us, peak)
    runners, calls = counting(litert_runners(model_path, graph))  # app loop: count the .tflite's calls
    for request in sample:
        graph.drive(runners, request)
    per_request = {name: n / len(sample) for name, n in calls.items()}
    return floor_report(model_path, lambda r: graph.drive(eager, r), sample, tflite_p50_us, peak, per_request)
