"""Time ``.tflite`` files request by request in rotation, on one run's held-out requests.

    python experiments/floor_in_turns/paired.py RUN_DIR A.tflite B.tflite [...]

Each request goes through every file in turn (the order rotating with the request), 10 rounds of
the run's ``reference/samples.npz``, 1 thread, so a slow spell of a shared machine hits all files
alike. A one-signature file is called directly; an adaptive-beam file is driven by the app loop
with the run's ``list_size`` and ``threshold``. Prints p50 / p99 / mean per file and the median
of its per-request time over the first file's.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from edgerank.core.app_loop import drive
from edgerank.core.runners import SINGLE, signature_runners
from edgerank.export.reference import load_samples

ROUNDS = 10


def main(run_dir: Path, files: list[str]) -> None:
    requests = load_samples(run_dir)
    ranker = json.loads((run_dir / "artifact" / "manifest.json").read_text()).get("ranker") or {}
    calls = {}
    for f in files:
        runners = signature_runners(Interpreter(model_path=f, num_threads=1))
        if SINGLE in runners:
            calls[f] = lambda q, run=runners[SINGLE]: run(**q)
        else:
            calls[f] = lambda q, run=runners: drive(run, q, ranker["list_size"], ranker["threshold"])
    for q in requests[:30]:
        for call in calls.values():
            call(q)
    names, times = list(calls), {f: [] for f in calls}
    for _ in range(ROUNDS):
        for i, q in enumerate(requests):
            for f in names[i % len(names):] + names[: i % len(names)]:
                start = time.perf_counter_ns()
                calls[f](q)
                times[f].append((time.perf_counter_ns() - start) / 1e3)
    first = np.array(times[names[0]])
    for f in names:
        t = np.array(times[f])
        print(f"{f}: p50 {np.median(t):.1f} µs, p99 {np.percentile(t, 99):.1f}, mean {t.mean():.1f}, per request over the first {np.median(t / first):.4f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
