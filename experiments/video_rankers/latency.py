"""Device latency of every re-ranker of the rankers study, timed in turns on the same requests.

Reads the jobs of ``python -m edgerank -m +study=video_rankers`` (each exported its model and
ranker into one ``.tflite`` and saved held-out requests at export), and times the artifacts *in
turns* over the same 1,000 requests, 1 thread, the app loop for adaptive beam: a slow spell of a
shared machine hits every ranker alike, so the ratios hold even when absolute figures drift. Run it
after the sweep. Writes ``latency.csv`` and ``latency.md`` next to this file.

    python experiments/video_rankers/latency.py experiments/video_rankers/results
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Mapping
from pathlib import Path

from ai_edge_litert.interpreter import Interpreter

from edgerank.bench.core import tflite_call
from edgerank.bench.timing import time_interleaved
from edgerank.core.manifest import MODEL_FILE
from edgerank.export.reference import load_graph, load_samples
from edgerank.sweep_summary import load_jobs

HERE = Path(__file__).parent
REQUESTS, WARMUP, ROUNDS = 1000, 50, 20


def time_runs(runs: Mapping[str, Path]) -> dict[str, dict[str, float]]:
    """p50/p95/p99/mean (ms) of each run's ``.tflite`` over the first run's saved requests."""
    calls = {
        name: tflite_call(Interpreter(model_path=str(run / "artifact" / MODEL_FILE), num_threads=1), load_graph(run))
        for name, run in runs.items()
    }
    samples = load_samples(next(iter(runs.values())))
    return time_interleaved(calls, [samples[i % len(samples)] for i in range(REQUESTS)], WARMUP, ROUNDS)


def main(sweep_dir: Path) -> None:
    jobs = [job for job in load_jobs(sweep_dir) if job["status"] == "ok"]
    timed = time_runs({job["arm"]: sweep_dir / str(job["job"]) for job in jobs})
    rows = [
        {"arm": job["arm"], "tflite_p50_us": round(timed[job["arm"]]["p50"] * 1000, 1), "tflite_p95_us": round(timed[job["arm"]]["p95"] * 1000, 1)}
        for job in jobs
    ]
    with (HERE / "latency.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| arm | `.tflite` p50 (µs) | p95 (µs) |", "|---|---|---|"]
    lines += [f"| {r['arm']} | {r['tflite_p50_us']:,.0f} | {r['tflite_p95_us']:,.0f} |" for r in rows]
    (HERE / "latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
