"""Optional steps after the float artifact is published: what ``pipeline.run`` calls next.

Kept out of ``pipeline.py`` so that file only gains one call: saving the PyTorch reference
for benchmarks (``export.save_reference``) and int8 quantization (``export.quantize``) with its
own parity report, published as ``<run dir>/artifact_<mode>/`` only within
``export.quantization`` tolerances (else :class:`~edgerank.errors.ParityError`: exit code 3,
the report kept in ``<run dir>/quant_report.json``).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from edgerank.console import phase, quietly
from edgerank.errors import ParityError
from edgerank.export.artifact import publish
from edgerank.export.evaluate import evaluator_for
from edgerank.export.manifest import MANIFEST_FILE, MODEL_FILE, sha256, signature
from edgerank.export.quantize import check_tolerances, quant_report, quantize_tflite
from edgerank.export.reference import save_reference
from edgerank.export.selfcheck import record_reference
from edgerank.staging import remove_stale_staging, staging_prefix

log = logging.getLogger(__name__)
QUANT_REPORT = "quant_report.json"


def after_export(
    graph: nn.Module,
    samples: Sequence[Mapping[str, np.ndarray]],
    datamodule: Any,
    run_dir: str | Path,
    export_cfg: Mapping[str, Any],
    manifest: Mapping[str, Any],
    artifact_dir: str = "artifact",
) -> dict[str, float]:
    """Run the configured extra steps; returns lines for the run's summary table."""
    run_dir = Path(run_dir)
    lines: dict[str, float] = {}
    drop_stale_quantized(run_dir, artifact_dir, str(manifest["sha256"]))
    if export_cfg.get("save_reference", True):
        try:
            with quietly():  # torch.save may warn about the graph's code
                save_reference(graph, samples, run_dir)
        except Exception as exc:  # noqa: BLE001 - an aid for benchmarks must not fail a published export
            log.warning("could not save %s/reference (bench will skip PyTorch eager): %s: %s", run_dir, type(exc).__name__, exc)
    mode = export_cfg.get("quantize")
    if mode:
        tolerances = check_tolerances(export_cfg.get("quantization") or {})
        with phase(f"{mode} quantization"):
            report = export_quantized(
                graph, samples, run_dir / artifact_dir, run_dir / f"{artifact_dir}_{mode}", manifest,
                mode=str(mode), tolerances=tolerances, evaluator=evaluator_for(datamodule, graph),
            )
        lines[f"{mode}/size_ratio"] = report["size_ratio"]
        lines[f"{mode}/max_abs_err"] = report["max_abs_err"]
        lines[f"{mode}/overlap_at_k"] = report["overlap_at_k"]
        for name, delta in (report["metric_deltas"] or {}).items():
            lines[f"{mode}/delta_{name}"] = delta
    return lines


def drop_stale_quantized(run_dir: Path, artifact_dir: str, float_sha256: str) -> list[Path]:
    """Remove quantized artifacts of an earlier float model (a rerun into the same directory
    published a new one): ``artifact_<mode>/`` must always be a quantization of ``artifact/``."""
    dropped = []
    for folder in sorted(run_dir.glob(f"{artifact_dir}_*")):
        try:
            source = json.loads((folder / MANIFEST_FILE).read_text())["quantization"]["float_sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a quantized artifact of ours
        if source != float_sha256:
            shutil.rmtree(folder, ignore_errors=True)
            dropped.append(folder)
            log.info("removed %s: it quantized an earlier %s/", folder, artifact_dir)
    return dropped


def export_quantized(
    graph: nn.Module,
    samples: Sequence[Mapping[str, np.ndarray]],
    float_dir: Path,
    destination: Path,
    float_manifest: Mapping[str, Any],
    *,
    mode: str,
    tolerances: Mapping[str, float],
    evaluator: Any = None,
) -> dict[str, Any]:
    """Quantize the published float model, check it, publish it atomically; returns the report."""
    remove_stale_staging(destination)
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(destination), dir=destination.parent))
    try:
        float_path = float_dir / str(float_manifest.get("model_file", MODEL_FILE))
        quant_path = quantize_tflite(float_path, staging / MODEL_FILE, mode)
        report = quant_report(graph, float_path, quant_path, samples, mode=mode, tolerances=tolerances, evaluator=evaluator)
        (destination.parent / QUANT_REPORT).write_text(json.dumps(report.to_dict(), indent=2))
        log.info("%s", report.summary())
        if not report.passed:
            raise ParityError(f"{report.summary()}; no {mode} artifact was published (see {QUANT_REPORT})")
        manifest = {
            **float_manifest,
            **signature(quant_path),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model_file": MODEL_FILE,
            "sha256": sha256(quant_path),
            "size_bytes": quant_path.stat().st_size,
            # test metrics of *this* model, measured through the interpreter where an evaluator exists
            "metrics": {**dict(float_manifest.get("metrics", {})), **(report.metrics_quantized or {})},
            "parity": report.to_dict(),
            "reference_requests": record_reference(quant_path, samples, staging),  # replayed at publish
            "quantization": {
                "mode": mode,
                "recipe": report.recipe,
                "float_sha256": float_manifest["sha256"],
                "float_size_bytes": float_manifest["size_bytes"],
                "size_ratio": report.size_ratio,
                "passed": report.passed,
                "violations": report.violations,
            },
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
        staging.chmod(0o755)
        publish(staging, destination)
        return report.to_dict()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
