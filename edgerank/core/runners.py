"""What every backend hands out for an exported graph: a *runner* per named signature.

A runner is the numpy-in, numpy-out call of one signature (keyword inputs, named outputs), the
same whether LiteRT, ONNX Runtime, ExecuTorch or eager PyTorch runs it, so the app loop that
drives a graph of several signatures (:mod:`edgerank.core.app_loop`) runs on the phone and in
evaluation alike. Declared here, in the numpy-only core, because the torch-free runtime uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

SINGLE = "forward"  # the name of a one-signature graph's signature
Runner = Callable[..., Mapping[str, np.ndarray]]  # one signature: keyword numpy inputs -> named numpy outputs
Runners = Mapping[str, Runner]


class FixedShapeRunner:
    """One signature of a LiteRT ``Interpreter`` whose tensors are allocated once.

    Every edgerank graph has fixed shapes, yet LiteRT's ``SignatureRunner`` resizes each input
    and re-plans the arena on every call: 15-32 µs a request on this project's video graphs, a
    tenth of an adaptive-beam request, which makes two or three calls (experiments/video_rankers/
    search_graph.md). Here a call only copies the inputs in, invokes and copies the outputs out,
    through the interpreter wrapper the ``SignatureRunner`` holds (ai-edge-litert 2.3). Inputs of
    another shape fail as LiteRT fails for them: ``ValueError`` naming the dimension mismatch.
    """

    def __init__(self, signature_runner: Any) -> None:
        self._keep = signature_runner  # it holds the Interpreter, which owns the model's bytes
        self._wrapper, self._subgraph = signature_runner._interpreter_wrapper, signature_runner._subgraph_index
        self._inputs: dict[str, int] = dict(signature_runner._inputs)
        self._outputs: list[tuple[str, int]] = list(signature_runner._outputs)
        self._wrapper.AllocateTensors(self._subgraph)

    def __call__(self, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        wrapper, subgraph = self._wrapper, self._subgraph
        if inputs.keys() != self._inputs.keys():
            raise ValueError(f"signature inputs are {sorted(self._inputs)}, got {sorted(inputs)}")
        for name, value in inputs.items():
            wrapper.SetTensor(self._inputs[name], value, subgraph)
        wrapper.Invoke(subgraph)
        return {name: wrapper.GetTensor(index, subgraph) for name, index in self._outputs}


def signature_runners(interpreter: Any, names: Iterable[str] | None = None, fixed_shape: bool = True) -> dict[str, Runner]:
    """``{name: runner}`` of a LiteRT ``Interpreter``'s signatures (all by default; a one-signature
    file's is :data:`SINGLE`, whatever the converter named it), :class:`FixedShapeRunner` where
    the interpreter allows it and LiteRT's own ``SignatureRunner`` otherwise or with
    ``fixed_shape=False`` (the benchmark's reference)."""
    listed = list(interpreter.get_signature_list())
    wanted = list(names) if names is not None else [SINGLE] if len(listed) == 1 else listed
    runners: dict[str, Runner] = {}
    for name in wanted:
        key = listed[0] if name == SINGLE and len(listed) == 1 else name
        runner = interpreter.get_signature_runner(key)
        if not fixed_shape:
            runners[name] = runner
            continue
        try:
            runners[name] = FixedShapeRunner(runner)
        except AttributeError:  # an ai-edge-litert whose SignatureRunner is laid out otherwise
            runners[name] = runner
    return runners
