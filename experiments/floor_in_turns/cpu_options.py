"""Invoke one ``.tflite`` in turns through the ``Interpreter`` and through ``CompiledModel`` under
several ``CpuOptions``, on one run's first held-out request.

    python experiments/floor_in_turns/cpu_options.py RUN_DIR FILE.tflite [xnnpack_flags=256 ...]

Each option is ``key=value`` of ``ai_edge_litert.cpu_options.CpuOptions`` (``xnnpack_flags``,
``enable_ynnpack=1``, ``kernel_mode``); XNNPACK's delegate flags are 0x40 for its latest
operators and 0x100 for Slinky (``xnnpack_delegate.h``). Inputs are written once, so only the
invoke is timed; an option this build refuses prints ``refused`` with LiteRT's message.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from ai_edge_litert.compiled_model import CompiledModel
from ai_edge_litert.interpreter import Interpreter
from ai_edge_litert.options import CpuOptions, Options

from edgerank.core.runners import SINGLE, signature_runners
from edgerank.export.reference import load_samples

ROUNDS = 3000


def compiled(path: str, request: dict[str, np.ndarray], spec: str):
    values = dict(part.split("=") for part in spec.split(","))
    options = CpuOptions(num_threads=1, **{k: (v == "1") if k == "enable_ynnpack" else int(v) for k, v in values.items()})
    model = CompiledModel.from_file(path, options=Options(cpu_options=options))
    inputs, outputs = model.create_input_buffers(0), model.create_output_buffers(0)
    for buffer, name in zip(inputs, model.get_signature_by_index(0)["inputs"]):
        buffer.write(np.ascontiguousarray(request[name]))
    return lambda: model.run_by_index(0, inputs, outputs)


def main(run_dir: Path, path: str, specs: list[str]) -> None:
    request = load_samples(run_dir)[0]
    runner = signature_runners(Interpreter(model_path=path, num_threads=1))[SINGLE]
    runner(**request)
    calls = {"Interpreter": lambda: runner._wrapper.Invoke(runner._subgraph)}
    for spec in ["xnnpack_flags=-1", *specs]:
        try:
            calls[f"CompiledModel {spec}"] = compiled(path, request, spec)
        except Exception as error:  # noqa: BLE001 - report what this build refuses
            print(f"{spec}: refused ({str(error).strip().splitlines()[0]})")
    times: dict[str, list[int]] = {name: [] for name in calls}
    for _ in range(100):
        for call in calls.values():
            call()
    for _ in range(ROUNDS):
        for name, call in calls.items():
            start = time.perf_counter_ns()
            call()
            times[name].append(time.perf_counter_ns() - start)
    for name, values in times.items():
        print(f"{name}: p50 {np.median(values) / 1e3:.1f} µs")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3:])
