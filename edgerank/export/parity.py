"""Parity check: does the ``.tflite`` (or any other backend) compute what the PyTorch graph computes?

The answer is a report, not a bool: per named output the max absolute and relative error (float
outputs) or the number of mismatching values (integer outputs), and for ranked-list outputs the
fraction of requests whose list is identical, telling *near ties* (two items whose scores agree
within the tie tolerance, so either order is correct in float arithmetic) from real divergences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from edgerank.export.convert import litert_runners
from edgerank.graph import OnDeviceGraph, Runners, as_graph, eager_runners


@dataclass
class OutputParity:
    dtype: str
    max_abs_err: float = 0.0
    max_rel_err: float = 0.0
    mismatches: int = 0  # integer outputs: values that differ


@dataclass
class ParityReport:
    n_samples: int
    tolerance: float
    max_abs_err: float
    max_rel_err: float
    lists_identical: float  # fraction of requests whose ranked lists are identical (1.0 without lists)
    near_ties: int  # requests whose lists differ only at near-tied positions
    divergent: int  # requests whose lists differ for real
    passed: bool
    outputs: dict[str, OutputParity] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"parity over {self.n_samples} samples: max_abs_err={self.max_abs_err:.3g} "
            f"(tolerance {self.tolerance:g}), lists_identical={self.lists_identical:.4f}, "
            f"near_ties={self.near_ties}, divergent={self.divergent} -> {'PASSED' if self.passed else 'FAILED'}"
        )


IDENTICAL, NEAR_TIE, DIVERGENT = "identical", "near_tie", "divergent"


def compare_lists(
    expected: np.ndarray, expected_scores: np.ndarray, actual: np.ndarray, actual_scores: np.ndarray, tie_tolerance: float
) -> str:
    """Classify one request's ranked list: identical, a near tie, or a real divergence.

    Where the lists differ, each side put a different item at the same rank. If the two items'
    scores at that rank agree within ``tie_tolerance``, the reference's own margin between them
    is below float precision and either order is correct.
    """
    if np.array_equal(actual, expected):
        return IDENTICAL
    differ = np.asarray(actual) != np.asarray(expected)
    gap = np.abs(np.asarray(actual_scores, dtype=np.float64) - np.asarray(expected_scores, dtype=np.float64))
    return NEAR_TIE if np.all(gap[differ] <= tie_tolerance) else DIVERGENT


@dataclass
class Comparison:
    """What :func:`compare` finds: the parity report, plus how far the lists agree where they
    are not identical (the int8 gate judges those)."""

    report: ParityReport
    top1_agreement: float  # share of lists whose first item is the same (1.0 without lists)
    overlap_at_k: float  # mean share of the reference's items that the other list also holds


def check_parity(
    graph: OnDeviceGraph | nn.Module,
    tflite_path: str | Path,
    samples: Sequence[Mapping[str, np.ndarray]],
    tolerance: float = 1e-5,
    tie_tolerance: float | None = None,
) -> ParityReport:
    """Export parity: eager PyTorch against the ``.tflite`` converted from ``graph``."""
    graph = as_graph(graph)
    return compare(graph, eager_runners(graph), litert_runners(tflite_path, graph), samples, tolerance, tie_tolerance).report


def compare(
    graph: OnDeviceGraph | nn.Module,
    reference: Runners,
    other: Runners,
    samples: Sequence[Mapping[str, np.ndarray]],
    tolerance: float = 1e-5,
    tie_tolerance: float | None = None,
) -> Comparison:
    """Drive every sample through ``graph``'s loop over two backends' runners and compare.

    The one comparison of the project: export parity (eager PyTorch against the ``.tflite``),
    the int8 gate (against the quantized ``.tflite``) and the peers benchmark (against ONNX
    Runtime, ExecuTorch) all judge by it. ``graph.ranked_lists`` (``{list_output:
    score_output}``) names the list outputs. A list that differs is a near tie when, at every
    differing position, the two sides' scores agree within ``tie_tolerance`` (default:
    ``tolerance``), or when the graph reports PyTorch's smallest top-k margin
    (``graph.tie_margin_output``) and that margin was below ``tie_tolerance``: the search met a
    choice closer than float error, so the other backend's list is just as right. Float errors
    are measured on the other requests (a near tie's scores differ legitimately).
    """
    graph = as_graph(graph)
    tie_tolerance = tolerance if tie_tolerance is None else tie_tolerance
    ranked, margin_output = dict(graph.ranked_lists), graph.tie_margin_output
    outputs: dict[str, OutputParity] = {}
    identical = near_ties = divergent = top1 = 0
    overlaps: list[float] = []
    for sample in samples:
        expected = graph.drive(reference, sample)
        actual = graph.drive(other, sample)
        missing = sorted(set(expected) - set(actual))
        if missing:
            raise AssertionError(f"the other backend lacks outputs {missing} (has {sorted(actual)})")
        verdicts = [
            compare_lists(expected[name], expected[score], actual[name], actual[score], tie_tolerance)
            for name, score in ranked.items()
        ]
        if DIVERGENT in verdicts and margin_output and float(np.min(expected[margin_output])) <= tie_tolerance:
            # PyTorch itself had to choose between values closer than float error at some step
            verdicts = [NEAR_TIE if v == DIVERGENT else v for v in verdicts]
        identical += verdicts.count(IDENTICAL)
        near_ties += verdicts.count(NEAR_TIE)
        divergent += verdicts.count(DIVERGENT)
        for name in ranked:
            got, want = np.asarray(actual[name]).reshape(-1), np.asarray(expected[name]).reshape(-1)
            top1 += int(got[0] == want[0])
            overlaps.append(len(set(got.tolist()) & set(want.tolist())) / len(want))
        for name, ref in expected.items():
            got = np.asarray(actual[name])
            stats = outputs.setdefault(name, OutputParity(dtype=str(got.dtype)))
            if got.shape != ref.shape:
                raise AssertionError(f"output '{name}': shape {got.shape} in the other backend, {ref.shape} in the reference")
            if NEAR_TIE in verdicts or name == margin_output:  # both lists are right / a diagnostic
                continue
            if np.issubdtype(ref.dtype, np.floating):
                err = np.abs(got.astype(np.float64) - ref)
                stats.max_abs_err = max(stats.max_abs_err, float(err.max(initial=0.0)))
                rel = err / np.maximum(np.abs(ref), 1e-12)
                stats.max_rel_err = max(stats.max_rel_err, float(rel.max(initial=0.0)))
            elif name not in ranked:
                stats.mismatches += int(np.sum(got != ref))
    n, n_lists = len(samples), len(samples) * len(ranked)
    float_errs = [o.max_abs_err for o in outputs.values()]
    max_abs = max(float_errs, default=0.0)
    passed = max_abs <= tolerance and divergent == 0 and all(o.mismatches == 0 for o in outputs.values())
    report = ParityReport(
        n_samples=n,
        tolerance=tolerance,
        max_abs_err=max_abs,
        max_rel_err=max((o.max_rel_err for o in outputs.values()), default=0.0),
        lists_identical=identical / n_lists if n_lists else 1.0,
        near_ties=near_ties,
        divergent=divergent,
        passed=passed,
        outputs=outputs,
    )
    return Comparison(report, top1 / n_lists if n_lists else 1.0, float(np.mean(overlaps)) if overlaps else 1.0)
