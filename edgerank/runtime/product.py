"""Product top-K on the device: raw user attributes in, ranked SKU ids (and labels) out.

:class:`ProductModel` is the strict part (raises on any problem): it rebuilds the input vector
from raw attributes with the manifest's encoder (``GroupOneHotEncoder.from_dict``: the very
vocabularies and group maps used in training), turns the app's eligible SKU ids into the
model's eligibility mask, runs the ``.tflite`` and maps the result back.

:class:`ProductRuntime` is what an app calls. It never raises. **Fallback order for products**:
the static ``fallback_skus`` list the app was configured with (typically the best sellers), in
that order, restricted to eligible SKUs and cut to the model's K; without one, the manifest's
catalogue order (``sku_ids``) of the resolved version; when even the manifest is unreadable and
no list was configured, an empty list.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from edgerank.core.encoder import GroupOneHotEncoder
from edgerank.monitor.events import EventLog
from edgerank.core.manifest import ArtifactError, read_manifest, require
from edgerank.runtime.artifact import InputError, VerifiedArtifact
from edgerank.runtime.guard import GuardedRuntime, Ranking
from edgerank.runtime.input_check import check_scores
from edgerank.runtime.sources import ModelHandle, ModelSource

FEATURES, ELIGIBLE, SCORES, SKU_IDS = "features", "eligible", "scores", "sku_ids"


class ProductModel:
    """A verified product artifact, ready to rank."""

    def __init__(self, artifact: VerifiedArtifact, num_threads: int | None = None) -> None:
        where = artifact.directory
        try:
            self.encoder = GroupOneHotEncoder.from_dict(require(artifact.manifest, "encoder", where))
        except (KeyError, TypeError) as exc:
            raise ArtifactError(f"{where}/manifest.json: field 'encoder' is malformed ({exc})") from None
        self.sku_ids = [int(s) for s in require(artifact.manifest, "sku_ids", where)]
        self.labels: list[str] | None = artifact.manifest.get("sku_labels")
        self._class_of = {sku: i for i, sku in enumerate(self.sku_ids)}
        expected = {FEATURES: (1, self.encoder.dim), ELIGIBLE: (1, len(self.sku_ids))}
        actual = {name: spec.shape for name, spec in artifact.inputs.items()}
        if actual != expected:
            raise ArtifactError(f"{where}/manifest.json: inputs {actual} do not fit the encoder and catalogue (expected {expected})")
        if not {SCORES, SKU_IDS} <= set(artifact.outputs):
            raise ArtifactError(f"{where}/manifest.json: outputs {sorted(artifact.outputs)} lack '{SCORES}'/'{SKU_IDS}'")
        self.top_k = artifact.outputs[SKU_IDS].shape[-1]
        self.runner = artifact.runner(num_threads)

    def encode(self, attributes: Mapping[str, Any]) -> tuple[np.ndarray, list[str]]:
        """The ``[1, dim]`` input vector and the columns whose value was unknown or missing."""
        if not isinstance(attributes, Mapping):
            raise InputError(f"attributes must be a mapping of column -> raw value, got {type(attributes).__name__}")
        hot, unknown = self.encoder.indices({c: [attributes.get(c)] for c in self.encoder.columns})
        vector = np.zeros((1, self.encoder.dim), dtype=np.float32)
        vector[0, hot[0]] = 1.0
        return vector, [c for c, u in zip(self.encoder.columns, unknown[0]) if u]

    def mask(self, eligible: Collection[int] | None) -> np.ndarray:
        """1.0 for SKUs that may be shown. SKU ids the model does not know are ignored: the app's
        catalogue may be newer than the model."""
        if eligible is None:
            return np.ones((1, len(self.sku_ids)), dtype=np.float32)
        if isinstance(eligible, (str, bytes)) or not isinstance(eligible, Collection):
            raise InputError(f"eligible must be a collection of SKU ids or None, got {type(eligible).__name__}")
        out = np.zeros((1, len(self.sku_ids)), dtype=np.float32)
        for sku in eligible:
            index = self._class_of.get(int(sku))
            if index is not None:
                out[0, index] = 1.0
        return out

    def rank(self, attributes: Mapping[str, Any], eligible: Collection[int] | None = None) -> tuple[list[int], list[float], list[str]]:
        """SKU ids best first (only eligible ones), their scores, and the unknown columns."""
        features, unknown = self.encode(attributes)
        out = self.runner(**{FEATURES: features, ELIGIBLE: self.mask(eligible)})
        scores, skus = np.asarray(out[SCORES])[0], np.asarray(out[SKU_IDS])[0]
        check_scores(scores.tolist())  # before the filter below, which a NaN would silently pass as "no product"
        keep = scores >= 0.0  # ranks with no eligible product left carry the score -1
        return [int(s) for s in skus[keep]], [float(s) for s in scores[keep]], unknown

    def label(self, sku: int) -> str:
        return self.labels[self._class_of[sku]] if self.labels else str(sku)


class ProductRuntime(GuardedRuntime[ProductModel]):
    """``rank(user_id, attributes, eligible) -> Ranking``; see the module docstring for the fallback."""

    def __init__(
        self,
        source: ModelSource,
        *,
        fallback_skus: Sequence[int] | None = None,
        monitor: EventLog | None = None,
        num_threads: int | None = None,
    ) -> None:
        super().__init__(source, monitor, num_threads)
        self.fallback_skus = None if fallback_skus is None else [int(s) for s in fallback_skus]

    def _build(self, artifact: VerifiedArtifact) -> ProductModel:
        return ProductModel(artifact, self.num_threads)

    def rank(self, user_id: str | int | None, attributes: Mapping[str, Any], eligible: Collection[int] | None = None) -> Ranking:
        n_fields = 0

        def infer(model: ProductModel, handle: ModelHandle) -> Ranking:
            nonlocal n_fields
            n_fields = len(model.encoder.columns)
            skus, scores, unknown = model.rank(attributes, eligible)
            labels = [model.label(s) for s in skus] if model.labels else None
            return Ranking(items=skus, labels=labels, scores=scores, source="model", unknown=unknown, fields=n_fields)

        def fallback(handle: ModelHandle | None, error: str) -> Ranking:
            return self._fallback(handle, eligible, error)

        return self._serve(user_id, infer, fallback)

    def _fallback(self, handle: ModelHandle | None, eligible: Collection[int] | None, error: str) -> Ranking:
        order, k, labels = self.fallback_skus, None, None
        if handle is not None:
            try:  # the manifest alone (no model) still knows the catalogue and K
                manifest = read_manifest(handle.path)
                catalogue = [int(s) for s in manifest.get("sku_ids", [])]
                k = next((int(o["shape"][-1]) for o in manifest.get("outputs", []) if o.get("name") == SKU_IDS), None)
                if order is None:
                    order = catalogue
                if manifest.get("sku_labels"):
                    labels = dict(zip(catalogue, manifest["sku_labels"]))
            except Exception:  # noqa: BLE001 - a broken manifest just leaves the configured list
                pass
        allowed = None  # an unusable eligible list (itself maybe the failure) restricts nothing
        if eligible is not None and not isinstance(eligible, (str, bytes)) and isinstance(eligible, Collection):
            try:
                allowed = {int(s) for s in eligible}
            except Exception:  # noqa: BLE001 - a bad eligible list is itself the failure being handled
                allowed = None
        items = [s for s in (order or []) if allowed is None or s in allowed]
        items = items[:k] if k else items
        return Ranking(items=items, labels=[labels.get(s, str(s)) for s in items] if labels else None, scores=None,
                       source="fallback", error=error)
