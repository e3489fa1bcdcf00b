"""The on-device graph: what ``on_device()`` returns and every backend runs, in litert-torch's terms.

A graph is a set of named signatures (one, ``forward``, is the ordinary case, the one
``litert_torch.convert`` makes; several go into one file as ``litert_torch.signature(...)``
chains do), the sample inputs each signature is exported at, the loop that drives them for one
request (:meth:`OnDeviceGraph.drive`: the only signature called once; adaptive beam search's
``prepare``/``step``/``finish`` loop otherwise) and which outputs are ranked lists.

A *backend* hands out *runners* - ``{signature name: numpy-in, numpy-out callable}`` - for a
graph: eager PyTorch here (:func:`eager_runners`), LiteRT in :mod:`edgerank.export.convert`,
ONNX Runtime and ExecuTorch in :mod:`edgerank.bench.peers`. The loop takes the runners as an
argument, so every backend executes the same control flow and no runner is kept on a module;
:func:`edgerank.export.parity.compare` turns any two backends into one parity report.

Why here, at the bottom of the package and without torch at import time: models and rankers
provide graphs, export and bench consume them, and the numpy-only app loop
(:mod:`edgerank.core.app_loop`, which the torch-free runtime shares) calls runners of this very
type; each of them may import this module without importing anything above itself. Torch is
imported only where eager runners are made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from edgerank.core.runners import SINGLE, Runner, Runners

if TYPE_CHECKING:
    from torch import nn

# a task's test metrics measured through one backend's runner (float against int8 .tflite)
Evaluator = Callable[[Runner], dict[str, float]]


@dataclass(frozen=True)
class Signature:
    """One named signature of a graph: its module, the fixed-shape inputs it is exported at (in the
    module's keyword order) and its output names (in the order its dict returns them)."""

    module: "nn.Module"
    sample: dict[str, np.ndarray]
    outputs: list[str]


class OnDeviceGraph:
    """Mixin of every ``nn.Module`` that ``on_device()`` returns (the defaults: one signature).

    ``ranked_lists`` maps each list output to the scores it is ranked by; ``tie_margin_output``
    names the output carrying PyTorch's smallest top-k margin per request (the parity check's
    near-tie rule), or is None. A graph of several signatures overrides the three methods.
    """

    ranked_lists: ClassVar[Mapping[str, str]] = {}
    tie_margin_output: ClassVar[str | None] = None

    def signature_modules(self) -> dict[str, "nn.Module"]:
        """``{name: module}`` of the signatures exported into one file."""
        return {SINGLE: self}  # type: ignore[dict-item]  # mixed into an nn.Module

    def signature_samples(self, sample: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
        """Each signature's fixed-shape inputs, given one request's."""
        return {SINGLE: dict(sample)}

    def drive(self, runners: Runners, request: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One request over a backend's runners: the graph's outputs as the app sees them."""
        return dict(runners[SINGLE](**request))

    def reference(self, request: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One request through eager PyTorch (what the other backends are compared with)."""
        return self.drive(eager_runners(self), request)


class _Plain(OnDeviceGraph):
    """A module that does not declare the interface: one signature, no ranked lists."""

    def __init__(self, module: "nn.Module") -> None:
        self.module = module

    def signature_modules(self) -> dict[str, "nn.Module"]:
        return {SINGLE: self.module}


def as_graph(module: Any) -> OnDeviceGraph:
    """``module`` as an :class:`OnDeviceGraph` (a plain ``nn.Module`` is one signature without lists)."""
    return module if isinstance(module, OnDeviceGraph) else _Plain(module)


def eager(module: "nn.Module") -> Runner:
    """Call a module the way a backend's runner is called: numpy in, numpy out."""
    import torch

    def call(**arrays: np.ndarray) -> dict[str, np.ndarray]:
        with torch.no_grad():
            out = module(**{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()})
        if not isinstance(out, Mapping):  # unnamed outputs get the names litert-torch gives them
            out = {f"output_{i}": v for i, v in enumerate(out if isinstance(out, (tuple, list)) else [out])}
        return {k: v.numpy() for k, v in out.items()}

    return call


def eager_runners(graph: Any) -> dict[str, Runner]:
    """The eager PyTorch backend: every signature module in eval mode, called with numpy."""
    return {name: eager(module.eval()) for name, module in as_graph(graph).signature_modules().items()}


def signatures(graph: Any, sample: Mapping[str, np.ndarray]) -> dict[str, Signature]:
    """``{name: Signature}`` of ``graph`` at the shapes of the request ``sample``: what a
    converter (litert-torch, ONNX, ExecuTorch) exports."""
    graph = as_graph(graph)
    samples = graph.signature_samples(sample)
    found = {}
    for name, module in graph.signature_modules().items():
        inputs = {k: np.ascontiguousarray(v) for k, v in samples[name].items()}
        found[name] = Signature(module.eval(), inputs, list(eager(module)(**inputs)))
    return found
