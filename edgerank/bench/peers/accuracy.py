"""How closely a peer runtime reproduces PyTorch on the held-out requests.

The same measures as the export parity report (:mod:`edgerank.export.parity`) so that peers and
``.tflite`` are judged alike: per float output the max absolute error, per integer output the
count of differing values, and for the graph's ``ranked_lists`` the share of requests whose list
is identical, telling near ties (scores equal within ``tie_tolerance``) from real divergences.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from edgerank.export.parity import DIVERGENT, IDENTICAL, NEAR_TIE, compare_lists

Call = Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]


def compare(
    reference: Call, peer: Call, requests: Sequence[Mapping[str, np.ndarray]], ranked_lists: Mapping[str, str], tolerance: float = 1e-5
) -> dict[str, Any]:
    """Run ``requests`` through both and report the errors (never raises on a mismatch)."""
    max_abs: dict[str, float] = {}
    mismatches: dict[str, int] = {}
    verdicts = {IDENTICAL: 0, NEAR_TIE: 0, DIVERGENT: 0}
    for request in requests:
        expected, actual = reference(request), peer(request)
        for name, ref in expected.items():
            got = np.asarray(actual[name])
            if got.shape != ref.shape:
                raise ValueError(f"output '{name}': shape {got.shape} in the peer, {ref.shape} in PyTorch")
            if np.issubdtype(ref.dtype, np.floating):
                err = float(np.abs(got.astype(np.float64) - ref).max(initial=0.0))
                max_abs[name] = max(max_abs.get(name, 0.0), err)
            elif name not in ranked_lists:
                mismatches[name] = mismatches.get(name, 0) + int(np.sum(got != ref))
        for list_name, score_name in ranked_lists.items():
            verdict = compare_lists(expected[list_name], expected[score_name], actual[list_name], actual[score_name], tolerance)
            verdicts[verdict] += 1
    checked = len(requests) * len(ranked_lists)
    worst = max(max_abs.values(), default=0.0)
    report: dict[str, Any] = {
        "requests": len(requests),
        "max_abs_err": worst,
        "max_abs_err_per_output": max_abs,
        "lists_identical": verdicts[IDENTICAL] / checked if checked else None,
        "near_ties": verdicts[NEAR_TIE],
        "divergent": verdicts[DIVERGENT],
        "tolerance": tolerance,
    }
    if mismatches:
        report["integer_mismatches"] = mismatches
    report["passed"] = worst <= tolerance and verdicts[DIVERGENT] == 0 and not any(mismatches.values())
    return report
