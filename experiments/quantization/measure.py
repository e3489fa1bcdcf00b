"""Every ``export.quantize`` mode next to the float ``.tflite``, on both scenarios, in one process.

    python experiments/quantization/measure.py [--out experiments/quantization/results.json]

For each scenario (product top-K ``dense_topk``; short-video ``ta_mmoe``, alone and with beam
search in the file) it trains one small
model through the pipeline, then quantizes the published float file in every mode exactly as
``export.quantize=<mode>`` does (static int8 calibrated on the export's parity requests), judges
it with the same report and default tolerances, and times the quantized and the float
``.tflite`` interleaved on the same held-out requests, 1 thread. A mode the recipe cannot apply
to a graph is reported with its reason.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from hydra import compose, initialize_config_module  # noqa: E402
from omegaconf import open_dict  # noqa: E402

from edgerank.bench.timing import time_interleaved  # noqa: E402
from edgerank.errors import ParityError  # noqa: E402
from edgerank.export.convert import litert_runners  # noqa: E402
from edgerank.export.quantize import MODES, check_tolerances, quant_report, quantize_tflite  # noqa: E402
from edgerank.export.reference import load_graph, load_samples  # noqa: E402
from edgerank.graph import SINGLE  # noqa: E402
from edgerank.pipeline import plain, run  # noqa: E402
from edgerank.registry import build  # noqa: E402
from edgerank.training.exported_metrics import choice_evaluator, rerank_evaluator  # noqa: E402

SCENARIOS = {
    "product_topk": (["+experiment=product_topk", "data.num_users=3000", "trainer.max_epochs=3", "export.parity_samples=256"], choice_evaluator),
    "video_rerank_ta_mmoe": ([
        "+experiment=video_rerank", "data.num_users=200", "data.num_videos=1000", "data.sessions_per_user=4",
        "trainer.max_epochs=2", "export.parity_samples=256",
    ], rerank_evaluator),
    # the same model with beam search (k = 4) in the file: the lists are the ranker's
    "video_rerank_ta_mmoe_beam": ([
        "+experiment=video_rerank", "ranker=beam", "data.num_users=200", "data.num_videos=1000",
        "data.sessions_per_user=4", "trainer.max_epochs=2", "export.parity_samples=128",
    ], rerank_evaluator),
}
COMMON = ["logger=none", "trainer.enable_progress_bar=false", "callbacks.progress_bar=null"]


def measure(name: str, overrides: list[str], evaluator_for: Any, work: Path, rounds: int) -> dict[str, Any]:
    run_dir = work / name
    with initialize_config_module(config_module="edgerank.conf", version_base="1.3"):
        cfg = compose("train", overrides=[*overrides, *COMMON])
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
    metrics = run(cfg, run_dir)
    graph, samples = load_graph(run_dir), load_samples(run_dir)
    datamodule = build("data", plain(cfg, "data"))
    datamodule.setup()
    evaluator = evaluator_for(datamodule, graph)
    tolerances = check_tolerances(cfg.export.quantization)
    float_path = run_dir / "artifact" / "model.tflite"
    out: dict[str, Any] = {"float_size_bytes": float_path.stat().st_size, "test_metrics": metrics, "tolerances": tolerances, "modes": {}}
    for mode in MODES:
        path = run_dir / f"{mode}.tflite"
        try:
            quantize_tflite(float_path, path, mode, calibration=samples)
        except ParityError as exc:
            out["modes"][mode] = {"refused": str(exc)}
            continue
        report = quant_report(graph, float_path, path, samples, mode=mode, tolerances=tolerances, evaluator=evaluator)
        runners = {"float": litert_runners(float_path, graph)[SINGLE], mode: litert_runners(path, graph)[SINGLE]}
        calls = {key: (lambda request, runner=runner: runner(**request)) for key, runner in runners.items()}
        timing = time_interleaved(calls, list(samples) * rounds, warmup=50, rounds=10)
        out["modes"][mode] = {
            "size_bytes": report.size_bytes, "size_ratio": round(report.size_ratio, 3),
            "max_abs_err": report.max_abs_err, "lists_identical": report.lists_identical,
            "overlap_at_k": report.overlap_at_k, "metric_deltas": report.metric_deltas,
            "float_p50_us": round(timing["float"]["p50"] * 1e3, 1), "p50_us": round(timing[mode]["p50"] * 1e3, 1),
            "p50_ratio": round(timing[mode]["p50"] / timing["float"]["p50"], 3),
            "passed_default_gate": report.passed, "violations": report.violations,
        }
    return out


def table(results: dict[str, Any]) -> str:
    rows = ["| scenario | mode | size (ratio) | max abs err | lists identical | overlap@k | worst metric delta | p50 quantized / float (ratio) | default gate |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for scenario, found in results.items():
        for mode, m in found["modes"].items():
            if "refused" in m:
                rows.append(f"| {scenario} | `{mode}` | refused: {m['refused']} | | | | | | |")
                continue
            worst = min((m["metric_deltas"] or {}).items(), key=lambda kv: kv[1], default=None)
            gate = "passes" if m["passed_default_gate"] else "fails: " + "; ".join(m["violations"])
            rows.append(
                f"| {scenario} | `{mode}` | {m['size_bytes']:,} B ({m['size_ratio']:.2f}x) | {m['max_abs_err']:.2g} | "
                f"{m['lists_identical']:.1%} | {m['overlap_at_k']:.3f} | {f'{worst[0]} {worst[1]:+.4f}' if worst else '(lists only)'} | "
                f"{m['p50_us']} / {m['float_p50_us']} µs ({m['p50_ratio']:.2f}) | {gate} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    parser.add_argument("--rounds", type=int, default=4, help="times each held-out request is timed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        results = {name: measure(name, overrides, evaluator, Path(work), args.rounds)
                   for name, (overrides, evaluator) in SCENARIOS.items()}
    args.out.write_text(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
