"""PyTorch -> ``.tflite`` with litert-torch (the maintained successor of ai-edge-torch)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgerank.errors import EdgeRankError


class ConversionError(EdgeRankError):
    """litert-torch could not lower the graph."""


def to_tflite(graph: nn.Module, sample: Mapping[str, np.ndarray], path: str | Path) -> Path:
    """Convert ``graph`` at the fixed shapes of ``sample`` and write it to ``path``.

    Inputs are passed as keyword arguments so the ``.tflite`` signature keeps their names
    (``features``, ``eligible``, ...); dict outputs keep theirs too.
    """
    import litert_torch  # heavy; only the export step needs it

    kwargs = {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in sample.items()}
    root = logging.getLogger()
    level, root.level = root.level, max(root.level, logging.WARNING)  # silence per-op INFO lines
    try:
        edge_model = litert_torch.convert(graph.eval(), (), sample_kwargs=kwargs)
    except Exception as exc:
        raise ConversionError(
            f"litert-torch could not convert {type(graph).__name__}: {type(exc).__name__}: {exc}. "
            "litert_torch.debug.find_culprits(graph, args) narrows down the op that fails to lower."
        ) from exc
    finally:
        root.setLevel(level)
    path = Path(path)
    edge_model.export(str(path))
    return path
