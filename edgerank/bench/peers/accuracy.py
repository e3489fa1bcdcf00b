"""How closely a peer runtime reproduces PyTorch on the held-out requests.

The same measures as the export parity report (:mod:`edgerank.export.parity`) so that peers and
``.tflite`` are judged alike: per float output the max absolute error, per integer output the
count of differing values, and for the graph's ``ranked_lists`` the share of requests whose list
is identical, telling near ties from real divergences by the very rules of the parity check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from edgerank.export.parity import compare_runs

Call = Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]


def compare(
    reference: Call,
    peer: Call,
    requests: Sequence[Mapping[str, np.ndarray]],
    ranked_lists: Mapping[str, str],
    tolerance: float = 1e-5,
    margin_output: str | None = None,
) -> dict[str, Any]:
    """Run ``requests`` through both and report the errors (never raises on a mismatch).

    Judged by export parity's own comparison (:func:`edgerank.export.parity.compare_runs`):
    a list that differs where PyTorch's smallest top-k margin (``margin_output``) was below float
    error is a near tie, and a near tie's float outputs are not counted as errors."""
    parity = compare_runs(reference, peer, requests, ranked_lists, tolerance, margin_output=margin_output)
    floats = {name: o.max_abs_err for name, o in parity.outputs.items() if "float" in o.dtype and name != margin_output}
    mismatches = {name: o.mismatches for name, o in parity.outputs.items() if o.mismatches}
    report: dict[str, Any] = {
        "requests": parity.n_samples,
        "max_abs_err": parity.max_abs_err,
        "max_abs_err_per_output": floats,
        "lists_identical": parity.lists_identical if ranked_lists else None,
        "near_ties": parity.near_ties,
        "divergent": parity.divergent,
        "tolerance": tolerance,
    }
    if mismatches:
        report["integer_mismatches"] = mismatches
    report["passed"] = parity.passed
    return report
