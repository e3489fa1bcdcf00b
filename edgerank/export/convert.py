"""PyTorch -> ``.tflite`` with litert-torch (the maintained successor of ai-edge-torch)."""

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
from edgerank.termination import deferred


class ConversionError(EdgeRankError):
    """litert-torch could not lower the graph."""


def _tensors(sample: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in sample.items()}


def to_tflite(graph: nn.Module, sample: Mapping[str, np.ndarray], path: str | Path) -> Path:
    """Convert ``graph`` at the fixed shapes of ``sample`` and write it to ``path``.

    Inputs are passed as keyword arguments so the ``.tflite`` signature keeps their names
    (``features``, ``eligible``, ...); dict outputs keep theirs too.

    A graph that needs several signatures in one file (e.g. adaptive beam search: ``prepare``
    and ``step``, looped by the app) provides ``signatures() -> {name: module}`` and
    ``signature_samples(sample) -> {name: inputs}``; for the parity check it also provides
    ``reference(sample)`` and ``run_exported(interpreter, sample)`` running the app loop.
    """
    with deferred(), _quiet():
        import litert_torch  # heavy; only the export step needs it

        try:
            if hasattr(graph, "signatures"):  # several signatures in one file, driven by an app loop
                converter: Any = litert_torch
                samples = graph.signature_samples(sample)
                for name, module in graph.signatures().items():
                    converter = converter.signature(name, module.eval(), sample_kwargs=_tensors(samples[name]))
                edge_model = converter.convert()
            else:
                edge_model = litert_torch.convert(graph.eval(), (), sample_kwargs=_tensors(sample))
        except Exception as exc:
            raise ConversionError(
                f"litert-torch could not convert {type(graph).__name__}: {type(exc).__name__}: {exc}. "
                "litert_torch.debug.find_culprits(graph, args) narrows down the op that fails to lower."
            ) from exc
        edge_model.export(str(path))
    return Path(path)


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
