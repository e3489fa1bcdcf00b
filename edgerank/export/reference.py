"""The PyTorch side of an export, kept beside the artifact for benchmarks.

``python -m edgerank.bench RUN_DIR`` times the ``.tflite`` against PyTorch eager *on the same
requests*; a run directory therefore keeps the on-device graph (pickled ``nn.Module``, loaded
with ``weights_only=False`` - only load run directories you produced) and the held-out parity
requests (``samples.npz``, one array per input name stacked over requests). Not part of the
artifact: an app never needs them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgerank.staging import staged_folder

if TYPE_CHECKING:  # torch is imported where a graph is saved or loaded: bench's error paths stay fast
    from torch import nn

REFERENCE_DIR = "reference"
GRAPH_FILE = "graph.pt"
SAMPLES_FILE = "samples.npz"


def save_reference(graph: "nn.Module", samples: Sequence[Mapping[str, np.ndarray]], run_dir: str | Path) -> Path:
    import torch

    with staged_folder(Path(run_dir) / REFERENCE_DIR) as stage:
        torch.save(graph.eval(), stage.path / GRAPH_FILE)
        np.savez(stage.path / SAMPLES_FILE, **{name: np.concatenate([s[name] for s in samples]) for name in samples[0]})
        stage.commit()
        return stage.destination


def load_graph(run_dir: str | Path) -> "nn.Module":
    import torch

    return torch.load(Path(run_dir) / REFERENCE_DIR / GRAPH_FILE, weights_only=False).eval()


def load_samples(run_dir: str | Path) -> list[dict[str, np.ndarray]]:
    """Requests of batch size 1, as the parity check and the app use them."""
    with np.load(Path(run_dir) / REFERENCE_DIR / SAMPLES_FILE) as data:
        arrays = {k: data[k] for k in data.files}
    n = len(next(iter(arrays.values())))
    return [{k: v[i : i + 1] for k, v in arrays.items()} for i in range(n)]
