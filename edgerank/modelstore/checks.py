"""What an artifact must prove before the registry accepts it.

A registry that accepts anything is a place to lose track of what shipped, so ``publish``
checks, in order: the files exist; the manifest matches its scenario's schema
(:mod:`edgerank.core.manifest_schema`; else :class:`ManifestError`, exit 2); parity passed (for an
int8 artifact that is its quantization report, held to the configured tolerances); the model
file is byte-for-byte the one the manifest describes (sha256 and size); it loads in the LiteRT
interpreter with the inputs and outputs the manifest declares; and run on the reference requests
the export kept, it answers what it answered at export (:mod:`edgerank.core.reference_requests`). A
checksum can be recomputed by whoever tampered with the file; the interpreter cannot be fooled
into loading garbage, and corrupted weights do not reproduce the recorded outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgerank.core.manifest import MANIFEST_FILE, MODEL_FILE, ArtifactError, manifest_problem, read_manifest, sha256, signature
from edgerank.core.reference_requests import replay_reference
from edgerank.errors import EdgeRankError


class PublishError(EdgeRankError):
    """The artifact may not be published; the message says which file or field and why."""

    exit_code = 3


class ManifestError(PublishError):
    """The manifest is malformed (a usage error, exit 2), as opposed to a well-formed artifact
    that fails a check (:class:`PublishError`, exit 3)."""

    exit_code = 2


def read_artifact_manifest(artifact_dir: Path) -> dict[str, Any]:
    """The manifest of ``artifact_dir``, read and validated by :mod:`edgerank.core.manifest`."""
    if not artifact_dir.is_dir():
        raise PublishError(f"{artifact_dir}: not a directory (expected an artifact dir with {MANIFEST_FILE} and {MODEL_FILE})")
    try:
        manifest = read_manifest(artifact_dir)
    except ArtifactError as exc:
        raise PublishError(f"{exc}; an artifact directory holds {MANIFEST_FILE} and the model file") from None
    problem = manifest_problem(manifest)
    if problem:
        raise ManifestError(f"{artifact_dir / MANIFEST_FILE}: {problem}")
    return manifest


def check_artifact(artifact_dir: str | Path, load: bool = True) -> dict[str, Any]:
    """Return the manifest of a publishable artifact, or raise :class:`PublishError`."""
    artifact_dir = Path(artifact_dir)
    manifest = read_artifact_manifest(artifact_dir)
    parity = manifest["parity"]
    if not isinstance(parity, dict) or parity.get("passed") is not True:
        details = ", ".join(
            f"{k}={parity.get(k)}" for k in ("max_abs_err", "tolerance", "lists_identical", "divergent", "violations")
            if isinstance(parity, dict) and k in parity
        )
        raise PublishError(
            f"{artifact_dir / MANIFEST_FILE}: parity.passed is not true ({details or parity!r}); "
            "an artifact that does not compute what the PyTorch model computes is never published"
        )
    quantization = manifest.get("quantization")
    if quantization is not None and quantization.get("passed") is not True:
        raise PublishError(
            f"{artifact_dir / MANIFEST_FILE}: quantization.passed is not true "
            f"(violations: {quantization.get('violations')}); the int8 model is outside its tolerances"
        )
    model_path = artifact_dir / str(manifest.get("model_file", MODEL_FILE))
    if not model_path.is_file():
        raise PublishError(f"{model_path}: missing (named by manifest field model_file)")
    size = model_path.stat().st_size
    if size != manifest["size_bytes"]:
        raise PublishError(
            f"{model_path}: is {size} bytes but manifest size_bytes says {manifest['size_bytes']}; "
            "the file was changed after export"
        )
    digest = sha256(model_path)
    if digest != manifest["sha256"]:
        raise PublishError(
            f"{model_path}: sha256 {digest} does not match manifest sha256 {manifest['sha256']}; "
            "the file was changed after export"
        )
    if load:
        _check_model_runs(artifact_dir, model_path, manifest)
    return manifest


def _check_model_runs(artifact_dir: Path, model_path: Path, manifest: dict[str, Any]) -> None:
    """Loads, has the declared signature, and reproduces the outputs recorded at export."""
    try:
        actual = signature(model_path)
    except Exception as exc:  # the interpreter's own errors are RuntimeError/ValueError
        raise PublishError(f"{model_path}: does not load in the LiteRT interpreter ({type(exc).__name__}: {exc})") from None
    for key in ("inputs", "outputs"):
        if actual[key] != manifest[key]:
            raise ManifestError(f"{artifact_dir / MANIFEST_FILE}: field '{key}' says {manifest[key]} but {model_path.name} has {actual[key]}")
    reference = manifest["reference_requests"]
    reference_path = artifact_dir / reference["file"]
    if not reference_path.is_file():
        raise PublishError(f"{reference_path}: missing (named by manifest field reference_requests.file)")
    if sha256(reference_path) != reference["sha256"]:
        raise PublishError(f"{reference_path}: sha256 does not match manifest reference_requests.sha256; the file was changed after export")
    try:
        problems = replay_reference(model_path, reference_path, reference["signature"], reference.get("float_atol", 1e-4))
    except Exception as exc:  # noqa: BLE001 - a malformed reference file or a model that cannot run
        raise PublishError(f"{model_path}: cannot be run on {reference_path.name} ({type(exc).__name__}: {exc})") from None
    if problems:
        raise PublishError(
            f"{model_path}: does not reproduce the outputs recorded at export on {reference['requests']} reference requests "
            f"({len(problems)} difference(s), first: {problems[0]}); its weights changed after export"
        )
