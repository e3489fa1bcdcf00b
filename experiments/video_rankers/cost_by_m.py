"""How greedy, beam and adaptive beam scale with m, the number of candidates per request.

Reads the jobs of the by-m study (``python -m edgerank -m +study=video_rankers_by_m``): their true
ListReward and model evaluations from ``metrics.json``, and times the exported re-rankers of each m
*in turns* on the same held-out requests (saved at export), 1 thread, the app loop for adaptive
beam - so a slow spell of a shared machine hits all three alike and the ratios hold even when the
absolute figures drift. Run it after the sweep (whose jobs run in parallel). Writes
``cost_by_m.csv``, ``cost_by_m.md`` and ``cost_by_m.png`` next to this file.

    python experiments/video_rankers/cost_by_m.py experiments/video_rankers/by_m
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import yaml
from latency import time_runs  # this folder's timing in turns

from edgerank.core.manifest import read_manifest
from edgerank.sweep_summary import load_jobs

HERE = Path(__file__).parent


def measure(sweep_dir: Path) -> list[dict[str, float | str]]:
    by_m: dict[int, list[dict]] = {}
    for job in load_jobs(sweep_dir):
        if job["status"] != "ok":
            print(f"job {job['job']} failed: skipped", file=sys.stderr)
            continue
        by_m.setdefault(yaml.safe_load(str(job["data.candidates"]))[1], []).append(job)
    rows = []
    for m, jobs in sorted(by_m.items()):
        runs = {job["ranker"]: sweep_dir / str(job["job"]) for job in jobs}
        timed = time_runs(runs)  # the same requests: one dataset per m
        for job in jobs:
            ranker = job["ranker"]
            rows.append({
                "ranker": ranker,
                "m": m,
                "true_list_reward": job["rerank/true_list_reward"],
                "pxtr_true_list_reward": job["rerank/pxtr_true_list_reward"],
                "evals_per_request": job["rerank/evals_per_request"],
                "tflite_p50_us": round(timed[ranker]["p50"] * 1000, 1),
                "tflite_p95_us": round(timed[ranker]["p95"] * 1000, 1),
                "over_beam_p50": round(timed[ranker]["p50"] / timed["beam"]["p50"], 3) if "beam" in timed else "",
                "size_bytes": read_manifest(runs[ranker] / "artifact")["size_bytes"],
            })
    return sorted(rows, key=lambda r: (r["ranker"], r["m"]))


def write(rows: list[dict[str, float | str]]) -> None:
    with (HERE / "cost_by_m.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "| ranker | m | true ListReward | server order | evaluations / request | `.tflite` p50 (µs) | p95 (µs) | p50 / beam's |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['ranker']} | {r['m']} | {r['true_list_reward']:.3f} | {r['pxtr_true_list_reward']:.3f} | "
            f"{r['evals_per_request']:,.0f} | {r['tflite_p50_us']:,.0f} | {r['tflite_p95_us']:,.0f} | {r['over_beam_p50']} |"
        )
    (HERE / "cost_by_m.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("true_list_reward", "true ListReward"), ("evals_per_request", "model evaluations / request"), ("tflite_p50_us", ".tflite p50, 1 thread (µs)"))
    figure, axes = plt.subplots(1, len(panels), figsize=(13, 3.8))
    for ranker in dict.fromkeys(r["ranker"] for r in rows):
        mine = [r for r in rows if r["ranker"] == ranker]
        for ax, (key, label) in zip(axes, panels):
            ax.plot([r["m"] for r in mine], [r[key] for r in mine], "o-", label=ranker)
            ax.set(xlabel="candidates per request m", ylabel=label)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(HERE / "cost_by_m.png", dpi=120)


if __name__ == "__main__":
    write(measure(Path(sys.argv[1])))
