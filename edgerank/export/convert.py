"""The LiteRT backend: PyTorch -> ``.tflite`` with litert-torch (the maintained successor of
ai-edge-torch), and the signature runners of a converted file (:mod:`edgerank.graph`)."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edgerank.core.runners import signature_runners
from edgerank.errors import EdgeRankError
from edgerank.graph import SINGLE, OnDeviceGraph, Runner, as_graph, signatures
from edgerank.termination import deferred


class ConversionError(EdgeRankError):
    """litert-torch could not lower the graph."""


def _tensors(sample: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in sample.items()}


def to_tflite(graph: OnDeviceGraph | nn.Module, sample: Mapping[str, np.ndarray], path: str | Path) -> Path:
    """Convert ``graph`` at the fixed shapes of ``sample`` and write it to ``path``.

    Inputs are passed as keyword arguments so the ``.tflite`` signature keeps their names
    (``features``, ``eligible``, ...); dict outputs keep theirs too. One signature is converted
    as ``litert_torch.convert`` does (the file's default signature); several (e.g. adaptive beam
    search's ``prepare``/``step``/``finish``) go into one file, each at its own sample inputs.
    """
    graph = as_graph(graph)
    with deferred(), _quiet():
        import litert_torch  # heavy; only the export step needs it

        try:
            found = signatures(graph, sample)
            if set(found) == {SINGLE}:
                edge_model = litert_torch.convert(found[SINGLE].module, (), sample_kwargs=_tensors(found[SINGLE].sample))
            else:
                converter: Any = litert_torch
                for name, signature in found.items():
                    converter = converter.signature(name, signature.module, sample_kwargs=_tensors(signature.sample))
                edge_model = converter.convert()
        except Exception as exc:
            raise ConversionError(
                f"litert-torch could not convert {type(graph).__name__}: {type(exc).__name__}: {exc}. "
                "litert_torch.debug.find_culprits(graph, args) narrows down the op that fails to lower."
            ) from exc
        edge_model.export(str(path))
    _short_tensor_names(Path(path))
    return Path(path)


def _short_tensor_names(path: Path) -> None:
    """Rewrite the file with each inner tensor named by its index: the lowering names them by
    their MLIR origin (``arith.constant18``, locations), a quarter of a ranker's file. Inputs and
    outputs keep their names, and signatures keep theirs, which are all that runners, the
    runtime and the manifest read; names stay unique, which the quantizer relies on."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    for subgraph in model.subgraphs:
        kept = {*subgraph.inputs, *subgraph.outputs}
        for index, tensor in enumerate(subgraph.tensors):
            if index not in kept:
                tensor.name = str(index).encode()
    flatbuffer_utils.write_model(model, str(path))


def litert_runners(model: str | Path | Any, graph: OnDeviceGraph | nn.Module, threads: int = 1) -> dict[str, Runner]:
    """The LiteRT backend: ``{signature: runner}`` of a ``.tflite`` (a path, or an ``Interpreter``)
    converted from ``graph``; a one-signature graph gets the file's default signature."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = model if isinstance(model, Interpreter) else Interpreter(model_path=str(model), num_threads=threads)
    return signature_runners(interpreter, as_graph(graph).signature_modules())


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """litert-torch logs every lowered op at INFO and prints progress to stdout: keep the op log
    out, and the progress on stderr so that a command printing JSON (bench) keeps stdout clean."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        root.setLevel(level)
