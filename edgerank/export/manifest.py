"""The artifact manifest: everything an app needs beside the ``.tflite`` file.

Reading it needs only the standard library and ``ai_edge_litert``, so the app-side runtime can
use this module without importing torch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "model.tflite"
MANIFEST_FILE = "manifest.json"


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def signature(model_path: str | Path) -> dict[str, Any]:
    """Inputs and outputs of the ``.tflite`` signatures: name, dtype and fixed shape.

    ``inputs``/``outputs`` describe the entry signature (the first one); a file with several
    signatures (an app-driven loop such as adaptive beam search) lists all under ``signatures``.
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path))

    def describe(details: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"name": name, "dtype": np.dtype(d["dtype"]).name, "shape": [int(s) for s in d["shape"]]}
            for name, d in sorted(details.items())
        ]

    signatures = {}
    for key in interpreter.get_signature_list():
        runner = interpreter.get_signature_runner(key)
        signatures[key] = {"inputs": describe(runner.get_input_details()), "outputs": describe(runner.get_output_details())}
    entry = next(iter(signatures.values()))
    return {**entry, "signatures": signatures} if len(signatures) > 1 else entry


CONTENT_VERSION_DIGITS = 12


def build_manifest(
    model_path: str | Path,
    *,
    name: str,
    version: str | None,
    parity: Mapping[str, Any],
    metrics: Mapping[str, float],
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """Assemble the manifest of a checked model file; ``fields`` are scenario-specific (encoder, ids).

    ``version`` None: the first 12 hex digits of the model file's sha256, so two different models
    never share an identity in monitoring, whatever their name.
    """
    from edgerank import __version__

    digest = sha256(model_path)
    return {
        "name": name,
        "version": str(version) if version is not None else digest[:CONTENT_VERSION_DIGITS],
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "edgerank_version": __version__,
        **signature(model_path),
        **fields,
        "model_file": MODEL_FILE,
        "sha256": digest,
        "size_bytes": Path(model_path).stat().st_size,
        "parity": dict(parity),
        "metrics": dict(metrics),
    }


def read_manifest(artifact_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(artifact_dir) / MANIFEST_FILE).read_text())
