"""Opening a published artifact the way a phone would: verify, then load.

The model bytes are read once, hashed, compared with the manifest's ``sha256`` (and with the
registry's record when the artifact came from the registry), and the interpreter is built from
*those same bytes* (``model_content``): checking one read of the file and loading another would
let a file swapped in between slip through.

Only the standard library, numpy and ``ai_edge_litert`` are used: no torch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgerank.console import native_output_logged
from edgerank.core.manifest import MANIFEST_FILE, MODEL_FILE, ArtifactError, read_manifest, require
from edgerank.core.runners import SINGLE, signature_runners
from edgerank.errors import EdgeRankError


class InputError(EdgeRankError):
    """A request's raw input cannot be turned into the model's inputs."""


@dataclass
class TensorSpec:
    name: str
    dtype: str
    shape: tuple[int, ...]


@dataclass
class VerifiedArtifact:
    """An artifact whose model bytes matched their checksum(s); :meth:`runner` loads them."""

    directory: Path
    manifest: dict[str, Any]
    model_bytes: bytes = field(repr=False)
    inputs: dict[str, TensorSpec]
    outputs: dict[str, TensorSpec]

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.directory.name))

    def runner(self, num_threads: int | None = None) -> "Runner":
        """The one signature of a plain artifact, its inputs checked against the manifest."""
        return Runner(self.signatures(num_threads=num_threads)[SINGLE], self.inputs)

    def signatures(self, names: Iterable[str] | None = None, num_threads: int | None = None) -> dict[str, Any]:
        """Runners of the named signatures (all by default), loaded from the verified bytes.
        LiteRT's own notices while it loads go to the debug log, not the app's terminal."""
        from ai_edge_litert.interpreter import Interpreter

        try:
            with native_output_logged():
                return signature_runners(Interpreter(model_content=self.model_bytes, num_threads=num_threads), names)
        except Exception as exc:  # LiteRT raises ValueError/RuntimeError for unloadable models
            raise ArtifactError(f"{self.directory / MODEL_FILE}: LiteRT cannot load it ({type(exc).__name__}: {exc})") from None


class Runner:
    """The ``.tflite`` signature, with inputs checked against the manifest before every call."""

    def __init__(self, signature_runner: Any, inputs: Mapping[str, TensorSpec]) -> None:
        self._run = signature_runner
        self.inputs = dict(inputs)

    def __call__(self, **arrays: np.ndarray) -> dict[str, np.ndarray]:
        if set(arrays) != set(self.inputs):
            raise InputError(f"model inputs are {sorted(self.inputs)}, got {sorted(arrays)}")
        for name, spec in self.inputs.items():
            value = arrays[name]
            if value.dtype != np.dtype(spec.dtype) or tuple(value.shape) != spec.shape:
                raise InputError(f"input '{name}': expected {spec.dtype}{list(spec.shape)}, got {value.dtype}{list(value.shape)}")
        return self._run(**{k: np.ascontiguousarray(v) for k, v in arrays.items()})


def _specs(manifest: Mapping[str, Any], key: str, where: Path) -> dict[str, TensorSpec]:
    try:
        return {t["name"]: TensorSpec(t["name"], str(t["dtype"]), tuple(int(s) for s in t["shape"])) for t in require(manifest, key, where)}
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{where / MANIFEST_FILE}: field '{key}' is malformed ({exc})") from None


def open_artifact(directory: str | Path, expected_sha256: str | None = None) -> VerifiedArtifact:
    """Read the manifest and model bytes of ``directory`` and verify them before any load."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    model_path = directory / str(manifest.get("model_file", MODEL_FILE))
    declared = str(require(manifest, "sha256", directory))
    try:
        data = model_path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"{model_path}: cannot read the model file ({type(exc).__name__}: {exc})") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != declared:
        raise ArtifactError(f"{model_path}: sha256 {actual[:12]}... does not match the manifest's {declared[:12]}...; refusing to load")
    if expected_sha256 is not None and actual != expected_sha256:
        raise ArtifactError(f"{model_path}: sha256 {actual[:12]}... is not the one the registry published ({expected_sha256[:12]}...)")
    return VerifiedArtifact(directory, manifest, data, _specs(manifest, "inputs", directory), _specs(manifest, "outputs", directory))
