"""The manifest's JSON Schema, per scenario: what ``publish`` demands before it looks further.

The runtime reads a manifest's fields without re-checking their types on every request, so the
registry refuses (:class:`~edgerank.modelstore.checks.ManifestError`, exit 2, naming the field) any manifest that does not match: a product model
without ``encoder``, ``quantization: "yes"``, a ``model_file`` that is a path. The scenario is the
manifest's ``scenario`` field; product top-K artifacts carry none. A data plugin with a new
scenario registers its schema with :func:`register_scenario`. Validated by ``jsonschema``
(Draft 2020-12), so the rules are data a reader can check, not code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edgerank.core.names import NAME_PATTERN
from edgerank.core.reference_requests import FLOAT_ATOL

FILE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"  # a file beside the manifest, never a path
SHA256 = r"^[0-9a-f]{64}$"
DTYPES = ["float32", "float16", "int8", "uint8", "int16", "int32", "int64", "bool"]

TENSORS = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["name", "dtype", "shape"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "dtype": {"enum": DTYPES},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        },
    },
}

BASE: dict[str, Any] = {
    "type": "object",
    "required": ["name", "version", "sha256", "size_bytes", "parity", "inputs", "outputs", "reference_requests"],
    "properties": {
        "name": {"type": "string", "pattern": f"^{NAME_PATTERN.pattern}$"},
        "version": {"type": "string", "minLength": 1},
        "sha256": {"type": "string", "pattern": SHA256},
        "size_bytes": {"type": "integer", "minimum": 1},
        "model_file": {"type": "string", "pattern": FILE_NAME},
        "inputs": TENSORS,
        "outputs": TENSORS,
        "signatures": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["inputs", "outputs"], "properties": {"inputs": TENSORS, "outputs": TENSORS}}},
        "parity": {"type": "object", "required": ["passed"], "properties": {"passed": {"type": "boolean"}}},
        "metrics": {"type": "object", "additionalProperties": {"type": "number"}},
        "quantization": {
            "type": "object",
            "required": ["mode", "passed"],
            "properties": {"mode": {"type": "string", "minLength": 1}, "passed": {"type": "boolean"}},
        },
        "reference_requests": {
            "type": "object",
            "required": ["file", "sha256", "signature", "requests"],
            "properties": {
                "file": {"type": "string", "pattern": FILE_NAME},
                "sha256": {"type": "string", "pattern": SHA256},
                "signature": {"type": "string", "minLength": 1},
                "requests": {"type": "integer", "minimum": 1},
                # a manifest may tighten the replay's tolerance, never widen it past the export's own
                "float_atol": {"type": "number", "exclusiveMinimum": 0, "maximum": FLOAT_ATOL},
            },
        },
    },
}

PRODUCT_TOPK: dict[str, Any] = {
    "required": ["encoder", "sku_ids"],
    "properties": {
        "encoder": {
            "type": "object",
            "required": ["type", "dim", "groups"],
            "properties": {
                "type": {"const": "group_one_hot"},
                "dim": {"type": "integer", "minimum": 1},
                "groups": {"type": "array", "minItems": 1, "items": {
                    "type": "object",
                    "required": ["column", "vocabulary"],
                    "properties": {
                        "column": {"type": "string", "minLength": 1},
                        "vocabulary": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                        "mapping": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
                        "bins": {"type": ["array", "null"], "items": {"type": "number"}},
                    },
                }},
            },
        },
        "sku_ids": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}},
        "sku_labels": {"type": "array", "items": {"type": "string"}},
    },
}

SHORT_VIDEO_RERANK: dict[str, Any] = {
    "required": ["scenario", "tasks", "fixed_shapes", "vocab", "input_transforms"],
    "properties": {
        "tasks": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string", "minLength": 1}},
        "fixed_shapes": {"type": "object", "required": ["candidates", "seq_len"], "properties": {
            "candidates": {"type": "integer", "minimum": 1}, "seq_len": {"type": "integer", "minimum": 1}}},
        "vocab": {"type": "object", "required": ["num_videos", "num_categories"], "properties": {
            "num_videos": {"type": "integer", "minimum": 1}, "num_categories": {"type": "integer", "minimum": 1}}},
        "input_transforms": {"type": "object", "additionalProperties": {"type": "string"}},
        "ranker": {"type": "object"},
    },
}

def _product_shapes(manifest: Mapping[str, Any]) -> str | None:
    """What a schema cannot say: the input sizes follow from the encoder and the catalogue."""
    inputs = {t["name"]: t["shape"] for t in manifest["inputs"]}
    expected = {"features": [1, manifest["encoder"]["dim"]], "eligible": [1, len(manifest["sku_ids"])]}
    if inputs != expected:
        return f"field 'inputs': shapes {inputs} do not fit the encoder dim and the catalogue size (expected {expected})"
    outputs = {t["name"] for t in manifest["outputs"]}
    if not {"scores", "sku_ids"} <= outputs:
        return f"field 'outputs': {sorted(outputs)} lack 'scores'/'sku_ids'"
    return None


SCENARIOS: dict[str, dict[str, Any]] = {"product_topk": PRODUCT_TOPK, "short_video_rerank": SHORT_VIDEO_RERANK}
CONSISTENCY = {"product_topk": _product_shapes}  # run once the schema holds
DEFAULT_SCENARIO = "product_topk"  # its manifests carry no 'scenario' field


def register_scenario(name: str, schema: Mapping[str, Any], consistency: Any = None) -> None:
    """Let ``publish`` accept manifests with ``"scenario": name``, held to BASE and ``schema``
    (and ``consistency(manifest) -> problem or None`` for rules across fields)."""
    SCENARIOS[name] = dict(schema)
    if consistency is not None:
        CONSISTENCY[name] = consistency


def schema_problem(manifest: Any) -> str | None:
    """What is wrong with ``manifest`` for its scenario (the first field, by path), or None."""
    from jsonschema import Draft202012Validator

    scenario = manifest.get("scenario", DEFAULT_SCENARIO) if isinstance(manifest, Mapping) else None
    if scenario not in SCENARIOS:
        return f"field 'scenario': {scenario!r} has no manifest schema (known: {', '.join(sorted(SCENARIOS))})"
    schema = {"allOf": [BASE, SCENARIOS[scenario]]}
    errors = sorted(Draft202012Validator(schema).iter_errors(manifest), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if not errors:
        check = CONSISTENCY.get(scenario)
        return check(manifest) if check else None
    first = errors[0]
    field = ".".join(str(p) for p in first.absolute_path) or "(top level)"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"field '{field}': {first.message} (schema of scenario {scenario}){more}"
