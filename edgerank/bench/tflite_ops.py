"""What a ``.tflite`` holds, read from the file without running it: per signature its ops, the
XNNPACK partitions the default delegate makes of them, and the shapes of its matmuls.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CONTROL_FLOW_OPS = ("WHILE", "IF", "CALL_ONCE")


def _op_names(model: Any) -> list[str]:
    from ai_edge_litert.tools.flatbuffer_utils import opcode_to_name

    return [opcode_to_name(model, i) or f"opcode_{i}" for i in range(len(model.operatorCodes))]


def _shape(subgraph: Any, index: int) -> list[int]:
    return [int(d) for d in subgraph.tensors[index].shape]


@dataclass(frozen=True)
class Operand:
    """One input of a matmul: its ``tensor`` index in the subgraph (two ops reading one tensor
    share it), ``shape`` and whether it is a ``constant`` (a weight stored in the file)."""

    tensor: int
    shape: tuple[int, ...]
    constant: bool


@dataclass(frozen=True)
class MatmulOp:
    """A FULLY_CONNECTED or BATCH_MATMUL: ``name``, ``shape`` ``(batch, rows, inner, cols)``, its two
    ``operands`` (input and weight; left and right) and BATCH_MATMUL's ``adjoint`` flags."""

    name: str
    shape: tuple[int, int, int, int]
    operands: tuple[Operand, Operand]
    adjoint: tuple[bool, bool] = (False, False)


def matmul_ops(model: Any, subgraph: Any) -> list[MatmulOp]:
    """Every FULLY_CONNECTED / BATCH_MATMUL of ``subgraph``, in graph order."""
    from ai_edge_litert import schema_py_generated as schema

    names = _op_names(model)

    def operand(index: int) -> Operand:
        data = model.buffers[subgraph.tensors[index].buffer].data
        return Operand(index, tuple(_shape(subgraph, index)), data is not None and len(data) > 0)

    found = []
    for op in subgraph.operators:
        name = names[op.opcodeIndex]
        if name == "FULLY_CONNECTED":
            out_features, in_features = _shape(subgraph, op.inputs[1])
            rows = int(np.prod(_shape(subgraph, op.inputs[0]))) // in_features
            found.append(MatmulOp(name, (1, rows, in_features, out_features), (operand(op.inputs[0]), operand(op.inputs[1]))))
        elif name == "BATCH_MATMUL":
            a, b = _shape(subgraph, op.inputs[0]), _shape(subgraph, op.inputs[1])
            options = op.builtinOptions if isinstance(op.builtinOptions, schema.BatchMatMulOptionsT) else None
            adjoint = (bool(options and options.adjX), bool(options and options.adjY))
            rows, inner = (a[-1], a[-2]) if adjoint[0] else (a[-2], a[-1])
            cols = b[-2] if adjoint[1] else b[-1]
            batch = int(np.prod(np.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2])), dtype=np.int64))
            found.append(MatmulOp(name, (batch, rows, inner, cols), (operand(op.inputs[0]), operand(op.inputs[1])), adjoint))
    return found


def matmuls(model: Any, subgraph: Any) -> list[tuple[int, int, int, int]]:
    """``(batch, rows, inner, cols)`` of every FULLY_CONNECTED / BATCH_MATMUL of ``subgraph``."""
    return [op.shape for op in matmul_ops(model, subgraph)]


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
            for op in matmul_ops(model, subgraph):
                if op.name == "FULLY_CONNECTED":
                    _, rows, inner, cols = op.shape
                    best = max(best, (rows * inner * cols, (rows, inner, cols)))
    return best[1]
