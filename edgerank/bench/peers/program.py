"""What every peer runtime shares: the graph's signatures to export, and a loaded program.

A peer exports the same on-device graph that edgerank converts to ``.tflite``. Most graphs have
one signature (``forward``); an app-loop graph (e.g. adaptive beam search) declares several with
``signatures()``/``signature_samples()`` and is driven by its own ``run_exported(interpreter,
sample)``. A :class:`LoadedProgram` imitates the one method of LiteRT's ``Interpreter`` that the
loop uses, ``get_signature_runner(name)``, so the *same* loop drives every runtime and the
comparison is of runtimes, not of control flow.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

SINGLE = "forward"
Runner = Callable[..., dict[str, np.ndarray]]


@dataclass(frozen=True)
class Signature:
    """One exportable module with the fixed-shape request it is exported at."""

    module: nn.Module
    sample: dict[str, np.ndarray]  # input name -> array, in the module's keyword order
    outputs: list[str]  # output names, in the order the module's dict returns them


def signatures(graph: nn.Module, sample: Mapping[str, np.ndarray]) -> dict[str, Signature]:
    """``{name: Signature}`` of ``graph``: ``{"forward": graph}`` or the graph's declared signatures."""
    from edgerank.export.parity import run_torch

    if hasattr(graph, "signatures"):
        samples = graph.signature_samples(sample)
        modules = graph.signatures()
    else:
        samples, modules = {SINGLE: dict(sample)}, {SINGLE: graph}
    found = {}
    for name, module in modules.items():
        module = module.eval()
        inputs = {k: np.ascontiguousarray(v) for k, v in samples[name].items()}
        found[name] = Signature(module, inputs, list(run_torch(module, inputs)))
    return found


class LoadedProgram:
    """Named runners of one exported graph, called like LiteRT signature runners (numpy in and out)."""

    def __init__(self, runners: Mapping[str, Runner]) -> None:
        self.runners = dict(runners)

    def get_signature_runner(self, name: str = SINGLE) -> Runner:
        return self.runners[name]

    def caller(self, graph: nn.Module) -> Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]:
        """One request through this program: the single runner, or the graph's app loop over the runners."""
        if hasattr(graph, "run_exported"):
            return lambda request: graph.run_exported(self, request)
        runner = self.get_signature_runner(SINGLE)
        return lambda request: runner(**request)


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
