"""Export a graph as a published artifact: convert, check parity, write the manifest, publish.

All files are written to a temporary sibling directory and moved into place only after every
check passed, so ``artifact/`` either holds a complete, verified model or does not exist.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from edgerank.console import phase
from edgerank.core.manifest import MANIFEST_FILE, MODEL_FILE, build_manifest
from edgerank.core.reference_requests import record_reference
from edgerank.errors import ParityError
from edgerank.export.convert import to_tflite
from edgerank.export.parity import check_parity
from edgerank.staging import staged_folder

PARITY_REPORT = "parity_report.json"


def export_artifact(
    graph: nn.Module,
    samples: Sequence[Mapping[str, np.ndarray]],
    destination: str | Path,
    *,
    name: str,
    version: str | None,
    tolerance: float,
    metrics: Mapping[str, float],
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """Publish ``graph`` to ``destination`` (a directory) and return its manifest.

    The parity report is also written next to the artifact (``parity_report.json``) so that a
    failed export still leaves the evidence of why; raises :class:`ParityError` on failure.
    """
    destination = Path(destination)
    with staged_folder(destination) as stage:
        staging = stage.path
        with phase("conversion") as step:
            model_path = to_tflite(graph, samples[0], staging / MODEL_FILE)
            step.note = f"{model_path.stat().st_size / 1024:.0f} KiB"
        with phase("parity") as step:
            report = check_parity(graph, model_path, samples, tolerance=tolerance)
            step.note = (
                f"max abs err {report.max_abs_err:.2g}, lists identical {report.lists_identical:.1%} "
                f"over {report.n_samples} requests"
            )
        (destination.parent / PARITY_REPORT).write_text(json.dumps(report.to_dict(), indent=2))
        if not report.passed:
            raise ParityError(f"{report.summary()}; no artifact was published (see {PARITY_REPORT})")
        with phase("publish") as step:
            fields = {**fields, "reference_requests": record_reference(model_path, samples, staging)}  # replayed at publish
            manifest = build_manifest(
                model_path, name=name, version=version, parity=report.to_dict(), metrics=metrics, fields=fields
            )
            (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
            stage.commit()
            step.note = str(destination)
        return manifest
