"""The ``export`` config group, checked as a whole before training.

An export option that is wrong (``export.quantize=int4``, ``export.parity_samples=0``) would
otherwise surface only after training, or after ``artifact/`` was already published.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edgerank.errors import ConfigError
from edgerank.config_values import boolean, positive_int, positive_number
from edgerank.export.quantize import check_mode, check_tolerances


def check_export_options(export: Mapping[str, Any]) -> dict[str, Any]:
    """``export`` as plain values, every option checked; raises a ConfigError naming the key."""
    out = dict(export)
    out["enabled"] = boolean("export.enabled", out.get("enabled", True))
    out["save_reference"] = boolean("export.save_reference", out.get("save_reference", True))
    for key, optional in (("name", False), ("version", True)):  # a null version is derived at export
        value = out.get(key)
        if value is None and optional:
            continue
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
            raise ConfigError(f"export.{key}", f"must be a non-empty string{' or null' if optional else ''}, got {value!r}")
    out["tolerance"] = positive_number("export.tolerance", out.get("tolerance"))
    out["parity_samples"] = positive_int("export.parity_samples", out.get("parity_samples"))
    mode = out.get("quantize")
    if mode is not None:
        check_mode(mode)
        check_tolerances(out.get("quantization") or {})
    return out
