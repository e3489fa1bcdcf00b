"""Post-training quantization of an exported ``.tflite``, with its own parity report.

Done on the converted flatbuffer with ai-edge-quantizer (installed with litert-torch 0.10), so
it works for any graph litert-torch converted:

- ``int8`` (dynamic range, recipe ``dynamic_wi8_afp32``): int8 per-channel weights; activations
  are quantized on the fly so matmuls run in int8.
- ``int8_weight_only`` (recipe ``weight_only_wi8_afp32``): int8 weights dequantized to float
  before each op; same size, float compute, closer to the float model.
- ``fp16`` (float casting of the weights, ``weight_only_wf16_afp32``): float16 weights, float32
  compute; about half the size at an error near float parity.
- ``int8_static`` (recipe ``static_wi8_ai8``, full integer): int8 weights *and* activations with
  ranges calibrated on the export's parity requests; the graph's inputs and outputs stay float32
  so the app feeds it exactly what it feeds the float model. A graph whose ops the recipe cannot
  quantize, or with several signatures, is refused with the reason (no artifact is published).

In every integer mode embedding tables (``EMBEDDING_LOOKUP``) are quantized with one scale per
table, not per row as the recipes' channel-wise default does: a per-row scale (float32) and zero
point (int64) are 12 bytes of parameters beside each row's 8 int8 weights (``embed_dim`` 8), so a
65,536-bucket video table shrank only to 0.62x of its float size (1.41 MB of a 2.27 MB model);
per table it is 0.27x (0.61 MB) at the same output error (README "Int8").

A quantized model cannot meet float parity (1e-5), so its report measures what matters for a
ranker against the *PyTorch* model, by export parity's own comparison
(:func:`edgerank.export.parity.compare`) - max error of every float output, identical lists,
top-1 agreement, mean overlap of the top-K sets - plus the size ratio and the test-metric deltas
versus the float ``.tflite`` measured on the same rows, and checks each against configured
tolerances. The artifact is published only when every tolerance holds.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from edgerank.core.manifest import signature
from edgerank.errors import ConfigError, ParityError, did_you_mean
from edgerank.export.convert import litert_runners
from edgerank.export.parity import compare
from edgerank.graph import SINGLE, Evaluator, OnDeviceGraph, as_graph, eager_runners
from edgerank.termination import deferred

MODES = {
    "int8": "dynamic_wi8_afp32",
    "int8_weight_only": "weight_only_wi8_afp32",
    "fp16": "weight_only_wf16_afp32",
    "int8_static": "static_wi8_ai8",
}
TOLERANCE_KEYS = ("max_abs_err", "min_overlap_at_k", "max_metric_drop", "max_size_ratio")
FLOAT_TIE = 1e-5  # a list differing where PyTorch's own choice was this close is a near tie, as in float parity


def check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise ConfigError("export.quantize", f"unknown mode {str(mode)!r}.{did_you_mean(str(mode), MODES)} "
                          f"(choose from: {', '.join(MODES)}, or null)")
    return str(mode)


def quantize_tflite(
    float_path: str | Path, out_path: str | Path, mode: str, calibration: Sequence[Mapping[str, np.ndarray]] | None = None
) -> Path:
    """Write the ``mode`` quantization of ``float_path`` to ``out_path``; ``calibration`` (requests
    of the default signature) sets the activation ranges of a static mode.

    Raises :class:`~edgerank.errors.ParityError` naming the mode and the reason when the recipe
    cannot quantize this graph, or when it would change the inputs or outputs the app feeds and reads."""
    check_mode(mode)
    root = logging.getLogger()
    level, root.level = root.level, max(root.level, logging.WARNING)
    try:
        # it prints a size table to stdout and progress bars to stderr
        with deferred(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            from ai_edge_quantizer import quantizer

            q = quantizer.Quantizer(str(float_path))
            _load_recipe(q, mode)
            result = _calibrate(q, Path(float_path), mode, calibration) if q.need_calibration else None
            q.quantize(result).export_model(str(out_path), overwrite=True)
    except ParityError:
        raise
    except Exception as exc:  # noqa: BLE001 - the recipe's own failure is the reason this graph is refused
        reason = str(exc).splitlines()[0][:300] if str(exc) else ""
        raise ParityError(f"{mode} ({MODES[mode]}) cannot quantize {Path(float_path).name}: {type(exc).__name__}: {reason}") from exc
    finally:
        root.setLevel(level)
    _check_interface(Path(float_path), Path(out_path), mode)
    return Path(out_path)


def _load_recipe(q: Any, mode: str) -> None:
    from ai_edge_quantizer import recipe
    from ai_edge_quantizer.algorithm_manager import AlgorithmName
    from ai_edge_quantizer.qtyping import QuantGranularity, TFLOperationName as Op

    if mode == "fp16":  # float casting covers the ops that hold weights
        for op in (Op.FULLY_CONNECTED, Op.CONV_2D, Op.EMBEDDING_LOOKUP):
            q.add_weight_only_config(".*", op, 16, algorithm_key=AlgorithmName.FLOAT_CASTING)
        return
    q.load_quantization_recipe(getattr(recipe, MODES[mode])())
    if mode == "int8_static":
        # no integer EMBEDDING_LOOKUP in its policy: tables are int8 per table, looked up to float
        q.add_weight_only_config(".*", Op.EMBEDDING_LOOKUP, 8, QuantGranularity.TENSORWISE)
        for op in (Op.INPUT, Op.OUTPUT):  # float32 in and out: the app's contract does not change
            q.update_quantization_recipe(".*", op, algorithm_key=AlgorithmName.NO_QUANTIZE)
    else:
        per_table = q.add_dynamic_config if mode == "int8" else q.add_weight_only_config
        per_table(".*", Op.EMBEDDING_LOOKUP, 8, QuantGranularity.TENSORWISE)


def _calibrate(q: Any, float_path: Path, mode: str, calibration: Sequence[Mapping[str, np.ndarray]] | None) -> Any:
    from ai_edge_litert.interpreter import Interpreter

    signatures = list(Interpreter(model_path=str(float_path)).get_signature_list())
    if len(signatures) != 1:
        raise ParityError(f"{mode} calibrates one signature; {float_path.name} has {len(signatures)} "
                          f"({', '.join(signatures)}): use int8, int8_weight_only or fp16")
    if not calibration:
        raise ParityError(f"{mode} needs calibration requests (the export's parity samples); none were given")
    from ai_edge_quantizer.utils.qsv_utils import min_max_update

    # One request at a time, merged by min/max: a single calibrate() over the list keeps a moving
    # average of each request's extremes, the range of a typical request, and saturates every
    # request beyond it (video: max error 0.18 vs the float file against 0.02 by min/max).
    ranges: dict[str, Any] = {}
    for request in calibration:
        found = q.calibrate({signatures[0]: [dict(request)]}, num_threads=1)
        ranges = {name: min_max_update(ranges.get(name) or {}, qsv) if qsv else ranges.get(name, qsv) for name, qsv in found.items()}
    return ranges


def _check_interface(float_path: Path, quant_path: Path, mode: str) -> None:
    before, after = signature(float_path), signature(quant_path)
    if before != after:
        raise ParityError(f"{mode} changed the model's inputs/outputs ({before} -> {after}); refused")


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
    graph: OnDeviceGraph | nn.Module,
    float_path: Path,
    quant_path: Path,
    samples: Sequence[Mapping[str, np.ndarray]],
    *,
    mode: str,
    tolerances: Mapping[str, float],
    evaluator: Evaluator | None = None,
) -> QuantReport:
    """Compare the quantized model with PyTorch (outputs, lists: :func:`edgerank.export.parity.compare`,
    near ties only where float parity sees them) and with the float ``.tflite`` (size, test
    metrics), and judge it against ``tolerances``."""
    graph = as_graph(graph)
    quantized = litert_runners(quant_path, graph)
    found = compare(graph, eager_runners(graph), quantized, samples, tolerance=tolerances["max_abs_err"], tie_tolerance=FLOAT_TIE)
    parity = found.report
    float_size, size = float_path.stat().st_size, quant_path.stat().st_size
    metrics_float = metrics_quant = deltas = None
    if evaluator is not None and set(quantized) == {SINGLE}:  # evaluators drive the default signature
        metrics_float = evaluator(litert_runners(float_path, graph)[SINGLE])
        metrics_quant = evaluator(quantized[SINGLE])
        deltas = {k: metrics_quant[k] - metrics_float[k] for k in metrics_float}
    report = QuantReport(
        mode=mode,
        recipe=MODES[mode],
        n_samples=parity.n_samples,
        size_bytes=size,
        float_size_bytes=float_size,
        size_ratio=size / float_size,
        max_abs_err=parity.max_abs_err,
        max_rel_err=parity.max_rel_err,
        outputs={name: {k: v for k, v in asdict(o).items() if k != "dtype"} for name, o in parity.outputs.items()},
        lists_identical=parity.lists_identical,
        top1_agreement=found.top1_agreement,
        overlap_at_k=found.overlap_at_k,
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
