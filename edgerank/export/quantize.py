"""Int8 post-training quantization of an exported ``.tflite``, with its own parity report.

Done on the converted flatbuffer with ai-edge-quantizer (installed with litert-torch 0.10), so
it works for any graph litert-torch converted and needs no calibration data:

- ``int8`` (dynamic range, recipe ``dynamic_wi8_afp32``): int8 per-channel weights; activations
  are quantized on the fly so matmuls run in int8. Smallest and usually fastest.
- ``int8_weight_only`` (recipe ``weight_only_wi8_afp32``): int8 weights dequantized to float
  before each op; same size, float compute, closer to the float model.

A quantized model cannot meet float parity (1e-5), so its report measures what matters for a
ranker against the *PyTorch* model - max error of every float output, identical lists, top-1
agreement, mean overlap of the top-K sets - plus the size ratio and the test-metric deltas
versus the float ``.tflite`` measured on the same rows, and checks each against configured
tolerances. The artifact is published only when every tolerance holds.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from edgerank.errors import ConfigError, did_you_mean
from edgerank.export.evaluate import Evaluator
from edgerank.export.parity import run_torch
from edgerank.termination import deferred

MODES = {"int8": "dynamic_wi8_afp32", "int8_weight_only": "weight_only_wi8_afp32"}
TOLERANCE_KEYS = ("max_abs_err", "min_overlap_at_k", "max_metric_drop", "max_size_ratio")


def check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise ConfigError("export.quantize", f"unknown mode {str(mode)!r}.{did_you_mean(str(mode), MODES)} "
                          f"(choose from: {', '.join(MODES)}, or null)")
    return str(mode)


def quantize_tflite(float_path: str | Path, out_path: str | Path, mode: str) -> Path:
    """Write the ``mode`` quantization of ``float_path`` to ``out_path``."""
    check_mode(mode)
    root = logging.getLogger()
    level, root.level = root.level, max(root.level, logging.WARNING)
    try:
        # it prints a size table to stdout and progress bars to stderr
        with deferred(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            from ai_edge_quantizer import quantizer, recipe

            q = quantizer.Quantizer(str(float_path))
            q.load_quantization_recipe(getattr(recipe, MODES[mode])())
            q.quantize().export_model(str(out_path), overwrite=True)
    finally:
        root.setLevel(level)
    return Path(out_path)


@dataclass
class QuantReport:
    mode: str
    recipe: str
    n_samples: int
    size_bytes: int
    float_size_bytes: int
    size_ratio: float
    max_abs_err: float
    max_rel_err: float
    outputs: dict[str, dict[str, float]]
    lists_identical: float
    top1_agreement: float
    overlap_at_k: float
    metrics_float: dict[str, float] | None
    metrics_quantized: dict[str, float] | None
    metric_deltas: dict[str, float] | None
    tolerances: dict[str, float]
    violations: list[str] = field(default_factory=list)
    passed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.mode}: size x{self.size_ratio:.2f}, max_abs_err={self.max_abs_err:.3g}, "
            f"lists_identical={self.lists_identical:.3f}, overlap@k={self.overlap_at_k:.3f}, "
            f"metric deltas {self.metric_deltas} -> {'PASSED' if self.passed else 'FAILED: ' + '; '.join(self.violations)}"
        )


def check_tolerances(tolerances: Mapping[str, Any]) -> dict[str, float]:
    unknown = sorted(set(tolerances) - set(TOLERANCE_KEYS))
    if unknown:
        raise ConfigError(f"export.quantization.{unknown[0]}", f"unknown tolerance (known: {', '.join(TOLERANCE_KEYS)})")
    missing = [k for k in TOLERANCE_KEYS if tolerances.get(k) is None]
    if missing:
        raise ConfigError(f"export.quantization.{missing[0]}", "is required when export.quantize is set")
    return {k: float(tolerances[k]) for k in TOLERANCE_KEYS}


def quant_report(
    graph: nn.Module,
    float_path: Path,
    quant_path: Path,
    samples: Sequence[Mapping[str, np.ndarray]],
    *,
    mode: str,
    tolerances: Mapping[str, float],
    evaluator: Evaluator | None = None,
) -> QuantReport:
    """Compare the quantized model with PyTorch (outputs, lists) and with the float ``.tflite``
    (size, test metrics), and judge it against ``tolerances``."""
    from ai_edge_litert.interpreter import Interpreter

    ranked: dict[str, str] = dict(getattr(graph, "ranked_lists", {}))
    graph = graph.eval()
    interpreter = Interpreter(model_path=str(quant_path), num_threads=1)
    if hasattr(graph, "run_exported"):  # several signatures driven by an app loop (see export.convert)
        reference, exported = graph.reference, partial(graph.run_exported, interpreter)
        runner = None
    else:
        runner = interpreter.get_signature_runner()
        reference = partial(run_torch, graph)
        exported = lambda sample: runner(**{k: np.ascontiguousarray(v) for k, v in sample.items()})  # noqa: E731
    errors: dict[str, dict[str, float]] = {}
    identical = top1 = 0
    overlaps: list[float] = []
    for sample in samples:
        expected = reference(sample)
        actual = exported(sample)
        for name, ref in expected.items():
            got = np.asarray(actual[name])
            stats = errors.setdefault(name, {"max_abs_err": 0.0, "max_rel_err": 0.0, "mismatches": 0})
            if np.issubdtype(ref.dtype, np.floating):
                err = np.abs(got.astype(np.float64) - ref)
                stats["max_abs_err"] = max(stats["max_abs_err"], float(err.max(initial=0.0)))
                stats["max_rel_err"] = max(stats["max_rel_err"], float((err / np.maximum(np.abs(ref), 1e-12)).max(initial=0.0)))
            elif name not in ranked:
                stats["mismatches"] += int(np.sum(got != ref))
        for list_name in ranked:
            a, b = np.asarray(actual[list_name]).reshape(-1), np.asarray(expected[list_name]).reshape(-1)
            identical += int(np.array_equal(a, b))
            top1 += int(a[0] == b[0])
            overlaps.append(len(set(a.tolist()) & set(b.tolist())) / len(b))
    n, n_lists = len(samples), max(1, len(samples) * len(ranked))
    float_size, size = float_path.stat().st_size, quant_path.stat().st_size
    metrics_float = metrics_quant = deltas = None
    if evaluator is not None and runner is not None:  # evaluators drive the default signature
        metrics_float = evaluator(Interpreter(model_path=str(float_path), num_threads=1).get_signature_runner())
        metrics_quant = evaluator(runner)
        deltas = {k: metrics_quant[k] - metrics_float[k] for k in metrics_float}
    report = QuantReport(
        mode=mode,
        recipe=MODES[mode],
        n_samples=n,
        size_bytes=size,
        float_size_bytes=float_size,
        size_ratio=size / float_size,
        max_abs_err=max((e["max_abs_err"] for e in errors.values()), default=0.0),
        max_rel_err=max((e["max_rel_err"] for e in errors.values()), default=0.0),
        outputs=errors,
        lists_identical=identical / n_lists if ranked else 1.0,
        top1_agreement=top1 / n_lists if ranked else 1.0,
        overlap_at_k=float(np.mean(overlaps)) if overlaps else 1.0,
        metrics_float=metrics_float,
        metrics_quantized=metrics_quant,
        metric_deltas=deltas,
        tolerances=dict(tolerances),
    )
    report.violations = _violations(report, tolerances)
    report.passed = not report.violations
    return report


def _violations(report: QuantReport, tol: Mapping[str, float]) -> list[str]:
    out = []
    if report.max_abs_err > tol["max_abs_err"]:
        out.append(f"max_abs_err {report.max_abs_err:.3g} > {tol['max_abs_err']:g}")
    if report.overlap_at_k < tol["min_overlap_at_k"]:
        out.append(f"overlap_at_k {report.overlap_at_k:.3f} < {tol['min_overlap_at_k']:g}")
    if report.size_ratio > tol["max_size_ratio"]:
        out.append(f"size_ratio {report.size_ratio:.3f} > {tol['max_size_ratio']:g}")
    mismatched = [n for n, e in report.outputs.items() if e.get("mismatches")]
    if mismatched:
        out.append(f"integer outputs differ: {', '.join(mismatched)}")
    for name, delta in (report.metric_deltas or {}).items():
        if -delta > tol["max_metric_drop"]:
            out.append(f"{name} drops by {-delta:.4f} > {tol['max_metric_drop']:g}")
    return out
