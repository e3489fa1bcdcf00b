"""ExecuTorch peer: ``torch.export`` -> edge dialect -> XNNPACK delegate -> ``.pte``, run with
ExecuTorch's Python runtime bindings (the same C++ runtime and XNNPACK kernels an app links).

ExecuTorch wheels do not declare a torch requirement but are built against one torch release;
:func:`unavailable` therefore imports the runtime for real, so a binary mismatch beside
torch 2.13 is reported as a reason instead of crashing the benchmark. Several signatures become
several methods of one ``.pte``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgerank.bench.peers.program import as_numpy, describe
from edgerank.graph import Runner, Signature

NAME = "executorch"
FILE = "model.pte"


def unavailable() -> str | None:
    """Why this peer cannot run here, or ``None``."""
    if importlib.util.find_spec("executorch") is None:
        return (
            "not installed: executorch (pip install -e .[peers]; its wheels are built against one "
            "torch release, check `pip install --dry-run executorch` keeps torch==2.13.0)"
        )
    try:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner  # noqa: F401
        from executorch.extension.pybindings import portable_lib
        from executorch.runtime import Runtime  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - e.g. an ABI mismatch with the installed torch
        return f"executorch is installed but does not import beside torch {torch.__version__}: {describe(exc)}"
    if "XnnpackBackend" not in portable_lib._get_registered_backend_names():
        return "executorch's runtime has no XnnpackBackend registered"
    return None


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"executorch": version("executorch")}


def export(signatures: Mapping[str, Signature], directory: Path) -> tuple[list[Path], dict[str, Any]]:
    """Lower every signature to XNNPACK and write one ``.pte`` with one method per signature."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    programs = {}
    with torch.no_grad():
        for name, signature in signatures.items():
            tensors = {k: torch.from_numpy(v) for k, v in signature.sample.items()}
            programs[name] = torch.export.export(signature.module, (), kwargs=tensors, strict=False)
    edge = to_edge_transform_and_lower(programs, partitioner=[XnnpackPartitioner()])
    delegated = _delegated_share(edge, list(signatures))
    path = directory / FILE
    path.write_bytes(edge.to_executorch().buffer)
    return [path], {"backend": "XnnpackBackend", "ops_delegated": delegated}


def _delegated_share(edge: Any, names: list[str]) -> dict[str, str]:
    """Per method ``"delegated/total"`` call nodes: what XNNPACK runs vs ExecuTorch's portable kernels."""
    shares = {}
    for name in names:
        nodes = [n for n in edge.exported_program(name).graph.nodes if n.op == "call_function"]
        delegated = sum("executorch_call_delegate" in str(n.target) for n in nodes)
        others = [n for n in nodes if "executorch_call_delegate" not in str(n.target) and "getitem" not in str(n.target)]
        kinds = sorted({_op_name(n.target) for n in others})
        shares[name] = f"{delegated} delegate call(s); {len(others)} op(s) outside XNNPACK: {', '.join(kinds)}"[:300]
    return shares


def _op_name(target: Any) -> str:
    """``aten.topk.default`` or ``topk(Tensor self, ...)`` -> ``topk``."""
    parts = str(target).split("(")[0].split("::")[-1].split(".")
    return parts[1] if len(parts) > 1 and parts[0] in ("aten", "dim_order_ops", "quantized_decomposed") else parts[0]


def load(files: list[Path], signatures: Mapping[str, Signature], threads: int) -> dict[str, Runner]:
    """Load every method; XNNPACK's thread pool is process-wide, so it is set to ``threads`` here."""
    from executorch.extension.pybindings import portable_lib
    from executorch.runtime import Runtime

    portable_lib._unsafe_reset_threadpool(threads)
    program = Runtime.get().load_program(files[0])
    return {name: _runner(program.load_method(name), signature) for name, signature in signatures.items()}


def _runner(method: Any, signature: Signature) -> Runner:
    order, outputs = list(signature.sample), signature.outputs

    def run(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        values = method.execute([torch.from_numpy(np.ascontiguousarray(inputs[k])) for k in order])
        return {name: as_numpy(v) for name, v in zip(outputs, values)}

    return run
