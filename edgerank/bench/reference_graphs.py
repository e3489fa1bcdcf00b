"""The LiteRT graphs a benchmark times in turns with a request, to say what the kernels alone do.

- :func:`peak_file`: a chain of fully-connected layers at the model's busiest widths, with at
  least ``PEAK_ROWS`` rows so that XNNPACK is compute-bound: its GFLOP/s prices a multiply-add
  at this machine's peak;
- :func:`matmul_file`: the FULLY_CONNECTED and BATCH_MATMUL ops of one signature, at the file's
  shapes, and nothing else. A re-ranker's matmuls are small (a beam step's largest is 200 x 32 x
  48, its gate mix a 4-row batched matmul whose other operand is per request, so XNNPACK packs it
  again on every call), so even alone they run well below the peak.

Both are converted with litert-torch; :func:`invoker` runs one with its inputs set once, so a
call costs the kernels and not the copies in.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from edgerank.bench.tflite_ops import MatmulOp, matmul_ops

PEAK_ROWS = 256  # rows of the peak graph: a GEMM, not a GEMV, so XNNPACK is compute-bound
PEAK_MACS = 16_000_000  # work per timed call: call overhead (~µs) stays under 1 % of it


def signature_matmuls(model_path: str | Path) -> dict[str, list[MatmulOp]]:
    """Per signature of the ``.tflite``: its matmuls, in graph order."""
    from ai_edge_litert.tools.flatbuffer_utils import read_model

    model = read_model(Path(model_path))
    return {s.signatureKey.decode(): matmul_ops(model, model.subgraphs[s.subgraphIndex]) for s in model.signatureDefs}


def peak_file(layer: tuple[int, int, int], path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The chain ``in -> out -> in ...`` at ``layer`` ``(rows, in, out)``, and its ``shape``,
    ``layers`` and ``macs`` per call. Converted once per process and layer: an adaptive-beam
    benchmark prices its file and its unrolled twin on the same chain."""
    model, info = _peak_model(tuple(layer))
    Path(path).write_bytes(model)
    return Path(path), dict(info)


@lru_cache(maxsize=8)
def _peak_model(layer: tuple[int, int, int]) -> tuple[bytes, dict[str, Any]]:
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
    with tempfile.TemporaryDirectory() as tmp:
        model = _convert(chain, sample, Path(tmp) / "peak.tflite").read_bytes()
    return model, {"shape": [rows, inner, cols], "layers": depth, "macs": macs}


def matmul_file(ops: Sequence[MatmulOp], path: str | Path) -> Path:
    """A ``.tflite`` holding ``ops`` and nothing else, each at its operands' shapes: an operand
    the file stores is a constant here too, any other an input, and operands the file shares
    (one weight read by every step, one per-request tensor by every gate mix) are shared, so
    the graph touches as much memory as the file's matmuls do. Every op is an output."""
    import torch

    rng = np.random.default_rng(0)
    operands = {o.tensor: o for op in ops for o in op.operands}
    sample = {f"t{i}": rng.standard_normal(o.shape).astype(np.float32) for i, o in operands.items() if not o.constant}
    constants = {f"t{i}": torch.from_numpy(rng.standard_normal(o.shape).astype(np.float32)) for i, o in operands.items() if o.constant}

    class Matmuls(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for name, value in constants.items():
                self.register_buffer(name, value)

        def forward(self, **inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
            tensor = lambda o: inputs[f"t{o.tensor}"] if not o.constant else getattr(self, f"t{o.tensor}")  # noqa: E731
            out = []
            for op in ops:
                a, b = (tensor(o) for o in op.operands)
                if op.name == "FULLY_CONNECTED":
                    out.append(torch.nn.functional.linear(a, b))
                else:
                    out.append(torch.matmul(a.transpose(-1, -2) if op.adjoint[0] else a, b.transpose(-1, -2) if op.adjoint[1] else b))
            return tuple(out)

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
