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
    return Path(path)


def litert_runners(model: str | Path | Any, graph: OnDeviceGraph | nn.Module, threads: int = 1) -> dict[str, Runner]:
    """The LiteRT backend: ``{signature: runner}`` of a ``.tflite`` (a path, or an ``Interpreter``)
    converted from ``graph``; a one-signature graph gets the file's default signature."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = model if isinstance(model, Interpreter) else Interpreter(model_path=str(model), num_threads=threads)
    names = list(as_graph(graph).signature_modules())
    if names == [SINGLE]:
        return {SINGLE: interpreter.get_signature_runner()}
    return {name: interpreter.get_signature_runner(name) for name in names}


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
