"""How a ranker's cost grows with m, the number of candidates in a request.

Reads exported runs of the ranker study (their ``artifact/model.tflite`` and the held-out requests
saved in ``reference/``) and, per request, records m, the model evaluations the search spent and
the ``.tflite`` latency (1 thread, the app loop for adaptive beam). Requests have 20-50 candidates,
so one run covers the range. Writes ``cost_by_m.csv`` and ``cost_by_m.png`` next to this file.

    python experiments/video_rankers/cost_by_m.py experiments/video_rankers/results/{0,3,6}
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from edgerank.export.manifest import read_manifest
from edgerank.export.reference import load_graph, load_samples

HERE = Path(__file__).parent


def measure(run_dir: Path) -> list[dict[str, float]]:
    manifest = read_manifest(run_dir / "artifact")
    graph, samples = load_graph(run_dir), load_samples(run_dir)
    interpreter = Interpreter(model_path=str(run_dir / "artifact" / "model.tflite"), num_threads=1)
    if hasattr(graph, "run_exported"):  # adaptive beam: the app loop over its signatures
        call = lambda s: graph.run_exported(interpreter, s)  # noqa: E731
        evaluations = lambda s, out: int(out["evaluations"][0])  # noqa: E731
    else:
        runner = interpreter.get_signature_runner()
        call = lambda s: runner(**s)  # noqa: E731
        evaluations = lambda s, out: graph.evaluations(int(s["cand_mask"].sum()))  # noqa: E731
    label = manifest["ranker"]["name"] + (f" k={manifest['ranker']['beam_size']}" if "beam_size" in manifest["ranker"] else "")
    rows = []
    for sample in samples[:10]:
        call(sample)  # warm-up
    for sample in samples:
        start = time.perf_counter_ns()
        out = call(sample)
        micros = (time.perf_counter_ns() - start) / 1e3
        rows.append({"ranker": label, "m": int(sample["cand_mask"].sum()), "evaluations": evaluations(sample, out), "latency_us": micros})
    return rows


def main(run_dirs: list[str]) -> None:
    rows = [row for run_dir in run_dirs for row in measure(Path(run_dir))]
    with (HERE / "cost_by_m.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for label in dict.fromkeys(r["ranker"] for r in rows):
        mine = [r for r in rows if r["ranker"] == label]
        buckets = sorted({r["m"] // 5 * 5 for r in mine})
        for axes, key in ((left, "evaluations"), (right, "latency_us")):
            axes.plot(buckets, [np.median([r[key] for r in mine if r["m"] // 5 * 5 == b]) for b in buckets], "o-", label=label)
    left.set(xlabel="candidates m (bucket of 5)", ylabel="model evaluations per request (median)")
    right.set(xlabel="candidates m (bucket of 5)", ylabel=".tflite latency, 1 thread (µs, median)")
    left.legend()
    figure.tight_layout()
    figure.savefig(HERE / "cost_by_m.png", dpi=120)
    for label in dict.fromkeys(r["ranker"] for r in rows):
        mine = [r for r in rows if r["ranker"] == label]
        for low, high in ((20, 30), (30, 40), (40, 51)):
            band = [r for r in mine if low <= r["m"] < high]
            if band:
                print(f"{label:<22} m in [{low},{high}): evaluations {np.median([r['evaluations'] for r in band]):7.0f}, "
                      f"latency {np.median([r['latency_us'] for r in band]):8.0f} us  ({len(band)} requests)")


if __name__ == "__main__":
    main(sys.argv[1:])
