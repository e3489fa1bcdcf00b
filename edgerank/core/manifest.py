"""The artifact manifest: everything an app needs beside the ``.tflite`` file, built at export,
read by the runtime, the model store and the benchmarks, and validated before publishing.

Only the standard library, numpy and (to describe a model file) ``ai_edge_litert``: the app
runtime uses this module without importing torch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edgerank.core.manifest_schema import schema_problem
from edgerank.core.names import name_problem
from edgerank.errors import EdgeRankError

MODEL_FILE = "model.tflite"
MANIFEST_FILE = "manifest.json"
CONTENT_VERSION_DIGITS = 12
REQUIRED_FIELDS = ("name", "version", "sha256", "size_bytes", "parity", "inputs", "outputs")


class ArtifactError(EdgeRankError):
    """The artifact is missing, incomplete, or its model file does not match its manifest."""


# -- building -----------------------------------------------------------------------------------
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


def model_fields(model_path: str | Path) -> dict[str, Any]:
    """What the manifest says about its model file: signatures, file name, sha256 and size."""
    return {
        **signature(model_path),
        "model_file": MODEL_FILE,
        "sha256": sha256(model_path),
        "size_bytes": Path(model_path).stat().st_size,
    }


def now() -> str:
    """The ``created`` time stamp: UTC, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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

    model = model_fields(model_path)
    signatures = {k: model.pop(k) for k in ("inputs", "outputs", "signatures") if k in model}
    return {
        "name": name,
        "version": str(version) if version is not None else model["sha256"][:CONTENT_VERSION_DIGITS],
        "created": now(),
        "edgerank_version": __version__,
        **signatures,
        **fields,
        **model,
        "parity": dict(parity),
        "metrics": dict(metrics),
    }


# -- reading ------------------------------------------------------------------------------------
def read_manifest(directory: str | Path) -> dict[str, Any]:
    """The manifest of the artifact in ``directory``, a JSON object, or :class:`ArtifactError`."""
    path = Path(directory) / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing") from None
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: unreadable ({type(exc).__name__}: {exc})") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path}: must be a JSON object")
    return manifest


def require(manifest: Mapping[str, Any], key: str, where: Path) -> Any:
    """``manifest[key]``, or :class:`ArtifactError` naming the field and the artifact ``where``."""
    if key not in manifest:
        raise ArtifactError(f"{where / MANIFEST_FILE}: missing field '{key}'")
    return manifest[key]


# -- validating ---------------------------------------------------------------------------------
def manifest_problem(manifest: Mapping[str, Any]) -> str | None:
    """What is wrong with ``manifest`` (required fields, then the name, then its scenario's
    schema: :mod:`edgerank.core.manifest_schema`), or None when it may be published."""
    missing = [f for f in REQUIRED_FIELDS if f not in manifest]
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    problem = name_problem(manifest["name"])
    if problem:
        return f"field 'name': {problem}"
    return schema_problem(manifest)
