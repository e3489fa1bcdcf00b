"""The parity report: near ties versus real divergences, and no artifact when parity fails."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from edgerank.errors import ParityError
from edgerank.export import artifact
from edgerank.export.convert import to_tflite
from edgerank.export.parity import DIVERGENT, IDENTICAL, NEAR_TIE, compare, compare_lists
from edgerank.graph import SINGLE, OnDeviceGraph


def test_compare_lists_tells_near_ties_from_divergence():
    ids, scores = np.array([[7, 3, 5]]), np.array([[0.50, 0.2000001, 0.2]])
    assert compare_lists(ids, scores, ids.copy(), scores + 1e-7, 1e-5) == IDENTICAL
    # 3 and 5 swapped: their scores agree to 1e-7, so either order is right in float32
    assert compare_lists(ids, scores, np.array([[7, 5, 3]]), np.array([[0.5, 0.2000001, 0.2]]), 1e-5) == NEAR_TIE
    # 3 replaced by 9 scoring 0.1 lower: a real divergence
    assert compare_lists(ids, scores, np.array([[7, 9, 5]]), np.array([[0.5, 0.1, 0.2]]), 1e-5) == DIVERGENT


class Scaled(torch.nn.Module, OnDeviceGraph):
    ranked_lists = {"ids": "scores"}

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(6, 8)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        scores, index = torch.topk(torch.sigmoid(self.linear(x)), 3, dim=-1)
        return {"scores": scores, "ids": index.to(torch.int32)}


def test_diverging_export_is_reported_and_not_published(tmp_path, monkeypatch):
    torch.manual_seed(0)
    graph = Scaled().eval()
    tampered = copy.deepcopy(graph)
    with torch.no_grad():
        tampered.linear.weight.add_(0.05 * torch.randn_like(tampered.linear.weight))
    # the converter silently produces a different model: parity must catch it
    monkeypatch.setattr(artifact, "to_tflite", lambda g, sample, path: to_tflite(tampered, sample, path))
    rng = np.random.default_rng(0)
    samples = [{"x": rng.normal(size=(1, 6)).astype(np.float32)} for _ in range(20)]
    destination = tmp_path / "artifact"
    with pytest.raises(ParityError, match=r"FAILED; no artifact was published"):
        artifact.export_artifact(
            graph, samples, destination, name="t", version="1", tolerance=1e-5, metrics={}, fields={}
        )
    assert not destination.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["parity_report.json"]
    report = json.loads((tmp_path / "parity_report.json").read_text())
    assert report["passed"] is False and report["max_abs_err"] > 1e-3
    assert report["divergent"] > 0 and report["lists_identical"] < 1.0

    # the honest converter passes, with every list identical
    monkeypatch.undo()
    manifest = artifact.export_artifact(graph, samples, destination, name="t", version="1", tolerance=1e-5, metrics={}, fields={})
    assert manifest["parity"]["passed"] and manifest["parity"]["lists_identical"] == 1.0
    assert manifest["parity"]["outputs"]["ids"]["dtype"] == "int32"
    assert sorted(p.name for p in destination.iterdir()) == ["manifest.json", "model.tflite", "reference_requests.npz"]


class FakeRanker(OnDeviceGraph):
    """A graph whose lists are supplied directly: one backend returns a different list from position 1 on."""

    ranked_lists = {"ranked": "gains"}
    tie_margin_output = "margin"


def reference_backend(**sample):
    return {"ranked": np.array([[3, 1, 2]]), "gains": np.array([[0.9, 0.5, 0.1]]), "margin": sample["margin"]}


def other_backend(**sample):
    return {"ranked": np.array([[3, 2, 1]]), "gains": np.array([[0.9, 0.4, 0.2]]), "margin": sample["margin"]}


def test_a_divergence_after_a_choice_closer_than_float_error_is_a_near_tie():
    def judge(margin):
        samples = [{"margin": np.array([margin], np.float32)}] * 3
        return compare(FakeRanker(), {SINGLE: reference_backend}, {SINGLE: other_backend}, samples).report

    tight = judge(2e-7)
    assert tight.passed and tight.near_ties == 3 and tight.divergent == 0 and tight.lists_identical == 0.0
    assert tight.max_abs_err == 0.0  # a near tie's scores are not float errors
    loose = judge(0.05)
    assert not loose.passed and loose.divergent == 3 and loose.max_abs_err == pytest.approx(0.1)
