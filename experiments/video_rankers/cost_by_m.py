"""How greedy, beam and adaptive beam scale with m, the number of candidates per request.

Reads the jobs of the by-m study (``python -m edgerank -m +study=video_rankers_by_m``): their true
ListReward and model evaluations from ``metrics.json``, and times each exported re-ranker with the
benchmark (``edgerank.bench``: 1 thread, the held-out requests saved at export, the app loop for
adaptive beam). Run it on a quiet machine, after the sweep (the sweep's own jobs run in parallel).
Writes ``cost_by_m.csv``, ``cost_by_m.md`` and ``cost_by_m.png`` next to this file.

    python experiments/video_rankers/cost_by_m.py experiments/video_rankers/by_m
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import yaml

from edgerank.bench.core import benchmark
from edgerank.sweep_summary import load_jobs

HERE = Path(__file__).parent
COLUMNS = {  # csv column: metrics.json / benchmark key
    "true_list_reward": "rerank/true_list_reward",
    "pxtr_true_list_reward": "rerank/pxtr_true_list_reward",
    "evals_per_request": "rerank/evals_per_request",
    "tflite_p50_us": "tflite_p50_us",
    "torch_p50_us": "torch_p50_us",
    "size_bytes": "size_bytes",
}


def measure(sweep_dir: Path, requests: int = 500) -> list[dict[str, float | str]]:
    rows = []
    for job in load_jobs(sweep_dir):
        if job["status"] != "ok":
            print(f"job {job['job']} failed: skipped", file=sys.stderr)
            continue
        timed = benchmark(sweep_dir / str(job["job"]), n_requests=requests, threads=(1,), memory=False)
        found = {**job, **timed}
        m = yaml.safe_load(str(job["data.candidates"]))[1]
        rows.append({"ranker": job["ranker"], "m": m, **{column: found[key] for column, key in COLUMNS.items()}})
    return sorted(rows, key=lambda r: (r["ranker"], r["m"]))


def write(rows: list[dict[str, float | str]]) -> None:
    with (HERE / "cost_by_m.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "| ranker | m | true ListReward | server order | evaluations / request | `.tflite` p50 (µs) | PyTorch eager p50 (µs) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['ranker']} | {r['m']} | {r['true_list_reward']:.3f} | {r['pxtr_true_list_reward']:.3f} | "
            f"{r['evals_per_request']:,.0f} | {r['tflite_p50_us']:,.0f} | {r['torch_p50_us']:,.0f} |"
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
