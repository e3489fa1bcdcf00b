"""The LiteRT graphs a benchmark times in turns with a request, to say what the kernels alone do.

- :func:`peak_file`: a chain of fully-connected layers at the model's busiest widths, with at
  least ``PEAK_ROWS`` rows so that XNNPACK is compute-bound: its GFLOP/s prices a multiply-add
  at this machine's peak;
- :func:`matmul_file`: the FULLY_CONNECTED and BATCH_MATMUL ops of one signature, at the file's
  shapes, and nothing else. A re-ranker's matmuls are small (a beam step's largest is 200 x 32 x
  48, its gate mix a 4-row batched matmul whose other operand is per request, so XNNPACK packs it
  again on every call), so even alone they run well below the peak.

Both are converted with litert-torch; :func:`invoker` runs one with its inputs set once, so a
call costs the kernels and not the copies in. Fully-connected weights are constants and
batched-matmul operands inputs, as in the graphs edgerank exports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgerank.bench.tflite_ops import matmul_ops

PEAK_ROWS = 256  # rows of the peak graph: a GEMM, not a GEMV, so XNNPACK is compute-bound
PEAK_MACS = 16_000_000  # work per timed call: call overhead (~µs) stays under 1 % of it

MatmulOp = tuple[str, tuple[int, int, int, int]]  # (op name, (batch, rows, inner, cols))


def signature_matmuls(model_path: str | Path) -> dict[str, list[MatmulOp]]:
    """Per signature of the ``.tflite``: its matmuls, in graph order."""
    from ai_edge_litert.tools.flatbuffer_utils import read_model

    model = read_model(Path(model_path))
    return {s.signatureKey.decode(): matmul_ops(model, model.subgraphs[s.subgraphIndex]) for s in model.signatureDefs}


def peak_file(layer: tuple[int, int, int], path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The chain ``in -> out -> in ...`` at ``layer`` ``(rows, in, out)``, and its ``shape``,
    ``layers`` and ``macs`` per call."""
    import torch

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
    chain = Chain()
    sample = {"x": np.random.default_rng(0).standard_normal((rows, inner)).astype(np.float32)}
    macs = rows * sum(a * b for a, b in zip(widths, widths[1:]))
    return _convert(chain, sample, path), {"shape": [rows, inner, cols], "layers": depth, "macs": macs}


def matmul_file(ops: Sequence[MatmulOp], path: str | Path) -> Path:
    """A ``.tflite`` holding ``ops`` and nothing else: each reads its own input (so the
    converter cannot merge two of them) and is an output of the graph."""
    import torch

    class Matmuls(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(
                torch.nn.Linear(inner, cols) for name, (_, _, inner, cols) in ops if name == "FULLY_CONNECTED"
            )

        def forward(self, **x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            layers = iter(self.layers)
            return tuple(
                next(layers)(x[f"a{i}"]) if name == "FULLY_CONNECTED" else torch.bmm(x[f"a{i}"], x[f"b{i}"])
                for i, (name, _) in enumerate(ops)
            )

    rng = np.random.default_rng(0)
    sample = {}
    for i, (name, (batch, rows, inner, cols)) in enumerate(ops):
        if name == "FULLY_CONNECTED":
            sample[f"a{i}"] = rng.standard_normal((rows, inner)).astype(np.float32)
        else:
            sample[f"a{i}"] = rng.standard_normal((batch, rows, inner)).astype(np.float32)
            sample[f"b{i}"] = rng.standard_normal((batch, inner, cols)).astype(np.float32)
    torch.manual_seed(0)
    return _convert(Matmuls(), sample, path)


def invoker(path: str | Path) -> Callable[[Any], None]:
    """``invoke`` of a one-signature ``.tflite`` on 1 thread, its inputs set once to random
    values; the argument is ignored, so it can take turns with a request's call."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=Path(path).read_bytes(), num_threads=1)
    interpreter.allocate_tensors()
    rng = np.random.default_rng(0)
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], rng.standard_normal(detail["shape"]).astype(np.float32))
    return lambda _request: interpreter.invoke()


def _convert(module: Any, sample: dict[str, np.ndarray], path: str | Path) -> Path:
    from edgerank.export.convert import to_tflite

    return to_tflite(module.eval(), sample, path)
