"""Reference requests kept inside an artifact: recorded at export, replayed before publishing.

A checksum proves the model file is the one the manifest describes, not that it computes what
was exported: weights corrupted and the manifest re-signed pass every checksum. So the export
keeps a few of its parity requests and what the checked ``.tflite`` answered
(``reference_requests.npz``: ``input/NAME`` and ``output/NAME`` arrays stacked over requests on a
new first axis, named in
the manifest's ``reference_requests`` field with its sha256), and ``publish`` runs the model on them again
and compares, through the runners the runtime calls it with. Only numpy and ``ai_edge_litert``: the
registry imports no torch.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgerank.core.runners import signature_runners

REFERENCE_FILE = "reference_requests.npz"
REFERENCE_REQUESTS = 16
FLOAT_ATOL = 1e-4  # the same bytes on another CPU may round differently; a real change is far larger


def _signature_for(interpreter: Any, names: set[str]) -> str:
    for key in interpreter.get_signature_list():
        if set(interpreter.get_signature_runner(key).get_input_details()) == names:
            return key
    raise ValueError(f"no signature of the model takes exactly the inputs {sorted(names)}")


def record_reference(model_path: str | Path, samples: Sequence[Mapping[str, np.ndarray]], directory: str | Path,
                     limit: int = REFERENCE_REQUESTS) -> dict[str, Any]:
    """Write the kept requests into ``directory``; returns the manifest's ``reference_requests`` field."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path), num_threads=1)
    kept = list(samples[:limit])
    key = _signature_for(interpreter, set(kept[0]))
    runner = signature_runners(interpreter, [key])[key]
    outputs = [runner(**{k: np.ascontiguousarray(v) for k, v in sample.items()}) for sample in kept]
    arrays = {f"input/{k}": np.stack([s[k] for s in kept]) for k in kept[0]}  # [request, *shape]
    arrays.update({f"output/{k}": np.stack([o[k] for o in outputs]) for k in outputs[0]})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path = Path(directory) / REFERENCE_FILE
    path.write_bytes(buffer.getvalue())
    return {"file": REFERENCE_FILE, "sha256": hashlib.sha256(buffer.getvalue()).hexdigest(), "signature": key,
            "requests": len(kept), "float_atol": FLOAT_ATOL}


def replay_reference(model_path: str | Path, reference_path: str | Path, signature: str, float_atol: float = FLOAT_ATOL) -> list[str]:
    """Run the model on the kept requests; what differs from the recorded outputs (empty: all agree)."""
    from ai_edge_litert.interpreter import Interpreter

    with np.load(reference_path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    inputs = {k.removeprefix("input/"): v for k, v in arrays.items() if k.startswith("input/")}
    expected = {k.removeprefix("output/"): v for k, v in arrays.items() if k.startswith("output/")}
    runner = signature_runners(Interpreter(model_path=str(model_path), num_threads=1), [signature])[signature]
    n = len(next(iter(inputs.values())))
    problems: list[str] = []
    for i in range(n):
        got = runner(**{k: np.ascontiguousarray(v[i]) for k, v in inputs.items()})
        for name, recorded in expected.items():
            want, have = recorded[i], np.asarray(got.get(name))
            if have.shape != want.shape:
                problems.append(f"request {i}, output '{name}': shape {list(have.shape)}, recorded {list(want.shape)}")
            elif np.issubdtype(want.dtype, np.floating):
                err = float(np.max(np.abs(have.astype(np.float64) - want), initial=0.0))
                if not err <= float_atol:  # NaN fails too
                    problems.append(f"request {i}, output '{name}': max abs error {err:.3g} > {float_atol:g}")
            elif not np.array_equal(have, want):
                problems.append(f"request {i}, output '{name}': {have.ravel()[:8].tolist()} instead of {want.ravel()[:8].tolist()}")
    return problems
