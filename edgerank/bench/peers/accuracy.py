"""How closely a peer runtime reproduces PyTorch on the held-out requests.

Judged by export parity's own comparison (:func:`edgerank.export.parity.compare`), so that peers
and ``.tflite`` are judged alike: per float output the max absolute error, per integer output
the count of differing values, and for the graph's ``ranked_lists`` the share of requests whose
list is identical, telling near ties from real divergences by the very rules of the parity check
(tie-margin rule included: a list that differs where PyTorch's smallest top-k margin was below
float error is a near tie, and a near tie's float outputs are not counted as errors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from edgerank.export.parity import compare
from edgerank.graph import OnDeviceGraph, Runners


def accuracy(
    graph: OnDeviceGraph,
    reference: Runners,
    peer: Runners,
    requests: Sequence[Mapping[str, np.ndarray]],
    tolerance: float = 1e-5,
) -> dict[str, Any]:
    """The ``accuracy`` block of a peer: ``requests`` through ``graph``'s loop over both backends
    (never raises on a mismatch)."""
    parity = compare(graph, reference, peer, requests, tolerance).report
    margin_output = graph.tie_margin_output
    floats = {name: o.max_abs_err for name, o in parity.outputs.items() if "float" in o.dtype and name != margin_output}
    mismatches = {name: o.mismatches for name, o in parity.outputs.items() if o.mismatches}
    report: dict[str, Any] = {
        "requests": parity.n_samples,
        "max_abs_err": parity.max_abs_err,
        "max_abs_err_per_output": floats,
        "lists_identical": parity.lists_identical if graph.ranked_lists else None,
        "near_ties": parity.near_ties,
        "divergent": parity.divergent,
        "tolerance": tolerance,
    }
    if mismatches:
        report["integer_mismatches"] = mismatches
    report["passed"] = parity.passed
    return report
