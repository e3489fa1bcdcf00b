"""What every peer runtime shares besides the graph interface: quiet native output, one-line reasons.

A peer exports the signatures of the same on-device graph that edgerank converts to ``.tflite``
(:func:`edgerank.graph.signatures`) and hands out runners for them, so the graph's own loop
(:meth:`edgerank.graph.OnDeviceGraph.drive`) drives every runtime and the comparison is of
runtimes, not of control flow.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send everything written to stdout (Python and C++ alike) to stderr while the block runs.

    ``python -m edgerank.bench`` prints one JSON object on stdout; the ONNX exporter prints its
    progress there and ExecuTorch's native code logs CPU probing there, which would corrupt it.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def describe(exc: BaseException, limit: int = 400) -> str:
    """A one-line reason for the report (the first line of the message, bounded)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:limit]


def as_numpy(value: Any) -> np.ndarray:
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)
