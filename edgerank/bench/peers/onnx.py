"""ONNX peer: ``torch.onnx.export`` of the on-device graph, run with ONNX Runtime on the CPU.

The dynamo exporter (``torch.export`` based, torch's maintained path) is tried first; the
TorchScript exporter is the fallback because it still converts graphs that ``torch.export``
rejects. The report names the one that produced the file. Each signature becomes one ``.onnx``
file (ONNX has no multi-signature container); the sizes add up.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgerank.bench.peers.program import describe
from edgerank.graph import Runner, Signature

NAME = "onnxruntime"
RENAMED = ".out"  # suffix of an output that shares its name with an input
NEEDS = ("onnx", "onnxruntime", "onnxscript")  # onnxscript: the dynamo exporter's op library


def unavailable() -> str | None:
    """Why this peer cannot run here, or ``None``."""
    missing = [m for m in NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (pip install -e .[peers])"
    return None


def versions() -> dict[str, str]:
    import onnx
    import onnxruntime

    return {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}


def onnx_output_names(signature: Signature) -> list[str]:
    """Output names for the ONNX graph: an app-loop step returns the beams it was given
    (``beam_reward`` in and out), and ONNX forbids an output named like an input."""
    return [f"{name}{RENAMED}" if name in signature.sample else name for name in signature.outputs]


def _export_one(signature: Signature, path: Path, dynamo: bool) -> None:
    tensors = {k: torch.from_numpy(v) for k, v in signature.sample.items()}
    kwargs: dict[str, Any] = {"kwargs": tensors, "input_names": list(tensors), "output_names": onnx_output_names(signature)}
    if dynamo:
        kwargs.update(dynamo=True, verbose=False, optimize=True, external_data=False)
    else:
        kwargs.update(dynamo=False, opset_version=17)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(signature.module, (), str(path), **kwargs)


def export(signatures: Mapping[str, Signature], directory: Path) -> tuple[list[Path], dict[str, Any]]:
    """Write one ``.onnx`` per signature; return the files and how they were made."""
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    files, exporters, failures = [], {}, {}
    for name, signature in signatures.items():
        path = directory / f"{name}.onnx"
        for dynamo in (True, False):
            try:
                _export_one(signature, path, dynamo)
            except Exception as exc:  # noqa: BLE001 - an exporter's failure is a finding, not a crash
                failures[f"{name}/{'dynamo' if dynamo else 'torchscript'}"] = describe(exc)
                continue
            exporters[name] = "dynamo" if dynamo else "torchscript"
            break
        else:
            raise RuntimeError(f"no ONNX exporter converted signature '{name}': {failures}")
        files.append(path)
    info: dict[str, Any] = {"exporter": exporters[next(iter(exporters))] if len(set(exporters.values())) == 1 else exporters}
    if failures:
        info["exporter_failures"] = failures
    return files, info


def load(files: list[Path], signatures: Mapping[str, Signature], threads: int) -> dict[str, Runner]:
    """One ONNX Runtime session per signature, ``threads`` intra-op threads, sequential execution."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return {
        name: _runner(ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]), signature)
        for (name, signature), path in zip(signatures.items(), files)
    }


def _runner(session: Any, signature: Signature) -> Runner:
    # an exporter may drop an input the graph never reads: feed only what the session declares
    wanted = [i.name for i in session.get_inputs()]
    onnx_names = onnx_output_names(signature)

    def run(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(signature.outputs, session.run(onnx_names, {k: inputs[k] for k in wanted})))

    return run
