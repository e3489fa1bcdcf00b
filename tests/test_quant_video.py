"""Int8 on the video scenario: its report carries test-metric deltas measured through the
interpreter, and the float .tflite reproduces the training loop's metrics."""

from __future__ import annotations

import json

import pytest

from edgerank.pipeline import run
from test_video_end_to_end import SMALL_DATA

TASKS = ("has_next", "effective_view", "like")


def test_int8_video_artifact_reports_metric_deltas(make_cfg, tmp_path):
    cfg = make_cfg(
        "+experiment=video_rerank", *SMALL_DATA, "trainer.max_epochs=2",
        "export.quantize=int8", "export.quantization.max_abs_err=0.2",
    )
    metrics = run(cfg, tmp_path)
    report = json.loads((tmp_path / "quant_report.json").read_text())
    keys = {f"test/{t}/{m}" for t in TASKS for m in ("auc", "gauc")}
    assert set(report["metric_deltas"]) == keys
    for key in keys:  # the float .tflite, one request at a time, equals the training loop's test metrics
        assert report["metrics_float"][key] == pytest.approx(metrics[key], abs=1e-4)
        assert abs(report["metric_deltas"][key]) < 0.01
    assert report["passed"] and report["size_ratio"] < 0.7
    manifest = json.loads((tmp_path / "artifact_int8" / "manifest.json").read_text())
    assert manifest["quantization"]["mode"] == "int8" and manifest["parity"]["passed"]
