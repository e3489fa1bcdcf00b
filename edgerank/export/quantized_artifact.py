"""The quantized artifact: ``<run dir>/artifact_<mode>/``, a quantization of ``artifact/``.

Published like the float artifact (stage, check, move into place), and only within the
``export.quantization`` tolerances; else :class:`~edgerank.errors.ParityError` (exit code 3) and
the report is kept in ``<run dir>/quant_report.json``.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from edgerank.core.manifest import MANIFEST_FILE, MODEL_FILE, ArtifactError, model_fields, now, read_manifest
from edgerank.core.reference_requests import record_reference
from edgerank.errors import ParityError
from edgerank.export.quantize import quant_report, quantize_tflite
from edgerank.staging import staged_folder

log = logging.getLogger(__name__)
QUANT_REPORT = "quant_report.json"


def drop_stale_quantized(run_dir: Path, artifact_dir: str, float_sha256: str) -> list[Path]:
    """Remove quantized artifacts of another float model (a rerun into the same directory
    published a new one): ``artifact_<mode>/`` must always be a quantization of ``artifact/``."""
    dropped = []
    for folder in sorted(run_dir.glob(f"{artifact_dir}_*")):
        try:
            source = read_manifest(folder)["quantization"]["float_sha256"]
        except (ArtifactError, KeyError, TypeError):
            continue  # not a quantized artifact of ours
        if source != float_sha256:
            shutil.rmtree(folder, ignore_errors=True)
            dropped.append(folder)
            log.info("removed %s: it quantized another %s/", folder, artifact_dir)
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
    with staged_folder(destination) as stage:
        float_path = float_dir / str(float_manifest.get("model_file", MODEL_FILE))
        quant_path = quantize_tflite(float_path, stage.path / MODEL_FILE, mode, calibration=samples)
        report = quant_report(graph, float_path, quant_path, samples, mode=mode, tolerances=tolerances, evaluator=evaluator)
        (destination.parent / QUANT_REPORT).write_text(json.dumps(report.to_dict(), indent=2))
        log.info("%s", report.summary())
        if not report.passed:
            raise ParityError(f"{report.summary()}; no {mode} artifact was published (see {QUANT_REPORT})")
        manifest = {
            **float_manifest,
            **model_fields(quant_path),
            "created": now(),
            # test metrics of *this* model, measured through the interpreter where an evaluator exists
            "metrics": {**dict(float_manifest.get("metrics", {})), **(report.metrics_quantized or {})},
            "parity": report.to_dict(),
            "reference_requests": record_reference(quant_path, samples, stage.path),  # replayed at publish
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
        (stage.path / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
        stage.commit()
        return report.to_dict()
